"""A statement run through the driver stores exactly what `Connection.execute` would."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from storage.db import Database, DriverStatement
from storage.models import Message
from tests.storage.rows import MOMENT, new_address

_numbers = itertools.count()
PER_EXAMPLE = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def inbound(database: Database) -> DriverStatement:
    """An INSERT of an inbound message whose values all pass through their column types."""
    statement = (
        insert(Message)
        .values(
            address_id=bindparam("address_id"),
            channel="sms",
            direction="in",
            status="received",
            body=bindparam("body"),
            provider_id=bindparam("provider_id"),
            media=bindparam("media", type_=JSON(none_as_null=True)),
            created_at=bindparam("created_at"),
            is_reply=False,
            attempts=0,
        )
        .returning(Message.id)
    )
    return database.driver_statement(statement)


def store(database: Database, **values: Any) -> int:
    row = inbound(database).first(
        {
            "address_id": new_address(database),
            "body": "hello",
            "provider_id": f"SM{next(_numbers)}",
            "media": None,
            "created_at": MOMENT,
            **values,
        }
    )
    assert row is not None
    return int(row[0])


def read(database: Database, message_id: int) -> Message:
    with database.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        session.expunge(message)
        return message


@PER_EXAMPLE
@given(body=st.text(max_size=300))
def test_any_text_is_stored_as_sent(database: Database, body: str) -> None:
    # NUL and lone surrogates included: ExactText's escaping applies on this path too.
    assert read(database, store(database, body=body)).body == body


def test_json_and_moments_pass_through_their_types(database: Database) -> None:
    media = [{"url": "https://example.org/m/১", "content_type": "audio/ogg"}]
    dhaka = datetime(2026, 11, 18, 16, 0, tzinfo=timezone(timedelta(hours=6)))
    message = read(database, store(database, media=media, created_at=dhaka))
    assert message.media == media
    assert message.created_at == MOMENT and message.created_at.tzinfo is not None
    # No media is SQL NULL, as Core writes it, not the JSON null.
    with database.session() as session:
        none = store(database, media=None)
        assert session.scalar(select(Message.id).where(Message.media.is_(None))) == none


def test_a_statement_leaving_python_defaults_to_core_is_refused(database: Database) -> None:
    # Core fills `is_reply` and `attempts` in just before executing; here they would be NULL.
    statement = insert(Message).values(address_id=bindparam("address_id"), channel="sms")
    with pytest.raises(ValueError, match="Python-side default"):
        database.driver_statement(statement)


def test_a_driver_error_is_sqlalchemys_and_quotes_no_values(database: Database) -> None:
    secret = "the words someone wrote"
    address_id = new_address(database)
    values = {"body": secret, "provider_id": None, "media": None, "created_at": MOMENT}
    with pytest.raises(IntegrityError) as raised:
        inbound(database).first({**values, "address_id": address_id + 1000})  # no such address
    assert secret not in str(raised.value)
    # The connection the error came from was dropped: the next statement works.
    assert read(database, store(database, body=secret)).body == secret


def test_constants_in_the_sql_and_values_left_out_are_filled_as_core_fills_them(
    database: Database,
) -> None:
    # `attempts + 1` carries its 1; `reason` is not bound at all; `body` must be given.
    message_id = store(database)
    statement = (
        update(Message)
        .where(Message.id == bindparam("message_id"))
        .values(attempts=Message.attempts + 1, body=bindparam("body"))
    )
    bump = DriverStatement(database.engine, statement)
    with database.transaction() as tx:
        count, _ = bump.run(tx.connection, {"message_id": message_id, "body": "again"})
    assert count == 1
    message = read(database, message_id)
    assert (message.attempts, message.body) == (1, "again")
    # A value the statement needs and was not given is an error, as through Core.
    with pytest.raises(InvalidRequestError), database.transaction() as tx:
        bump.run(tx.connection, {"message_id": message_id})


# PostgreSQL's way of writing a step's rows (SQLite's inserts them one by one).
@pytest.mark.postgres
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_an_insert_returning_gives_every_row_in_order(database: Database) -> None:
    statement = (
        insert(Message)
        .values(
            address_id=bindparam("address_id"),
            channel="sms",
            direction="out",
            status="queued",
            body=bindparam("body"),
            created_at=MOMENT,
            is_reply=False,
            attempts=0,
        )
        .returning(Message.id, Message.body)
    )
    address_id = new_address(database)
    rows = [{"address_id": address_id, "body": f"row {number}"} for number in range(5)]
    with database.transaction() as tx:
        returned = DriverStatement(database.engine, statement).returning(tx.connection, rows)
    assert [body for _, body in returned] == [row["body"] for row in rows]
    assert [read(database, row_id).body for row_id, _ in returned] == [row["body"] for row in rows]
