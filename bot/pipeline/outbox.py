"""The outbox: the one place an outbound message becomes a row, whoever asks for it.

The step's replies, case updates, event notices, reminders, digests, safeguarding alerts,
staff replies and broadcasts all describe their message as an `Outbound` and write it
here, in the transaction of whatever caused it. A row is written `queued` (the caller
queues its id after the commit) unless the step claims its own replies to send them at
once (bot/pipeline/dispatch.py `Dispatcher.claim_new`). What decides how a message goes
is a column of its own (`is_reply`, `urgent`, `even_if_stopped`, `survey`), never a key
hidden in its parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Select,
    bindparam,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import Boolean, Integer, String

from bot.sms import sms_cost
from bot.types import Kind
from flows.engine import Say
from flows.listing import Choice
from storage.db import DriverStatement
from storage.models import Message


@dataclass(frozen=True)
class Outbound:
    """One message to send to one address, as its row will hold it.

    Either `template` (a catalog message id, rendered with `params`, `lead` and `choices`
    in the reader's language when it is sent) or `body` (words already written, by staff or
    for staff, in `language`), not both.
    """

    address_id: int
    channel: str
    created_at: datetime
    kind: Kind
    template: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    lead: str | None = None
    choices: tuple[Choice, ...] = ()
    raw_choices: bool = False
    body: str | None = None
    language: str | None = None
    # Answers someone who is writing to us now: never held for quiet hours.
    is_reply: bool = False
    urgent: bool = False
    even_if_stopped: bool = False
    survey: str | None = None
    survey_node: str | None = None
    question: str | None = None
    # Unique per address: the same notice, reminder or digest is never written twice.
    dedupe_key: str | None = None
    feedback_id: int | None = None
    sent_by: int | None = None
    # Written held with this reason, to wait for staff rather than the dispatcher: words
    # staff wrote in a language the person does not read ("awaiting-translation",
    # bot/casework/translations.py) go only once staff give them in the person's language.
    held: str | None = None

    def row(self) -> dict[str, Any]:
        """The row's columns, `queued`, with the cost of a body already written."""
        encoding = segments = None
        if self.body is not None:
            cost = sms_cost(self.body)
            encoding, segments = cost.encoding, cost.segments
        return {
            **ROW_DEFAULTS,
            "address_id": self.address_id,
            "channel": self.channel,
            "direction": "out",
            "status": "held" if self.held else "queued",
            "reason": self.held,
            "kind": self.kind,
            "body": self.body,
            "language": self.language,
            "encoding": encoding,
            "segments": segments,
            "template": self.template,
            "params": dict(self.params) if self.template is not None else None,
            "lead": self.lead,
            "choices": list(self.choices) if self.template is not None else None,
            "raw_choices": self.raw_choices,
            "is_reply": self.is_reply,
            "urgent": self.urgent,
            "even_if_stopped": self.even_if_stopped,
            "survey": self.survey,
            "survey_node": self.survey_node,
            "question": self.question,
            "dedupe_key": self.dedupe_key,
            "feedback_id": self.feedback_id,
            "sent_by": self.sent_by,
            "created_at": self.created_at,
        }


def from_say(
    say: Say,
    address_id: int,
    channel: str,
    now: datetime,
    *,
    outputs: Mapping[str, Any] | None = None,
    is_reply: bool,
    kind: Kind = Kind.REPLY,
    dedupe_key: str | None = None,
) -> Outbound:
    """The row for something the engine says; `outputs` are what the step's effects gave it
    to say (a complaint's reference and reply-by date)."""
    return Outbound(
        address_id=address_id,
        channel=channel,
        created_at=now,
        kind=kind,
        template=say.text,
        params={**say.params, **(outputs or {})},
        lead=say.lead,
        choices=tuple(say.choices),
        raw_choices=say.raw_choices,
        even_if_stopped=say.even_if_stopped,
        question=say.question,
        is_reply=is_reply,
        dedupe_key=dedupe_key,
    )


# Every column of a message row a writer may set, with its value when a row does not say.
ROW_DEFAULTS: Mapping[str, Any] = {
    "address_id": None,
    "channel": None,
    "direction": None,
    "status": None,
    "kind": None,
    "body": None,
    "media": None,
    "provider_id": None,
    "language": None,
    "encoding": None,
    "segments": None,
    "template": None,
    "params": None,
    "lead": None,
    "choices": None,
    "raw_choices": False,
    "reason": None,
    "is_reply": False,
    "urgent": False,
    "even_if_stopped": False,
    "survey": None,
    "survey_node": None,
    "question": None,
    "understood": None,
    "attempts": 0,
    "next_attempt_at": None,
    "updated_at": None,
    "dedupe_key": None,
    "feedback_id": None,
    "sent_by": None,
    # Set after its row is written, by the step that keeps an edit (Stepper.correct).
    "corrects_id": None,
    "created_at": None,
}
# The columns `insert_rows` names: what the rows it writes (inbound messages, the step's
# replies, claimed or not) ever set; the others keep their defaults. Few enough that a
# step's usual two-row INSERT has at most 50 parameters (25 columns, 50): psycopg parses a
# query with more afresh at every execution (0.3 ms of CPU) instead of caching it
# (psycopg/_queries.py MAX_CACHED_STATEMENT_PARAMS). Room for no more.
BULK_COLUMNS = (
    "address_id",
    "channel",
    "direction",
    "status",
    "kind",
    "body",
    "media",
    "provider_id",
    "language",
    "encoding",
    "segments",
    "template",
    "params",
    "lead",
    "choices",
    "raw_choices",
    "reason",
    "is_reply",
    "even_if_stopped",
    "attempts",
    "updated_at",
    "dedupe_key",
    "created_at",
    "question",
    "understood",
)
_OTHER_COLUMNS = tuple(name for name in ROW_DEFAULTS if name not in BULK_COLUMNS)
# The JSON columns go through parameters of their own, so that None is SQL NULL (as when the
# ORM leaves a column out) rather than JSON null.
JSON_COLUMNS = ("media", "params", "choices", "understood")


def _bound(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's values as `insert_rows` binds them; refuses one that sets any other column."""
    if any(row.get(name, ROW_DEFAULTS[name]) != ROW_DEFAULTS[name] for name in _OTHER_COLUMNS):
        raise ValueError("a row with more than BULK_COLUMNS set is written with `add`")
    return {(f"{name}_json" if name in JSON_COLUMNS else name): row[name] for name in BULK_COLUMNS}


def insert_rows(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Insert message rows (ROW_DEFAULTS' shape); return the id and direction of each written.

    An inbound row that a provider's retry stored first is not written, and not returned.
    Each row goes through the driver with the statement SQLAlchemy compiled and its types'
    processors (storage/db.py DriverStatement): `Connection.execute` costs more than the row.
    """
    if not rows:
        return []
    bound = [_bound(row) for row in rows]
    insert = _driver_insert(connection.engine)
    if connection.dialect.name == "postgresql":
        # One round trip for all of them, their ids returned (a pipeline).
        return [(row_id, direction) for row_id, direction in insert.returning(connection, bound)]
    # SQLite runs in process, where RETURNING costs more than the row itself (the statement
    # is prepared again each time): one INSERT per row, ids from lastrowid.
    written = []
    for row in bound:
        count, row_id = insert.run(connection, row)
        if count and row_id is not None:
            written.append((row_id, row["direction"]))
    return written


_DRIVER_INSERTS: WeakKeyDictionary[Engine, DriverStatement] = WeakKeyDictionary()


def _driver_insert(engine: Engine) -> DriverStatement:
    """The INSERT of BULK_COLUMNS, compiled once per engine for the driver.

    A provider's retry of an inbound message already stored inserts nothing (the partial
    unique index); on PostgreSQL the step sees that in the ids that come back.
    """
    found = _DRIVER_INSERTS.get(engine)
    if found is None:
        columns = Message.__table__.c
        none_as_null = JSON(none_as_null=True)
        postgresql = engine.dialect.name == "postgresql"
        insert_ = postgresql_insert if postgresql else sqlite_insert
        statement = (
            insert_(Message)
            .values(
                {
                    name: bindparam(f"{name}_json", type_=none_as_null)
                    if name in JSON_COLUMNS
                    else bindparam(name, type_=columns[name].type)
                    for name in BULK_COLUMNS
                }
            )
            .on_conflict_do_nothing(
                index_elements=["channel", "provider_id"],
                # Written as in the index, so the database can match the partial index.
                index_where=text("direction = 'in'"),
            )
        )
        found = _DRIVER_INSERTS[engine] = DriverStatement(
            engine,
            statement.returning(Message.id, Message.direction) if postgresql else statement,
        )
    return found


def add(session: Session, message: Outbound) -> Message:
    """Write one outbound message through the ORM session of a staff action; flush it."""
    # Columns with nothing to say are left out, so JSON ones are SQL NULL, not JSON null.
    row = Message(**{name: value for name, value in message.row().items() if value is not None})
    session.add(row)
    session.flush()
    return row


def fan_out(
    dialect: str, kind: Kind, columns: Mapping[str, ColumnElement[Any]], source: Select[Any]
) -> Insert:
    """INSERT ... SELECT of one outbound row of `kind` per row of `source` (a broadcast's
    recipients).

    `columns` says how each named column comes from `source`; every other column takes the
    value an outbound row has by default. A row whose (address_id, dedupe_key) exists
    already is skipped, so a batch written twice writes nothing the second time.
    """
    fixed: dict[str, ColumnElement[Any]] = {
        "direction": literal("out", String),
        "status": literal("queued", String),
        "kind": literal(kind, String),
        "is_reply": literal(False, Boolean),
        "urgent": literal(False, Boolean),
        "even_if_stopped": literal(False, Boolean),
        "raw_choices": literal(False, Boolean),
        "attempts": literal(0, Integer),
    }
    chosen = {**fixed, **columns}
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert_(Message)
        .from_select(
            list(chosen), source.with_only_columns(*chosen.values()), include_defaults=False
        )
        .on_conflict_do_nothing(index_elements=["address_id", "dedupe_key"])
        .returning(Message.id)
    )
