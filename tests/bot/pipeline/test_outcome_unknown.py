"""A send whose outcome is unknown: looked up at the provider before it is tried again.

A read timeout or a connection lost after the request went leaves the message perhaps
sent. Where the provider can be asked (Twilio: `find_sent`) the dispatcher asks before any
new try; where it cannot (Telegram) the row ends `unknown`, for staff to see, and is not
sent twice.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import OutcomeUnknownError, SendError, TransientError
from bot.channels.telegram import TelegramSender
from bot.pipeline.dispatch import IN_DOUBT_MARGIN, Outcome
from bot.services import Services
from bot.settings import Settings
from bot.types import OutboundMessage, SendReceipt
from storage.db import Database
from storage.models import Message
from tests.bot.pipeline.test_dispatch import add_address, add_outbound, dispatcher, row
from tests.conftest import FrozenClock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_api import Fault as TelegramFault

TOKEN = "123456:ABC-fake-token-for-tests"


class UnansweredSender:
    """A provider that can be asked what it sent: each send follows the script (an error or
    None to accept), and a send that raises OutcomeUnknownError may still have gone."""

    def __init__(self, *script: tuple[SendError | None, bool]) -> None:
        # (error, whether the provider kept the message anyway)
        self.script: deque[tuple[SendError | None, bool]] = deque(script)
        self.kept: dict[int, str] = {}  # message id -> provider id, as the provider has it
        self.sends: list[int] = []
        self.lookups: list[tuple[int, datetime]] = []
        self.lookup_error: SendError | None = None

    def send(self, message: OutboundMessage) -> SendReceipt:
        self.sends.append(message.id)
        error, kept = self.script.popleft() if self.script else (None, True)
        provider_id = f"SM{message.id:04d}{len(self.sends):04d}"
        if kept:
            self.kept[message.id] = provider_id
        if error is not None:
            raise error
        return SendReceipt(provider_id=provider_id)

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendReceipt | None:
        self.lookups.append((message.id, since))
        if self.lookup_error is not None:
            raise self.lookup_error
        found = self.kept.get(message.id)
        return SendReceipt(provider_id=found) if found else None


def unanswered(look_after: float | None = 20.0) -> OutcomeUnknownError:
    return OutcomeUnknownError("read timeout", look_after=look_after)


def test_an_unanswered_send_that_arrived_is_found_not_sent_again(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = UnansweredSender((unanswered(), True))
    worker = dispatcher(services, sender, clock)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    outcome = worker.deliver(message_id)
    assert (outcome.status, outcome.reason) == ("queued", "outcome-unknown")
    # Not looked up while the provider may still be working on the request.
    assert outcome.retry_in is not None and outcome.retry_in >= 20.0
    failed_at = clock.now
    clock.advance(timedelta(seconds=outcome.retry_in))
    assert worker.due() == [message_id]

    assert worker.deliver(message_id) == Outcome("sent")
    assert sender.sends == [message_id]
    assert sender.lookups == [(message_id, failed_at - IN_DOUBT_MARGIN)]
    final = row(database, message_id)
    assert (final.status, final.reason) == ("sent", None)
    assert final.provider_id == sender.kept[message_id]


def test_an_unanswered_send_that_did_not_arrive_is_sent_again(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = UnansweredSender((unanswered(), False))
    worker = dispatcher(services, sender, clock)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    outcome = worker.deliver(message_id)
    assert outcome.retry_in is not None
    clock.advance(timedelta(seconds=outcome.retry_in))
    assert worker.deliver(message_id) == Outcome("sent")

    assert sender.sends == [message_id, message_id]
    assert len(sender.lookups) == 1
    final = row(database, message_id)
    assert (final.status, final.attempts, final.provider_id) == ("sent", 2, sender.kept[message_id])


def test_a_provider_that_cannot_be_asked_now_is_asked_later_and_sent_nothing(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = UnansweredSender((unanswered(), True))
    worker = dispatcher(services, sender, clock)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)
    outcome = worker.deliver(message_id)
    assert outcome.retry_in is not None

    sender.lookup_error = TransientError("HTTP 503")
    clock.advance(timedelta(seconds=outcome.retry_in))
    again = worker.deliver(message_id)
    assert (again.status, again.reason) == ("queued", "outcome-unknown")
    assert sender.sends == [message_id]

    sender.lookup_error = None
    assert again.retry_in is not None
    clock.advance(timedelta(seconds=again.retry_in))
    assert worker.deliver(message_id) == Outcome("sent")
    assert sender.sends == [message_id] and len(sender.lookups) == 2


def test_the_last_allowed_send_unanswered_is_still_looked_up(
    services: Services, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    limited = settings.with_overrides(max_send_attempts=2)
    sender = UnansweredSender((unanswered(), False), (unanswered(), True))
    worker = dispatcher(services, sender, clock, settings=limited)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    for _ in range(2):
        outcome = worker.deliver(message_id)
        assert (outcome.status, outcome.reason) == ("queued", "outcome-unknown")
        assert outcome.retry_in is not None
        clock.advance(timedelta(seconds=outcome.retry_in))

    # Both sends are used up; the third claim only asks, and the second send had arrived.
    assert worker.deliver(message_id) == Outcome("sent")
    assert sender.sends == [message_id, message_id]
    final = row(database, message_id)
    assert (final.status, final.attempts, final.provider_id) == ("sent", 3, sender.kept[message_id])


def test_the_last_allowed_send_unanswered_and_not_at_the_provider_fails(
    services: Services, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    limited = settings.with_overrides(max_send_attempts=1)
    sender = UnansweredSender((unanswered(), False))
    worker = dispatcher(services, sender, clock, settings=limited)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    outcome = worker.deliver(message_id)
    assert outcome.retry_in is not None
    clock.advance(timedelta(seconds=outcome.retry_in))
    assert worker.deliver(message_id) == Outcome("failed", "transient")
    assert sender.sends == [message_id]
    clock.advance(timedelta(days=1))
    assert worker.due() == []


def test_a_provider_that_never_answers_the_look_up_leaves_the_row_unknown(
    services: Services, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    limited = settings.with_overrides(max_send_attempts=1)
    sender = UnansweredSender((unanswered(), True))
    sender.lookup_error = TransientError("HTTP 503")
    worker = dispatcher(services, sender, clock, settings=limited)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    outcome = worker.deliver(message_id)
    assert outcome.retry_in is not None
    clock.advance(timedelta(seconds=outcome.retry_in))
    assert worker.deliver(message_id) == Outcome("unknown", "outcome-unknown")
    assert sender.sends == [message_id]
    clock.advance(timedelta(days=1))
    assert worker.due() == []


class NoLookupSender:
    """A provider that cannot be asked what it sent (like Telegram)."""

    def __init__(self) -> None:
        self.sends = 0

    def send(self, message: OutboundMessage) -> SendReceipt:
        self.sends += 1
        raise OutcomeUnknownError("Telegram did not answer in time")


def test_without_a_look_up_the_row_says_unknown_and_is_not_sent_again(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = NoLookupSender()
    worker = dispatcher(services, sender, clock)
    address_id = add_address(database, clock.now, channel="telegram", address="5000000001")
    message_id = add_outbound(database, address_id, clock.now)

    assert worker.deliver(message_id) == Outcome("unknown", "outcome-unknown")
    clock.advance(timedelta(days=1))
    assert worker.due() == []
    assert worker.deliver(message_id) == Outcome("unknown", "outcome-unknown")
    assert sender.sends == 1


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as fake:
        yield fake


def test_telegram_answering_after_the_timeout_sends_once_and_says_unknown(
    services: Services, database: Database, clock: FrozenClock, fake_telegram: FakeTelegram
) -> None:
    people = ["5000000001", "5000000002", "5000000003"]
    with TelegramSender(TOKEN, api_url=fake_telegram.base_url, timeout=0.3) as sender:
        worker = dispatcher(services, sender, clock)
        ids = []
        for chat in people:
            address_id = add_address(database, clock.now, channel="telegram", address=chat)
            ids.append(add_outbound(database, address_id, clock.now, body=f"Hello {chat}"))
        sender.send(OutboundMessage(id=0, channel="telegram", address="5000000009", text="warm up"))
        # Each send is accepted, but only after the client gave up waiting.
        fake_telegram.script("sendMessage", *[TelegramFault.timeout(0.8)] * len(people))
        outcomes = [worker.deliver(message_id) for message_id in ids]
        threading.Event().wait(0.8)  # the fake finishes accepting the last one
        clock.advance(timedelta(days=1))
        assert worker.due() == []

    assert outcomes == [Outcome("unknown", "outcome-unknown")] * len(people)
    for chat in people:
        assert [m.text for m in fake_telegram.sent if m.chat_id == chat] == [f"Hello {chat}"]
    with database.session() as session:
        statuses = session.scalars(select(Message.status).where(Message.id.in_(ids))).all()
    assert statuses == ["unknown"] * len(people)
