"""Attendance at events: who came, counted over a period; a thank-you that STOP and No hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.outreach import attendance
from bot.outreach.consultations import EventDetails, create_event, record_answer
from bot.pipeline import consent
from bot.services import Services
from bot.types import Kind
from storage.models import Address, Consultation, Contact, Message
from tests.conftest import Bot

PEOPLE = ("+447700900201", "+447700900202", "+447700900203", "+447700900204")


def an_event(services: Services, days: int = -1, **changes: object) -> int:
    """An event that started `days` from now (yesterday by default)."""
    start = services.clock() + timedelta(days=days)
    values: dict[str, object] = {
        "titles": {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
        "start_at": start,
        "end_at": start + timedelta(hours=2),
        "place": "Town Hall",
        **changes,
    }
    with services.database.session() as session:
        return create_event(session, EventDetails(**values), None, services.clock()).id  # type: ignore[arg-type]


def people(bot: Bot) -> list[int]:
    """Four people who wrote to us (in English, then Bengali for the last), their contact ids."""
    for phone in PEOPLE[:3]:
        bot.conversation(phone, "hi", "1")
    bot.conversation(PEOPLE[3], "hi", "2")
    with bot.services.database.session() as session:
        return [
            session.scalars(select(Address.contact_id).where(Address.address == phone)).one()
            for phone in PEOPLE
        ]


def said_yes(services: Services, event_id: int, *contact_ids: int) -> None:
    with services.database.session() as session:
        for contact_id in contact_ids:
            address = session.scalars(
                select(Address).where(Address.contact_id == contact_id)
            ).first()
            assert address is not None
            record_answer(session, event_id, address, True, services.clock())


def test_staff_tick_who_came_add_others_and_count_the_unknown(bot: Bot, services: Services) -> None:
    first, second, third, fourth = people(bot)
    event_id = an_event(services)
    said_yes(services, event_id, first, second, third)
    now = services.clock()
    with services.database.session() as session:
        event = session.get_one(Consultation, event_id)
        shown = {first, second, third}
        assert attendance.save_ticks(session, event, shown, {first, second}, None, now) == 2
        # Came anyway: marked as such. Twice is once.
        assert attendance.add_walk_in(session, event, fourth, None, now)
        assert not attendance.add_walk_in(session, event, fourth, None, now)
        attendance.set_extra(event, 7)
        # Unticking takes them off; a made-up id or one not shown changes nothing.
        assert attendance.save_ticks(session, event, shown | {999}, {first, 999}, None, now) == 2
        marked = attendance.attended(session, event_id)
        assert {cid: row.said_yes for cid, row in marked.items()} == {first: True, fourth: False}
        with pytest.raises(attendance.AttendanceError):
            attendance.set_extra(event, -1)
        with pytest.raises(attendance.AttendanceError):
            attendance.set_extra(event, attendance.MAX_EXTRA + 1)
        with pytest.raises(attendance.AttendanceError):
            attendance.add_walk_in(session, event, 12345, None, now)
        staff = Contact(language="en", created_at=now, staff=True)
        session.add(staff)
        session.flush()
        with pytest.raises(attendance.AttendanceError):
            attendance.add_walk_in(session, event, staff.id, None, now)


def test_attendance_over_a_period_counts_each_event_not_cancelled(
    bot: Bot, services: Services
) -> None:
    first, second, third, fourth = people(bot)
    now = services.clock()
    early = an_event(services, days=-10)
    late = an_event(services, days=-2)
    cancelled = an_event(services, days=-3)
    outside = an_event(services, days=-40)
    said_yes(services, early, first, second)
    said_yes(services, late, third)
    with services.database.session() as session:
        for event_id, came, extra in (
            (early, {first}, 3),
            (late, {third}, 0),
            (cancelled, {first}, 5),
            (outside, {second}, 9),
        ):
            event = session.get_one(Consultation, event_id)
            attendance.save_ticks(session, event, came, came, None, now)
            attendance.set_extra(event, extra)
        attendance.add_walk_in(session, session.get_one(Consultation, late), fourth, None, now)
        session.get_one(Consultation, cancelled).status = "cancelled"
    with services.database.session() as session:
        found = attendance.attendance(session, now - timedelta(days=30), now)
    assert [
        (e.event_id, e.said_yes, e.came_after_yes, e.came_anyway, e.extra) for e in found.events
    ] == [
        (early, 2, 1, 0, 3),
        (late, 1, 1, 1, 0),
    ]
    assert (found.came, found.people, found.extra, found.said_yes) == (6, 3, 3, 3)
    with services.database.session() as session:
        assert attendance.attendance(session, now, now + timedelta(days=1)).events == ()


def test_a_thank_you_goes_once_to_each_who_came_and_stop_and_no_hold_it(
    bot: Bot, services: Services
) -> None:
    first, second, third, fourth = people(bot)
    event_id = an_event(services)
    said_yes(services, event_id, first, second, third, fourth)
    now = services.clock()
    bot.receive(PEOPLE[1], "STOP")
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == PEOPLE[2])).one()
        consent.record(
            session.connection(),
            consent.Asked(
                contact_id=third,
                address_id=address.id,
                purpose=consent.CONTACT,
                question="Do you agree that we can contact you about your complaint?",
                wording="Do you agree that we can contact you about your complaint?",
                language="en",
                channel="sms",
                answer=False,
                given_at=now,
            ),
        )
        event = session.get_one(Consultation, event_id)
        shown = {first, second, third, fourth}
        attendance.save_ticks(session, event, shown, shown, None, now)
        rows = attendance.thank(session, event, now, services.settings.zone)
        ids = [row.id for row in rows]
        assert len(rows) == 4 and {row.kind for row in rows} == {Kind.THANKS}
        # Once each, however often staff press the button.
        assert attendance.thank(session, event, now, services.settings.zone) == []
    before = len(bot.replies)
    services.queue.enqueue(ids)
    sent = bot.replies[before:]
    assert "Thank you for coming to Carers forum." in sent[0]
    assert sent[1] == "কেয়ারার ফোরাম-এ আসার জন্য ধন্যবাদ। আপনার কথা প্রাপ্তবয়স্কদের সামাজিক সেবা গড়তে সাহায্য করে।"
    with services.database.session() as session:
        outcome = {
            address: (status, reason)
            for address, status, reason in session.execute(
                select(Address.address, Message.status, Message.reason)
                .join(Address, Address.id == Message.address_id)
                .where(Message.kind == Kind.THANKS)
            )
        }
    assert outcome[PEOPLE[1]] == ("held", "opted-out")
    assert outcome[PEOPLE[2]] == ("held", "no-contact")
    assert {outcome[PEOPLE[0]][1], outcome[PEOPLE[3]][1]} == {None}
    assert {outcome[PEOPLE[0]][0], outcome[PEOPLE[3]][0]} <= {"sent", "delivered"}
