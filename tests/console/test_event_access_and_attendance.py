"""The event page's access needs, interpreter requests and attendance, through the real app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach import access
from bot.outreach.consultations import record_answer
from bot.services import Services
from bot.types import Kind
from kotha import create_app
from storage.models import Address, AuditEvent, Consultation, Contact, Feedback, Message
from tests.console.test_access import PASSWORD, SCRIPT, sign_in, token
from tests.console.test_calendar import add_event, form, person

PHONES = ("+447700900111", "+447700900222", "+447700900333")


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff", "moderator"):
            create_user(session, f"{role}@example.org", role, PASSWORD, now=services.clock())
    return create_app(services=services)


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    return client


def coming(services: Services, event_id: int) -> list[int]:
    """Three people who said yes: one needs an interpreter in a language they named (markup
    in it), one step-free access and a hearing loop, one never told us. Their contact ids."""
    now = services.clock()
    contacts = []
    address_ids = [person(services, phone) for phone in PHONES]
    with services.database.session() as session:
        for address_id in address_ids:
            address = session.get_one(Address, address_id)
            record_answer(session, event_id, address, True, now)
            contacts.append(address.contact_id)
        access.save(session, contacts[0], ["interpreter"], SCRIPT, now)
        access.save(session, contacts[1], ["step_free", "hearing_loop"], None, now)
    return contacts


def started(services: Services, **changes: Any) -> int:
    """An event that began an hour ago."""
    return add_event(services, services.clock() - timedelta(hours=1), **changes)


def test_the_event_page_shows_needs_and_interpreter_requests(
    staff: FlaskClient,
    services: Services,
) -> None:
    event_id = add_event(services, services.clock() + timedelta(days=3))
    first, second, _ = coming(services, event_id)
    page = staff.get(f"/console/calendar/events/{event_id}").text
    assert "3 said yes; 1 of them has not told us their needs yet." in page
    assert "Book an interpreter for each of these people" in page
    # The language they named is shown as text, never as markup; no whole number anywhere.
    assert SCRIPT not in page and "&lt;script&gt;" in page
    assert "+447700900" not in page and f"Contact {first}, sms ending 111" in page
    assert f"Contact {second}, sms ending 222" in page
    assert "You can mark who came once the event has started." in page
    with services.database.session() as session:
        needs = access.event_needs(session, event_id)
    assert [needs.count(code) for code in access.NEEDS] == [1, 1, 1, 0, 0]


def test_only_staff_and_admins_mark_attendance_with_the_form_token(
    app: Flask,
    services: Services,
) -> None:
    event_id = started(services)
    paths = [
        f"/console/calendar/events/{event_id}/attendance",
        f"/console/calendar/events/{event_id}/attendance/add",
        f"/console/calendar/events/{event_id}/thanks",
    ]
    nobody = app.test_client()
    moderator = app.test_client()
    assert sign_in(moderator, "moderator@example.org") == 302
    csrf = token(moderator, "/console/")
    for path in paths:
        assert nobody.post(path).status_code in (302, 400)
        assert moderator.post(path, data={"csrf_token": csrf}).status_code == 403
    staff_client = app.test_client()
    assert sign_in(staff_client, "staff@example.org") == 302
    for path in paths:
        assert staff_client.post(path, data={"extra": "1"}).status_code == 400  # no token
    assert (
        staff_client.post(
            "/console/calendar/events/999/attendance",
            data={"csrf_token": token(staff_client, "/console/")},
        ).status_code
        == 404
    )


def test_staff_mark_who_came_count_others_and_thank_them(
    staff: FlaskClient,
    services: Services,
) -> None:
    event_id = started(services)
    first, second, third = coming(services, event_id)
    page = f"/console/calendar/events/{event_id}"
    csrf = token(staff, page)
    saved = staff.post(
        f"{page}/attendance",
        data={
            "csrf_token": csrf,
            "shown": [first, second, third],
            "came": [first, third],
            "extra": "4",
        },
    )
    assert saved.status_code == 302
    shown = staff.get(page).text
    assert "Attendance saved: 2 people marked, and 4 more who were not known." in shown
    assert "2 known people and 4 not known to us came." in shown

    # Someone who came anyway, by a reference of theirs; then by number.
    walk_in_id = person(services, "+447700900444")
    with services.database.session() as session:
        walk_in = session.get_one(Address, walk_in_id)
        session.add(
            Feedback(
                reference="C-482173",
                kind="comment",
                status="received",
                language="en",
                channel="sms",
                contact_id=walk_in.contact_id,
                address_id=walk_in.id,
                created_at=services.clock(),
            )
        )
    added = staff.post(f"{page}/attendance/add", data={"csrf_token": csrf, "person": "c 482173"})
    assert added.status_code == 302
    again = staff.post(
        f"{page}/attendance/add", data={"csrf_token": csrf, "person": "07700 900444"}
    )
    assert again.status_code == 302
    shown = staff.get(page).text
    assert "They were marked already." in shown and "(came without saying yes)" in shown

    thanked = staff.post(f"{page}/thanks", data={"csrf_token": csrf})
    assert thanked.status_code == 302
    assert "A thank-you is going to 3 people." in staff.get(page).text
    staff.post(f"{page}/thanks", data={"csrf_token": csrf})
    assert "Everyone marked has been thanked already." in staff.get(page).text
    with services.database.session() as session:
        assert session.scalar(
            select(Message.id).where(Message.kind == Kind.THANKS).order_by(Message.id.desc())
        )
        kinds = [row.action for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert kinds.count("event.attendance") == 2 and kinds.count("event.thanked") == 2
        assert session.get_one(Consultation, event_id).extra_attendees == 4


def test_attendance_mistakes_say_what_to_fix_and_change_nothing(
    staff: FlaskClient,
    services: Services,
) -> None:
    ahead = add_event(services, services.clock() + timedelta(days=2))
    page = f"/console/calendar/events/{ahead}"
    csrf = token(staff, page)
    early = staff.post(f"{page}/attendance", data={"csrf_token": csrf, "extra": "2"})
    assert early.status_code == 400
    assert "You can mark who came once the event has started" in early.text

    event_id = started(services)
    page = f"/console/calendar/events/{event_id}"
    for typed, said in (
        ("ten", "Enter how many came unknown as a whole number from 0 to 100,000"),
        ("-1", "Enter how many came unknown"),
        ("1000001", "Enter how many came unknown"),
        ("٣", "Enter how many came unknown"),
    ):
        wrong = staff.post(f"{page}/attendance", data={"csrf_token": csrf, "extra": typed})
        assert wrong.status_code == 400 and said in wrong.text, typed
    bad_ids = staff.post(
        f"{page}/attendance", data={"csrf_token": csrf, "shown": ["x"], "came": ["1"]}
    )
    assert bad_ids.status_code == 400 and "Tick the people who came" in bad_ids.text
    for typed, said in (
        ("", "Enter a reference, like C-482173, or a phone number"),
        ("C-999999", "No feedback has the reference C-999999"),
        ("07700 900999", "Nobody we hear from has that reference or number"),
        ("x" * 10_000, "Enter a reference, like C-482173, or a phone number"),
        ("<b>07700</b>", "Nobody we hear from"),
        ("\x00", "NUL character"),  # refused before it reaches the page (bot/web_guards.py)
    ):
        wrong = staff.post(f"{page}/attendance/add", data={"csrf_token": csrf, "person": typed})
        assert wrong.status_code == 400 and said in wrong.text, typed
        assert "<b>" not in wrong.text
    nobody = staff.post(f"{page}/thanks", data={"csrf_token": csrf})
    assert nobody.status_code == 400 and "Mark who came before thanking them" in nobody.text
    with services.database.session() as session:
        assert session.get_one(Consultation, event_id).extra_attendees == 0
        assert session.scalar(select(Message.id).where(Message.kind == Kind.THANKS)) is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=200))
def test_any_text_for_someone_who_came_is_answered_clearly(
    staff: FlaskClient,
    services: Services,
    typed: str,
) -> None:
    with services.database.session() as session:
        event_id = session.scalar(select(Consultation.id).order_by(Consultation.id.desc()))
    if event_id is None:
        event_id = started(services)
    page = f"/console/calendar/events/{event_id}"
    response = staff.post(
        f"{page}/attendance/add", data={"csrf_token": token(staff, page), "person": typed}
    )
    assert response.status_code in (302, 400)


def test_the_venue_access_note_is_one_short_line_that_fits_a_text(
    staff: FlaskClient,
    services: Services,
) -> None:
    path = "/console/calendar/events/new"
    csrf = token(staff, path)
    base = {**form(**{"date-day": "12"}), "csrf_token": csrf}
    too_long = staff.post(path, data={**base, "access_notes": "x" * 61})
    assert too_long.status_code == 400
    assert "Write at most 60 characters: they go into text messages" in too_long.text
    emoji = staff.post(path, data={**base, "access_notes": "Lift 🛗 at the side"})
    assert emoji.status_code == 400 and "in plain letters, digits and punctuation" in emoji.text
    saved = staff.post(
        path,
        data={
            **base,
            "access": ["step_free", "accessible_toilet"],
            "access_notes": "Lift at the side door",
        },
    )
    assert saved.status_code == 302
    with services.database.session() as session:
        event = session.scalars(select(Consultation)).one()
        assert (event.step_free, event.accessible_toilet, event.hearing_loop) == (True, True, False)
        assert event.access_notes == "Lift at the side door"
    page = staff.get(saved.location).text
    assert "Step-free access, Accessible toilet" in page
    assert staff.get(f"{saved.location}/edit").text.count('value="accessible_toilet" checked') == 1


def test_staff_contacts_cannot_be_marked(
    staff: FlaskClient,
    services: Services,
) -> None:
    event_id = started(services)
    colleague_id = person(services, "+447700900555")
    with services.database.session() as session:
        colleague = session.get_one(Address, colleague_id)
        session.get_one(Contact, colleague.contact_id).staff = True
    page = f"/console/calendar/events/{event_id}"
    refused = staff.post(
        f"{page}/attendance/add", data={"csrf_token": token(staff, page), "person": "+447700900555"}
    )
    assert refused.status_code == 400 and "Nobody we hear from" in refused.text
