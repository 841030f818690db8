"""The outbox: one builder of outbound rows, with real columns for what decides how they go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.types import Kind
from flows.engine import Say
from flows.texts import STOPPED
from storage.db import Database
from storage.models import Address, Contact, Message
from tests.conftest import Bot

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
PERSON = "+447700900123"


def an_address(database: Database) -> int:
    with database.session() as session:
        address = Address(
            contact=Contact(language="bn", created_at=NOW),
            channel="sms",
            address=PERSON,
            created_at=NOW,
        )
        session.add(address)
        session.flush()
        return address.id


def test_a_written_body_knows_its_cost_and_a_template_waits_to_be_rendered() -> None:
    written = Outbound(
        1, "sms", NOW, Kind.DIGEST, body="Kotha cases: nothing overdue.", language="en"
    ).row()
    assert (written["encoding"], written["segments"]) == ("GSM-7", 1)
    assert written["template"] is None and written["params"] is None
    rendered_later = Outbound(
        1, "sms", NOW, Kind.CASE_UPDATE, template="Hello {name}", params={"name": "x"}
    ).row()
    assert rendered_later["body"] is None and rendered_later["encoding"] is None
    assert rendered_later["params"] == {"name": "x"} and rendered_later["choices"] == []
    assert (rendered_later["status"], rendered_later["direction"]) == ("queued", "out")
    assert (written["kind"], rendered_later["kind"]) == ("digest", "case-update")


def test_what_the_engine_says_keeps_its_lead_and_flags_in_columns() -> None:
    say = Say("Ask", {"n": 1}, lead="Sorry", choices=("A", "B"), raw_choices=True)
    row = outbox.from_say(say, 7, "telegram", NOW, outputs={"reference": "C-1"}, is_reply=True)
    columns = row.row()
    assert columns["params"] == {"n": 1, "reference": "C-1"}
    assert (columns["lead"], columns["choices"], columns["raw_choices"]) == (
        "Sorry",
        ["A", "B"],
        True,
    )
    assert columns["is_reply"] and not columns["even_if_stopped"]
    assert columns["kind"] == "reply"


def test_the_bulk_insert_refuses_a_row_it_would_write_only_in_part(database: Database) -> None:
    address_id = an_address(database)
    alert = Outbound(
        address_id, "sms", NOW, Kind.SAFEGUARDING_ALERT, body="alert", language="en", urgent=True
    )
    with database.engine.begin() as connection, pytest.raises(ValueError, match="add"):
        outbox.insert_rows(connection, [alert.row()])
    with database.session() as session:
        written = outbox.add(session, alert)
        written_id = written.id
    with database.session() as session:
        stored = session.get_one(Message, written_id)
        assert stored.urgent and stored.status == "queued"
        # Nothing to say in the JSON columns: SQL NULL, not JSON null.
        assert stored.params is None and stored.choices is None and stored.media is None


def test_no_flag_rides_in_params_of_anything_the_step_writes(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "1", "1", "xyz", "STOP")
    with bot.services.database.session() as session:
        rows = session.scalars(select(Message).where(Message.direction == "out")).all()
        assert rows and all(
            not any(key.startswith("_") for key in (row.params or {})) for row in rows
        )
        assert any(row.lead for row in rows)  # "Please send one number." before the menu
        [stopped] = [row for row in rows if row.template == STOPPED]
        assert stopped.even_if_stopped and stopped.status == "delivered"


def test_the_outbox_knows_every_column_a_message_row_has() -> None:
    # A column added to messages without a default here would be written by nobody.
    known = set(outbox.ROW_DEFAULTS) | {"id", "sent_at", "redacted_body", "broadcast_id"}
    assert {column.name for column in Message.__table__.columns} == known
    assert set(outbox.BULK_COLUMNS) <= set(outbox.ROW_DEFAULTS)
