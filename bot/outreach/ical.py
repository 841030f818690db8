"""iCalendar feeds of events (RFC 5545), written with the icalendar library.

Times are written in the council's local zone with its VTIMEZONE (Europe/London), not in
UTC, so a phone shows a 10:00 meeting at 10:00 on both sides of a clock change, and the
feed says which zone it means. A changed event keeps its UID and carries a higher
SEQUENCE; a cancelled one stays in the feed with STATUS:CANCELLED, so calendars that
already hold it take it away.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Timezone
from icalendar import Event as CalendarEvent

from bot.i18n import I18n
from storage.models import Consultation

PRODUCT = "-//London Borough of Tower Hamlets//Kotha consultation calendar//EN"
UID_DOMAIN = "kotha.towerhamlets.gov.uk"
ACCESS = (
    ("step_free", "Step-free access"),
    ("hearing_loop", "Hearing loop"),
    ("parking", "Parking"),
)


def _description(event: Consultation, i18n: I18n, language: str | None) -> str:
    lines = [i18n.in_language(language, event.descriptions)] if event.descriptions else []
    access = [label for name, label in ACCESS if getattr(event, name)]
    if access:
        lines.append("Access: " + ", ".join(access) + ".")
    if event.access_notes:
        lines.append(event.access_notes)
    if event.interpreters:
        lines.append("Interpreters: " + ", ".join(event.interpreters) + ".")
    return "\n".join(line for line in lines if line)


def _timezone(zone: ZoneInfo, now: datetime, events: list[Consultation]) -> Timezone:
    """The VTIMEZONE for `zone`, from the tz database, over the years the feed can touch.

    Limited to those years: written from 1970 it lists every clock change since, and some
    readers (vobject, for one) then misplace a time after the October change.
    """
    first = min([now.year, *(event.start_at.year for event in events)])
    last = max([now.year, *(event.end_at.year for event in events)])
    return Timezone.from_tzinfo(
        zone, zone.key, first_date=date(first - 1, 1, 1), last_date=date(last + 3, 1, 1)
    )


def feed(
    events: Iterable[Consultation],
    *,
    name: str,
    zone: ZoneInfo,
    i18n: I18n,
    now: datetime,
    language: str | None = None,
    url: str | None = None,
) -> bytes:
    """Return an iCalendar file of these events, titled in `language` (fallbacks as chat)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    if url:
        calendar.add("url", url)
    events = list(events)
    for event in events:
        entry = CalendarEvent()
        entry.add("uid", f"event-{event.id}@{UID_DOMAIN}")
        entry.add("dtstamp", now)
        entry.add("dtstart", event.start_at.astimezone(zone))
        entry.add("dtend", event.end_at.astimezone(zone))
        entry.add("summary", i18n.in_language(language, event.titles))
        entry.add("location", event.place)
        description = _description(event, i18n, language)
        if description:
            entry.add("description", description)
        if event.topic:
            entry.add("categories", [event.topic])
        entry.add("sequence", event.sequence)
        entry.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
        entry.add("last-modified", event.updated_at)
        calendar.add_component(entry)
    calendar.add_component(_timezone(zone, now, events))
    ical: bytes = calendar.to_ical()
    return ical
