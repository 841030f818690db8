"""PostgreSQL announces received messages as they commit, to one listener per schema."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import insert

from storage.db import Database
from storage.models import Message
from storage.notify import received_messages
from tests.storage.rows import MOMENT, new_address

# Deselected where PostgreSQL is absent (tests/conftest.py), never under CI=true: there an
# absent server fails these tests.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database", ["postgresql"], indirect=True),
]


def message(address_id: int, direction: str = "in", status: str = "received") -> dict[str, object]:
    return {
        "address_id": address_id,
        "channel": "sms",
        "direction": direction,
        "status": status,
        "body": "hello",
        "created_at": MOMENT,
    }


def test_a_received_message_is_announced_when_it_commits(database: Database) -> None:
    first, second = new_address(database), new_address(database)
    with received_messages(database) as announced:
        assert announced is not None
        with database.engine.connect() as connection:
            connection.execute(insert(Message), [message(first)])
            assert list(announced.within(0.3)) == []  # not yet committed
            connection.commit()
        assert list(announced.within(1.0)) == [first]

        with database.engine.connect() as connection:
            connection.execute(insert(Message), [message(second)])
            connection.rollback()
        with database.session() as session:
            session.execute(insert(Message), [message(second, "out", "queued")])
            session.execute(insert(Message), [message(second, "in", "processed")])
        assert list(announced.within(0.5)) == []  # rolled back, outbound, already stepped


def test_one_listener_per_schema_and_the_next_takes_over(database: Database) -> None:
    address_id = new_address(database)
    with received_messages(database) as first:
        assert first is not None
        with received_messages(database) as second:
            assert second is None
    # The first listener's connection is closed, and its lock with it: PostgreSQL releases
    # it as the backend ends, a moment after the client hung up, so the next one may wait.
    deadline = time.monotonic() + 5.0
    while True:
        with received_messages(database) as next_one:
            if next_one is not None:
                with database.session() as session:
                    session.execute(insert(Message), [message(address_id)])
                assert list(next_one.within(1.0)) == [address_id]
                return
        assert time.monotonic() < deadline, "the lock was never released"
        time.sleep(0.05)
