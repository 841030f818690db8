"""Column types round-trip exactly on SQLite and PostgreSQL: people's words and moments in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from storage.db import Database
from storage.models import Contact, Conversation, Message
from storage.types import ExactText
from tests.storage.rows import MOMENT, new_address

MARK = "\x1bkotha-b64:"

# Function-scoped `database` with @given: every example writes its own rows and reads only them.
PER_EXAMPLE = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def store_body(database: Database, body: str, address_id: int | None = None) -> int:
    """Write an inbound message with this body and return its id."""
    address_id = address_id if address_id is not None else new_address(database)
    with database.session() as session:
        row = Message(
            address_id=address_id,
            channel="sms",
            direction="in",
            body=body,
            status="processed",
            created_at=MOMENT,
        )
        session.add(row)
        session.flush()
        return row.id


def read_body(database: Database, message_id: int) -> str | None:
    with database.session() as session:
        return session.get_one(Message, message_id).body


def raw_body(database: Database, message_id: int) -> Any:
    """Return the body as the database itself holds it, bypassing the column type."""
    with database.session() as session:
        query = text("SELECT body FROM messages WHERE id = :id")
        return session.execute(query, {"id": message_id}).scalar_one()


TRICKY = [
    pytest.param("", id="empty"),
    pytest.param("\x00", id="NUL"),
    pytest.param("before\x00after", id="NUL inside"),
    pytest.param("\ud800", id="lone high surrogate"),
    pytest.param("x\udfffy", id="lone low surrogate"),
    pytest.param("\udfff\ud800", id="surrogates the wrong way round"),
    pytest.param(MARK, id="the marker alone"),
    pytest.param(MARK + "aGVsbG8=", id="the marker with real base64"),
    pytest.param(MARK + "not base64 at all!", id="the marker with junk"),
    pytest.param("\x1bkotha-b64", id="almost the marker"),
    pytest.param("x" * 10_000, id="10,000 characters"),
    pytest.param("অভিযোগ: আমার বাড়িতে কেউ আসেনি। ১২৩", id="Bengali"),
    pytest.param("ꠀꠝꠤ ꠇꠕꠣ", id="Syloti Nagri"),
    pytest.param("\u202eمرحبا שלום\u200b\u200d\ufeff", id="right to left and zero width"),
    pytest.param("😀👍🏽🇧🇩", id="emoji"),
    pytest.param("\x07\x1b\x7f\r\n\t", id="control characters"),
    pytest.param("e\u0301 \u00e9", id="not normalised"),
]


@pytest.mark.parametrize("body", TRICKY)
def test_exact_text_round_trips(database: Database, body: str) -> None:
    message_id = store_body(database, body)
    assert read_body(database, message_id) == body


@pytest.mark.parametrize(
    "body", ["plain words", "অভিযোগ: আমার বাড়িতে কেউ আসেনি।", "😀 ok", "x" * 10_000]
)
def test_ordinary_text_is_stored_as_it_is_and_stays_searchable(
    database: Database, body: str
) -> None:
    message_id = store_body(database, body)
    assert raw_body(database, message_id) == body
    with database.session() as session:
        found = session.scalars(select(Message.id).where(Message.body == body)).all()
    assert found == [message_id]


@pytest.mark.parametrize("body", ["\x00", "x\udfffy", MARK + "aGVsbG8="])
def test_what_a_database_would_refuse_or_misread_is_escaped(database: Database, body: str) -> None:
    stored = raw_body(database, store_body(database, body))
    assert isinstance(stored, str) and stored.startswith(MARK) and stored != body


def test_none_stays_none(database: Database) -> None:
    with database.session() as session:
        row = Message(
            address_id=new_address(database),
            channel="sms",
            direction="out",
            status="queued",
            created_at=MOMENT,
        )
        session.add(row)
        session.flush()
        message_id = row.id
    assert read_body(database, message_id) is None


def test_the_type_keeps_working_without_a_database() -> None:
    column = ExactText()
    dialect = Database("sqlite://").engine.dialect
    for value in ("\x00\ud800", MARK, "plain"):
        bound = column.process_bind_param(value, dialect)
        assert column.process_result_value(bound, dialect) == value


@PER_EXAMPLE
@given(body=st.text(alphabet=st.characters(codec=None)))
def test_any_text_round_trips(database: Database, body: str) -> None:
    assert read_body(database, store_body(database, body)) == body


@PER_EXAMPLE
@given(answer=st.text(alphabet=st.characters(codec=None), max_size=50))
def test_json_answers_keep_any_text(database: Database, answer: str) -> None:
    # A conversation's answers hold people's words until a record is written from them.
    address_id = new_address(database)
    answers = {"text": answer, answer: [answer]}
    with database.session() as session:
        conversation = Conversation(
            address_id=address_id,
            flow="comment",
            node="what",
            answers=answers,
            started_at=MOMENT,
            updated_at=MOMENT,
        )
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
    with database.session() as session:
        assert session.get_one(Conversation, conversation_id).answers == answers


# -- moments ---------------------------------------------------------------------------------


def store_moment(database: Database, moment: datetime) -> int:
    with database.session() as session:
        contact = Contact(created_at=moment)
        session.add(contact)
        session.flush()
        return contact.id


def read_moment(database: Database, contact_id: int) -> datetime:
    with database.session() as session:
        return session.get_one(Contact, contact_id).created_at


def test_a_utc_moment_comes_back_aware_and_equal(database: Database) -> None:
    moment = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
    back = read_moment(database, store_moment(database, moment))
    assert back == moment and back.tzinfo is UTC


@pytest.mark.parametrize(
    "zone",
    [
        ZoneInfo("Europe/London"),
        ZoneInfo("Asia/Dhaka"),
        ZoneInfo("America/St_Johns"),
        timezone(timedelta(hours=-11, minutes=-30)),
    ],
)
def test_another_time_zone_is_converted_to_utc(database: Database, zone: Any) -> None:
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=zone)
    back = read_moment(database, store_moment(database, moment))
    assert back.tzinfo is UTC
    assert back == moment
    assert back.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)


def test_a_naive_moment_is_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive"), database.session() as session:
        session.add(Contact(created_at=datetime(2026, 7, 1, 12, 0)))
        session.flush()
    with database.session() as session:
        assert session.scalars(select(Contact)).all() == []


def test_moments_from_different_zones_compare_as_instants(database: Database) -> None:
    london = ZoneInfo("Europe/London")
    dhaka = ZoneInfo("Asia/Dhaka")
    # 09:30 in London (BST) is 08:30 UTC; 14:00 in Dhaka is 08:00 UTC.
    later = store_moment(database, datetime(2026, 7, 1, 9, 30, tzinfo=london))
    earlier = store_moment(database, datetime(2026, 7, 1, 14, 0, tzinfo=dhaka))
    cutoff = datetime(2026, 7, 1, 8, 15, tzinfo=UTC)
    with database.session() as session:
        after = session.scalars(select(Contact.id).where(Contact.created_at > cutoff)).all()
        ordered = session.scalars(select(Contact.id).order_by(Contact.created_at)).all()
    assert after == [later]
    assert ordered == [earlier, later]


@PER_EXAMPLE
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.timezones()
    )
)
def test_any_aware_moment_round_trips(database: Database, moment: datetime) -> None:
    back = read_moment(database, store_moment(database, moment))
    assert back.tzinfo is UTC
    assert back == moment.astimezone(UTC)


def test_database_errors_never_quote_what_people_wrote(database: Database) -> None:
    secret = "+447700900777 my private words"
    with pytest.raises(Exception) as raised:  # noqa: PT011 - any database error will do
        with database.session() as session:
            session.execute(
                text("INSERT INTO contacts (id, language) VALUES (:id, :words)"),
                {"id": "not a number", "words": secret},
            )
    assert "+447700900777" not in str(raised.value)
