"""The case lifecycle, outcomes and the statutory clock (bot/casework/cases.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlalchemy import select

from bot.casework.cases import (
    OUTCOME_TEXT,
    OUTCOME_UPDATE_WITH_CHANGE,
    STATUS_TEXT,
    UPDATE,
    CaseError,
    Clock,
    UnknownFeedback,
    allowed_statuses,
    change_status,
    clock_of,
    complaint_deadlines,
    deadline_state,
    find,
    is_urgent,
    ordered,
    ordered_page,
    record_outcome,
)
from bot.services import Services
from storage.models import Address, CaseEvent, Contact, Feedback, Message
from storage.records import create_feedback
from tests.conftest import Bot, FrozenClock

LONDON = ZoneInfo("Europe/London")
PERSON = "+447700900777"
# A complaint by text: menu, complaint, service, text, no picture, no callback, no consent.
COMPLAINT = ("hi", "1", "1", "1", "The carer did not come.", "SKIP", "2", "1")


def add_case(services: Services, kind: str = "complaint", language: str = "en") -> int:
    """A feedback record from a person who wrote on SMS; return its id."""
    now = services.clock()
    with services.database.session() as session:
        address = session.scalar(select(Address).where(Address.address == PERSON))
        if address is None:
            address = Address(
                contact=Contact(created_at=now, language=language),
                channel="sms",
                address=PERSON,
                created_at=now,
            )
            session.add(address)
            session.flush()
        ack, respond = complaint_deadlines(now, LONDON, 20)
        feedback = create_feedback(
            session, address, language, kind, {"text": "Late again"}, True, now, ack, respond
        )
        session.flush()
        return feedback.id


def move(
    services: Services,
    feedback_id: int,
    status: str,
    note: str | None = None,
    tell: bool = False,
    user_id: int | None = None,
) -> tuple[int, int | None]:
    with services.database.session() as session:
        feedback = session.get_one(Feedback, feedback_id)
        change = change_status(
            session,
            feedback,
            status,
            user_id=user_id,
            note=note,
            tell=tell,
            now=services.clock(),
        )
        return change.event.id, change.message.id if change.message else None


def case(services: Services, feedback_id: int) -> Feedback:
    with services.database.session() as session:
        return session.get_one(Feedback, feedback_id)


def events(services: Services, feedback_id: int) -> list[tuple[str | None, str, str | None]]:
    with services.database.session() as session:
        rows = session.scalars(
            select(CaseEvent).where(CaseEvent.feedback_id == feedback_id).order_by(CaseEvent.id)
        )
        return [(e.from_status, e.to_status, e.note) for e in rows]


def test_each_step_is_recorded_and_stamped_once(services: Services, clock: FrozenClock) -> None:
    feedback_id = add_case(services)
    start = clock.now
    move(services, feedback_id, "acknowledged")
    clock.advance(timedelta(days=1))
    move(services, feedback_id, "in_progress")
    clock.advance(timedelta(days=1))
    move(services, feedback_id, "resolved")
    clock.advance(timedelta(days=1))
    move(services, feedback_id, "closed")

    record = case(services, feedback_id)
    assert record.status == "closed"
    assert record.acknowledged_at == start
    assert record.in_progress_at == start + timedelta(days=1)
    assert record.decided_at == start + timedelta(days=2)
    assert record.closed_at == start + timedelta(days=3)
    assert events(services, feedback_id) == [
        ("received", "acknowledged", None),
        ("acknowledged", "in_progress", None),
        ("in_progress", "resolved", None),
        ("resolved", "closed", None),
    ]


def test_a_correction_needs_a_reason_and_keeps_the_first_times(
    services: Services, clock: FrozenClock
) -> None:
    feedback_id = add_case(services)
    move(services, feedback_id, "acknowledged")
    move(services, feedback_id, "not_upheld")
    decided = case(services, feedback_id).decided_at
    for status in ("in_progress", "resolved", "received"):
        with pytest.raises(CaseError, match="give a note saying why"):
            move(services, feedback_id, status, note="   ")
    clock.advance(timedelta(hours=2))
    move(services, feedback_id, "resolved", note="The visit log shows the carer missed it.")
    move(services, feedback_id, "in_progress", note="Reopened: the family sent new evidence.")

    record = case(services, feedback_id)
    assert record.status == "in_progress"
    assert record.decided_at == decided  # the first decision still counts for the clock
    assert record.in_progress_at == clock.now  # reached for the first time by the correction
    assert [to for _, to, _ in events(services, feedback_id)] == [
        "acknowledged",
        "not_upheld",
        "resolved",
        "in_progress",
    ]


def test_moving_on_past_received_counts_as_the_acknowledgement(services: Services) -> None:
    compliment = add_case(services, "compliment")
    move(services, compliment, "closed")
    record = case(services, compliment)
    assert record.acknowledged_at is not None and record.closed_at is not None
    assert record.in_progress_at is None and record.decided_at is None


def test_unknown_statuses_repeats_and_references_are_refused(services: Services) -> None:
    feedback_id = add_case(services)
    with pytest.raises(CaseError, match="status must be one of"):
        move(services, feedback_id, "lost")
    with pytest.raises(CaseError, match="is already received"):
        move(services, feedback_id, "received", note="again")
    with services.database.session() as session, pytest.raises(UnknownFeedback):
        find(session, "C-000000")
    assert events(services, feedback_id) == []


def test_allowed_statuses_name_the_corrections(services: Services) -> None:
    feedback_id = add_case(services)
    move(services, feedback_id, "in_progress")
    assert dict(allowed_statuses(case(services, feedback_id))) == {
        "received": True,
        "acknowledged": True,
        "resolved": False,
        "not_upheld": False,
        "closed": False,
    }


def test_telling_the_person_writes_the_update_with_the_change(services: Services) -> None:
    feedback_id = add_case(services, language="bn")
    event_id, message_id = move(services, feedback_id, "acknowledged", tell=True, user_id=None)
    assert message_id is not None
    with services.database.session() as session:
        row = session.get_one(Message, message_id)
        assert (row.direction, row.is_reply, row.template) == ("out", False, UPDATE)
        assert row.params is not None and row.params["status"] == {
            "msgid": STATUS_TEXT["acknowledged"]
        }
        assert session.get_one(CaseEvent, event_id).message_id == message_id
    # Queued after the commit, sent through the pipeline, in the person's language.
    services.queue.enqueue([message_id])
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert services.i18n.gettext("bn", STATUS_TEXT["acknowledged"]) in sent.text
    assert case(services, feedback_id).reference in sent.text

    _, quiet = move(services, feedback_id, "in_progress", tell=False)
    assert quiet is None


def test_an_outcome_is_recorded_in_the_history_and_told(services: Services) -> None:
    feedback_id = add_case(services)
    move(services, feedback_id, "acknowledged")
    with services.database.session() as session:
        feedback = session.get_one(Feedback, feedback_id)
        with pytest.raises(CaseError, match="say what the change is"):
            record_outcome(
                session,
                feedback,
                "change_made",
                " ",
                user_id=None,
                tell=True,
                now=datetime.now(UTC),
            )
        with pytest.raises(CaseError, match="outcome must be one of"):
            record_outcome(
                session, feedback, "fixed", "x", user_id=None, tell=False, now=datetime.now(UTC)
            )
    with services.database.session() as session:
        feedback = session.get_one(Feedback, feedback_id)
        change = record_outcome(
            session,
            feedback,
            "change_planned",
            "Carers will phone if they are running late.",
            user_id=None,
            tell=True,
            now=services.clock(),
        )
        assert change.message is not None
        assert change.message.template == OUTCOME_UPDATE_WITH_CHANGE
        message_id = change.message.id
    services.queue.enqueue([message_id])
    record = case(services, feedback_id)
    assert (record.outcome, record.outcome_change) == (
        "change_planned",
        "Carers will phone if they are running late.",
    )
    assert events(services, feedback_id)[-1] == (
        "acknowledged",
        "acknowledged",
        "Outcome: Change planned: Carers will phone if they are running late.",
    )
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert OUTCOME_TEXT["change_planned"] in sent.text
    assert sent.text.endswith("Carers will phone if they are running late.")


# --- The statutory clock ---------------------------------------------------------------------


def test_a_friday_complaint_before_a_bank_holiday_monday(bot: Bot, clock: FrozenClock) -> None:
    """Must show: Friday 28 May 2027, 15:00 in London; Monday 31 May is the Spring bank holiday."""
    bank_holidays = holidays.country_holidays("GB", subdiv="ENG", years=2027)
    assert bank_holidays.get(date(2027, 5, 31)) == "Spring Bank Holiday"
    clock.now = datetime(2027, 5, 28, 15, 0, tzinfo=LONDON).astimezone(UTC)

    replies = bot.conversation(PERSON, *COMPLAINT)

    with bot.services.database.session() as session:
        record = session.scalars(select(Feedback)).one()
        # Tuesday, Wednesday, Thursday: three working days after Friday, Monday not counted.
        assert record.acknowledge_by == date(2027, 6, 3)
        # Twenty working days, the bank holiday again not counted.
        assert record.respond_by == date(2027, 6, 28)
    assert any("Thursday 3 June" in reply for reply in replies)


def test_deadlines_count_from_the_local_date(services: Services) -> None:
    # 23:30 on Thursday 31 December 2026 in London is still Thursday: New Year's Day, then
    # the weekend, do not count.
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert complaint_deadlines(late, LONDON, 20)[0] == date(2027, 1, 6)
    # 23:30 UTC on 30 June is already 1 July in London (BST).
    summer = datetime(2027, 6, 30, 23, 30, tzinfo=UTC)
    assert complaint_deadlines(summer, LONDON, 5) == (date(2027, 7, 6), date(2027, 7, 8))


def test_overdue_and_due_soon_are_counted_in_working_days() -> None:
    friday = date(2027, 5, 28)
    # Two working days after Friday: Tuesday and Wednesday (Monday is a bank holiday).
    assert deadline_state(date(2027, 6, 2), False, friday) == "due_soon"
    assert deadline_state(date(2027, 6, 3), False, friday) is None
    assert deadline_state(friday, False, friday) == "due_soon"  # due today is not yet late
    assert deadline_state(date(2027, 5, 27), False, friday) == "overdue"
    assert deadline_state(date(2027, 5, 27), True, friday) is None
    assert deadline_state(None, False, friday) is None
    assert Clock("overdue", "due_soon").urgency == "overdue"
    assert Clock(None, "due_soon").urgency == "due_soon"
    assert Clock(None, None).urgency is None


def test_the_clock_stops_when_acknowledged_and_when_decided(
    services: Services, clock: FrozenClock
) -> None:
    feedback_id = add_case(services)  # Wednesday 18 November 2026: acknowledge by Monday 23rd
    record = case(services, feedback_id)
    assert (record.acknowledge_by, record.respond_by) == (date(2026, 11, 23), date(2026, 12, 16))
    assert clock_of(record, date(2026, 11, 24)) == Clock("overdue", None)
    assert clock_of(record, date(2026, 12, 17)) == Clock("overdue", "overdue")
    move(services, feedback_id, "acknowledged")
    assert clock_of(case(services, feedback_id), date(2026, 12, 15)) == Clock(None, "due_soon")
    move(services, feedback_id, "not_upheld")
    assert clock_of(case(services, feedback_id), date(2027, 1, 15)) == Clock(None, None)


def test_a_page_reads_the_same_order_as_sorting_every_case(
    services: Services, clock: FrozenClock
) -> None:
    start = clock.now
    for days in (40, 30, 9, 7, 6, 2, 1, 0, 20, 15, 3, 12):
        clock.now = start - timedelta(days=days, minutes=days)
        feedback_id = add_case(services)
        if days in (30, 12):
            move(services, feedback_id, "acknowledged")
        if days == 20:
            move(services, feedback_id, "resolved")
    clock.now = start
    add_case(services, "comment")
    today = start.date()
    with services.database.session() as session:
        everything = [f.id for f in session.scalars(ordered(select(Feedback), today))]
        urgent = session.scalars(select(Feedback.id).where(is_urgent(today))).all()
        assert 0 < len(urgent) < len(everything) == 13
        for size in (1, 4, 5, 13):
            for offset in range(0, 14, size):
                found = ordered_page(session, select(Feedback), today, offset, size)
                assert [f.id for f in found] == everything[offset : offset + size], (offset, size)
        complaints = select(Feedback).where(Feedback.kind == "complaint")
        complaint_ids = set(session.scalars(complaints.with_only_columns(Feedback.id)))
        in_order = [i for i in everything if i in complaint_ids]
        assert len(in_order) == 12
        found = ordered_page(session, complaints, today, 8, 5)
        assert [f.id for f in found] == in_order[8:13]
