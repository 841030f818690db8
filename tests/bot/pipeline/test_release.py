"""Held messages go once the reason to hold them is gone: the person writes again, or unblocks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.casework.cases import update_status
from bot.channels.base import RecipientStoppedError
from bot.services import Services
from bot.types import InboundMessage, OutboundMessage, SendReceipt
from storage.models import Address, Feedback, Message
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900555"


def _complain(bot: Bot, channel: str, consent: str = "2") -> str:
    """Make a complaint (consent "1": they agree to be contacted); return its reference."""
    bot.conversation(
        PERSON, "hi", "1", "1", "1", "Nobody came.", "SKIP", "2", consent, channel=channel
    )
    with bot.services.database.session() as session:
        return session.scalars(select(Feedback.reference)).one()


def _comment(bot: Bot, channel: str) -> str:
    """Leave a comment (nobody is asked about contact); return its reference."""
    bot.conversation(PERSON, "hi", "1", "2", "1", "The carer was late.", channel=channel)
    with bot.services.database.session() as session:
        return session.scalars(select(Feedback.reference)).one()


def _update(services: Services, reference: str) -> Message:
    with services.database.session() as session:
        row = update_status(session, reference, "in_progress", None, services.clock())
        assert row is not None
        row_id = row.id
    services.queue.enqueue([row_id])
    with services.database.session() as session:
        return session.get_one(Message, row_id)


def test_whatsapp_update_waits_for_the_window_then_goes_when_they_write(
    bot: Bot, clock: FrozenClock
) -> None:
    reference = _comment(bot, "whatsapp")
    clock.advance(timedelta(hours=25))
    held = _update(bot.services, reference)
    assert (held.status, held.reason) == ("held", "outside-whatsapp-window")
    sent_before = len(bot.replies)

    replies = bot.receive(PERSON, "0", channel="whatsapp")

    assert any(reference in text for text in replies)
    assert len(bot.replies) == sent_before + 2  # the held update, then the menu
    with bot.services.database.session() as session:
        assert session.get_one(Message, held.id).status == "delivered"


def test_outside_the_window_a_person_who_agreed_is_texted_instead(
    bot: Bot, clock: FrozenClock
) -> None:
    reference = _complain(bot, "whatsapp", consent="1")
    clock.advance(timedelta(hours=25))

    sent = _update(bot.services, reference)

    assert (sent.status, sent.channel) == ("delivered", "sms")
    last = bot.sender.sent[-1]
    assert (last.channel, last.address) == ("sms", PERSON) and reference in last.text


class BlockedOnce:
    """A Telegram sender whose chat blocked the bot for the first send only."""

    def __init__(self) -> None:
        self.calls = 0
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> SendReceipt:
        self.calls += 1
        if self.calls == 1:
            raise RecipientStoppedError("Forbidden: bot was blocked by the user")
        self.sent.append(message)
        return SendReceipt(provider_id=str(self.calls), status="delivered")


def test_telegram_block_is_lifted_when_the_person_writes_again(services: Services) -> None:
    sender = BlockedOnce()
    services.dispatcher.senders = {"telegram": sender}

    services.runner.receive(InboundMessage("telegram", "5550001", "hello"))
    with services.database.session() as session:
        address = session.scalars(select(Address)).one()
        assert (address.stopped_by, address.stopped_at is not None) == ("provider", True)

    services.runner.receive(InboundMessage("telegram", "5550001", "hello again"))

    with services.database.session() as session:
        address = session.scalars(select(Address)).one()
        assert address.stopped_at is None and address.stopped_by is None
    # The answer to the second message reached them: English, told from their words, so
    # whose service this is first, then the menu.
    assert [message.question for message in sender.sent] == [None, "menu/main"]


def test_a_person_who_sent_stop_stays_stopped_whatever_they_write(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1", "STOP", channel="telegram")
    assert bot.receive(PERSON, "hello", channel="telegram") == []
    with bot.services.database.session() as session:
        assert session.scalars(select(Address.stopped_by)).one() == "person"
