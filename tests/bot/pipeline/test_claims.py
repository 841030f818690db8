"""The step claims its own replies as it writes them, and they go once its transaction commits.

A reply that may go now is written `sending`, rendered, and sent by the same thread right
after the commit: no second read, no second claim. What may not go now (quiet hours, a
closed WhatsApp window) is written `queued`, for the queue's claim to hold with its reason.
A reply whose thread died between the commit and the send is sent after the lease, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.channels.console import RecordingSender
from bot.pipeline.dispatch import SENDING_LEASE, Claimed
from bot.pipeline.queue import InlineQueue
from bot.services import Services
from bot.types import InboundMessage
from storage.models import Message
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"


def outbound(services: Services) -> list[Message]:
    with services.database.session() as session:
        return list(
            session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id))
        )


def test_a_reply_is_claimed_as_it_is_written_and_sent_after_the_commit(bot: Bot) -> None:
    bot.receive(PERSON, "hi")
    [greeting] = bot.receive(PERSON, "2")  # বাংলা
    [row] = outbound(bot.services)[-1:]
    # Rendered in the language the step chose, claimed once, then sent.
    assert row.body == greeting and row.language == "bn" and "১" in greeting
    assert (row.status, row.attempts, row.is_reply) == ("delivered", 1, True)
    assert row.encoding == "UCS-2" and row.segments is not None and row.segments >= 1


class Crashing(InlineQueue):
    """A queue whose thread dies after the commit, before it sends what the step claimed."""

    def send_now(self, claimed: Sequence[Claimed]) -> None:
        self.lost = list(claimed)


def test_a_claimed_reply_whose_thread_died_is_sent_after_the_lease_once(
    services: Services, clock: FrozenClock
) -> None:
    crashing = Crashing(services.dispatcher)
    services.runner.queue = crashing
    services.runner.receive(InboundMessage("sms", PERSON, "hi"))
    [row] = outbound(services)
    assert (row.status, row.attempts) == ("sending", 1) and row.body is not None
    sender: RecordingSender = services.sender  # type: ignore[attr-defined]
    assert sender.sent == []

    assert services.dispatcher.due() == []  # a slow thread may still send it
    clock.advance(SENDING_LEASE + timedelta(seconds=1))
    assert services.sweeper.run() == 1
    [sent] = sender.sent
    assert sent.id == row.id and sent.text == row.body
    [final] = outbound(services)
    assert (final.status, final.attempts, final.reason) == ("delivered", 2, None)
    assert services.sweeper.run() == 0 and len(sender.sent) == 1


def test_what_may_not_go_now_is_written_queued_and_held_with_its_reason(
    services: Services, clock: FrozenClock
) -> None:
    bot = Bot(services, services.sender)  # type: ignore[attr-defined]
    bot.conversation(PERSON, "hi", "1", "1")  # English, a complaint: half-way through
    clock.now = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)  # three days on, at night
    assert services.runner.expire_stale() == 1
    last = outbound(services)[-1]
    # Not a reply: the polite close waits for the morning, not claimed, not rendered.
    assert "closed this conversation" not in " ".join(bot.replies)
    assert (last.status, last.reason, last.attempts, last.body) == ("held", "quiet-hours", 0, None)


def test_a_reply_to_a_stopped_address_is_not_sent_but_the_stop_confirmation_is(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1")
    [confirmation] = bot.receive(PERSON, "STOP")
    assert "START" in confirmation
    assert bot.receive(PERSON, "1") == []
    with bot.services.database.session() as session:
        statuses = session.scalars(
            select(Message.status).where(Message.direction == "out").order_by(Message.id)
        ).all()
    # The bot says nothing to a stopped person, so nothing is written after the confirmation.
    assert statuses[-1] == "delivered" and len(statuses) == 3
