"""Working days in England and Wales, for statutory complaint deadlines."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=8)
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays; Scotland and Northern Ireland differ.
    # A plain set: looking a date up in the library's own mapping costs tens of microseconds,
    # and a complaint's deadlines look up a month of days inside the runner's step.
    found = holidays.country_holidays("GB", subdiv="ENG", years=[year - 1, year, year + 1])
    return frozenset(found.keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """Return the date `days` working days after `start` (the day itself does not count)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
