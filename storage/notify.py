"""PostgreSQL announces each received message as it commits; one process at a time listens.

Migration 0007 puts a trigger on `messages`: an inbound row inserted as `received` calls
pg_notify with its address id, which PostgreSQL delivers when (and only if) the row's
transaction commits. A webhook therefore hands its message over in the one statement that
stores it. The channel is named after the schema, so deployments (and parallel test runs)
sharing a database do not hear each other. SQLite has no such thing: there the process that
stores a message queues its step itself.

Notifications are not kept for anyone: one sent while nobody listens is gone. A listener
therefore starts by asking for every message still waiting, and the sweep catches the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import sql

from storage.db import Database

# Named as the trigger names it (migration 0007): the schema is the table's.
_CHANNEL = "SELECT 'kotha_received_' || md5(current_schema())"
# A session lock, released by PostgreSQL the moment its connection ends, however it ends.
_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"


class Announcements:
    """The address ids of received messages, as PostgreSQL announces them."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def within(self, seconds: float) -> Iterator[int]:
        """Yield each announced address id as it arrives, for `seconds` in all."""
        for notification in self._connection.notifies(timeout=seconds):
            yield int(notification.payload)


@contextmanager
def received_messages(database: Database) -> Iterator[Announcements | None]:
    """Listen for received messages on a connection of its own, unless another process does.

    Yields None while another process holds this schema's listening lock: one listener is
    enough, and each more would queue every step once again. The connection leaves the pool
    for good and is closed at the end of the block, which releases the lock.
    """
    pooled = database.engine.raw_connection()
    connection: Any = pooled.driver_connection  # psycopg's, for its notifies()
    pooled.detach()
    try:
        connection.autocommit = True
        channel = connection.execute(_CHANNEL).fetchone()[0]
        if not connection.execute(_TRY_LOCK, (channel,)).fetchone()[0]:
            yield None
            return
        connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield Announcements(connection)
    finally:
        pooled.close()
