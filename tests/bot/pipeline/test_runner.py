"""The runner end to end: a person's conversation stored, stepped and answered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, func, select

from bot.pipeline.runner import Runner
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import InboundMessage, Media
from storage.db import Database
from storage.models import Address, Contact, Conversation, Feedback, Message, StaffTask
from storage.notify import received_messages
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"


def test_first_message_offers_every_language_by_name(bot: Bot) -> None:
    [greeting] = bot.receive(PERSON, "hello")
    assert "1 English" in greeting and "2 বাংলা" in greeting and "3 সিলেটি" in greeting
    # Told where the privacy notice is as soon as anything is collected (UK GDPR art. 13).
    assert "Privacy: http://" in greeting and "/privacy\nSend a number:" in greeting
    # And in their language when they ask for the languages again.
    bot.receive(PERSON, "2")
    [again] = bot.receive(PERSON, "LANGUAGE")
    assert "গোপনীয়তা: http://" in again and "/privacy\n" in again


def test_english_complaint_is_stored_with_reference_and_deadline(bot: Bot) -> None:
    text = "The carer   came late\ttwice — and was rude. «Really» 😞"
    replies = bot.conversation(PERSON, "hi", "1", "1", "1", text, "I want an apology", "2", "1")
    thanks, news = replies[-2:]  # the thanks, then the one question about broadcasts
    assert "Your reference is C-" in thanks
    assert news.startswith("May we send you news")
    # 18 Nov 2026 is a Wednesday: three working days later is Monday 23 November.
    assert "Monday 23 November" in thanks
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.text == text
        assert feedback.kind == "complaint" and feedback.service == "home_care"
        assert feedback.desired_outcome == "I want an apology"
        assert feedback.wants_callback is False and feedback.consent_to_contact is True
        assert feedback.language == "en" and feedback.channel == "sms"
        assert feedback.reference in thanks


@pytest.mark.parametrize(
    ("key", "code", "name", "consent", "tasks"),
    [
        ("2", "bn", "Bengali", "1", 1),
        ("2", "bn", "Bengali", "2", 0),
        # Sylheti in Latin letters is how they write; on the phone it is Sylheti.
        ("4", "syl-Latn", "Sylheti", "1", 1),
    ],
    ids=["yes", "no to contact", "a script is not a spoken language"],
)
def test_asking_us_to_phone_opens_a_call_back_task_in_their_language(
    bot: Bot, key: str, code: str, name: str, consent: str, tasks: int
) -> None:
    # Yes, phone me; in the language of `key`; then yes or no to contact.
    bot.conversation(PERSON, "hi", "1", "1", "1", "Nobody came", "skip", "1", key, consent)
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.wants_callback is True and feedback.callback_language == code
        opened = session.scalars(select(StaffTask).where(StaffTask.kind == "call-back")).all()
        assert len(opened) == tasks
        for task in opened:
            assert task.feedback_id == feedback.id and feedback.reference in task.summary
            assert task.summary.endswith(f"Speak {name}.") and PERSON not in task.summary


def test_repeated_provider_id_is_answered_once(bot: Bot) -> None:
    first = bot.receive(PERSON, "hello", provider_id="SM1")
    again = bot.receive(PERSON, "hello", provider_id="SM1")
    assert len(first) == 1 and again == []
    with bot.services.database.session() as session:
        inbound = session.scalar(select(func.count()).where(Message.direction == "in"))
    assert inbound == 1


def test_half_finished_conversation_resumes_where_it_stopped(bot: Bot, clock: FrozenClock) -> None:
    bot.conversation(PERSON, "hi", "1", "2")
    clock.advance(timedelta(hours=30))
    [reply] = bot.receive(PERSON, "3")
    assert "What would you like to tell us?" in reply


def test_expired_conversation_ends_politely_and_keeps_what_was_said(
    bot: Bot, clock: FrozenClock
) -> None:
    bot.conversation(PERSON, "hi", "1", "1", "4", "The day centre was closed without notice.")
    clock.advance(timedelta(days=3, minutes=1))
    assert bot.services.runner.expire_stale() == 1
    assert "We closed this conversation" in bot.replies[-1]
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        conversation = session.scalars(select(Conversation)).one()
    assert feedback.status == "incomplete" and feedback.service == "carers_support"
    assert feedback.text == "The day centre was closed without notice."
    assert (conversation.flow, conversation.node) == ("menu", "main")
    assert bot.services.runner.expire_stale() == 0


def test_stop_silences_the_bot_until_start(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1")
    [confirmation] = bot.receive(PERSON, "STOP")
    assert "START" in confirmation
    assert bot.receive(PERSON, "1") == []
    [welcome] = bot.receive(PERSON, "start")
    assert "Welcome back" in welcome


def test_bengali_keyword_sets_the_language(bot: Bot) -> None:
    [reply] = bot.receive(PERSON, "অভিযোগ")
    with bot.services.database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        contact = session.scalars(select(Contact)).one()
    assert conversation.flow == "complaint"
    # অভিযোগ is Bengali and Sylheti alike: the script decides, and Bengali is the guess.
    assert contact.language == "bn"
    assert (
        reply
        == bot.services.i18n.render(
            "bn", "Which service is it about?", choices=_service_labels(bot)
        ).text
    )


def _service_labels(bot: Bot) -> tuple[str, ...]:
    node = bot.services.flows["complaint"].nodes["service"]
    return tuple(option.label for option in node.options)


def test_with_a_queue_receive_only_stores_and_the_step_answers_in_order(
    services: Services, clock: FrozenClock
) -> None:
    queued: list[int] = []
    runner = services.runner
    runner.after_store = queued.append
    for text in ("hi", "1", "2"):
        assert runner.receive(InboundMessage("sms", PERSON, text)).outbound_ids == ()
    with services.database.session() as session:
        statuses = session.scalars(select(Message.status).where(Message.direction == "in")).all()
    assert statuses == ["received"] * 3 and len(set(queued)) == 1

    runner.process(queued[0])

    replies = services.sender.sent  # type: ignore[attr-defined]
    # Stepped oldest first: language menu, main menu (English), then the comment flow.
    assert [r.text.splitlines()[0] for r in replies][-1] == "Which service is it about?"
    assert len(replies) == 3
    assert runner.process(queued[0]) == []  # nothing left: a second job is harmless


def test_with_huey_the_step_is_queued_by_the_web_process_or_announced_by_postgresql(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    services = build_services(settings, database=database, clock=clock, queue="huey")
    assert services.huey is not None
    try:
        if database.dialect == "sqlite":
            services.runner.receive(InboundMessage("sms", PERSON, "hi"))
            assert services.huey.pending_count() == 1  # the step job
            return
        with received_messages(database) as announced:
            assert announced is not None
            services.runner.receive(InboundMessage("sms", PERSON, "hi"))
            assert services.huey.pending_count() == 0  # the web process queued nothing
            waiting = services.runner.pending(timedelta(0))  # this person's address
            assert list(announced.within(1.0)) == waiting
    finally:
        services.huey.storage.close()
        services.close()


def test_the_sweep_steps_a_message_whose_job_was_lost(
    services: Services, clock: FrozenClock
) -> None:
    services.runner.after_store = lambda address_id: None  # the job never arrives
    services.runner.receive(InboundMessage("sms", PERSON, "hi"))
    assert services.sender.sent == []  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=1))

    services.sweeper.run()

    [greeting] = services.sender.sent  # type: ignore[attr-defined]
    assert "1 English" in greeting.text


def test_a_process_meeting_a_known_address_stores_under_it_and_still_dedupes(
    services: Services,
) -> None:
    services.runner.after_store = lambda address_id: None
    services.runner.receive(InboundMessage("sms", PERSON, "hi", provider_id="SM-a"))
    # Another web worker: it has not met this address, which is in the database already.
    other = Runner(
        services.database,
        services.runner.stepper,
        services.queue,
        clock=services.clock,
        steps="announced",
    )
    stored = other.receive(InboundMessage("sms", PERSON, "1", provider_id="SM-b"))
    again = other.receive(InboundMessage("sms", PERSON, "1", provider_id="SM-b"))
    new = other.receive(InboundMessage("whatsapp", PERSON, "hello", provider_id="SM-c"))
    with services.database.session() as session:
        rows = session.execute(
            select(Message.id, Message.address_id, Message.status, Message.body).order_by(
                Message.id
            )
        ).all()
        addresses = session.scalars(select(Address.channel).order_by(Address.id)).all()
    assert addresses == ["sms", "whatsapp"]
    assert [(row.status, row.body) for row in rows] == [
        ("received", "hi"),
        ("received", "1"),
        ("received", "hello"),
    ]
    assert rows[0].address_id == rows[1].address_id != rows[2].address_id
    assert not stored.duplicate and stored.message_id == rows[1].id
    assert again.duplicate and again.message_id == stored.message_id
    assert new.message_id == rows[2].id


def test_columns_a_message_does_not_use_are_sql_null_not_json_null(bot: Bot) -> None:
    bot.receive(PERSON, "hello")
    bot.receive(PERSON, "1", media=(Media("https://example.org/m/1", "audio/ogg"),))
    with bot.services.database.session() as session:

        def count(*where: ColumnElement[bool]) -> int:
            return session.scalar(select(func.count(Message.id)).where(*where)) or 0

        inbound, outbound = Message.direction == "in", Message.direction == "out"
        assert count(inbound, Message.params.is_(None), Message.choices.is_(None)) == 2
        assert count(inbound, Message.media.is_(None)) == 1
        assert count(outbound, Message.media.is_(None)) == count(outbound) > 0


def test_a_message_stepped_at_once_waits_for_older_ones_still_waiting(
    services: Services,
) -> None:
    services.runner.after_store = lambda address_id: None  # a step job that never ran
    services.runner.receive(InboundMessage("sms", PERSON, "hi"))
    services.runner.after_store = None
    received = services.runner.receive(InboundMessage("sms", PERSON, "1"))
    replies = services.sender.sent  # type: ignore[attr-defined]
    # "hi" first (the language menu), then "1" (English: the main menu).
    assert len(replies) == 2 and "1 English" in replies[0].text
    assert len(received.outbound_ids) == 2
    with services.database.session() as session:
        statuses = session.scalars(select(Message.status).where(Message.direction == "in")).all()
    assert statuses == ["processed", "processed"]
