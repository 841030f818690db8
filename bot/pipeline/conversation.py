"""A person as a step sees them: their address, contact and conversation, read and saved.

Every message a deployment receives goes through a step, so these are Core statements
built once: one query reads the address with its contact and conversation (and whether
older messages from it still wait), one UPDATE each writes what the step changed on the
address and the contact, and one UPDATE saves the conversation, checking its version, so
that of two steps racing from the same version only one wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, Update, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from flows.engine import State, idle
from storage.db import DriverStatement
from storage.models import Address, Contact, Conversation, Message

IDLE = idle()

# Written into the SQL rather than bound: SQLite plans a statement again on every run when a
# bound value could decide whether a partial index applies (the one on direction = 'in').
INBOUND = Message.direction == literal_column("'in'")
RECEIVED = Message.status == literal_column("'received'")


@dataclass
class Person:
    """An address with its contact and conversation, read in one query.

    Changes to the address and contact are collected here and written in one UPDATE each.
    """

    address_id: int
    contact_id: int
    channel: str
    address: str
    stopped_at: datetime | None
    stopped_by: str | None
    last_inbound_at: datetime | None
    language: str | None
    conversation_id: int | None
    state: State | None
    version: int | None
    updated_at: datetime | None
    waiting: bool  # messages from this address are stored and not stepped yet
    address_changes: dict[str, Any] = field(default_factory=dict)
    contact_changes: dict[str, Any] = field(default_factory=dict)

    def change_address(self, **columns: Any) -> None:
        for name, value in columns.items():
            setattr(self, name, value)
        self.address_changes.update(columns)

    def set_language(self, language: str) -> None:
        self.language = language
        self.contact_changes["language"] = language


# The statements, built once per process: every instance and every caller shares their
# compiled forms (a second copy of the same statement would pay to match its result
# columns to the cached one at every execution).
_WAITING = select(Message.id).where(Message.address_id == Address.id, INBOUND, RECEIVED).exists()
# Locking the address row makes a second worker on the same person wait on
# PostgreSQL; the conversation's version column catches anything that slips past
# (SQLite serialises writers and ignores the clause).
_PERSON = (
    select(
        Address.id,
        Address.contact_id,
        Address.channel,
        Address.address,
        Address.stopped_at,
        Address.stopped_by,
        Address.last_inbound_at,
        Contact.language,
        Conversation.id,
        Conversation.flow,
        Conversation.node,
        Conversation.answers,
        Conversation.version,
        Conversation.updated_at,
        _WAITING,
    )
    .join(Contact, Contact.id == Address.contact_id)
    .outerjoin(Conversation, Conversation.address_id == Address.id)
    .where(Address.id == bindparam("person_address_id"))
    .with_for_update(of=Address)
)
_ADDRESS = update(Address).where(Address.id == bindparam("person_address_id"))
_CONTACT = update(Contact).where(Contact.id == bindparam("person_contact_id"))
# The version moves with every step, even one that changes nothing else: a
# concurrent step from the same old version then updates no row, and retries.
_SAVE = (
    update(Conversation)
    .where(
        Conversation.id == bindparam("conversation_id"),
        Conversation.version == bindparam("expected_version"),
    )
    .values(
        version=Conversation.version + 1,
        flow=bindparam("flow"),
        node=bindparam("node"),
        answers=bindparam("answers", type_=Conversation.__table__.c.answers.type),
        updated_at=bindparam("updated_at", type_=Conversation.__table__.c.updated_at.type),
    )
)
_START = insert(Conversation)


# The statements of every step go through the driver, compiled once per engine
# (storage/db.py DriverStatement): Connection.execute costs more than the query.
_DRIVER: WeakKeyDictionary[Engine, tuple[DriverStatement, DriverStatement]] = WeakKeyDictionary()
# The UPDATEs of an address or a contact, one per set of columns a step changes (a handful).
_CHANGES: WeakKeyDictionary[Engine, dict[tuple[str, ...], DriverStatement]] = WeakKeyDictionary()


def _driver(connection: Connection) -> tuple[DriverStatement, DriverStatement]:
    """The read and save statements for the driver, compiled for this engine."""
    engine = connection.engine
    found = _DRIVER.get(engine)
    if found is None:
        found = _DRIVER[engine] = (
            DriverStatement(engine, _PERSON),
            DriverStatement(engine, _SAVE),
        )
    return found


def _change(
    connection: Connection, statement: Update, key: str, columns: tuple[str, ...]
) -> DriverStatement:
    """The UPDATE that sets `columns` of the row whose id is bound as `key`, for the driver."""
    engine = connection.engine
    compiled = _CHANGES.setdefault(engine, {})
    found = compiled.get((key, *columns))
    if found is None:
        table = statement.table.c
        found = compiled[(key, *columns)] = DriverStatement(
            engine,
            statement.values({name: bindparam(name, type_=table[name].type) for name in columns}),
        )
    return found


def read(connection: Connection, address_id: int) -> Person:
    """The person at this address, their address row locked until the transaction ends."""
    row = _driver(connection)[0].one(connection, {"person_address_id": address_id})
    if row is None:
        raise NoResultFound(f"no address {address_id}")
    (
        _id,
        contact_id,
        channel,
        address,
        stopped_at,
        stopped_by,
        last_inbound_at,
        language,
        conversation_id,
        flow,
        node,
        answers,
        version,
        updated_at,
        waiting,
    ) = row
    state = None if conversation_id is None else State(flow, node, dict(answers or {}))
    return Person(
        address_id=address_id,
        contact_id=contact_id,
        channel=channel,
        address=address,
        stopped_at=stopped_at,
        stopped_by=stopped_by,
        last_inbound_at=last_inbound_at,
        language=language,
        conversation_id=conversation_id,
        state=state,
        version=version,
        updated_at=updated_at,
        waiting=bool(waiting),
    )


def write_changes(connection: Connection, person: Person) -> None:
    """Write what this step changed on the address and the contact."""
    if person.address_changes:
        changed = tuple(sorted(person.address_changes))
        _change(connection, _ADDRESS, "person_address_id", changed).run(
            connection, {**person.address_changes, "person_address_id": person.address_id}
        )
        person.address_changes = {}
    if person.contact_changes:
        changed = tuple(sorted(person.contact_changes))
        _change(connection, _CONTACT, "person_contact_id", changed).run(
            connection, {**person.contact_changes, "person_contact_id": person.contact_id}
        )
        person.contact_changes = {}


def save(connection: Connection, person: Person, state: State, now: datetime) -> None:
    """Write the conversation's new state; StaleDataError if another step moved it first."""
    values: Mapping[str, Any] = {
        "flow": state.flow,
        "node": state.node,
        "answers": dict(state.answers),
        "updated_at": now,
    }
    if person.conversation_id is None:
        # A concurrent first step from this address fails here on the unique address_id.
        connection.execute(
            _START,
            {**values, "address_id": person.address_id, "version": 1, "started_at": now},
        )
        return
    parameters = {
        **values,
        "conversation_id": person.conversation_id,
        "expected_version": person.version,
    }
    count, _ = _driver(connection)[1].run(connection, parameters)
    if count != 1:
        raise StaleDataError(f"conversation {person.conversation_id} was stepped meanwhile")


def enter_survey(session: Session, address_id: int, survey: str, first: str, now: datetime) -> None:
    """Put a person's conversation at a survey's first question, as its broadcast goes out.

    Someone part-way through another flow (a complaint, say) is not interrupted: their
    next message still answers what they were asked, and the survey's keyword starts it.
    Two statements that never fail on a race: a conditional UPDATE of an idle conversation
    (moving its version, so a step racing with this one tries again) and an INSERT that
    does nothing when the conversation exists.
    """
    session.execute(
        update(Conversation)
        .where(
            Conversation.address_id == address_id,
            Conversation.flow == IDLE.flow,
            Conversation.node == IDLE.node,
        )
        .values(
            flow=survey,
            node=first,
            answers={},
            version=Conversation.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    dialect = session.get_bind().dialect.name
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert_(Conversation)
        .values(
            address_id=address_id,
            flow=survey,
            node=first,
            answers={},
            version=1,
            started_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["address_id"])
    )
