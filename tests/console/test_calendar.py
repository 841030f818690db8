"""The calendar in the console, the public calendar page, and the iCalendar feeds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach.consultations import (
    EventDetails,
    calendar_token,
    create_event,
    record_answer,
    subscribe,
)
from bot.services import Services
from kotha import create_app
from storage.models import Address, AuditEvent, Consultation, Contact, Message
from tests.console.test_access import PASSWORD, SCRIPT, sign_in, token

LONDON = ZoneInfo("Europe/London")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff", "moderator"):
            create_user(
                session,
                f"{role}@example.org",
                role,
                PASSWORD,
                now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
            )
    return create_app(services=services)


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    return client


def add_event(services: Services, start: datetime, **changes: Any) -> int:
    values: dict[str, Any] = {
        "titles": {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
        "start_at": start,
        "end_at": start + timedelta(hours=2),
        "place": "Town Hall",
        **changes,
    }
    with services.database.session() as session:
        return create_event(session, EventDetails(**values), None, services.clock()).id


def person(services: Services, phone: str, language: str = "en") -> int:
    with services.database.session() as session:
        address = Address(
            contact=Contact(language=language, created_at=services.clock()),
            channel="sms",
            address=phone,
            created_at=services.clock(),
        )
        session.add(address)
        session.flush()
        return address.id


def form(**changes: str) -> dict[str, Any]:
    return {
        "title-en": "Carers forum",
        "title-bn": "কেয়ারার ফোরাম",
        "date-day": "9",
        "date-month": "11",
        "date-year": "2026",
        "start": "10:00",
        "end": "12:00",
        "place": "Town Hall, Mulberry Place",
        "access": ["step_free", "hearing_loop"],
        "languages": ["en", "bn"],
        "interpreters": ["syl"],
        "topic": "carers_support",
        "capacity": "40",
        **changes,
    }


def test_only_staff_and_admins_open_the_calendar(app: Flask, services: Services) -> None:
    add_event(services, local(2026, 11, 25, 10, 0))
    paths = (
        "/console/calendar",
        "/console/calendar/events/new",
        "/console/calendar/events/1",
        "/console/calendar/events/1/edit",
    )
    nobody = app.test_client()
    for path in paths:
        response = nobody.get(path)
        assert response.status_code == 302 and "/console/login" in response.location
    moderator = app.test_client()
    assert sign_in(moderator, "moderator@example.org") == 302
    for path in paths:
        assert moderator.get(path).status_code == 403, path
    refused = moderator.post(
        "/console/calendar/events/1/cancel", data={"csrf_token": token(moderator, "/console/")}
    )
    assert refused.status_code == 403
    assert "Calendar" not in moderator.get("/console/").text
    for role in ("staff", "admin"):
        client = app.test_client()
        assert sign_in(client, f"{role}@example.org") == 302
        for path in paths:
            assert client.get(path).status_code == 200, (role, path)
        assert 'href="/console/calendar"' in client.get("/console/").text
    # A cancel without the form's token is refused.
    assert client.post("/console/calendar/events/1/cancel").status_code == 400


def test_scheduling_next_to_a_festival_warns_and_asks_again(
    staff: FlaskClient, services: Services
) -> None:
    """Must show: 9 November 2026 is the day after Diwali; staff are told and confirm."""
    csrf = token(staff, "/console/calendar/events/new")
    warned = staff.post("/console/calendar/events/new", data={**form(), "csrf_token": csrf})
    assert warned.status_code == 200
    assert "This day is on or next to a festival" in warned.text
    assert "Diwali (Sunday 8 November 2026)" in warned.text
    assert "Schedule it anyway" in warned.text
    with services.database.session() as session:
        assert session.scalars(select(Consultation)).all() == []
    confirm = re.search(r'name="festival_confirmed" value="([^"]+)"', warned.text)
    assert confirm is not None
    # The values typed are kept on the page that warns.
    assert 'value="Town Hall, Mulberry Place"' in warned.text

    # Confirmed for another day (staff changed the date meanwhile): warned again.
    moved = form(**{"date-day": "21", "date-month": "3", "date-year": "2026"})
    again = staff.post(
        "/console/calendar/events/new",
        data={**moved, "festival_confirmed": confirm.group(1), "csrf_token": csrf},
    )
    assert "Eid al-Fitr (Saturday 21 March 2026)" in again.text
    done = staff.post(
        "/console/calendar/events/new",
        data={**form(), "festival_confirmed": confirm.group(1), "csrf_token": csrf},
    )
    assert (done.status_code, done.location) == (302, "/console/calendar/events/1")
    with services.database.session() as session:
        event = session.scalars(select(Consultation)).one()
        assert event.titles == {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"}
        assert (event.start_at, event.end_at) == (local(2026, 11, 9, 10), local(2026, 11, 9, 12))
        assert (event.step_free, event.hearing_loop, event.parking) == (True, True, False)
        assert (event.languages, event.interpreters) == (["en", "bn"], ["syl"])
        assert (event.topic, event.capacity, event.status) == ("carers_support", 40, "scheduled")
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "event.created"))
        assert audit.one().detail == {"festivals": ["Diwali (Sunday 8 November 2026)"]}
    page = staff.get("/console/calendar/events/1").text
    assert "Event scheduled." in page
    assert "This is on or next to Diwali (Sunday 8 November 2026)." in page


def test_an_ordinary_day_is_scheduled_at_once(staff: FlaskClient, services: Services) -> None:
    csrf = token(staff, "/console/calendar/events/new")
    data = {**form(**{"date-day": "18", "date-month": "11"}), "csrf_token": csrf}
    response = staff.post("/console/calendar/events/new", data=data)
    assert response.status_code == 302
    month = staff.get("/console/calendar?month=2026-11").text
    assert (
        '<caption class="govuk-table__caption govuk-table__caption--m">November 2026</caption>'
        in month
    )
    assert (
        '<th scope="col" class="govuk-table__header"><abbr title="Monday">Mon</abbr></th>' in month
    )
    assert 'href="/console/calendar/events/1">10:00 Carers forum</a>' in month
    assert 'href="/console/calendar?month=2026-10"' in month
    assert 'href="/console/calendar?month=2026-12"' in month
    assert "Carers forum" not in staff.get("/console/calendar?month=2026-12").text
    for odd in ("0001-01", "9999-12", "November", "2026-13"):
        page = staff.get(f"/console/calendar?month={odd}")
        assert page.status_code == 200 and ">November 2026</caption>" in page.text, odd


def test_a_form_with_mistakes_says_what_to_fix(staff: FlaskClient, services: Services) -> None:
    csrf = token(staff, "/console/calendar/events/new")
    bad = form(
        **{"title-en": "", "date-day": "31", "date-month": "2", "start": "14:00", "end": "9:00"},
        place="",
        capacity="lots",
        topic="unknown",
    )
    response = staff.post("/console/calendar/events/new", data={**bad, "csrf_token": csrf})
    assert response.status_code == 400
    for message in (
        "Enter the event&#39;s title in English",
        "The date of the event must be a real date",
        "Enter where the event is",
        "Capacity must be a whole number from 1 to 100,000, like 40",
        "Choose a topic from the list",
    ):
        assert message in response.text
    assert 'href="#title-en"' in response.text and 'href="#date-day"' in response.text
    times = staff.post(
        "/console/calendar/events/new",
        data={**form(start="14:00", end="09:00"), "csrf_token": csrf},
    )
    assert "The end time must be after the start time" in times.text
    with services.database.session() as session:
        assert session.scalars(select(Consultation)).all() == []


def test_changing_and_cancelling_tell_those_coming(staff: FlaskClient, services: Services) -> None:
    event_id = add_event(services, local(2026, 11, 25, 10, 0))
    coming = person(services, "+447700900111")
    person(services, "+447700900222")
    with services.database.session() as session:
        record_answer(session, event_id, session.get_one(Address, coming), True, services.clock())
    edit = staff.get(f"/console/calendar/events/{event_id}/edit").text
    assert 'value="25"' in edit and 'value="10:00"' in edit
    csrf = token(staff, f"/console/calendar/events/{event_id}/edit")
    changed = form(**{"date-day": "26", "start": "14:00", "end": "16:00"})
    response = staff.post(
        f"/console/calendar/events/{event_id}/edit", data={**changed, "csrf_token": csrf}
    )
    assert response.status_code == 302
    page = staff.get(response.location).text
    assert "1 person who said they will come are told of the change." in page
    cancelled = staff.post(f"/console/calendar/events/{event_id}/cancel", data={"csrf_token": csrf})
    assert cancelled.status_code == 302
    page = staff.get(cancelled.location).text
    assert "Cancelled" in page and "Cancel this event" not in page
    sent = services.sender.sent  # type: ignore[attr-defined]
    assert [m.text for m in sent] == [
        "Change to an event: Carers forum is now Thursday 26 November, 14:00, at Town Hall, "
        "Mulberry Place.",
        "Sorry, Carers forum on Thursday 26 November, 14:00 is cancelled.",
    ]
    assert {m.address for m in sent} == {"+447700900111"}
    with services.database.session() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["event.updated", "event.cancelled"]
        keys = session.scalars(select(Message.dedupe_key).order_by(Message.id)).all()
        assert keys == ["event:1:change:1", "event:1:cancel"]


def test_the_event_page_lists_who_answered_without_their_numbers(
    staff: FlaskClient, services: Services
) -> None:
    event_id = add_event(services, local(2026, 11, 25, 10, 0), capacity=30)
    now = services.clock()
    answers = [
        (person(services, phone), coming)
        for phone, coming in (
            ("+447700900111", True),
            ("+447700900222", True),
            ("+447700900333", False),
        )
    ]
    with services.database.session() as session:
        for address_id, coming in answers:
            record_answer(session, event_id, session.get_one(Address, address_id), coming, now)
    page = staff.get(f"/console/calendar/events/{event_id}").text
    assert "2 said yes, 1 said no (capacity 30)." in page
    assert "sms ending 111" in page and "sms ending 333" in page
    assert "+447700900" not in page and "7700900111" not in page
    assert page.index("ending 111") < page.index("ending 333")  # yes first


def test_what_staff_wrote_is_escaped_everywhere(
    staff: FlaskClient, app: Flask, services: Services
) -> None:
    add_event(services, local(2026, 11, 25, 10, 0), titles={"en": SCRIPT}, place=SCRIPT)
    for page in (
        staff.get("/console/calendar?month=2026-11"),
        staff.get("/console/calendar/events/1"),
        staff.get("/console/calendar/events/1/edit"),
        app.test_client().get("/events"),
    ):
        assert page.status_code == 200
        assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_the_public_calendar_needs_no_sign_in_and_shows_no_one(
    app: Flask, services: Services
) -> None:
    event_id = add_event(
        services,
        local(2026, 11, 25, 10, 0),
        step_free=True,
        interpreters=["bsl"],
        access_notes="Lift from the Clove Crescent entrance",
    )
    add_event(services, local(2026, 10, 1, 10, 0), titles={"en": "Over already"})
    with services.database.session() as session:
        address = session.get_one(Address, person(services, "+447700900111"))
        record_answer(session, event_id, address, True, services.clock())
    page = app.test_client().get("/events")
    assert page.status_code == 200
    text = page.text
    assert "Carers forum" in text and "কেয়ারার ফোরাম" not in text
    assert "Wednesday 25 November 2026, 10:00–12:00" in text
    assert "Step-free access" in text and "British Sign Language" in text
    assert "Lift from the Clove Crescent entrance" in text
    assert "Over already" not in text
    assert "7700900111" not in text and "said yes" not in text
    assert 'href="/events.ics"' in text


def test_an_empty_calendar_is_a_valid_feed(app: Flask) -> None:
    response = app.test_client().get("/events.ics")
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.get_data())
    assert calendar.walk("VEVENT") == [] and len(calendar.walk("VTIMEZONE")) == 1
    assert vobject.readOne(response.get_data().decode("utf-8")).name == "VCALENDAR"


def october_events(services: Services) -> None:
    # The clocks go back at 02:00 on Sunday 25 October 2026, the last Sunday of October.
    add_event(services, local(2026, 10, 24, 10, 0), titles={"en": "Before the change"})
    add_event(services, local(2026, 10, 26, 10, 0), titles={"en": "After the change"})


def test_the_public_feed_validates_and_keeps_10_00_across_the_october_change(
    app: Flask, services: Services
) -> None:
    """Must show: parsed back by icalendar and by vobject, 10:00 on both sides of the change."""
    october_events(services)
    response = app.test_client().get("/events.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.get_data()

    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    before, after = events["Before the change"], events["After the change"]
    assert before["dtstart"].params["TZID"] == after["dtstart"].params["TZID"] == "Europe/London"
    assert before.decoded("dtstart").astimezone(UTC) == datetime(2026, 10, 24, 9, tzinfo=UTC)
    assert after.decoded("dtstart").astimezone(UTC) == datetime(2026, 10, 26, 10, tzinfo=UTC)
    assert b"DTSTART;TZID=Europe/London:20261024T100000" in body
    assert b"DTSTART;TZID=Europe/London:20261026T100000" in body
    # The VTIMEZONE itself, read as a zone, puts the change where the tz database does.
    [zone] = calendar.walk("VTIMEZONE")
    assert isinstance(zone, icalendar.Timezone)
    tz = zone.to_tz()
    assert datetime(2026, 10, 24, 10).replace(tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 10, 26, 10).replace(tzinfo=tz).utcoffset() == timedelta(0)
    assert str(before["uid"]) == "event-1@kotha.towerhamlets.gov.uk"
    assert (before["sequence"], str(before["status"])) == (0, "CONFIRMED")

    # A second, independent parser accepts the same file and reads the same instants.
    parsed = vobject.readOne(body.decode("utf-8"))
    starts = {e.summary.value: e.dtstart.value for e in parsed.vevent_list}
    assert starts["Before the change"].utcoffset() == timedelta(hours=1)
    assert starts["After the change"].utcoffset() == timedelta(0)
    assert starts["Before the change"].hour == starts["After the change"].hour == 10
    assert parsed.vtimezone.tzid.value == "Europe/London"


def test_each_person_has_their_own_feed_in_their_language(app: Flask, services: Services) -> None:
    october_events(services)
    add_event(services, local(2026, 12, 2, 10, 0), topic="home_care")
    cancelled = add_event(services, local(2026, 12, 3, 10, 0), topic="carers_support")
    now = services.clock()
    with services.database.session() as session:
        address = session.get_one(Address, person(services, "+447700900111", language="bn"))
        subscribe(session, address, "carers_support", now)
        secret = calendar_token(session, address.contact)
        session.get_one(Consultation, cancelled).status = "cancelled"
    client = app.test_client()
    assert client.get("/events/not-a-token.ics").status_code == 404
    response = client.get(f"/events/{secret}.ics")
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.get_data())
    entries = calendar.walk("VEVENT")
    # Events for everyone and their topic's (cancelled), not another topic's; in Bengali,
    # or English where an event has no Bengali title.
    assert [(str(e["summary"]), str(e["status"])) for e in entries] == [
        ("Before the change", "CONFIRMED"),
        ("After the change", "CONFIRMED"),
        ("কেয়ারার ফোরাম", "CANCELLED"),
    ]
    summaries = [
        e.summary.value for e in vobject.readOne(response.get_data().decode("utf-8")).vevent_list
    ]
    assert summaries == ["Before the change", "After the change", "কেয়ারার ফোরাম"]


def test_the_reminder_is_previewed_priced_before_anything_is_saved(
    staff: FlaskClient, services: Services
) -> None:
    csrf = token(staff, "/console/calendar/events/new")
    data = {
        **form(
            **{
                "date-day": "18",
                "title-en": "Carers’ forum – autumn",
                "access_notes": "Lift at the back",
            }
        ),
        "csrf_token": csrf,
        "action": "preview",
    }
    shown = staff.post("/console/calendar/events/new", data=data)
    assert shown.status_code == 200
    page = shown.text
    assert "The reminder people will receive by SMS" in page
    # Staff's curly apostrophe and dash are made plain first, and the preview says so.
    assert "1 curly quote and 1 dash replaced to keep it a plain text message" in page
    assert "Reminder: Carers&#39; forum - autumn, Wednesday 18 November, 10:00" in page
    preview = page.split('id="reminder-preview"', 1)[1].split("</div>", 1)[0]
    assert preview.count('<h3 class="govuk-heading-s">') == len(services.i18n.written)
    assert "কেয়ারার ফোরাম" in preview and "বাংলা" in preview
    # Each language's reminder is priced: its encoding and SMS segments.
    assert page.count("GSM-7") >= 1 and page.count("UCS-2") >= 1 and "£0." in page
    with services.database.session() as session:
        assert session.scalars(select(Consultation)).all() == []
