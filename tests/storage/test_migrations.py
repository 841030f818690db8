"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Base, Contact, Message
from tests.conftest import BACKENDS, POSTGRES_URL, _run_admin


def differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found: list[object] = compare_metadata(context, Base.metadata)
        return found


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    # A model changed without a migration shows up here as a difference.
    assert differences(database) == []


def test_upgrading_again_changes_nothing_and_keeps_the_data(database: Database) -> None:
    with database.session() as session:
        session.add(Contact(language="bn", created_at=datetime(2026, 11, 18, tzinfo=UTC)))
    upgrade(database)
    upgrade(database)
    assert differences(database) == []
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    with database.session() as session:
        versions = session.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [row[0] for row in versions] == [head]
        assert session.scalars(select(Contact.language)).all() == ["bn"]


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no tables at all, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    schema = f"kotha_migration_{os.getpid()}_{secrets.token_hex(3)}"
    _run_admin(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        _run_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_0008_moves_the_flags_out_of_params_into_their_columns(empty_url: str) -> None:
    database = Database(empty_url)
    config = alembic_config(empty_url)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        flagged = {
            "reference": "C-1",
            "_lead": "Sorry",
            "_raw_choices": True,
            "_even_if_stopped": True,
            "_urgent": True,
            "_survey": "survey-x",
            "_survey_node": "q1",
        }
        with database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO contacts (id, created_at, staff) VALUES (1, :t, false)"),
                {"t": "2026-11-18 10:00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO addresses (id, contact_id, channel, address, created_at) "
                    "VALUES (1, 1, 'sms', '+447700900123', :t)"
                ),
                {"t": "2026-11-18 10:00:00"},
            )
            for message_id, params in ((1, flagged), (2, {"n": 3}), (3, None)):
                connection.execute(
                    text(
                        "INSERT INTO messages (id, address_id, channel, direction, status, "
                        "params, is_reply, attempts, created_at) "
                        "VALUES (:id, 1, 'sms', 'out', 'queued', :params, false, 0, :t)"
                    ),
                    {
                        "id": message_id,
                        "params": None if params is None else json.dumps(params),
                        "t": "2026-11-18 10:00:00",
                    },
                )
        upgrade(database)
        with database.session() as session:
            rows = {row.id: row for row in session.scalars(select(Message))}
        moved = rows[1]
        assert moved.params == {"reference": "C-1"}
        assert (moved.lead, moved.raw_choices, moved.even_if_stopped, moved.urgent) == (
            "Sorry",
            True,
            True,
            True,
        )
        assert (moved.survey, moved.survey_node) == ("survey-x", "q1")
        assert rows[2].params == {"n": 3} and rows[2].lead is None and not rows[2].urgent
        assert rows[3].params is None and not rows[3].raw_choices
    finally:
        database.dispose()


def test_0010_renames_the_harms_of_flags_raised_before(empty_url: str) -> None:
    database = Database(empty_url)
    config = alembic_config(empty_url)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0009")
        json_value = "CAST(:c AS JSON)" if database.dialect == "postgresql" else ":c"
        with database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO contacts (id, created_at, staff) VALUES (1, :t, false)"),
                {"t": "2026-11-18 10:00:00"},
            )
            for flag_id, categories, status in (
                (1, ["suicide", "self_harm"], "open"),
                (2, ["violence", "exploitation"], "escalated"),
                (3, ["neglect"], "cleared"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO safeguarding_flags (id, contact_id, categories, source,"
                        f" raised_at, status) VALUES (:i, 1, {json_value}, 'automatic', :t, :s)"
                    ),
                    {"i": flag_id, "c": json.dumps(categories), "s": status, "t": "2026-11-18"},
                )
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with database.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT categories, correct FROM safeguarding_flags ORDER BY id")
            ).all()
        found = [
            (json.loads(c) if isinstance(c, str) else c, None if ok is None else bool(ok))
            for c, ok in rows
        ]
        assert found == [
            (["self_harm"], None),
            (["abuse", "financial"], True),
            (["neglect"], False),
        ]
    finally:
        database.engine.dispose()


def test_0011_keeps_answers_given_before_as_consents_and_names_each_message(
    empty_url: str,
) -> None:
    database = Database(empty_url)
    config = alembic_config(empty_url)
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0010")
        at = {"t": "2026-11-18 10:00:00"}
        with database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO contacts (id, created_at, staff) VALUES (1, :t, false)"), at
            )
            connection.execute(
                text(
                    "INSERT INTO addresses (id, contact_id, channel, address, created_at) "
                    "VALUES (1, 1, 'sms', '+447700900123', :t)"
                ),
                at,
            )
            for feedback_id, consented in ((1, False), (2, True), (3, None)):
                connection.execute(
                    text(
                        "INSERT INTO feedback (id, reference, kind, status, complete, language,"
                        " channel, contact_id, address_id, created_at, consent_to_contact) "
                        "VALUES (:i, :r, 'complaint', 'received', true, 'bn', 'sms', 1, 1, :t,"
                        " :c)"
                    ),
                    {"i": feedback_id, "r": f"C-10000{feedback_id}", "c": consented, **at},
                )
            connection.execute(
                text(
                    "INSERT INTO broadcasts (id, title, texts, segment, status, fanout_after,"
                    " recipients, created_at) VALUES (1, 'b', '{}', '{}', 'sent', 0, 0, :t)"
                ),
                at,
            )
            shapes = {
                1: "sent_by = NULL, feedback_id = 1",
                2: "broadcast_id = 1",
                3: "urgent = true",
                4: "dedupe_key = 'digest:2026-11-18'",
                5: "dedupe_key = 'event:5:reminder:P7D'",
                6: "dedupe_key = 'event:5:change:3'",
                7: "is_reply = true",
            }
            for message_id in (*shapes, 8):
                direction = "in" if message_id == 8 else "out"
                connection.execute(
                    text(
                        "INSERT INTO messages (id, address_id, channel, direction, status,"
                        " is_reply, attempts, created_at) "
                        "VALUES (:id, 1, 'sms', :d, 'sent', false, 0, :t)"
                    ),
                    {"id": message_id, "d": direction, **at},
                )
                if message_id in shapes:
                    connection.execute(
                        text(f"UPDATE messages SET {shapes[message_id]} WHERE id = :id"),
                        {"id": message_id},
                    )
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with database.engine.connect() as connection:
            consents = connection.execute(
                text(
                    "SELECT feedback_id, answer, purpose, language, channel, wording_version"
                    " FROM consents ORDER BY id"
                )
            ).all()
            kinds = connection.execute(text("SELECT id, kind FROM messages ORDER BY id")).all()
        assert [(f, bool(a), p, lang, c, v) for f, a, p, lang, c, v in consents] == [
            (1, False, "contact", "bn", "sms", "0010"),
            (2, True, "contact", "bn", "sms", "0010"),
        ]
        assert [kind for _, kind in kinds] == [
            "case-update",
            "broadcast",
            "safeguarding-alert",
            "digest",
            "reminder",
            "event-notice",
            "reply",
            None,
        ]
    finally:
        database.engine.dispose()


def test_0015_adds_its_columns_under_rows_that_refer_to_messages(empty_url: str) -> None:
    # On SQLite, rebuilding `messages` or `addresses` would fail (or lose the link) once a
    # safeguarding flag refers to a message: 0015 only adds columns and indexes.
    database = Database(empty_url)
    config = alembic_config(empty_url)
    moment = {"t": "2026-11-18 10:00:00"}
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0012")
        with database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO contacts (id, created_at, staff) VALUES (1, :t, false)"), moment
            )
            connection.execute(
                text(
                    "INSERT INTO addresses (id, contact_id, channel, address, created_at) "
                    "VALUES (1, 1, 'whatsapp', '+447700900123', :t)"
                ),
                moment,
            )
            connection.execute(
                text(
                    "INSERT INTO messages (id, address_id, channel, direction, status, body, "
                    "is_reply, attempts, created_at) "
                    "VALUES (1, 1, 'whatsapp', 'in', 'processed', 'hi', false, 0, :t)"
                ),
                moment,
            )
            connection.execute(
                text(
                    "INSERT INTO safeguarding_flags (contact_id, message_id, categories, "
                    "source, status, raised_at) VALUES (1, 1, '[]', 'automatic', 'open', :t)"
                ),
                moment,
            )
        upgrade(database)
        with database.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO messages (id, address_id, channel, direction, status, body, "
                    "is_reply, attempts, created_at, corrects_id) "
                    "VALUES (2, 1, 'whatsapp', 'in', 'processed', 'hi!', false, 0, :t, 1)"
                ),
                moment,
            )
            connection.execute(text("UPDATE addresses SET external_user_id = 'GB.1'"))
            flags = connection.execute(text("SELECT message_id FROM safeguarding_flags")).all()
            corrects = connection.execute(text("SELECT corrects_id FROM messages WHERE id = 2"))
            assert [tuple(row) for row in flags] == [(1,)]
            assert corrects.scalar() == 1
        assert differences(database) == []
    finally:
        database.dispose()
