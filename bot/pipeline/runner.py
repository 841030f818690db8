"""The runner: store an inbound message, step its conversation, persist everything at once.

One transaction per inbound message holds the message row, the new conversation state, the
records its effects create and the outbound rows to send. Only after it commits are the
outbound rows handed to the queue, so a crash never sends what was not stored.

Every message a deployment receives goes through a step, so a step speaks SQL through Core
statements built once (`_Statements`): one query reads the address, its contact and its
conversation; one INSERT writes the inbound message together with its replies; one UPDATE
saves the conversation, checking its version. The ORM session of the same transaction is
there for what is rare: records, safeguarding flags, hooks of other modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Connection, bindparam, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.casework.cases import complaint_deadlines
from bot.casework.safeguarding import Safeguarding
from bot.pipeline.hold import WHATSAPP_WINDOW
from bot.types import InboundMessage
from flows.effects import Effect, OptIn, OptOut, SetLanguage, Submit
from flows.engine import Input, Say, State, Transition, is_idle, prompt, step
from flows.library import Flows
from storage.db import Database, DriverStatement, Transaction
from storage.models import (
    Address,
    Contact,
    Conversation,
    Feedback,
    Interest,
    Message,
    SurveyResponse,
)
from storage.records import (
    feedback_values,
    interest_values,
    new_reference,
    survey_response_values,
)

log = logging.getLogger(__name__)

ADDRESS_CACHE_SIZE = 100_000
# How many times a step is retried when a concurrent message moved the conversation first.
MAX_ATTEMPTS = 8


# Stores what a `submit` of one kind of record carries; returns the parameters its message uses.
RecordHook = Callable[[Session, Address, Mapping[str, Any], datetime], dict[str, Any]]


@dataclass(frozen=True)
class _Stored:
    message_id: int
    address_id: int
    duplicate: bool = False


@dataclass(frozen=True)
class _Step:
    outbound: list[int]
    more: bool


@dataclass(frozen=True)
class Received:
    """What became of one inbound message."""

    message_id: int
    duplicate: bool = False
    outbound_ids: tuple[int, ...] = ()


class _Duplicate(Exception):
    """A provider's retry of a message already stored: its step is rolled back."""


@dataclass
class _Person:
    """An address as a step sees it, with its contact and conversation, read in one query.

    Changes to the address and contact are collected here and written in one UPDATE each.
    """

    address_id: int
    contact_id: int
    channel: str
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


@dataclass(frozen=True)
class _Owner:
    """Whose record a submit writes (storage.records.Owner)."""

    id: int
    contact_id: int
    channel: str


@dataclass
class _Inbound:
    """The message a step answers: stored already (an id), or stored with its replies."""

    body: str | None
    media: list[Any] | None
    language: str | None
    id: int | None = None
    channel: str = ""
    provider_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class _Writes:
    """What applying a transition leads to: held rows queued again, and new rows to insert."""

    released: list[int]
    rows: list[dict[str, Any]]


def say_to_row_fields(say: Say, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Return the outbound row columns that let a Say be rendered later, at send time."""
    params: dict[str, Any] = {**say.params, **outputs}
    if say.lead:
        params["_lead"] = say.lead
    if say.raw_choices:
        params["_raw_choices"] = True
    if say.even_if_stopped:
        params["_even_if_stopped"] = True
    return {"template": say.text, "params": params, "choices": list(say.choices)}


# The columns the runner writes on a message row; the JSON ones go through parameters of
# their own (below), so that None is SQL NULL as when the ORM leaves a column out.
_MESSAGE_ROW: dict[str, Any] = {
    "address_id": None,
    "channel": None,
    "direction": None,
    "status": None,
    "body": None,
    "provider_id": None,
    "language": None,
    "template": None,
    "reason": None,
    "is_reply": False,
    "attempts": 0,
    "dedupe_key": None,
    "created_at": None,
    "media_json": None,
    "params_json": None,
    "choices_json": None,
}
_JSON_COLUMNS = {"media": "media_json", "params": "params_json", "choices": "choices_json"}


# Written into the SQL rather than bound: SQLite plans a statement again on every run when a
# bound value could decide whether a partial index applies (the one on direction = 'in').
_INBOUND = Message.direction == literal_column("'in'")
_RECEIVED = Message.status == literal_column("'received'")


def _message_row(**columns: Any) -> dict[str, Any]:
    row = dict(_MESSAGE_ROW)
    for name, value in columns.items():
        row[_JSON_COLUMNS.get(name, name)] = value
    return row


class _Statements:
    """The statements of a step, built once so that every execution reuses their compiled form."""

    def __init__(self, dialect: str) -> None:
        waiting = (
            select(Message.id).where(Message.address_id == Address.id, _INBOUND, _RECEIVED).exists()
        )
        # Locking the address row makes a second worker on the same person wait on
        # PostgreSQL; the conversation's version column catches anything that slips past
        # (SQLite serialises writers and ignores the clause).
        self.person = (
            select(
                Address.id,
                Address.contact_id,
                Address.channel,
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
                waiting,
            )
            .join(Contact, Contact.id == Address.contact_id)
            .outerjoin(Conversation, Conversation.address_id == Address.id)
            .where(Address.id == bindparam("person_address_id"))
            .with_for_update(of=Address)
        )
        self.waiting = (
            select(Message.id, Message.body, Message.media, Message.language)
            .where(Message.address_id == bindparam("person_address_id"), _INBOUND, _RECEIVED)
            .order_by(Message.id)
            .limit(2)
        )
        none_as_null = JSON(none_as_null=True)
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        # A provider's retry of a message already stored inserts nothing for it (the
        # partial unique index): the step sees it in what the INSERT reports.
        messages = (
            insert_(Message)
            .values(
                media=bindparam("media_json", type_=none_as_null),
                params=bindparam("params_json", type_=none_as_null),
                choices=bindparam("choices_json", type_=none_as_null),
            )
            .on_conflict_do_nothing(
                index_elements=["channel", "provider_id"],
                # Written as in the index, so PostgreSQL can match the partial index.
                index_where=text("direction = 'in'"),
            )
        )
        # PostgreSQL writes a message and its replies in one round trip and returns their
        # ids. SQLite runs in process, where RETURNING costs more than the row itself (the
        # statement is prepared again each time): one INSERT per row, ids from lastrowid.
        self.returning = dialect == "postgresql"
        self.messages = messages.returning(Message.id, Message.direction)
        self.message = messages
        self.find_address = select(Address.id).where(
            Address.channel == bindparam("find_channel"),
            Address.address == bindparam("find_value"),
        )
        new_contact, new_address = insert(Contact), insert(Address)
        self.new_contact = new_contact.returning(Contact.id) if self.returning else new_contact
        self.new_address = new_address.returning(Address.id) if self.returning else new_address
        # PostgreSQL: a message from an address this process has not met yet is stored in one
        # round trip, finding its address in the same statement (nothing when it is new).
        columns = Message.__table__.c
        self.inbound_by_address = (
            postgresql_insert(Message)
            .from_select(
                [
                    "address_id",
                    "channel",
                    "direction",
                    "status",
                    "body",
                    "provider_id",
                    "language",
                    "media",
                    "is_reply",
                    "attempts",
                    "created_at",
                ],
                select(
                    Address.id,
                    Address.channel,
                    literal_column("'in'"),
                    bindparam("in_status", type_=columns.status.type),
                    bindparam("in_body", type_=columns.body.type),
                    bindparam("in_provider_id", type_=columns.provider_id.type),
                    bindparam("in_language", type_=columns.language.type),
                    bindparam("in_media", type_=none_as_null),
                    literal_column("false"),
                    literal_column("0"),
                    bindparam("in_created_at", type_=columns.created_at.type),
                ).where(
                    Address.channel == bindparam("find_channel"),
                    Address.address == bindparam("find_value"),
                ),
            )
            .on_conflict_do_nothing(
                index_elements=["channel", "provider_id"], index_where=text("direction = 'in'")
            )
            .returning(Message.id, Message.address_id)
        )
        self.seen = select(Message.id).where(
            _INBOUND,
            Message.channel == bindparam("seen_channel"),
            Message.provider_id == bindparam("seen_provider_id"),
        )
        self.processed = (
            update(Message).where(Message.id == bindparam("inbound_id")).values(status="processed")
        )
        self.release = (
            update(Message)
            .where(
                Message.address_id == bindparam("held_address_id"),
                Message.status == "held",
                Message.reason.in_(bindparam("reasons", expanding=True)),
            )
            .values(status="queued", reason=None, next_attempt_at=None)
            .returning(Message.id)
        )
        self.address = update(Address).where(Address.id == bindparam("person_address_id"))
        self.contact = update(Contact).where(Contact.id == bindparam("person_contact_id"))
        # The version moves with every step, even one that changes nothing else: a
        # concurrent step from the same old version then updates no row, and retries.
        self.save = (
            update(Conversation)
            .where(
                Conversation.id == bindparam("conversation_id"),
                Conversation.version == bindparam("expected_version"),
            )
            .values(version=Conversation.version + 1)
        )
        self.start = insert(Conversation)
        self.new_feedback = insert(Feedback)
        self.new_survey_response = insert(SurveyResponse)
        self.new_interest = insert(Interest)


class Runner:
    """Stores inbound messages, then steps each person's conversation through them in order.

    Embedded (no `after_store`), `receive` stores a message and steps it in one transaction.
    With a queue, `receive` only stores (one short statement) and hands the address to
    `after_store` (which, on PostgreSQL, leaves it to the database's announcement: see
    bot/pipeline/sweep.py, Waker); `process` then steps every unprocessed message from that
    address, oldest first, each in its own transaction under the address's row lock, so
    messages that arrive together are answered in the order they came, whichever worker runs
    them.
    """

    def __init__(
        self,
        database: Database,
        flows: Flows,
        *,
        timezone: str = "Europe/London",
        expiry: timedelta = timedelta(days=3),
        response_working_days: int = 20,
        clock: Callable[[], datetime],
        after_commit: Callable[[Iterable[int]], None] = lambda ids: None,
        after_store: Callable[[int], None] | None = None,
        records: Mapping[str, RecordHook] | None = None,
        safeguarding: Safeguarding | None = None,
    ) -> None:
        self.database = database
        self.flows = flows
        self.zone = ZoneInfo(timezone)
        self.expiry = expiry
        self.response_working_days = response_working_days
        self.clock = clock
        self.after_commit = after_commit
        self.after_store = after_store
        # Records other modules keep (events: subscriptions, RSVPs...), by a submit's `record`.
        self.records = dict(records or {})
        self.safeguarding = safeguarding
        self._sql = _Statements(database.dialect)
        # PostgreSQL: a received message is stored straight through the driver, the whole
        # of a webhook's work (storage/db.py DriverStatement).
        self._store_received = (
            database.driver_statement(self._sql.inbound_by_address) if self._sql.returning else None
        )
        # Reading the bank holiday tables takes a few hundred milliseconds: a process pays
        # that when it starts, rather than the first person to complain after it started.
        complaint_deadlines(clock(), self.zone, response_working_days)
        # Addresses are never deleted, so their ids can be remembered: most webhooks are
        # from people already known, and skip a query.
        self._address_ids: dict[tuple[str, str], int] = {}

    def receive(self, message: InboundMessage, process_now: bool = False) -> Received:
        """Store one inbound message and have it processed; a repeated provider id changes nothing.

        Without `after_store`, or with `process_now` (the simulator shows replies at once),
        the message is processed here, and the ids of the outbound rows it caused returned.
        """
        if self.after_store is None or process_now:
            received = self._receive_and_step(message)
            if received is not None:
                return received
        stored = self._store_alone(message)
        if stored.duplicate:
            return Received(stored.message_id, duplicate=True)
        if self.after_store is not None and not process_now:
            self.after_store(stored.address_id)
            return Received(stored.message_id)
        return Received(stored.message_id, outbound_ids=tuple(self.process(stored.address_id)))

    def process(self, address_id: int) -> list[int]:
        """Step the conversation through every unprocessed message from this address, in order."""
        outbound: list[int] = []
        failures = 0
        while failures < MAX_ATTEMPTS:
            try:
                with self.database.transaction() as tx:
                    step_result = self._step_next(tx, address_id)
            except (StaleDataError, IntegrityError):
                failures += 1  # another worker stepped this conversation first: look again
                continue
            except Exception:
                log.exception("step failed for an inbound message on address %d", address_id)
                failures += 1
                self._mark_failed(address_id)
                continue
            if step_result is None:
                return outbound
            self.after_commit(step_result.outbound)
            outbound.extend(step_result.outbound)
            if not step_result.more:
                return outbound
        log.error("gave up stepping address %d after %d conflicts", address_id, failures)
        return outbound

    def pending(self, older_than: timedelta) -> list[int]:
        """Addresses with messages stored but not processed for a while (a lost step job)."""
        cutoff = self.clock() - older_than
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(Message.address_id)
                    .where(
                        Message.direction == "in",
                        Message.status == "received",
                        Message.created_at <= cutoff,
                    )
                    .distinct()
                )
            )

    def expire_stale(self) -> int:
        """End politely every conversation left half-way for longer than the expiry."""
        cutoff = self.clock() - self.expiry
        with self.database.session() as session:
            stale = session.scalars(
                select(Conversation.id).where(Conversation.updated_at < cutoff)
            ).all()
        ended = 0
        for conversation_id in stale:
            try:
                with self.database.transaction() as tx:
                    ids = self._expire_one(tx, conversation_id, cutoff)
            except StaleDataError:
                continue  # the person wrote meanwhile; their message handled the expiry
            if ids:
                ended += 1
                self.after_commit(ids)
        return ended

    def prompt(
        self,
        address_id: int,
        flow_id: str,
        context: Mapping[str, Any],
        say: Say,
        instead: Say,
        dedupe_key: str,
    ) -> list[int]:
        """Say something the bot starts (an event reminder) and wait for the answer at `flow_id`.

        The message carries `dedupe_key`, so however often a job asks, each address gets it
        once; returns the ids of the rows written (none when it was written before).
        """
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.database.transaction() as tx:
                    ids = self._prompt(
                        tx,
                        address_id,
                        flow_id,
                        context,
                        say,
                        instead,
                        dedupe_key,
                    )
            except (StaleDataError, IntegrityError):
                continue  # the person wrote, or another job wrote the same message: look again
            self.after_commit(ids)
            return ids
        log.error("gave up prompting address %d after %d conflicts", address_id, MAX_ATTEMPTS)
        return []

    # -- storing ---------------------------------------------------------------------------

    def _receive_and_step(self, message: InboundMessage) -> Received | None:
        """Store and step one message in a single transaction; None when it must wait its turn.

        None also when older messages from the address are still waiting (a step job not run
        yet) or conflicts went on too long: the caller then stores this one like any other
        and steps them in order. A step that fails stores the message alone, as failed.
        """
        key = (message.channel, message.address)
        for _ in range(MAX_ATTEMPTS):
            try:
                with self.database.transaction() as tx:
                    address_id = self._find_address(tx.connection, key)
                    done = self._step_new(tx, message, address_id)
            except _Duplicate:
                return Received(self._seen(message), duplicate=True)
            except (StaleDataError, IntegrityError):
                # A concurrent message moved the conversation first, or was the first from
                # this address and created it: look again.
                continue
            except Exception:
                log.exception("step failed for an inbound %s message", message.channel)
                stored = self._store_alone(message, status="failed", reason="step-error")
                return Received(stored.message_id, duplicate=stored.duplicate)
            self._remember(key, address_id)
            if done is None:
                return None
            message_id, outbound = done
            self.after_commit(outbound)
            return Received(message_id, outbound_ids=tuple(outbound))
        log.error("could not step a message at once after %d conflicts", MAX_ATTEMPTS)
        return None

    def _store_alone(
        self, message: InboundMessage, status: str = "received", reason: str | None = None
    ) -> _Stored:
        """Insert the message by itself, unless a provider retry already did."""
        key = (message.channel, message.address)
        if self._store_received is not None and status == "received":
            # One statement finds the address and inserts: cheaper than inserting a full
            # row for a remembered address id (0.12 against 0.19 ms of CPU, bench/README).
            stored = self._store_by_address(self._store_received, message)
            if stored is not None:
                self._remember(key, stored.address_id)
                return stored
        for _ in range(MAX_ATTEMPTS):
            known = self._address_ids.get(key)
            try:
                with self._store_transaction(known) as connection:
                    address_id = self._find_address(connection, key)
                    row = self._inbound_row(message, address_id, status, reason)
                    written = self._insert(connection, [row])
            except IntegrityError:
                # A first message from this address was being stored at the same moment.
                continue
            self._remember(key, address_id)
            if written:
                return _Stored(written[0][0], address_id)
            return _Stored(self._seen(message), address_id, duplicate=True)
        raise RuntimeError("could not store an inbound message after several attempts")

    def _store_by_address(
        self, statement: DriverStatement, message: InboundMessage
    ) -> _Stored | None:
        """Store a message from a known address in one statement; None if new or a repeat."""
        media = [{"url": m.url, "content_type": m.content_type} for m in message.media]
        written = statement.first(
            {
                "find_channel": message.channel,
                "find_value": message.address,
                "in_status": "received",
                "in_body": message.text,
                "in_provider_id": message.provider_id,
                # The language the person's app says they use, if any.
                "in_language": message.language_hint,
                "in_media": media or None,
                "in_created_at": message.received_at or self.clock(),
            }
        )
        if written is None:
            return None
        message_id, address_id = written
        return _Stored(message_id, address_id)

    def _store_transaction(self, known: int | None) -> AbstractContextManager[Connection]:
        # From an address this process knows, storing is one statement, with no transaction
        # around it on PostgreSQL; otherwise the address is found, or created with its
        # contact, in the same transaction as the message.
        if known is None:
            return self.database.engine.begin()
        return self.database.single_statement()

    def _inbound_row(
        self, message: InboundMessage, address_id: int, status: str, reason: str | None = None
    ) -> dict[str, Any]:
        media = [{"url": m.url, "content_type": m.content_type} for m in message.media]
        return _message_row(
            address_id=address_id,
            channel=message.channel,
            direction="in",
            body=message.text,
            provider_id=message.provider_id,
            status=status,
            reason=reason,
            # For an inbound message: the language the person's app says they use, if any.
            language=message.language_hint,
            media=media or None,
            created_at=message.received_at or self.clock(),
        )

    def _seen(self, message: InboundMessage) -> int:
        """The id of the message a provider's retry repeats."""
        with self.database.single_statement() as connection:
            seen = connection.execute(
                self._sql.seen,
                {"seen_channel": message.channel, "seen_provider_id": message.provider_id},
            )
            return seen.scalar() or 0

    def _find_address(self, connection: Connection, key: tuple[str, str]) -> int:
        """Return the id of the address (channel, value), creating it and its contact if new.

        Of two transactions creating the same address at once, one fails on the unique
        (channel, address) and is retried, finding the other's.
        """
        known = self._address_ids.get(key)
        if known is not None:
            return known
        channel, value = key
        found = connection.execute(
            self._sql.find_address, {"find_channel": channel, "find_value": value}
        ).scalar()
        if found is not None:
            return int(found)
        now = self.clock()
        contact_id = self._insert_id(connection, self._sql.new_contact, {"created_at": now})
        return self._insert_id(
            connection,
            self._sql.new_address,
            {"contact_id": contact_id, "channel": channel, "address": value, "created_at": now},
        )

    def _remember(self, key: tuple[str, str], address_id: int) -> None:
        """Remember a committed address's id: addresses are never deleted."""
        if key not in self._address_ids:
            if len(self._address_ids) >= ADDRESS_CACHE_SIZE:
                self._address_ids.clear()
            self._address_ids[key] = address_id

    def _insert_id(self, connection: Connection, statement: Any, params: dict[str, Any]) -> int:
        """Insert one row and return its id."""
        result = connection.execute(statement, params)
        return int(result.scalar_one() if self._sql.returning else result.lastrowid)

    # -- inside one transaction ------------------------------------------------------------

    def _step_new(
        self, tx: Transaction, message: InboundMessage, address_id: int
    ) -> tuple[int, list[int]] | None:
        """Store a message and step it; None when older messages from the address wait."""
        person = self._person(tx.connection, address_id)
        if person.waiting:
            return None
        now = self.clock()
        media = [{"url": m.url, "content_type": m.content_type} for m in message.media]
        inbound = _Inbound(
            body=message.text,
            media=media or None,
            language=message.language_hint,
            channel=message.channel,
            provider_id=message.provider_id,
            created_at=message.received_at or now,
        )
        outbound = self._advance(tx, person, inbound, now)
        assert inbound.id is not None  # written with its replies, or _Duplicate was raised
        return inbound.id, outbound

    def _step_next(self, tx: Transaction, address_id: int) -> _Step | None:
        """Step the oldest unprocessed message of this address; None when there is none."""
        connection = tx.connection
        person = self._person(connection, address_id)
        waiting = connection.execute(self._sql.waiting, {"person_address_id": address_id}).all()
        if not waiting:
            return None
        oldest = waiting[0]
        inbound = _Inbound(
            id=oldest.id, body=oldest.body, media=oldest.media, language=oldest.language
        )
        outbound = self._advance(tx, person, inbound, self.clock())
        return _Step(outbound, more=len(waiting) > 1)

    def _person(self, connection: Connection, address_id: int) -> _Person:
        row = connection.execute(self._sql.person, {"person_address_id": address_id}).one()
        (
            _id,
            contact_id,
            channel,
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
        return _Person(
            address_id=address_id,
            contact_id=contact_id,
            channel=channel,
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

    def _advance(
        self, tx: Transaction, person: _Person, inbound: _Inbound, now: datetime
    ) -> list[int]:
        """Step the conversation through one inbound message and write everything it causes.

        Returns the ids of the outbound rows to queue once the transaction commits.
        """
        window_reopened = False
        if person.channel == "whatsapp":
            last = person.last_inbound_at
            window_reopened = last is None or now - last > WHATSAPP_WINDOW
            person.change_address(last_inbound_at=now)
        if person.stopped_by == "provider" and person.channel == "telegram":
            # Telegram only delivers messages from people who have not blocked the bot: the
            # block that stopped this address has been lifted.
            person.change_address(stopped_at=None, stopped_by=None)
        state = person.state
        transitions: list[Transition] = []
        if state is not None and person.updated_at is not None and not is_idle(state):
            if now - person.updated_at > self.expiry:
                expired = step(self.flows, state, Input(kind="expire"))
                transitions.append(expired)
                state = expired.state
        event = Input(
            text=inbound.body or "",
            media=tuple(inbound.media or ()),
            language=person.language,
            language_hint=inbound.language,
            opted_out=person.stopped_at is not None,
        )
        transitions.append(step(self.flows, state, event))
        released: list[int] = []
        rows: list[dict[str, Any]] = []
        for index, transition in enumerate(transitions):
            writes = self._apply(
                tx,
                person,
                transition,
                now,
                is_reply=True,
                window_reopened=window_reopened and index == 0,
            )
            released.extend(writes.released)
            rows.extend(writes.rows)
        connection = tx.connection
        outbound = [*released, *self._write_messages(connection, person, inbound, rows)]
        if self.safeguarding is not None and self.safeguarding.lexicon.detect(inbound.body or ""):
            # Words that suggest a risk of harm: a flag and the on-call alerts, in this step.
            # Only a message whose words match costs the queries that load these rows.
            assert inbound.id is not None
            address = self._address_object(tx, person)
            message = tx.session.get_one(Message, inbound.id)
            alerts = self.safeguarding.flag_inbound(tx.session, address, message, now)
            tx.session.flush()
            outbound.extend(row.id for row in alerts)
        self._write_person(connection, person)
        self._save_state(tx, person, transitions[-1].state, now)
        return outbound

    def _write_messages(
        self,
        connection: Connection,
        person: _Person,
        inbound: _Inbound,
        rows: list[dict[str, Any]],
    ) -> list[int]:
        """Insert the replies, with the inbound message when it is new; return the replies' ids.

        A new inbound message is written already processed, in the same statement: its id
        comes before its replies'. Raises _Duplicate when a provider's retry stored it first.
        """
        if inbound.id is None:
            rows = [
                _message_row(
                    address_id=person.address_id,
                    channel=inbound.channel,
                    direction="in",
                    body=inbound.body,
                    provider_id=inbound.provider_id,
                    status="processed",
                    language=inbound.language,
                    media=inbound.media,
                    created_at=inbound.created_at,
                ),
                *rows,
            ]
        else:
            connection.execute(self._sql.processed, {"inbound_id": inbound.id})
        written = self._insert(connection, rows)
        if inbound.id is None:
            stored = [row_id for row_id, direction in written if direction == "in"]
            if not stored:
                raise _Duplicate()
            inbound.id = stored[0]
        return sorted(row_id for row_id, direction in written if direction == "out")

    def _write_person(self, connection: Connection, person: _Person) -> None:
        """Write what this step changed on the address and the contact."""
        if person.address_changes:
            connection.execute(
                self._sql.address,
                {**person.address_changes, "person_address_id": person.address_id},
            )
            person.address_changes = {}
        if person.contact_changes:
            connection.execute(
                self._sql.contact,
                {**person.contact_changes, "person_contact_id": person.contact_id},
            )
            person.contact_changes = {}

    def _address_object(self, tx: Transaction, person: _Person) -> Address:
        """The address as an ORM object, for code that writes records through the session."""
        self._write_person(tx.connection, person)
        return tx.session.get_one(Address, person.address_id)

    def _mark_failed(self, address_id: int) -> None:
        """Set aside the message whose step raised, so the rest can go on; its words stay."""
        with self.database.session() as session:
            inbound = session.scalar(
                select(Message)
                .where(
                    Message.address_id == address_id,
                    Message.direction == "in",
                    Message.status == "received",
                )
                .order_by(Message.id)
                .limit(1)
            )
            if inbound is not None:
                inbound.status, inbound.reason = "failed", "step-error"

    def _expire_one(self, tx: Transaction, conversation_id: int, cutoff: datetime) -> list[int]:
        address_id = tx.connection.scalar(
            select(Conversation.address_id).where(Conversation.id == conversation_id)
        )
        if address_id is None:
            return []
        connection = tx.connection
        person = self._person(connection, address_id)
        state = person.state
        if person.updated_at is None or person.updated_at >= cutoff:
            return []
        if state is None or is_idle(state):
            return []
        now = self.clock()
        transition = step(self.flows, state, Input(kind="expire"))
        writes = self._apply(tx, person, transition, now, is_reply=False)
        outbound = [*writes.released, *self._write_rows(connection, writes.rows)]
        self._write_person(connection, person)
        self._save_state(tx, person, transition.state, now)
        return outbound

    def _prompt(
        self,
        tx: Transaction,
        address_id: int,
        flow_id: str,
        context: Mapping[str, Any],
        say: Say,
        instead: Say,
        dedupe_key: str,
    ) -> list[int]:
        written = tx.connection.scalar(
            select(Message.id).where(
                Message.address_id == address_id, Message.dedupe_key == dedupe_key
            )
        )
        if written is not None:
            return []
        connection = tx.connection
        person = self._person(connection, address_id)
        now = self.clock()
        transition = prompt(self.flows, person.state, flow_id, context, say, instead)
        writes = self._apply(tx, person, transition, now, is_reply=False)
        for row in writes.rows:
            row["dedupe_key"] = dedupe_key
        outbound = [*writes.released, *self._write_rows(connection, writes.rows)]
        self._write_person(connection, person)
        if transition.state != person.state:
            # Someone half-way through a conversation is only told: their conversation is
            # left as it was, its expiry counted from their last message, not from this.
            self._save_state(tx, person, transition.state, now)
        return outbound

    def _write_rows(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        """Insert outbound rows; return their ids in the order they were written."""
        return sorted(row_id for row_id, _direction in self._insert(connection, rows))

    def _insert(self, connection: Connection, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
        """Insert message rows; return the id and direction of each row written.

        An inbound row a provider's retry stored first is not written, and not returned.
        """
        if not rows:
            return []
        if self._sql.returning:
            return [
                (row_id, direction)
                for row_id, direction in connection.execute(self._sql.messages, rows)
            ]
        written = []
        for row in rows:
            result = connection.execute(self._sql.message, row)
            if result.rowcount:
                written.append((result.lastrowid, row["direction"]))
        return written

    def _save_state(self, tx: Transaction, person: _Person, state: State, now: datetime) -> None:
        """Write the conversation's new state; StaleDataError if another step moved it first."""
        values = {
            "flow": state.flow,
            "node": state.node,
            "answers": dict(state.answers),
            "updated_at": now,
        }
        connection = tx.connection
        if person.conversation_id is None:
            # A concurrent first step from this address fails here on the unique address_id.
            connection.execute(
                self._sql.start,
                {**values, "address_id": person.address_id, "version": 1, "started_at": now},
            )
            return
        saved = connection.execute(
            self._sql.save,
            {
                **values,
                "conversation_id": person.conversation_id,
                "expected_version": person.version,
            },
        )
        if saved.rowcount != 1:
            raise StaleDataError(f"conversation {person.conversation_id} was stepped meanwhile")

    def _apply(
        self,
        tx: Transaction,
        person: _Person,
        transition: Transition,
        now: datetime,
        is_reply: bool,
        window_reopened: bool = False,
    ) -> _Writes:
        outputs: dict[str, Any] = {}
        for effect in transition.effects:
            outputs.update(self._effect(tx, person, effect, now))
        release = []
        if any(isinstance(effect, OptIn) for effect in transition.effects):
            release.append("opted-out")
        if window_reopened:
            release.append("outside-whatsapp-window")  # they wrote: the window is open again
        released = self._release_held(tx, person, release) if release else []
        rows = [
            _message_row(
                address_id=person.address_id,
                channel=person.channel,
                direction="out",
                status="queued",
                is_reply=is_reply,
                created_at=now,
                **say_to_row_fields(say, outputs),
            )
            for say in transition.say
        ]
        return _Writes(released, rows)

    def _release_held(self, tx: Transaction, person: _Person, reasons: list[str]) -> list[int]:
        """Queue again what was held for reasons that no longer hold (START, a new message)."""
        released = tx.connection.execute(
            self._sql.release, {"held_address_id": person.address_id, "reasons": reasons}
        )
        # In the order they were written: an update on a case must not overtake the last.
        return sorted(released.scalars())

    def _effect(
        self, tx: Transaction, person: _Person, effect: Effect, now: datetime
    ) -> dict[str, Any]:
        if isinstance(effect, SetLanguage):
            person.language = effect.language
            person.contact_changes["language"] = person.language
        elif isinstance(effect, OptOut):
            person.change_address(stopped_at=now, stopped_by="person")
        elif isinstance(effect, OptIn):
            person.change_address(stopped_at=None, stopped_by=None)
        elif isinstance(effect, Submit):
            return self._submit(tx, person, effect, now)
        return {}

    def _submit(
        self, tx: Transaction, person: _Person, data: Submit, now: datetime
    ) -> dict[str, Any]:
        language = person.language or "en"
        answers = data.answers
        complete = data.complete
        fields = data.fields
        hook = self.records.get(data.record)
        if hook is not None:
            return hook(tx.session, self._address_object(tx, person), answers, now)
        # The records of the core flows are written with Core statements, from the same
        # columns storage.records gives the ORM: no objects to load, track and flush.
        owner = _Owner(person.address_id, person.contact_id, person.channel)
        connection = tx.connection
        if data.record == "feedback":
            kind = fields["kind"]
            deadline = respond_by = None
            if kind == "complaint":
                deadline, respond_by = complaint_deadlines(
                    now, self.zone, self.response_working_days
                )
            reference = new_reference(connection, kind)
            values = feedback_values(
                reference, owner, language, kind, answers, complete, now, deadline, respond_by
            )
            connection.execute(self._sql.new_feedback, values)
            outputs: dict[str, Any] = {"reference": reference}
            if deadline is not None:
                outputs["deadline"] = {"date": deadline.isoformat()}
            return outputs
        if data.record == "survey":
            values = survey_response_values(
                owner, language, fields["survey"], answers, complete, now
            )
            connection.execute(self._sql.new_survey_response, values)
        else:
            connection.execute(
                self._sql.new_interest, interest_values(owner, language, answers, now)
            )
        return {}
