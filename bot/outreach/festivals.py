"""Religious and cultural festivals to avoid when planning a consultation event.

The council's involvement policy asks staff not to plan meetings on a major festival or the
day next to one. The `holidays` library has no calendar of festivals as such, so this
module takes the festivals from the public calendars of countries that keep them, and only
the festivals (never a country's secular days):

- Bangladesh: Eid al-Fitr, Eid al-Adha (as sighted in Bangladesh, which most Bangladeshi
  families in Tower Hamlets follow) and Pohela Boishakh, the Bengali New Year;
- India, public and optional holidays: Diwali, Vaisakhi, Holi, Guru Nanak's birthday,
  Easter Sunday;
- Israel: Rosh Hashanah, Yom Kippur, Pesach;
- China: Chinese New Year;
- England: Good Friday and Christmas Day.

Dates of Islamic festivals in future years are the library's estimates (marked
"estimated"); the moon sighting can move them by a day, which the "day next to" rule covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from holidays.constants import OPTIONAL, PUBLIC


@dataclass(frozen=True)
class Source:
    """One country's calendar and the festivals taken from it (the library's names)."""

    country: str
    festivals: dict[str, str]  # the library's name -> the name staff read
    categories: tuple[str, ...] = (PUBLIC,)
    subdiv: str | None = None


SOURCES = (
    Source(
        "BD",
        {
            "Eid al-Fitr": "Eid al-Fitr",
            "Eid al-Adha": "Eid al-Adha",
            "Bengali New Year's Day": "Pohela Boishakh (Bengali New Year)",
        },
    ),
    Source(
        "IN",
        {
            "Diwali": "Diwali",
            "Vaisakhi": "Vaisakhi",
            "Holi": "Holi",
            "Guru Nanak's Birthday": "Guru Nanak Gurpurab",
            "Easter Sunday": "Easter Sunday",
        },
        categories=(PUBLIC, OPTIONAL),
    ),
    Source(
        "IL",
        {"Rosh Hashanah": "Rosh Hashanah", "Yom Kippur": "Yom Kippur", "Pesach": "Passover"},
    ),
    Source("CN", {"Chinese New Year (Spring Festival)": "Chinese New Year"}),
    Source("GB", {"Good Friday": "Good Friday", "Christmas Day": "Christmas Day"}, subdiv="ENG"),
)


@dataclass(frozen=True, order=True)
class Festival:
    """A festival on one day."""

    day: date
    name: str


def _plain(name: str) -> str:
    """The library's name without its notes: "Eid al-Fitr (estimated)" -> "Eid al-Fitr"."""
    return name.replace(" (estimated)", "").replace(" (observed)", "").strip()


@lru_cache(maxsize=16)
def festivals_in(year: int) -> tuple[Festival, ...]:
    """Every festival of one year, by day (a festival of several days once per day)."""
    found: set[Festival] = set()
    for source in SOURCES:
        calendar = holidays.country_holidays(
            source.country, subdiv=source.subdiv, years=year, categories=source.categories
        )
        for day, names in calendar.items():
            # The library joins the names of holidays on one day with "; ".
            for name in names.split("; "):
                wanted = source.festivals.get(_plain(name))
                # "(observed)" is a substitute day off, not the festival itself.
                if wanted is not None and "(observed)" not in name:
                    found.add(Festival(day, wanted))
    return tuple(sorted(found))


def clashes(first: date, last: date | None = None) -> list[Festival]:
    """Festivals on the days from `first` to `last`, or on the day before or after them."""
    last = last or first
    start, end = first - timedelta(days=1), last + timedelta(days=1)
    years = range(start.year, end.year + 1)
    return [f for year in years for f in festivals_in(year) if start <= f.day <= end]


def describe(found: Iterable[Festival]) -> list[str]:
    """Name each clashing festival once, with its first day: "Diwali (Sunday 8 November 2026)"."""
    first: dict[str, date] = {}
    for festival in sorted(found):
        first.setdefault(festival.name, festival.day)
    return [f"{name} ({day.strftime('%A')} {day.day} {day:%B %Y})" for name, day in first.items()]
