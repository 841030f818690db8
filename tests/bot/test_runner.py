"""The runner end to end: a person's conversation stored, stepped and answered."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.services import Services
from bot.types import InboundMessage
from storage.models import Contact, Conversation, Feedback, Message
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"


def test_first_message_offers_every_language_by_name(bot: Bot) -> None:
    [greeting] = bot.receive(PERSON, "hello")
    assert "1 English" in greeting and "2 বাংলা" in greeting and "3 সিলেটি" in greeting


def test_english_complaint_is_stored_with_reference_and_deadline(bot: Bot) -> None:
    text = "The carer   came late\ttwice — and was rude. «Really» 😞"
    replies = bot.conversation(PERSON, "hi", "1", "1", "1", text, "I want an apology", "2", "1")
    assert "Your reference is C-" in replies[-1]
    # 18 Nov 2026 is a Wednesday: three working days later is Monday 23 November.
    assert "Monday 23 November" in replies[-1]
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.text == text
        assert feedback.kind == "complaint" and feedback.service == "home_care"
        assert feedback.desired_outcome == "I want an apology"
        assert feedback.wants_callback is False and feedback.consent_to_contact is True
        assert feedback.language == "en" and feedback.channel == "sms"
        assert feedback.reference in replies[-1]


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
