"""Delivery through a faulty Twilio: errors, throttling and timeouts, many workers at once.

FakeTwilio answers about 30% of requests with a 500, a 429 or a response slower than the
client's timeout (drawn from a seeded RNG). Several threads run the sweep-and-deliver loop
until nothing is left to do; then every row must have an honest end, and the fake must
never have seen more segments in a second than the limit.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.casework.cases import update_status
from bot.channels.base import SendError
from bot.channels.twilio import TwilioSender
from bot.pipeline.ratelimit import SendLimits
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import OutboundMessage, SendReceipt
from storage.db import Database
from storage.models import Address, Contact, Message
from storage.records import create_feedback
from tests.fakes.twilio_api import FakeTwilio, Fault
from tests.fakes.twilio_api import SentMessage as TwilioSent

ROWS = 200
SMS_PER_SECOND = 100
CLIENT_TIMEOUT = 0.15
WORKERS = 6
STOPPED_NUMBER = "+447700950000"
INVALID_NUMBER = "+440"
REFERENCE = re.compile(r"[CMP]-\d{6}")


def running_clock() -> Callable[[], datetime]:
    """Real time passing from a fixed weekday morning, outside quiet hours wherever it runs."""
    base = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    started = time.monotonic()
    return lambda: base + timedelta(seconds=time.monotonic() - started)


@dataclass(frozen=True)
class Attempt:
    message_id: int
    error: SendError | None


class WatchedSender:
    """Passes sends to the real TwilioSender and notes how each attempt ended."""

    def __init__(self, inner: TwilioSender) -> None:
        self.inner = inner
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendReceipt:
        try:
            receipt = self.inner.send(message)
        except SendError as error:
            with self._lock:
                self.attempts.append(Attempt(message.id, error))
            raise
        with self._lock:
            self.attempts.append(Attempt(message.id, None))
        return receipt

    def close(self) -> None:
        self.inner.close()


def queue_updates(services: Services, now: datetime) -> list[int]:
    """Write ROWS outcome updates, as if their jobs were lost: only the sweep can find them."""
    numbers = [f"+4477009{n:05d}" for n in range(ROWS - 2)] + [STOPPED_NUMBER, INVALID_NUMBER]
    with services.database.session() as session:
        references = []
        for index, number in enumerate(numbers):
            # One in five reads Bengali, whose texts cost more segments each.
            language = "bn" if index % 5 == 0 else "en"
            address = Address(
                contact=Contact(language=language, created_at=now),
                channel="sms",
                address=number,
                created_at=now,
            )
            session.add(address)
            session.flush()
            feedback = create_feedback(
                session, address, language, "complaint", {"text": "x"}, True, now, None
            )
            session.flush()
            references.append(feedback.reference)
        rows = [
            update_status(session, reference, "acknowledged", f"#{index}", now)
            for index, reference in enumerate(references)
        ]
        session.flush()
        return [row.id for row in rows if row is not None]


def work(services: Services, index: int, deadline: float) -> None:
    """One worker: sweep, deliver what is due (starting at its own place), until all is done."""
    dispatcher = services.dispatcher
    while time.monotonic() < deadline:
        due = dispatcher.due()
        if not due:
            with services.database.session() as session:
                pending = session.scalar(
                    select(func.count()).where(Message.status.in_(("queued", "sending")))
                )
            if not pending:
                return
            time.sleep(0.01)
            continue
        offset = (index * len(due)) // WORKERS
        for message_id in due[offset:] + due[:offset]:
            dispatcher.deliver(message_id)


def most_segments_in_a_second(sent: list[TwilioSent]) -> int:
    arrivals = sorted((message.at, message.num_segments) for message in sent)
    most, start, total = 0, 0, 0
    for moment, segments in arrivals:
        total += segments
        while moment - arrivals[start][0] >= 1.0:
            total -= arrivals[start][1]
            start += 1
        most = max(most, total)
    return most


def test_every_row_ends_honestly_under_faults(settings: Settings, database: Database) -> None:
    faults = (Fault.server_error(), Fault.throttle(0.2), Fault.timeout(CLIENT_TIMEOUT * 2))
    tuned = settings.with_overrides(
        sms_per_second=SMS_PER_SECOND, max_send_attempts=3, retry_base_seconds=0.05
    )
    clock = running_clock()
    with FakeTwilio(random_faults=faults, seed=20261118) as fake:
        fake.stop_number(STOPPED_NUMBER)
        sender = WatchedSender(
            TwilioSender(
                fake.account_sid,
                fake.auth_token,
                "+447700900999",
                None,
                api_url=fake.url,
                timeout=CLIENT_TIMEOUT,
            )
        )
        services = build_services(
            tuned, senders={"sms": sender}, limits=SendLimits(tuned), clock=clock, database=database
        )
        try:
            ids = queue_updates(services, clock() - timedelta(minutes=1))
            # The two rows Twilio refuses outright go first, while it is still healthy, so
            # their ends do not depend on which faults they happen to meet.
            fake.fault_rate = 0.0
            for message_id in ids[-2:]:
                services.dispatcher.deliver(message_id)
            fake.fault_rate = 0.3
            started = time.monotonic()
            deadline = started + 30
            workers = [
                threading.Thread(target=work, args=(services, n, deadline)) for n in range(WORKERS)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.monotonic() - started
            # A request held past the client's timeout is still accepted a moment later.
            time.sleep(CLIENT_TIMEOUT * 2)
        finally:
            services.close()
        at_fake = fake.sent

    assert elapsed < deadline - started, "workers did not finish"
    with database.session() as session:
        rows = {row.id: row for row in session.scalars(select(Message).where(Message.id.in_(ids)))}
    assert len(rows) == ROWS

    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in sender.attempts:
        attempts[attempt.message_id].append(attempt)
    kinds = Counter(type(a.error).__name__ for a in sender.attempts if a.error is not None)
    # "Twilio unreachable": the client gave up (a timeout), so Twilio may have accepted it.
    timed_out = Counter(
        a.message_id
        for a in sender.attempts
        if a.error is not None and "unreachable" in str(a.error)
    )
    assert kinds["TransientError"] and kinds["ThrottledError"] and timed_out

    by_reference: dict[str, list[TwilioSent]] = defaultdict(list)
    for message in at_fake:
        by_reference[REFERENCE.findall(message.body)[0]].append(message)

    ended = Counter(row.status for row in rows.values())
    assert set(ended) <= {"sent", "failed"}
    for message_id, row in rows.items():
        tries = attempts[message_id]
        successes = [a for a in tries if a.error is None]
        assert row.attempts == len(tries) <= tuned.max_send_attempts
        assert row.body is not None
        copies = by_reference[REFERENCE.findall(row.body)[0]]
        for copy in copies:
            assert copy.body == row.body and copy.num_segments == row.segments
        if row.status == "sent":
            # The dispatcher sent it once; a second copy at Twilio can only be a request it
            # gave up on (a timeout) that Twilio accepted after all.
            assert len(successes) == 1 and row.reason is None
            assert row.provider_id in {copy.sid for copy in copies}
            assert len(copies) <= 1 + timed_out[message_id]
        else:
            assert successes == [] and row.reason
            assert len(copies) <= timed_out[message_id]
            assert tries[-1].error is not None and row.reason == tries[-1].error.reason

    stopped, invalid = (rows[ids[-2]], rows[ids[-1]])
    assert (stopped.status, stopped.reason) == ("failed", "recipient-stopped")
    assert (invalid.status, invalid.reason) == ("failed", "rejected")
    assert ended["sent"] >= 0.8 * ROWS
    assert most_segments_in_a_second(at_fake) <= SMS_PER_SECOND
