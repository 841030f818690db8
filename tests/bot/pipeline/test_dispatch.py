"""The dispatcher: claim, decide, send, record; retries, leases, the sweep and status callbacks."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huey import MemoryHuey
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.casework.cases import update_status
from bot.channels.base import (
    MisconfiguredError,
    RecipientStoppedError,
    RejectedError,
    SendError,
    ThrottledError,
    TransientError,
)
from bot.channels.console import RecordingSender
from bot.channels.twilio import TwilioSender
from bot.pipeline.dispatch import SENDING_LEASE, STATUS_RANK, Dispatcher, Outcome
from bot.pipeline.queue import HueyQueue
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import OutboundMessage, SendReceipt
from storage.db import Database
from storage.models import Address, Contact, Message
from storage.records import create_feedback
from tests.conftest import FrozenClock
from tests.fakes.twilio_api import FakeTwilio

PERSON = "+447700900123"


class ScriptedSender:
    """Answers each send with the next scripted error (None: accept), then accepts."""

    def __init__(self, *script: SendError | None, pause: float = 0.0) -> None:
        self.script: deque[SendError | None] = deque(script)
        self.pause = pause
        self.calls: list[OutboundMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendReceipt:
        with self._lock:
            self.calls.append(message)
            step = self.script.popleft() if self.script else None
            attempt = len(self.calls)
        time.sleep(self.pause)
        if step is not None:
            raise step
        return SendReceipt(provider_id=f"SM{message.id:08d}{attempt:08d}")


class AlwaysFailing:
    def __init__(self, error: SendError) -> None:
        self.error = error
        self.calls = 0

    def send(self, message: OutboundMessage) -> SendReceipt:
        self.calls += 1
        raise self.error


def add_address(
    database: Database,
    now: datetime,
    *,
    channel: str = "sms",
    address: str = PERSON,
    language: str | None = "en",
    last_inbound_at: datetime | None = None,
) -> int:
    with database.session() as session:
        contact = Contact(language=language, created_at=now)
        row = Address(
            contact=contact,
            channel=channel,
            address=address,
            created_at=now,
            last_inbound_at=last_inbound_at,
        )
        session.add(row)
        session.flush()
        return row.id


def add_outbound(
    database: Database, address_id: int, now: datetime, body: str = "Hello", **fields: Any
) -> int:
    """Write a queued outbound row as staff would: a finished text in a language."""
    with database.session() as session:
        address = session.get_one(Address, address_id)
        columns: dict[str, Any] = {
            "address_id": address_id,
            "channel": address.channel,
            "direction": "out",
            "status": "queued",
            "body": body,
            "language": "en",
            "created_at": now,
        }
        columns.update(fields)
        row = Message(**columns)
        session.add(row)
        session.flush()
        return row.id


def add_feedback(database: Database, address_id: int, now: datetime) -> str:
    with database.session() as session:
        address = session.get_one(Address, address_id)
        language = address.contact.language or "en"
        feedback = create_feedback(
            session, address, language, "complaint", {"text": "Late again"}, True, now, None
        )
        session.flush()
        return feedback.reference


def queue_update(services: Services, reference: str, status: str = "in_progress") -> int:
    """Move a feedback record on, as staff do, and hand the update to the queue after commit."""
    with services.database.session() as session:
        row = update_status(session, reference, status, None, services.dispatcher.clock())
        assert row is not None
        row_id = row.id
    services.queue.enqueue([row_id])
    return row_id


def row(database: Database, message_id: int) -> Message:
    with database.session() as session:
        return session.get_one(Message, message_id)


def address_row(database: Database, address_id: int) -> Address:
    with database.session() as session:
        return session.get_one(Address, address_id)


def dispatcher(
    services: Services,
    sender: Any,
    clock: FrozenClock,
    settings: Settings | None = None,
    database: Database | None = None,
) -> Dispatcher:
    """A dispatcher like the services' one, with one sender for every channel."""
    return Dispatcher(
        database or services.database,
        services.i18n,
        {"sms": sender, "whatsapp": sender, "telegram": sender},
        clock,
        settings or services.settings,
    )


def recorded(services: Services) -> RecordingSender:
    sender: RecordingSender = services.sender  # type: ignore[attr-defined]
    return sender


# -- quiet hours and the sweep ---------------------------------------------------------------


def test_quiet_hours_hold_is_released_by_the_sweep_at_eight(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    clock.now = datetime(2026, 11, 18, 22, 30, tzinfo=UTC)  # 22:30 in London (GMT)
    address_id = add_address(database, clock.now, language="bn")
    message_id = queue_update(services, add_feedback(database, address_id, clock.now))

    held = row(database, message_id)
    assert (held.status, held.reason) == ("held", "quiet-hours")
    assert held.next_attempt_at == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
    assert recorded(services).sent == []

    clock.now = datetime(2026, 11, 19, 7, 59, 59, tzinfo=UTC)
    assert services.sweeper.run() == 0
    assert row(database, message_id).status == "held"

    clock.advance(timedelta(seconds=1))
    assert services.sweeper.run() == 1
    [sent] = recorded(services).sent
    assert sent.id == message_id and sent.address == PERSON
    expected = services.i18n.gettext("bn", "we are working on it.")
    assert expected != "we are working on it." and expected in sent.text
    released = row(database, message_id)
    assert (released.status, released.reason) == ("delivered", None)
    assert released.language == "bn" and released.body == sent.text
    assert services.sweeper.run() == 0


def test_queued_row_whose_job_was_lost_is_found_by_the_sweep(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    address_id = add_address(database, clock.now)
    message_id = add_outbound(database, address_id, clock.now)  # committed, never queued
    assert services.dispatcher.due() == []  # its job may still be on its way
    clock.advance(timedelta(seconds=31))
    assert services.dispatcher.due() == [message_id]
    assert services.sweeper.run() == 1
    assert [m.id for m in recorded(services).sent] == [message_id]
    assert services.dispatcher.due() == []


# -- status callbacks ------------------------------------------------------------------------

# What Twilio reports for one message, in the order it happens.
CALLBACK_SEQUENCES = [
    ("sms", ("queued", "sending", "sent", "delivered")),
    ("sms", ("queued", "sending", "sent", "undelivered")),
    ("whatsapp", ("queued", "sent", "delivered", "read")),
    ("whatsapp", ("queued", "sent", "failed")),
    ("whatsapp", ("queued", "sent", "read")),  # the delivered report itself was lost
]


@given(
    scenario=st.sampled_from(CALLBACK_SEQUENCES).flatmap(
        lambda scenario: st.tuples(st.just(scenario[0]), st.permutations(scenario[1]))
    ),
    repeats=st.lists(st.integers(min_value=0, max_value=3), max_size=2),
)
@hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_callbacks_in_any_order_end_at_the_furthest_status(
    services: Services, database: Database, clock: FrozenClock, scenario: Any, repeats: list[int]
) -> None:
    channel, order = scenario
    arrivals = list(order)
    for index in repeats:  # providers also repeat callbacks
        arrivals.append(order[min(index, len(order) - 1)])
    with database.session() as session:
        # A fresh person per example: the examples share one database.
        count = session.query(Address).count()
    address_id = add_address(database, clock.now, channel=channel, address=f"+44770091{count:04d}")
    provider_id = f"SM{address_id:032x}"
    message_id = add_outbound(
        database, address_id, clock.now, status="sent", provider_id=provider_id
    )

    applied = [services.dispatcher.record_status(provider_id, s, "30003") for s in arrivals]

    furthest = max(["sent", *arrivals], key=lambda status: STATUS_RANK[status])
    final = row(database, message_id)
    assert final.status == furthest
    reached = "sent"
    for status, moved in zip(arrivals, applied, strict=True):
        assert moved == (STATUS_RANK[status] > STATUS_RANK[reached])
        reached = status if moved else reached
    if furthest in ("failed", "undelivered"):
        assert final.reason == "provider-error-30003"
    else:
        assert final.reason is None


def test_callbacks_that_are_not_ours_change_nothing(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    address_id = add_address(database, clock.now, channel="telegram", address="5000000001")
    add_outbound(database, address_id, clock.now, status="delivered", provider_id="1000")
    assert not services.dispatcher.record_status("1000", "read", None)  # not a Twilio row
    assert not services.dispatcher.record_status("SMunknown", "delivered", None)
    sms_id = add_address(database, clock.now)
    message_id = add_outbound(database, sms_id, clock.now, status="sent", provider_id="SMx")
    assert not services.dispatcher.record_status("SMx", "accepted", None)
    assert row(database, message_id).status == "sent"


# -- claiming --------------------------------------------------------------------------------


def test_a_row_is_sent_once_however_many_workers_deliver_it(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = ScriptedSender(pause=0.02)
    # Two processes' worth: separate engines and pools on the same database.
    other_database = Database(database.url)
    try:
        workers = [
            dispatcher(services, sender, clock),
            dispatcher(services, sender, clock, database=other_database),
        ]
        address_id = add_address(database, clock.now)
        ids = [add_outbound(database, address_id, clock.now, body=f"#{n}") for n in range(4)]
        outcomes: list[Outcome] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker(index: int) -> None:
            start.wait()
            for message_id in ids:
                outcome = workers[index % 2].deliver(message_id)
                with lock:
                    outcomes.append(outcome)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other_database.dispose()

    assert sorted(message.id for message in sender.calls) == ids
    assert [o.status for o in outcomes].count("sent") >= len(ids)
    assert {o.status for o in outcomes} <= {"sent", "sending"}
    for message_id in ids:
        final = row(database, message_id)
        assert (final.status, final.attempts) == ("sent", 1)


def test_a_row_left_sending_by_a_dead_worker_is_sent_after_the_lease(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    address_id = add_address(database, clock.now)
    message_id = add_outbound(
        database, address_id, clock.now, status="sending", attempts=1, updated_at=clock.now
    )
    assert services.dispatcher.deliver(message_id) == Outcome("sending")
    clock.advance(SENDING_LEASE)
    assert services.dispatcher.due() == []  # a slow worker may still finish

    clock.advance(timedelta(seconds=1))
    assert services.sweeper.run() == 1
    [sent] = recorded(services).sent
    assert sent.id == message_id
    final = row(database, message_id)
    assert (final.status, final.attempts) == ("delivered", 2)


# -- errors ----------------------------------------------------------------------------------


def test_transient_errors_back_off_then_fail_with_the_reason(
    services: Services, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    sender = AlwaysFailing(TransientError("HTTP 503"))
    limited = settings.with_overrides(max_send_attempts=3, retry_base_seconds=2.0)
    worker = dispatcher(services, sender, clock, settings=limited)
    address_id = add_address(database, clock.now)
    message_id = add_outbound(database, address_id, clock.now)

    for attempt in (1, 2):
        outcome = worker.deliver(message_id)
        assert (outcome.status, outcome.reason) == ("queued", "transient")
        assert outcome.retry_in is not None
        # Doubling from 2 s, with jitter taking off up to half.
        assert 2.0 * 2 ** (attempt - 1) / 2 <= outcome.retry_in <= 2.0 * 2 ** (attempt - 1)
        waiting = row(database, message_id)
        assert waiting.attempts == attempt
        assert waiting.next_attempt_at == clock.now + timedelta(seconds=outcome.retry_in)
        # Not yet due: neither the sweep nor a repeated job sends it early.
        assert worker.due() == []
        early = worker.deliver(message_id)
        assert early.status == "queued" and early.retry_in is not None and early.retry_in > 0
        assert sender.calls == attempt
        clock.advance(timedelta(seconds=outcome.retry_in))
        assert worker.due() == [message_id]

    assert worker.deliver(message_id) == Outcome("failed", "transient")
    final = row(database, message_id)
    assert (final.status, final.reason, final.attempts) == ("failed", "transient", 3)
    assert sender.calls == 3
    clock.advance(timedelta(days=1))
    assert worker.due() == []
    assert worker.deliver(message_id) == Outcome("failed", "transient")
    assert sender.calls == 3


def test_throttling_waits_at_least_as_long_as_asked_then_sends(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = ScriptedSender(ThrottledError("429", retry_after=30.0))
    worker = dispatcher(services, sender, clock)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)

    outcome = worker.deliver(message_id)
    assert (outcome.status, outcome.reason) == ("queued", "throttled")
    assert outcome.retry_in is not None and outcome.retry_in >= 30.0
    clock.advance(timedelta(seconds=outcome.retry_in))
    assert worker.due() == [message_id]
    assert worker.deliver(message_id) == Outcome("sent")
    final = row(database, message_id)
    assert (final.status, final.reason, final.attempts) == ("sent", None, 2)
    assert final.provider_id == f"SM{message_id:08d}{2:08d}"


@pytest.mark.parametrize(
    "error", [RejectedError("21211"), MisconfiguredError("20003")], ids=lambda e: e.reason
)
def test_refusals_fail_at_once(
    services: Services, database: Database, clock: FrozenClock, error: SendError
) -> None:
    sender = AlwaysFailing(error)
    worker = dispatcher(services, sender, clock)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)
    assert worker.deliver(message_id) == Outcome("failed", error.reason)
    clock.advance(timedelta(hours=1))
    assert worker.due() == []
    assert sender.calls == 1


def test_channel_without_a_sender_fails_plainly(
    database: Database, clock: FrozenClock, settings: Settings
) -> None:
    services = build_services(settings, senders={}, clock=clock, database=database)
    message_id = add_outbound(database, add_address(database, clock.now), clock.now)
    assert services.dispatcher.deliver(message_id) == Outcome("failed", "no-sender")


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def test_recipient_who_stopped_at_the_provider_is_not_sent_to_again(
    database: Database, clock: FrozenClock, settings: Settings, twilio: FakeTwilio
) -> None:
    twilio.stop_number(PERSON)  # they texted STOP to Twilio itself (error 21610)
    with TwilioSender(
        twilio.account_sid, twilio.auth_token, "+447700900999", None, api_url=twilio.url
    ) as sender:
        services = build_services(settings, senders={"sms": sender}, clock=clock, database=database)
        address_id = add_address(database, clock.now)
        first = add_outbound(database, address_id, clock.now)
        assert services.dispatcher.deliver(first) == Outcome("failed", "recipient-stopped")
        assert address_row(database, address_id).stopped_at == clock.now

        clock.advance(timedelta(minutes=5))
        later = queue_update(services, add_feedback(database, address_id, clock.now))
        assert (row(database, later).status, row(database, later).reason) == ("held", "opted-out")
        assert twilio.attempts == 1 and twilio.sent == []


# -- WhatsApp templates and the queue --------------------------------------------------------


def test_whatsapp_outside_the_window_goes_as_the_languages_template(
    database: Database, clock: FrozenClock, settings: Settings
) -> None:
    sender = RecordingSender()
    template = "HX" + "b" * 32
    services = build_services(
        settings.with_overrides(whatsapp_templates={"case_update.bn": template}),
        senders={"whatsapp": sender},
        clock=clock,
        database=database,
    )
    two_days_ago = clock.now - timedelta(days=2)
    bengali = add_address(
        database, clock.now, channel="whatsapp", language="bn", last_inbound_at=two_days_ago
    )
    sylheti = add_address(
        database,
        clock.now,
        channel="whatsapp",
        address="+447700900124",
        language="syl",
        last_inbound_at=two_days_ago,
    )
    english = add_address(
        database,
        clock.now,
        channel="whatsapp",
        address="+447700900125",
        language="en",
        last_inbound_at=two_days_ago,
    )
    sent_id = queue_update(services, add_feedback(database, bengali, clock.now))
    # Sylheti falls back to Bengali, for the template as for the text.
    fallback_id = queue_update(services, add_feedback(database, sylheti, clock.now))
    held_id = queue_update(services, add_feedback(database, english, clock.now))

    first, second = sender.sent
    assert (first.id, second.id) == (sent_id, fallback_id)
    working = services.i18n.gettext("bn", "we are working on it.")
    for message in (first, second):
        assert message.template == template and message.variables is not None
        assert message.variables["status"] == working
        assert message.variables["kind"] == services.i18n.gettext("bn", "complaint")
        assert working in message.text
    assert row(database, fallback_id).language == "bn"
    held = row(database, held_id)
    assert (held.status, held.reason) == ("held", "outside-whatsapp-window")


def test_huey_queue_delivers_and_schedules_a_retry(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    sender = ScriptedSender(None, TransientError("HTTP 502"))
    huey = MemoryHuey("kotha-test", immediate=True, results=False)
    queue = HueyQueue(huey, dispatcher(services, sender, clock))
    address_id = add_address(database, clock.now)
    ok, flaky = (add_outbound(database, address_id, clock.now, body=b) for b in ("a", "b"))

    queue.enqueue([ok, flaky])

    assert row(database, ok).status == "sent"
    waiting = row(database, flaky)
    assert (waiting.status, waiting.reason) == ("queued", "transient")
    [retry] = huey.scheduled()
    assert retry.args == (flaky,)
    assert retry.eta is not None and retry.eta > datetime.now(UTC).replace(tzinfo=None)


def test_stored_rows_survive_the_process(
    services: Services, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    # A second set of services (another process) sees the first one's held rows.
    clock.now = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)
    address_id = add_address(database, clock.now)
    message_id = queue_update(services, add_feedback(database, address_id, clock.now))
    second = build_services(
        settings, senders={"sms": RecordingSender()}, clock=clock, database=Database(database.url)
    )
    try:
        clock.now = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
        assert second.sweeper.run() == 1
        assert row(database, message_id).status == "delivered"
    finally:
        second.close()
    assert recorded(services).sent == []


def test_a_throttle_reported_after_the_last_send_allowed_is_final(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    address_id = add_address(database, clock.now)
    attempts = services.settings.max_send_attempts
    message_id = add_outbound(
        database, address_id, clock.now, status="sent", provider_id="SMlast", attempts=attempts
    )

    moved = services.dispatcher.record_status(
        "SMlast", "failed", "63018", error=ThrottledError("Twilio error 63018")
    )

    assert moved
    assert (row(database, message_id).status, row(database, message_id).reason) == (
        "failed",
        "throttled",
    )


def test_a_failure_reported_after_delivery_changes_nothing(
    services: Services, database: Database, clock: FrozenClock
) -> None:
    address_id = add_address(database, clock.now)
    message_id = add_outbound(
        database, address_id, clock.now, status="delivered", provider_id="SMdone"
    )

    assert not services.dispatcher.record_status(
        "SMdone", "failed", "21610", error=RecipientStoppedError("Twilio error 21610")
    )
    assert row(database, message_id).status == "delivered"
    assert address_row(database, address_id).stopped_at is None
