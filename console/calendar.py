"""The consultation calendar: staff schedule events; anyone reads the public calendar and feeds.

Console pages (staff and admins): a month at a time as a table, an event's page with who
answered "will you come?", and one form to schedule or change an event, which warns when
the day is on or next to a religious or cultural festival (bot/outreach/festivals.py) and asks
again before scheduling it. The public blueprint needs no sign-in: the calendar page,
`/events.ics`, and each subscriber's own feed at `/events/<token>.ics`.
"""

from __future__ import annotations

import calendar as month_grid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.casework.accounts import record_audit
from bot.outreach import access as access_needs
from bot.outreach.attendance import attended
from bot.outreach.consultations import (
    VENUE_ACCESS,
    EventDetails,
    EventNotFound,
    answer_counts,
    answers_to,
    cancel_event,
    create_event,
    event_params,
    events_for_contact,
    get_event,
    in_month,
    public_events,
    update_event,
    venue_access,
)
from bot.outreach.festivals import clashes, describe
from bot.outreach.ical import feed
from bot.services import services
from bot.sms import is_gsm7
from bot.smssafe import replaced_in
from bot.staff_text import Priced, priced
from console.auth import blueprint, role_required
from console.paging import number_in
from console.public import public_context
from console.wording import people
from flows.texts import N_
from storage.models import Consultation, Contact

public = Blueprint("events", __name__, template_folder="templates")
public.context_processor(public_context)

EDITORS = ("staff", "admin")
# Languages spoken at an event, and interpreters staff can book, by code.
# Marked for the catalogs: the public calendar shows them in the reader's language.
SPOKEN = {"en": N_("English"), "bn": N_("Bengali"), "syl": N_("Sylheti")}
INTERPRETERS = {"bn": N_("Bengali"), "syl": N_("Sylheti"), "bsl": N_("British Sign Language")}
ACCESS = VENUE_ACCESS
# The public calendar's words (console/public.py puts them in the reader's language).
PUBLIC_WORDS = {
    "title": N_("Events: have your say"),
    "intro": N_("Come and tell the council what you think of adult social care in Tower Hamlets."),
    # TRANSLATORS: EVENTS is what people text; use the word for events your readers would type.
    "reminders": N_("Send EVENTS to Kotha for reminders in your language."),
    "feed_link": N_("Add these events to your calendar"),
    "feed_note": N_("(an iCalendar feed for your phone or computer)"),
    "none": N_("There are no events planned yet."),
    "cancelled": N_("Cancelled"),
    "when": N_("When"),
    "where": N_("Where"),
    "access": N_("Access"),
    "access_notes": N_("Access notes"),
    "spoken": N_("Languages spoken"),
    "interpreters": N_("Interpreters"),
    "ask_access": N_("Ask us about access"),
    "no_notes": N_("None"),
    "ask_interpreter": N_("Ask us if you need one"),
}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_TEXT = 2000
# The venue's access note goes into reminders by SMS (bot/outreach/reminders.py): one short
# line that every phone shows in one encoding, so that it leaves room for the rest.
MAX_ACCESS_NOTES = 60
# More than any hall in the borough holds; a longer number is a slip of the keyboard.
MAX_CAPACITY = 100_000


def _now() -> datetime:
    return services().clock()


def topics() -> dict[str, str]:
    """Event topics: those people can ask reminders of in chat (the events flow), by code."""
    node = services().flows["events"].nodes["topic"]
    return {str(o.value): o.label for o in node.options if o.value != "all"}


def language_names() -> dict[str, str]:
    return {code: lang.name for code, lang in services().i18n.written.items()}


# -- the month --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One square of the month: its date, whether it is in the month, its events."""

    day: date
    in_month: bool
    events: list[Consultation]


def _month_arg(text: str, today: date) -> date:
    """The month asked for ("2026-11"), or this month for anything else."""
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)
    # Far-off years have nothing to show, and year 1 has no month before it.
    return first if 2000 <= first.year <= 2100 else today.replace(day=1)


def _weeks(first: date, events: list[Consultation], zone: ZoneInfo) -> list[list[Day]]:
    by_day: dict[date, list[Consultation]] = {}
    for event in events:
        by_day.setdefault(event.start_at.astimezone(zone).date(), []).append(event)
    weeks = month_grid.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [[Day(d, d.month == first.month, by_day.get(d, [])) for d in week] for week in weeks]


def _month_events(first: date, zone: ZoneInfo) -> list[Consultation]:
    after = (first + timedelta(days=32)).replace(day=1)
    # From the Monday before to the Sunday after, the squares the table shows.
    start = datetime.combine(first - timedelta(days=7), time(), zone).astimezone(UTC)
    end = datetime.combine(after + timedelta(days=7), time(), zone).astimezone(UTC)
    with services().database.session() as db:
        found = in_month(db, start, end)
        db.expunge_all()
    return found


@blueprint.get("/calendar")
@role_required(*EDITORS)
def calendar() -> Any:
    """A month of events as a table, days of the week as its column headers."""
    zone = services().settings.zone
    first = _month_arg(request.args.get("month", ""), _now().astimezone(zone).date())
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render_template(
        "console/calendar.html",
        first=first,
        weeks=_weeks(first, _month_events(first, zone), zone),
        weekdays=WEEKDAYS,
        previous=url_for("console.calendar", month=f"{previous:%Y-%m}"),
        next=url_for("console.calendar", month=f"{following:%Y-%m}"),
        previous_label=f"{previous:%B %Y}",
        next_label=f"{following:%B %Y}",
        zone=zone,
    )


# -- one event ---------------------------------------------------------------------------------


def _load(event_id: int) -> Consultation:
    with services().database.session() as db:
        try:
            event = get_event(db, event_id)
        except EventNotFound:
            abort(404)
        db.expunge(event)
    return event


def festival_warnings(event_start: datetime, event_end: datetime, zone: ZoneInfo) -> list[str]:
    """Name each festival on or next to the event's days."""
    return describe(clashes(event_start.astimezone(zone).date(), event_end.astimezone(zone).date()))


@blueprint.get("/calendar/events/<int:event_id>")
@role_required(*EDITORS)
def event(event_id: int) -> Any:
    """An event, its festival warnings, who said they will come and what they need, and
    (once it has started) who came."""
    return event_page(event_id)


def event_page(
    event_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    """The event's page, with what was wrong with a form posted on it (console/attendance.py)."""
    found = _load(event_id)
    zone = services().settings.zone
    with services().database.session() as db:
        answers = answers_to(db, event_id)
        counts = answer_counts(db, [event_id]).get(event_id, {"yes": 0, "no": 0})
        needs = access_needs.event_needs(db, event_id)
        interpreters_asked = access_needs.interpreter_requests(db, event_id)
        came = came_list(db, event_id, needs.coming)
    return (
        render_template(
            "console/event.html",
            event=found,
            answers=answers,
            counts=counts,
            needs=needs,
            need_labels=access_needs.NEEDS,
            interpreter_requests=interpreters_asked,
            came=came,
            came_count=sum(1 for person in came if person.came),
            started=found.start_at <= _now(),
            errors=dict(errors or {}),
            values=dict(values or {}),
            warnings=festival_warnings(found.start_at, found.end_at, zone),
            zone=zone,
            topics=topics(),
            languages=language_names(),
            spoken=SPOKEN,
            interpreters=INTERPRETERS,
            access=ACCESS,
        ),
        status,
    )


@dataclass(frozen=True)
class Candidate:
    """A person on the attendance form: said yes, or marked as having come anyway."""

    contact_id: int
    who: str
    said_yes: bool
    came: bool


def came_list(db: Any, event_id: int, coming: Sequence[access_needs.Person]) -> list[Candidate]:
    """Those who said yes, then those marked who came anyway: whether each came."""
    marked = attended(db, event_id)
    people = [
        Candidate(person.contact_id, person.who, True, person.contact_id in marked)
        for person in coming
    ]
    yes = {person.contact_id for person in coming}
    others = sorted(contact_id for contact_id in marked if contact_id not in yes)
    people.extend(
        Candidate(contact_id, access_needs.who_is(db, contact_id), False, True)
        for contact_id in others
    )
    return people


# -- the form ----------------------------------------------------------------------------------


@dataclass
class EventForm:
    """The event form as posted, with what is wrong with it."""

    values: dict[str, Any]
    errors: dict[str, str]
    details: EventDetails | None = None

    @classmethod
    def blank(cls) -> EventForm:
        return cls({"languages": ["en"], "interpreters": [], "access": []}, {})

    @classmethod
    def of(cls, event: Consultation, zone: ZoneInfo) -> EventForm:
        start = event.start_at.astimezone(zone)
        values: dict[str, Any] = {
            **{f"title-{code}": text for code, text in event.titles.items()},
            **{f"description-{code}": text for code, text in event.descriptions.items()},
            "date-day": str(start.day),
            "date-month": str(start.month),
            "date-year": str(start.year),
            "start": f"{start:%H:%M}",
            "end": f"{event.end_at.astimezone(zone):%H:%M}",
            "place": event.place,
            "access": [name for name in ACCESS if getattr(event, name)],
            "access_notes": event.access_notes or "",
            "languages": list(event.languages),
            "interpreters": list(event.interpreters),
            "topic": event.topic or "",
            "capacity": "" if event.capacity is None else str(event.capacity),
        }
        return cls(values, {})

    @classmethod
    def parse(cls, form: Mapping[str, Any], codes: list[str], zone: ZoneInfo) -> EventForm:
        values: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in form}
        for many in ("access", "languages", "interpreters"):
            values[many] = form.getlist(many)  # type: ignore[attr-defined]
        errors: dict[str, str] = {}
        titles = {code: values.get(f"title-{code}", "") for code in codes}
        if not titles[codes[0]]:
            errors[f"title-{codes[0]}"] = "Enter the event's title in English"
        day = _date(values, errors)
        start = _time(values, "start", "start", errors)
        end = _time(values, "end", "end", errors)
        if start and end and end <= start:
            errors["end"] = "The end time must be after the start time"
        if not values.get("place"):
            errors["place"] = "Enter where the event is"
        capacity = None
        if values.get("capacity"):
            capacity = number_in(values["capacity"], MAX_CAPACITY)
            if not capacity:
                errors["capacity"] = (
                    f"Capacity must be a whole number from 1 to {MAX_CAPACITY:,}, like 40"
                )
        for key, text in values.items():
            if isinstance(text, str) and len(text) > MAX_TEXT:
                errors[key] = f"Write at most {MAX_TEXT} characters"
        notes = values.get("access_notes", "")
        if len(notes) > MAX_ACCESS_NOTES:
            errors["access_notes"] = (
                f"Write at most {MAX_ACCESS_NOTES} characters: they go into text messages"
            )
        elif not is_gsm7(notes) or "\n" in notes or "\r" in notes:
            errors["access_notes"] = (
                "Write the access notes on one line, in plain letters, digits and punctuation:"
                " they go into text messages"
            )
        topic = values.get("topic") or None
        if topic is not None and topic not in topics():
            errors["topic"] = "Choose a topic from the list"
        parsed = cls(values, errors)
        if errors or day is None or start is None or end is None:
            return parsed
        parsed.details = EventDetails(
            titles=titles,
            descriptions={code: values.get(f"description-{code}", "") for code in codes},
            start_at=datetime.combine(day, start, zone).astimezone(UTC),
            end_at=datetime.combine(day, end, zone).astimezone(UTC),
            place=values["place"],
            step_free="step_free" in values["access"],
            hearing_loop="hearing_loop" in values["access"],
            parking="parking" in values["access"],
            accessible_toilet="accessible_toilet" in values["access"],
            access_notes=values.get("access_notes") or None,
            languages=[code for code in values["languages"] if code in SPOKEN],
            interpreters=[code for code in values["interpreters"] if code in INTERPRETERS],
            topic=topic,
            capacity=capacity,
        )
        return parsed


def _date(values: Mapping[str, str], errors: dict[str, str]) -> date | None:
    parts = [values.get(f"date-{part}", "") for part in ("day", "month", "year")]
    if not all(parts):
        errors["date-day"] = "Enter the date of the event, including a day, month and year"
        return None
    try:
        day, month, year = (int(part) for part in parts)
        return date(year, month, day)
    except ValueError:
        errors["date-day"] = "The date of the event must be a real date"
        return None


def _time(values: Mapping[str, str], key: str, name: str, errors: dict[str, str]) -> time | None:
    text = values.get(key, "").replace(".", ":")
    if not text:
        errors[key] = f"Enter the {name} time, like 10:00"
        return None
    try:
        return time.fromisoformat(text.zfill(5))
    except ValueError:
        errors[key] = f"The {name} time must be a time on the 24-hour clock, like 14:30"
        return None


@dataclass(frozen=True)
class ReminderPreview:
    """The event's reminder as a reader of one language gets it by SMS, priced."""

    language: str
    priced: Priced


def reminder_previews(details: EventDetails, zone: ZoneInfo) -> list[ReminderPreview]:
    """The reminder in each written language as SMS readers get it (the venue's access
    details where they fit the budget), with its encoding, segments and cost: what staff's
    words cost before anything is saved or sent."""
    services_ = services()
    i18n = services_.i18n
    event = Consultation(status="scheduled")
    details.apply(event)
    params = event_params(event, zone)
    shown = []
    for code in i18n.written:
        language = i18n.on_channel(code, "sms")
        say, _ = services_.reminders.says(params, venue_access(event), language, "sms")
        text = i18n.render(language, say.text, say.params, say.lead, say.choices).text
        price = services_.settings.sms_segment_price
        shown.append(ReminderPreview(i18n.language(code).name, priced(text, "sms", price)))
    return shown


def _render_form(
    form: EventForm,
    event: Consultation | None,
    warnings: list[str],
    status: int = 200,
    previews: list[ReminderPreview] | None = None,
) -> Any:
    confirm = None
    if form.details is not None:
        confirm = _confirm_key(form.details)
    return (
        render_template(
            "console/event_form.html",
            form=form,
            event=event,
            errors=form.errors,
            warnings=warnings,
            confirm=confirm,
            languages=language_names(),
            topics=topics(),
            spoken=SPOKEN,
            interpreters=INTERPRETERS,
            access=ACCESS,
            previews=previews or [],
            replaced=(
                replaced_in(
                    [*form.details.titles.values(), *form.details.descriptions.values()]
                    + [form.details.place, form.details.access_notes]
                )
                if previews and form.details is not None
                else ""
            ),
        ),
        status,
    )


def _confirm_key(details: EventDetails) -> str:
    """What staff confirm when they schedule on a festival anyway: the event's first moment."""
    return details.start_at.isoformat()


def _save(event_id: int | None) -> Any:
    zone = services().settings.zone
    codes = list(services().i18n.written)
    form = EventForm.parse(request.form, codes, zone)
    event = _load(event_id) if event_id is not None else None
    if form.details is None:
        return _render_form(form, event, [], 400)
    details = form.details
    if request.form.get("action") == "preview":
        return _render_form(form, event, [], previews=reminder_previews(details, zone))
    warnings = festival_warnings(details.start_at, details.end_at, zone)
    # Staff see the warning, then confirm for exactly this day (a new day is checked anew).
    confirmed = request.form.get("festival_confirmed") == _confirm_key(details)
    if warnings and not confirmed:
        return _render_form(form, event, warnings)
    now = _now()
    written: list[int] = []
    with services().database.session() as db:
        if event_id is None:
            saved = create_event(db, details, current_user.id, now)
            action = "event.created"
        else:
            saved = get_event(db, event_id)
            written = [row.id for row in update_event(db, saved, details, now, zone)]
            action = "event.updated"
        saved_id = saved.id
        detail = {"festivals": warnings} if warnings else None
        record_audit(db, current_user.id, action, "event", saved_id, detail, now=now)
    services().queue.enqueue(written)
    said = "Event scheduled." if event_id is None else "Event changed."
    replaced = replaced_in(
        [*details.titles.values(), *details.descriptions.values(), details.place]
        + [details.access_notes]
    )
    if replaced:
        said += f" {replaced[:1].upper()}{replaced[1:]} to keep its texts plain text messages."
    if written:
        said += f" {people(len(written))} who said they will come are told of the change."
    flash(said)
    return redirect(url_for("console.event", event_id=saved_id))


@blueprint.route("/calendar/events/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def event_new() -> Any:
    """Schedule an event."""
    if request.method == "GET":
        return _render_form(EventForm.blank(), None, [])
    return _save(None)


@blueprint.route("/calendar/events/<int:event_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def event_edit(event_id: int) -> Any:
    """Change an event; those who said they will come hear of a new time or place."""
    if request.method == "GET":
        found = _load(event_id)
        return _render_form(EventForm.of(found, services().settings.zone), found, [])
    return _save(event_id)


@blueprint.post("/calendar/events/<int:event_id>/cancel")
@role_required(*EDITORS)
def event_cancel(event_id: int) -> Any:
    """Cancel an event and tell those who said they will come."""
    now = _now()
    with services().database.session() as db:
        try:
            found = get_event(db, event_id)
        except EventNotFound:
            abort(404)
        written = [row.id for row in cancel_event(db, found, now, services().settings.zone)]
        record_audit(db, current_user.id, "event.cancelled", "event", event_id, now=now)
    services().queue.enqueue(written)
    flash(f"Event cancelled. {people(len(written))} who said they will come are told.")
    return redirect(url_for("console.event", event_id=event_id))


# -- public ------------------------------------------------------------------------------------


@public.get("/events")
def public_calendar() -> Any:
    """The public calendar: what is coming up, with access details; no personal data."""
    zone = services().settings.zone
    now = _now()
    with services().database.session() as db:
        found = [e for e in public_events(db, now) if e.end_at > now]
        db.expunge_all()
    return render_template(
        "events/public.html",
        events=found,
        zone=zone,
        words=PUBLIC_WORDS,
        spoken=SPOKEN,
        interpreters=INTERPRETERS,
        access=ACCESS,
    )


def _ical(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-cache"
    return response


@public.get("/events.ics")
def public_feed() -> Response:
    """Every event as an iCalendar feed, for anyone's calendar app.

    The feed names its own address only from KOTHA_PUBLIC_URL, never from the request's
    Host header, which whoever sends the request chooses (and a cache may keep).
    """
    now = _now()
    public_url = services().settings.public_url
    with services().database.session() as db:
        body = feed(
            public_events(db, now),
            name="Tower Hamlets adult social care: have your say",
            zone=services().settings.zone,
            i18n=services().i18n,
            now=now,
            url=f"{public_url}/events.ics" if public_url else None,
        )
    return _ical(body, "events.ics")


@public.get("/events/<token>.ics")
def personal_feed(token: str) -> Response:
    """One person's feed, in their language: the address's token is its only key."""
    now = _now()
    with services().database.session() as db:
        contact = db.scalar(select(Contact).where(Contact.calendar_token == token))
        if contact is None or not token:
            abort(404)
        body = feed(
            events_for_contact(db, contact, now),
            name="Kotha: your events",
            zone=services().settings.zone,
            i18n=services().i18n,
            now=now,
            language=contact.language,
        )
    return _ical(body, "my-events.ics")
