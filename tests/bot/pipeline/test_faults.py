"""Delivery through a faulty Twilio: errors, throttling and timeouts, many workers at once.

FakeTwilio answers about 30% of requests with a 500, a 429 or a response slower than the
client's timeout (drawn from a seeded RNG), which it then accepts. Several threads run the
sweep-and-deliver loop until nothing is left to do; then every row must have an honest end,
each person must have received their message exactly once (a send whose answer never came
is looked up at Twilio before it is tried again), and the fake must never have seen more
segments in a second than the limit.
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
from bot.channels.base import OutcomeUnknownError, SendError
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
    """Passes sends and look-ups to the real TwilioSender and notes how each attempt ended."""

    def __init__(self, inner: TwilioSender) -> None:
        self.inner = inner
        self.attempts: list[Attempt] = []
        self.looked_up: list[int] = []  # ids of messages looked up at Twilio
        self.found: list[int] = []  # ... and found there, already sent
        self._lock = threading.Lock()

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendReceipt | None:
        found = self.inner.find_sent(message, since)
        with self._lock:
            self.looked_up.append(message.id)
            if found is not None:
                self.found.append(message.id)
        return found

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


def queue_updates(services: Services, now: datetime, numbers: list[str] | None = None) -> list[int]:
    """Write outcome updates (ROWS unless numbers are given), as if their jobs were lost:
    only the sweep can find them."""
    if numbers is None:
        numbers = [f"+4477009{n:05d}" for n in range(ROWS - 2)]
        numbers += [STOPPED_NUMBER, INVALID_NUMBER]
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
    # The client gave up (a timeout), though Twilio accepted the message a moment later.
    timed_out = Counter(
        a.message_id for a in sender.attempts if isinstance(a.error, OutcomeUnknownError)
    )
    found, looked_up = Counter(sender.found), Counter(sender.looked_up)
    assert kinds["TransientError"] and kinds["ThrottledError"] and timed_out
    # Every message whose answer never came was found at Twilio (none of its failed sends
    # went), not sent again.
    assert set(found) == set(timed_out)
    print(
        f"\n{sum(timed_out.values())} sends unanswered within the timeout, "
        f"{len(found)} found at Twilio, {len(at_fake)} messages for {ROWS} rows"
    )

    by_reference: dict[str, list[TwilioSent]] = defaultdict(list)
    for message in at_fake:
        by_reference[REFERENCE.findall(message.body)[0]].append(message)

    ended = Counter(row.status for row in rows.values())
    assert set(ended) <= {"sent", "failed"}
    for message_id, row in rows.items():
        tries = attempts[message_id]
        successes = [a for a in tries if a.error is None]
        # Each claim counts: one that found the message already at Twilio sends nothing, and
        # one more than the sends allowed may follow an unanswered last send, to look it up.
        assert len(tries) <= tuned.max_send_attempts
        assert row.attempts == len(tries) + found[message_id]
        assert row.attempts <= tuned.max_send_attempts + (looked_up[message_id] > 0)
        assert row.body is not None
        copies = by_reference[REFERENCE.findall(row.body)[0]]
        for copy in copies:
            assert copy.body == row.body and copy.num_segments == row.segments
        if row.status == "sent":
            # Exactly one message reached the person: sent once, or found after a timeout.
            assert len(copies) == 1 and row.reason is None
            assert row.provider_id == copies[0].sid
            assert len(successes) + found[message_id] == 1
        else:
            assert copies == [] and successes == [] and row.reason
            assert tries[-1].error is not None and row.reason == tries[-1].error.reason

    stopped, invalid = (rows[ids[-2]], rows[ids[-1]])
    assert (stopped.status, stopped.reason) == ("failed", "recipient-stopped")
    assert (invalid.status, invalid.reason) == ("failed", "rejected")
    assert ended["sent"] >= 0.8 * ROWS
    assert most_segments_in_a_second(at_fake) <= SMS_PER_SECOND


def test_a_send_accepted_after_the_timeout_reaches_each_person_once(
    settings: Settings, database: Database
) -> None:
    people = [f"+4477009{n:05d}" for n in range(12)]
    tuned = settings.with_overrides(sms_per_second=SMS_PER_SECOND, retry_base_seconds=0.05)
    clock = running_clock()
    with FakeTwilio() as fake:
        # Every first send is held past the client's timeout, then accepted.
        fake.script(*[Fault.timeout(CLIENT_TIMEOUT * 2)] * len(people))
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
            ids = queue_updates(services, clock() - timedelta(minutes=1), people)
            deadline = time.monotonic() + 30
            workers = [threading.Thread(target=work, args=(services, n, deadline)) for n in (0, 1)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            time.sleep(CLIENT_TIMEOUT * 2)  # anything still held at the fake lands
        finally:
            services.close()

    assert all(isinstance(attempt.error, OutcomeUnknownError) for attempt in sender.attempts)
    assert sorted(sender.found) == sorted(ids)
    for person in people:
        assert len(fake.sent_to(person)) == 1
    with database.session() as session:
        rows = session.scalars(select(Message).where(Message.id.in_(ids))).all()
    for message in rows:
        assert (message.status, message.reason, message.attempts) == ("sent", None, 2)
        assert message.provider_id == fake.sent_to(people[ids.index(message.id)])[0].sid
