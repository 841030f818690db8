"""Storing inbound messages once: the first thing that happens to anything a person sends.

A message is stored before anything else is done with it. A provider's retry of a message
already stored (the same provider id on the same channel) stores nothing: the partial
unique index on inbound provider ids refuses it. Addresses are found, or created with
their contact, in the same transaction; on PostgreSQL a message from an address already
known is stored by one statement run straight through the driver, the whole of a
webhook's work (storage/db.py `DriverStatement`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, insert, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import IntegrityError

from bot.pipeline import outbox
from bot.pipeline.conversation import INBOUND, RECEIVED
from bot.types import InboundMessage
from storage.db import Database
from storage.models import Address, Contact, Message

log = logging.getLogger(__name__)

ADDRESS_CACHE_SIZE = 100_000
# How many times storing is tried when a first message from an address raced another.
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Stored:
    """One stored inbound message, or the one a provider's retry repeats (`duplicate`)."""

    message_id: int
    address_id: int
    duplicate: bool = False


@dataclass(frozen=True)
class Waiting:
    """An inbound message stored and not yet stepped."""

    id: int
    body: str | None
    media: list[Any] | None
    language: str | None
    question: str | None


def chat_message_key(chat_message_id: str | None) -> str | None:
    """The dedupe_key of an inbound message with an id in the person's chat (Telegram's), by
    which an edit finds it: unique per address, as the provider's ids are per chat."""
    return None if chat_message_id is None else f"chat-message:{chat_message_id}"[:64]


def media_of(message: InboundMessage) -> list[dict[str, str]] | None:
    """A message's attachments as the `media` column keeps them (None when there are none)."""
    media = [{"url": m.url, "content_type": m.content_type} for m in message.media]
    return media or None


# Built once per process, so every store shares their compiled forms.
_FIND_ADDRESS = select(Address.id).where(
    Address.channel == bindparam("find_channel"),
    Address.address == bindparam("find_value"),
)
_NEW_CONTACT = insert(Contact)
_NEW_ADDRESS = insert(Address)
_RETURNING = {
    _NEW_CONTACT: _NEW_CONTACT.returning(Contact.id),
    _NEW_ADDRESS: _NEW_ADDRESS.returning(Address.id),
}
_SEEN = select(Message.id).where(
    INBOUND,
    Message.channel == bindparam("seen_channel"),
    Message.provider_id == bindparam("seen_provider_id"),
)
_WAITING = (
    select(Message.id, Message.body, Message.media, Message.language, Message.question)
    .where(Message.address_id == bindparam("person_address_id"), INBOUND, RECEIVED)
    .order_by(Message.id)
    .limit(2)
)


class InboundStore:
    """Stores inbound messages and finds their addresses, with statements built once."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock
        self.returning = database.dialect == "postgresql"
        # PostgreSQL: a received message is stored straight through the driver, finding its
        # address in the same statement (nothing when the address is new).
        self._store_received = (
            database.driver_statement(_inbound_by_address()) if self.returning else None
        )
        # Addresses are never deleted, so their ids can be remembered: most webhooks are
        # from people already known, and skip a query.
        self._address_ids: dict[tuple[str, str], int] = {}
        # (channel, WhatsApp business-scoped user id) -> the address it is tied to.
        self._tied: dict[tuple[str, str], str] = {}

    def store(
        self, message: InboundMessage, status: str = "received", reason: str | None = None
    ) -> Stored:
        """Insert the message by itself, unless a provider retry already did."""
        key = (message.channel, message.address)
        if self._store_received is not None and status == "received":
            # One statement finds the address and inserts: cheaper than inserting a full
            # row for a remembered address id (0.12 against 0.19 ms of CPU, bench/README).
            try:
                stored = self._store_by_address(message)
            except IntegrityError:
                stored = self._chat_message_repeated(message)
                if stored is None:
                    raise
            if stored is not None:
                self.remember(key, stored.address_id)
                return stored
        for _ in range(MAX_ATTEMPTS):
            known = self._address_ids.get(key)
            try:
                with self._store_transaction(known) as connection:
                    address_id = self.find_address(connection, key)
                    row = self.inbound_row(message, address_id, status, reason)
                    written = outbox.insert_rows(connection, [row])
            except IntegrityError:
                # A chat message stored before under another update id, or a first message
                # from this address being stored at the same moment.
                repeated = self._chat_message_repeated(message)
                if repeated is not None:
                    return repeated
                continue
            self.remember(key, address_id)
            if written:
                return Stored(written[0][0], address_id)
            return Stored(self.seen(message), address_id, duplicate=True)
        raise RuntimeError("could not store an inbound message after several attempts")

    def tie_external_user(self, message: InboundMessage) -> InboundMessage:
        """Tie a WhatsApp user's business-scoped user id to the address they write from.

        With their number (`From`) and the id, the id is kept on the number's address (taken
        from any other address that had it: the latest number wins). With only the id (they
        hide their number behind a user name, and `From` is the id), the message is theirs
        at the address the id is tied to, so their conversation, consent and STOP carry on;
        an id tied to nothing stays an address of its own. Remembered once seen, as
        addresses are.
        """
        external = message.external_user_id
        if external is None:
            return message
        key = (message.channel, external)
        tied = self._tied.get(key)
        if message.address != external:
            if tied != message.address:
                self._tie(message, external)
            return message
        if tied is None:
            with self.database.single_statement() as connection:
                tied = connection.execute(
                    select(Address.address).where(
                        Address.channel == message.channel, Address.external_user_id == external
                    )
                ).scalar()
            if tied is None:
                return message
            self._remember_tie(key, tied)
        return replace(message, address=tied)

    def _tie(self, message: InboundMessage, external: str) -> None:
        key = (message.channel, message.address)
        try:
            with self.database.engine.begin() as connection:
                address_id = self.find_address(connection, key)
                connection.execute(
                    update(Address)
                    .where(
                        Address.channel == message.channel,
                        Address.external_user_id == external,
                        Address.id != address_id,
                    )
                    .values(external_user_id=None)
                )
                connection.execute(
                    update(Address)
                    .where(Address.id == address_id)
                    .values(external_user_id=external)
                )
        except IntegrityError:
            # Another process tied it, or created the address, at the same moment.
            log.info("could not tie a WhatsApp user id now; the next message will")
            return
        self.remember(key, address_id)
        self._remember_tie((message.channel, external), message.address)

    def _remember_tie(self, key: tuple[str, str], address: str) -> None:
        if len(self._tied) >= ADDRESS_CACHE_SIZE:
            self._tied.clear()
        self._tied[key] = address

    def inbound_row(
        self, message: InboundMessage, address_id: int, status: str, reason: str | None = None
    ) -> dict[str, Any]:
        return {
            **outbox.ROW_DEFAULTS,
            "address_id": address_id,
            "channel": message.channel,
            "direction": "in",
            "body": message.text,
            "provider_id": message.provider_id,
            "status": status,
            "reason": reason,
            # For an inbound message: the language the person's app says they use, if any.
            "language": message.language_hint,
            "media": media_of(message),
            "question": message.question,
            "dedupe_key": None if message.edited else chat_message_key(message.chat_message_id),
            "created_at": message.received_at or self.clock(),
        }

    def _chat_message_repeated(self, message: InboundMessage) -> Stored | None:
        """The message stored before with this one's id in the person's chat, if any: the
        same chat message brought again in an update of another id (not an edit)."""
        dedupe_key = None if message.edited else chat_message_key(message.chat_message_id)
        if dedupe_key is None:
            return None
        with self.database.single_statement() as connection:
            found = connection.execute(
                select(Message.id, Message.address_id)
                .join(Address, Address.id == Message.address_id)
                .where(
                    Address.channel == message.channel,
                    Address.address == message.address,
                    Message.dedupe_key == dedupe_key,
                    INBOUND,
                )
            ).first()
        return None if found is None else Stored(found[0], found[1], duplicate=True)

    def seen(self, message: InboundMessage) -> int:
        """The id of the message a provider's retry repeats."""
        with self.database.single_statement() as connection:
            seen = connection.execute(
                _SEEN,
                {"seen_channel": message.channel, "seen_provider_id": message.provider_id},
            )
            return seen.scalar() or 0

    def find_address(self, connection: Connection, key: tuple[str, str]) -> int:
        """Return the id of the address (channel, value), creating it and its contact if new.

        Of two transactions creating the same address at once, one fails on the unique
        (channel, address) and is retried, finding the other's.
        """
        known = self._address_ids.get(key)
        if known is not None:
            return known
        channel, value = key
        found = connection.execute(
            _FIND_ADDRESS, {"find_channel": channel, "find_value": value}
        ).scalar()
        if found is not None:
            return int(found)
        now = self.clock()
        contact_id = self._insert_id(connection, _NEW_CONTACT, {"created_at": now})
        return self._insert_id(
            connection,
            _NEW_ADDRESS,
            {"contact_id": contact_id, "channel": channel, "address": value, "created_at": now},
        )

    def remember(self, key: tuple[str, str], address_id: int) -> None:
        """Remember a committed address's id: addresses are never deleted."""
        if key not in self._address_ids:
            if len(self._address_ids) >= ADDRESS_CACHE_SIZE:
                self._address_ids.clear()
            self._address_ids[key] = address_id

    def waiting(self, connection: Connection, address_id: int) -> list[Waiting]:
        """The oldest messages from this address not yet stepped (two at most: is there more?)."""
        rows = connection.execute(_WAITING, {"person_address_id": address_id}).all()
        return [Waiting(row.id, row.body, row.media, row.language, row.question) for row in rows]

    def mark_failed(self, address_id: int) -> None:
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

    def pending(self, cutoff: datetime) -> list[int]:
        """Addresses with messages stored but not stepped since before `cutoff`."""
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

    def _store_by_address(self, message: InboundMessage) -> Stored | None:
        """Store a message from a known address in one statement; None if new or a repeat."""
        assert self._store_received is not None
        written = self._store_received.first(
            {
                "find_channel": message.channel,
                "find_value": message.address,
                "in_status": "received",
                "in_body": message.text,
                "in_provider_id": message.provider_id,
                # The language the person's app says they use, if any.
                "in_language": message.language_hint,
                "in_media": media_of(message),
                "in_question": message.question,
                "in_dedupe_key": chat_message_key(message.chat_message_id),
                "in_created_at": message.received_at or self.clock(),
            }
        )
        if written is None:
            return None
        message_id, address_id = written
        return Stored(message_id, address_id)

    def _store_transaction(self, known: int | None) -> AbstractContextManager[Connection]:
        # From an address this process knows, storing is one statement, with no transaction
        # around it on PostgreSQL; otherwise the address is found, or created with its
        # contact, in the same transaction as the message.
        if known is None:
            return self.database.engine.begin()
        return self.database.single_statement()

    def _insert_id(self, connection: Connection, table: Any, params: dict[str, Any]) -> int:
        """Insert one row and return its id (RETURNING on PostgreSQL, lastrowid on SQLite)."""
        if self.returning:
            return int(connection.execute(_RETURNING[table], params).scalar_one())
        return int(connection.execute(table, params).lastrowid)


def _inbound_by_address() -> Any:
    """PostgreSQL: INSERT ... SELECT of a received message under its address, found by value."""
    columns = Message.__table__.c
    return (
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
                "question",
                "dedupe_key",
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
                bindparam("in_media", type_=JSON(none_as_null=True)),
                bindparam("in_question", type_=columns.question.type),
                bindparam("in_dedupe_key", type_=columns.dedupe_key.type),
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
