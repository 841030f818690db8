"""On PostgreSQL, one consumer at a time queues the steps the database announces.

The end-to-end case, a webhook answered by a real `kotha worker`, is in test_workers.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from bot.pipeline import sweep
from bot.pipeline.sweep import Waker
from bot.services import Services
from bot.types import InboundMessage
from storage.notify import received_messages

# Deselected where PostgreSQL is absent (tests/conftest.py), never under CI=true: there an
# absent server fails these tests.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database", ["postgresql"], indirect=True),
]


class Steps:
    """A queue that only notes which addresses it was asked to step."""

    def __init__(self) -> None:
        self.addresses: list[int] = []

    def enqueue(self, ids: object, delay: float | None = None) -> None:
        raise AssertionError("the waker queues steps only")

    def enqueue_step(self, address_id: int) -> None:
        self.addresses.append(address_id)

    def pending(self) -> int:
        return 0

    def wait_for(self, count: int) -> list[int]:
        deadline = time.monotonic() + 10
        while len(self.addresses) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.addresses


def store(services: Services, number: str) -> int:
    """Store a message as a webhook does with a queue: not stepped, its step not queued."""
    return services.runner.receive(InboundMessage("sms", number, "hello")).message_id


def address_of(services: Services, number: str) -> int:
    return services.runner.store._address_ids[("sms", number)]


def waker(services: Services, steps: Steps) -> Waker:
    return Waker(services.database, steps, lambda: services.runner.pending(timedelta(0)))


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


@contextmanager
def listening(services: Services, steps: Steps) -> Iterator[Waker]:
    started = waker(services, steps)
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def queued_by_the_database(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    services.runner.after_store = lambda address_id: None
    monkeypatch.setattr(sweep, "LISTEN_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(sweep, "LISTEN_TURN_SECONDS", 0.1)
    return services


def test_waiting_messages_first_then_each_one_announced(queued_by_the_database: Services) -> None:
    services, steps = queued_by_the_database, Steps()
    store(services, "+447700900001")  # before anyone listens: no announcement heard
    with listening(services, steps):
        assert steps.wait_for(1) == [address_of(services, "+447700900001")]
        store(services, "+447700900002")
        assert steps.wait_for(2)[1] == address_of(services, "+447700900002")
    time.sleep(0.3)
    assert len(steps.addresses) == 2


def someone_listens(services: Services) -> bool:
    with received_messages(services.database) as announced:
        return announced is None


def test_one_waker_listens_and_another_takes_over_when_it_stops(
    queued_by_the_database: Services,
) -> None:
    services, first_steps, second_steps = queued_by_the_database, Steps(), Steps()
    first = waker(services, first_steps)
    second = waker(services, second_steps)
    first.start()
    try:
        wait_until(lambda: someone_listens(services), "the first waker to listen")
        second.start()
        store(services, "+447700900001")
        assert first_steps.wait_for(1) == [address_of(services, "+447700900001")]
        time.sleep(0.3)
        assert second_steps.addresses == []  # one listener: each step queued once
        first.stop()
        # Stored while the second may not listen yet: caught up, or announced, all the same;
        # its catch-up also queues the first message, still waiting (nothing stepped it).
        # A message both caught up and announced is queued twice: its second step is empty.
        store(services, "+447700900002")
        both = {address_of(services, "+447700900001"), address_of(services, "+447700900002")}
        assert set(second_steps.wait_for(2)) == both
    finally:
        first.stop()
        second.stop()
