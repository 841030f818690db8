"""Feedback taken on someone's behalf: kept like any other, told by SMS or by a staff task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.casework import onbehalf, tasks
from bot.casework.accounts import create_user
from bot.casework.cases import Change, change_status, find, record_outcome
from bot.casework.onbehalf import Given, TakeError
from bot.outreach import opportunities
from bot.services import Services
from bot.types import Kind
from storage.exports import feedback_rows
from storage.models import (
    Address,
    AuditEvent,
    Base,
    Consent,
    Contact,
    Feedback,
    Interest,
    Message,
    Opportunity,
    StaffTask,
    SurveyResponse,
    TakenOnBehalf,
    User,
)
from tests.conftest import Bot

MOBILE = "07700 900123"
MOBILE_E164 = "+447700900123"
LANDLINE = "020 7364 5005"
WORDS = "ফোনে বললেন: the carer has not come for a week 😟"


def told(
    session: Session,
    services: Services,
    reference: str,
    status: str = "in_progress",
    note: str | None = None,
) -> Change:
    """Move the case on from the command line with "tell the person" ticked."""
    feedback = find(session, reference, lock=True)
    return change_status(
        session, feedback, status, user_id=None, note=note, tell=True, now=services.clock()
    )


def complaint_by_phone(**changes: str) -> Given:
    fields = dict(
        kind="complaint",
        channel="phone",
        language="bn",
        words=WORDS,
        service="home_care",
        name="Mrs Begum",
        phone=MOBILE,
        updates_by="sms",
        consent="yes",
    )
    fields.update(changes)
    return Given(**fields)


def take(services: Services, given: Given, user: str = "taker@example.org") -> onbehalf.Taken:
    with services.database.session() as session:
        staff = session.scalar(select(User).where(User.email == user))
        if staff is None:
            staff = create_user(session, user, "staff", "a long password!", services.clock())
        return onbehalf.record(
            session,
            given,
            user_id=staff.id,
            now=services.clock(),
            i18n=services.i18n,
            flows=services.flows,
            settings=services.settings,
        )


def counts(services: Services) -> dict[str, int]:
    """How many rows every table holds."""
    with services.database.session() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }


def test_a_complaint_by_phone_gets_a_reference_deadlines_consent_and_an_audit(
    services: Services,
) -> None:
    taken = take(services, complaint_by_phone())

    assert taken.reference is not None and taken.reference.startswith("C-")
    with services.database.session() as session:
        feedback = find(session, taken.reference)
        assert (feedback.kind, feedback.channel, feedback.language) == ("complaint", "phone", "bn")
        assert feedback.text == WORDS  # exactly as given
        assert feedback.acknowledge_by is not None and feedback.respond_by is not None
        assert feedback.consent_to_contact is True
        address = session.get_one(Address, feedback.address_id)
        # The mobile they gave is an SMS address of theirs.
        assert (address.channel, address.address) == ("sms", MOBILE_E164)
        [consent] = session.scalars(select(Consent)).all()
        assert (consent.channel, consent.answer, consent.feedback_id) == (
            "phone",
            True,
            feedback.id,
        )
        assert consent.question == "Do you agree that we can contact you about your complaint?"
        assert consent.wording and consent.wording != consent.question  # read in Bengali
        [row] = session.scalars(select(TakenOnBehalf)).all()
        assert (row.name, row.phone, row.updates_by) == ("Mrs Begum", MOBILE_E164, "sms")
        [audit] = session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.taken"))
        assert audit.user_id == row.recorded_by is not None
        assert audit.target_id == taken.reference
        # Who took it and how; never the words, the name or the number.
        assert WORDS not in str(audit.detail) and MOBILE_E164 not in str(audit.detail)
        exported = list(feedback_rows(session))
    [record] = [r for r in exported if r["reference"] == taken.reference]
    assert record["channel"] == "phone" and record["text"] == WORDS


def test_its_update_goes_by_sms_to_the_mobile_through_the_outbox(bot: Bot) -> None:
    services = bot.services
    taken = take(services, complaint_by_phone())
    assert taken.reference
    with services.database.session() as session:
        change = told(session, services, taken.reference)
        assert change.task is None and change.message is not None
        message_id = change.message.id
        assert (change.message.channel, change.message.kind) == ("sms", Kind.CASE_UPDATE)
    services.queue.enqueue([message_id])
    with services.database.session() as session:
        assert session.get_one(Message, message_id).status == "delivered"
    sent = bot.sender.sent[-1]
    assert sent.address == MOBILE_E164 and sent.channel == "sms"
    assert taken.reference in sent.text


def test_a_no_to_contact_or_a_stop_holds_the_sms_like_any_other(bot: Bot) -> None:
    services = bot.services
    taken = take(services, complaint_by_phone())
    assert taken.reference
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == MOBILE_E164)).one()
        address.stopped_at, address.stopped_by = services.clock(), "person"
        change = told(session, services, taken.reference)
        assert change.message is not None
        message_id = change.message.id
    services.queue.enqueue([message_id])
    with services.database.session() as session:
        held = session.get_one(Message, message_id)
        assert (held.status, held.reason) == ("held", "opted-out")


def test_without_a_mobile_an_update_is_a_task_to_write_and_nothing_is_sent(bot: Bot) -> None:
    services = bot.services
    given = complaint_by_phone(
        kind="comment",
        channel="letter",
        phone="",
        postal_address="Flat 2, 10 Brick Lane\nLondon E1 6RF",
        updates_by="letter",
    )
    taken = take(services, given)
    assert taken.reference and taken.reference.startswith("M-")
    with services.database.session() as session:
        address = session.get_one(Address, taken.address_id)
        # An address no sender serves: nothing can ever be sent to it.
        assert address.channel == "letter" and address.address.startswith("letter:")
        feedback = find(session, taken.reference, lock=True)
        assert feedback.acknowledge_by is None  # only complaints have the statutory clock
        change = change_status(
            session,
            feedback,
            "acknowledged",
            user_id=None,
            note="We have passed it to the day centre manager.",
            tell=True,
            now=services.clock(),
        )
        assert change.message is None and change.task is not None
        assert change.event.message_id is None
        task_id = change.task.id
        outcome = record_outcome(
            session,
            feedback,
            "change_made",
            "Lunch is now served at 12.",
            user_id=None,
            tell=True,
            now=services.clock(),
        )
        assert outcome.message is None and outcome.task is not None
        [first, second] = tasks.open_tasks(session, feedback_id=feedback.id)
        assert first.id == task_id and first.kind == "write-with-update"
        assert taken.reference in first.summary
        assert "passed it to the day centre manager" in first.summary
        assert "Brick Lane" not in first.summary  # the address is read from their record
        assert "Lunch is now served at 12." in second.summary
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_landline_takes_calls_not_texts(services: Services) -> None:
    taken = take(services, complaint_by_phone(phone=LANDLINE, updates_by="call"))
    assert taken.reference
    with services.database.session() as session:
        address = session.get_one(Address, taken.address_id)
        assert address.channel == "phone"
        feedback = find(session, taken.reference, lock=True)
        assert feedback.wants_callback is True and feedback.callback_language == "bn"
        change = change_status(
            session,
            feedback,
            "in_progress",
            user_id=None,
            note=None,
            tell=True,
            now=services.clock(),
        )
        assert change.task is not None and change.task.kind == "call-with-update"
        assert change.task.summary.startswith("Call them")
    with pytest.raises(TakeError) as refused:
        take(services, complaint_by_phone(phone=LANDLINE, updates_by="sms"))
    assert refused.value.errors == {
        "phone": "This is not a mobile number: choose updates by phone call, or give a mobile"
    }


def test_no_updates_when_they_said_no_to_contact(services: Services) -> None:
    taken = take(services, complaint_by_phone(phone="", updates_by="none", consent="no"))
    assert taken.reference
    with services.database.session() as session:
        change = told(session, services, taken.reference)
        assert change.message is None and change.task is None
        assert session.scalar(select(Consent.answer)) is False


def test_a_mobile_already_known_is_the_same_person(bot: Bot) -> None:
    bot.receive(MOBILE_E164, "hello")
    with bot.services.database.session() as session:
        contact_id = session.scalars(select(Address.contact_id)).one()
    taken = take(bot.services, complaint_by_phone(kind="compliment"))
    assert taken.contact_id == contact_id


def test_a_survey_answer_and_an_interest_are_kept_and_counted(services: Services) -> None:
    with services.database.session() as session:
        opportunities.seed(session, services.clock())
    survey = take(
        services,
        complaint_by_phone(
            kind="survey", service="survey-have-your-say", updates_by="none", phone=""
        ),
    )
    interest = take(
        services,
        complaint_by_phone(
            kind="interest", service="focus_groups", words="", updates_by="call", phone=LANDLINE
        ),
    )
    assert survey.reference is None and interest.reference is None
    with services.database.session() as session:
        response = session.scalars(select(SurveyResponse)).one()
        assert (response.channel, response.answers) == ("phone", {"text": WORDS})
        kept = session.scalars(select(Interest)).one()
        assert (kept.channel, kept.opportunity, kept.contact_how) == (
            "phone",
            "focus_groups",
            "phone",
        )
        assert session.scalar(select(func.count()).select_from(TakenOnBehalf)) == 2
        closed = session.scalars(select(Opportunity).where(Opportunity.key == "think")).one()
        closed.open = False
    # Only the ways to take part that are open, as staff keep them, can be chosen.
    with pytest.raises(TakeError, match="Choose what they want to take part in: ") as refused:
        take(
            services,
            complaint_by_phone(
                kind="interest", service="think", words="", updates_by="call", phone=LANDLINE
            ),
        )
    assert "focus_groups" in str(refused.value) and "think" not in str(refused.value)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"words": "   "}, "words", "Write down what they said, in their words"),
        ({"words": "x" * 5_000}, "words", "What they said must be 4,000 characters or fewer"),
        ({"words": "bad\x00byte"}, "words", "What they said has characters that cannot be"),
        ({"name": "bad \udcff byte"}, "name", "Their name has characters that cannot be"),
        ({"phone": "12345"}, "phone", "Enter a real phone number"),
        ({"phone": "+44 7700 90012a"}, "phone", "Enter a real phone number"),
        ({"language": "fr"}, "language", "Choose their language: en, bn, syl"),
        ({"consent": ""}, "consent", "Say whether they agreed that we can contact them"),
        ({"consent": "no"}, "updates_by", "They did not agree to be contacted"),
        ({"kind": "praise"}, "kind", "Choose what they told us"),
        ({"channel": "sms"}, "channel", "Choose how they told us: phone, in_person, letter"),
        ({"service": "parking"}, "service", "Choose the service"),
        ({"updates_by": "fax"}, "updates_by", "Choose how they want to hear what happens"),
        ({"updates_by": "letter"}, "postal_address", "To write to them with updates"),
        ({"phone": "", "updates_by": "call"}, "phone", "To call them with updates"),
        ({"phone": ""}, "phone", "To send updates by text, give their mobile number"),
        ({"name": "N" * 201}, "name", "Their name must be 200 characters or fewer"),
    ],
)
def test_bad_input_is_named_and_nothing_is_saved(
    services: Services, changes: dict[str, str], field: str, message: str
) -> None:
    before = counts(services)
    with pytest.raises(TakeError) as refused:
        with services.database.session() as session:
            onbehalf.record(
                session,
                complaint_by_phone(**changes),
                user_id=None,
                now=services.clock(),
                i18n=services.i18n,
                flows=services.flows,
                settings=services.settings,
            )
    assert refused.value.errors[field].startswith(message)
    assert counts(services) == before


def test_a_staff_number_is_not_a_member_of_the_public(services: Services) -> None:
    with services.database.session() as session:
        session.add(
            Address(
                contact=Contact(staff=True, created_at=services.clock()),
                channel="sms",
                address=MOBILE_E164,
                created_at=services.clock(),
            )
        )
    before = counts(services)
    with pytest.raises(TakeError) as refused:
        take(services, complaint_by_phone())
    assert "council colleague" in refused.value.errors["phone"]
    after = counts(services)
    assert after["feedback"] == before["feedback"] and after["taken_on_behalf"] == 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(words=st.text(max_size=60), name=st.text(max_size=30))
def test_any_unicode_is_kept_exactly_or_refused_whole(
    services: Services, words: str, name: str
) -> None:
    before = counts(services)
    try:
        taken = take(
            services, complaint_by_phone(words=words, name=name, phone="", updates_by="none")
        )
    except TakeError as refused:
        assert set(refused.errors) <= {"words", "name"}
        assert counts(services) == before
        return
    with services.database.session() as session:
        assert taken.reference
        feedback = find(session, taken.reference)
        assert feedback.text == words.strip()
        row = session.scalars(
            select(TakenOnBehalf).where(TakenOnBehalf.feedback_id == feedback.id)
        ).one()
        assert row.name == (name.strip() or None)


def test_tasks_open_close_and_list_open_first(services: Services) -> None:
    now = services.clock()
    with services.database.session() as session:
        first = tasks.open_task(session, "call-with-update", "Call them about C-100001", now=now)
        second = tasks.open_task(
            session, "book-interpreter", "Book a Sylheti interpreter", now=now + timedelta(hours=1)
        )
        with pytest.raises(tasks.TaskError):
            tasks.open_task(session, "Bad Kind!", "x", now=now)
        with pytest.raises(tasks.TaskError):
            tasks.open_task(session, "call-with-update", "  ", now=now)
        with pytest.raises(tasks.TaskError):
            tasks.open_task(session, "call-with-update", "x" * 2_001, now=now)
        assert tasks.count_open(session) == 2
        done = tasks.close_task(session, first.id, user_id=None, now=now + timedelta(hours=2))
        assert (done.status, done.done_at) == ("done", now + timedelta(hours=2))
        with pytest.raises(tasks.TaskError):
            tasks.close_task(session, first.id, user_id=None, now=now)
        with pytest.raises(tasks.UnknownTask):
            tasks.close_task(session, 999, user_id=None, now=now)
        assert [task.id for task in tasks.listing(session)] == [second.id, first.id]
        assert [task.id for task in tasks.open_tasks(session)] == [second.id]
        assert tasks.open_tasks(session, kind="call-with-update") == []
        assert tasks.kind_label("book-interpreter") == "Book an interpreter"
        assert tasks.kind_label("post-a-leaflet") == "Post a leaflet"
        assert session.scalar(select(func.count()).select_from(StaffTask)) == 2


def test_the_digest_counts_open_tasks(services: Services) -> None:
    from bot.casework.digest import CaseDigest

    with services.database.session() as session:
        tasks.open_task(session, "call-with-update", "Call them", now=services.clock())
    text = CaseDigest(services.database, services.settings, services.clock).text()
    assert text.endswith("nothing overdue or due soon. 1 task open.")


def test_erasure_takes_their_details_and_tasks(services: Services) -> None:
    from bot.casework.erasure import SurveyAnswers, erase_people

    given = complaint_by_phone(
        kind="comment", phone="", postal_address="1 Brick Lane", updates_by="letter"
    )
    taken = take(services, given)
    with services.database.session() as session:
        feedback = find(session, taken.reference or "", lock=True)
        change_status(
            session,
            feedback,
            "in_progress",
            user_id=None,
            note=None,
            tell=True,
            now=services.clock(),
        )
        erase_people(
            session,
            [taken.contact_id],
            now=services.clock(),
            complaint_months=72,
            survey_answers=SurveyAnswers.of(services.flows),
            user_id=None,
            reason=None,
        )
    with services.database.session() as session:
        row = session.scalars(select(TakenOnBehalf)).one()
        assert (row.name, row.phone, row.postal_address, row.updates_by) == (
            None,
            None,
            None,
            "none",
        )
        assert row.channel == "phone"
        assert session.scalar(select(func.count()).select_from(StaffTask)) == 0
        assert session.scalar(select(Feedback.channel)) == "phone"  # still counted


@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_on_postgresql_the_same(bot: Bot) -> None:
    # The task list's ordering (open first; NULLs sort differently there) and the writes.
    test_without_a_mobile_an_update_is_a_task_to_write_and_nothing_is_sent(bot)
    test_its_update_goes_by_sms_to_the_mobile_through_the_outbox(bot)
    with bot.services.database.session() as session:
        [first, second] = tasks.open_tasks(session)
        tasks.close_task(session, first.id, user_id=None, now=bot.services.clock())
        assert [task.id for task in tasks.listing(session)] == [second.id, first.id]


def test_feedback_taken_today_keeps_someone_who_texted_long_ago(bot: Bot) -> None:
    services = bot.services
    bot.receive(MOBILE_E164, "hello")
    months = services.settings.retention_conversations_months
    services.clock.advance(timedelta(days=31 * months + 10))  # type: ignore[attr-defined]
    with services.database.session() as session:
        contact_id = session.scalars(select(Address.contact_id)).one()
    assert [due.id for due in services.retention.due()] == [contact_id]

    take(services, complaint_by_phone(kind="comment"))

    assert services.retention.due() == []
