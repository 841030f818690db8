"""People's own words end to end through the runner: the examples new users tried.

Each goes in as a provider's message, through the store, the understanding, the engine and
the outbox, and out through the recording sender.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.types import InboundMessage, Media
from flows.texts import NAGRI_BY_SMS
from storage.models import Address, Feedback, Message
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"
CHAT = "5551234"


def test_a_complaint_in_one_sentence_is_checked_then_kept(bot: Bot) -> None:
    story = "i want to complain about my carer she is always late"
    introduced, asked = bot.receive(PERSON, story)
    assert introduced.startswith("This is Kotha")
    assert "sounds like you want to make a complaint" in asked
    replies = bot.conversation(PERSON, "yes", "1", "skip", "no", "yes")
    assert "What happened?" not in "".join(replies)
    assert "Your reference is C-" in replies[-2]  # then the question about broadcasts
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.text == story and feedback.kind == "complaint"
        understood = session.scalars(
            select(Message.understood).where(Message.direction == "in").order_by(Message.id)
        ).first()
    assert understood is not None
    assert understood["intent"] == "complaint" and "complain" in understood["why"]


@pytest.mark.parametrize(
    "text", ["Stop please", "please stop texting me", "Stop messaging me", "বন্ধ করো", "বন্ধ করেন"]
)
def test_stop_in_ordinary_words_stops_everything(bot: Bot, text: str) -> None:
    bot.conversation(PERSON, "hi", "1")
    [stopped] = bot.receive(PERSON, text)
    assert "no more messages" in stopped or "আর কোনো" in stopped or "কোনো মেসেজ" in stopped
    assert bot.receive(PERSON, "1") == []
    with bot.services.database.session() as session:
        address = session.scalars(select(Address)).one()
        assert address.stopped_at is not None


def test_a_mention_of_stopping_is_not_an_opt_out(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1", "1", "1")
    [reply] = bot.receive(PERSON, "the carer won't stop shouting at my dad")
    assert "What would you like to happen now?" in reply


def test_hi_two_days_later_is_not_taken_as_the_complaint(bot: Bot, clock: FrozenClock) -> None:
    bot.conversation(PERSON, "hi", "1", "1", "1")
    clock.advance(timedelta(days=2))
    [asked] = bot.receive(PERSON, "Hi")
    assert "carry on where you left off" in asked
    kept, menu = bot.receive(PERSON, "start again")
    assert "We have kept what you told us. Your reference is C-" in kept
    assert "What would you like to do?" in menu
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
    # The service they chose is kept; "Hi" is not their complaint.
    assert feedback.service == "home_care" and not feedback.text


def test_a_button_for_an_earlier_question_is_told_and_shown_the_current_one(bot: Bot) -> None:
    bot.conversation(CHAT, "hi", "1", "1", channel="telegram")
    bot.services.runner.receive(
        InboundMessage("telegram", CHAT, "3", question="menu/main", provider_id="cb-1")
    )
    old = bot.replies[-1]
    assert old.startswith("That button was for an earlier question.")
    assert "Which service is it about?" in old
    with bot.services.database.session() as session:
        asked = session.scalars(
            select(Message.question).where(Message.direction == "out").order_by(Message.id.desc())
        ).first()
    assert asked == "complaint/service"


def test_slash_start_is_a_first_greeting_on_telegram(bot: Bot) -> None:
    [greeting] = bot.receive(CHAT, "/start", channel="telegram")
    assert "Welcome back" not in greeting and "1 English" in greeting


def test_a_voice_note_at_the_menu_is_kept_and_acknowledged(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1")
    [heard] = bot.receive(PERSON, "", media=(Media("https://example.org/m/1", "audio/ogg"),))
    assert heard.startswith("Got it, thank you.") and "Please send one number" not in heard
    with bot.services.database.session() as session:
        kept = session.scalars(select(Message.media).where(Message.direction == "in")).all()
    assert [item for item in kept if item] == [
        [{"url": "https://example.org/m/1", "content_type": "audio/ogg"}]
    ]


# -- Sylheti in Syloti Nagri ------------------------------------------------------------------

NAGRI = "ꠀꠝꠤ ꠘꠣꠟꠤꠡ ꠇꠞꠔꠣꠝ ꠌꠣꠁ"  # "I want to complain", in Syloti Nagri


def _language_of(bot: Bot) -> str | None:
    with bot.services.database.session() as session:
        return session.scalars(select(Address)).one().contact.language


def test_syloti_nagri_is_read_and_answered_in_it_on_telegram(bot: Bot) -> None:
    replies = bot.receive(CHAT, NAGRI, channel="telegram")
    assert _language_of(bot) == "syl-Sylo"
    assert all(any("\ua800" <= char <= "\ua82f" for char in reply) for reply in replies)
    # No Bengali letters: Syloti Nagri has no digits of its own, and writes Bengali ones.
    assert not any(any("\u0980" <= char < "\u09e6" for char in reply) for reply in replies)


def test_by_sms_syloti_nagri_comes_in_bengali_letters_and_says_why_once(bot: Bot) -> None:
    first = bot.receive(PERSON, NAGRI)
    assert _language_of(bot) == "syl-Sylo"
    assert first[0] == bot.services.i18n.gettext("syl", NAGRI_BY_SMS)
    for reply in first:
        assert not any("\ua800" <= char <= "\ua82f" for char in reply)
    later = bot.receive(PERSON, "1")
    assert later and all(bot.services.i18n.gettext("syl", NAGRI_BY_SMS) != r for r in later)


def test_the_sms_language_menu_leaves_out_what_sms_cannot_show(bot: Bot) -> None:
    [menu] = bot.receive(PERSON, "hello")
    assert "4 Sylheti (Latin)" in menu and "ꠍꠤꠟꠐꠤ" not in menu
    [chat_menu] = bot.receive(CHAT, "hello", channel="telegram")
    assert "5 ꠍꠤꠟꠐꠤ" in chat_menu
