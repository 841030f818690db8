"""The runner: store an inbound message, step its conversation, persist everything at once.

One transaction per inbound message holds the message row, the new conversation state, the
records its effects create and the outbound rows to send. Only after it commits are the
outbound rows handed to the queue, so a crash never sends what was not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from bot.calendar import add_working_days
from bot.hold import WHATSAPP_WINDOW
from bot.types import InboundMessage
from flows.engine import Effect, Event, Say, State, Transition, is_idle, step
from flows.library import Flows
from storage.db import Database
from storage.models import Address, Contact, Conversation, Message
from storage.records import create_feedback, create_interest, create_survey_response

log = logging.getLogger(__name__)

# Working days to acknowledge a complaint (LASSNHSC (England) Regulations 2009, reg. 13(2)).
ACKNOWLEDGE_WORKING_DAYS = 3
ADDRESS_CACHE_SIZE = 100_000
# How many times a step is retried when a concurrent message moved the conversation first.
MAX_ATTEMPTS = 8


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


class Runner:
    """Stores inbound messages, then steps each person's conversation through them in order.

    `receive` only stores (one short transaction) and hands the address to `after_store`;
    `process` steps every unprocessed message from that address, oldest first, each in its
    own transaction under the conversation's row lock, so messages that arrive together are
    answered in the order they came, whichever worker runs them.
    """

    def __init__(
        self,
        database: Database,
        flows: Flows,
        *,
        timezone: str = "Europe/London",
        expiry: timedelta = timedelta(days=3),
        clock: Callable[[], datetime],
        after_commit: Callable[[Iterable[int]], None] = lambda ids: None,
        after_store: Callable[[int], None] | None = None,
    ) -> None:
        self.database = database
        self.flows = flows
        self.zone = ZoneInfo(timezone)
        self.expiry = expiry
        self.clock = clock
        self.after_commit = after_commit
        self.after_store = after_store
        # Addresses are never deleted, so their ids can be remembered: most webhooks are
        # from people already known, and skip a query.
        self._address_ids: dict[tuple[str, str], int] = {}

    def receive(self, message: InboundMessage, process_now: bool = False) -> Received:
        """Store one inbound message and have it processed; a repeated provider id changes nothing.

        Without `after_store`, or with `process_now` (the simulator shows replies at once),
        the message is processed here, and the ids of the outbound rows it caused returned.
        """
        for _ in range(MAX_ATTEMPTS):
            try:
                address_id = self._address_id(message.channel, message.address)
                with self.database.single_statement() as session:
                    stored = self._store(session, message, address_id)
            except IntegrityError:
                # A first message from this address was being stored at the same moment.
                continue
            if stored.duplicate:
                return Received(stored.message_id, duplicate=True)
            if self.after_store is not None and not process_now:
                self.after_store(stored.address_id)
                return Received(stored.message_id)
            return Received(stored.message_id, outbound_ids=tuple(self.process(stored.address_id)))
        raise RuntimeError("could not store an inbound message after several attempts")

    def process(self, address_id: int) -> list[int]:
        """Step the conversation through every unprocessed message from this address, in order."""
        outbound: list[int] = []
        failures = 0
        while failures < MAX_ATTEMPTS:
            try:
                with self.database.session() as session:
                    step_result = self._step_next(session, address_id)
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
                with self.database.session() as session:
                    ids = self._expire_one(session, conversation_id, cutoff)
            except StaleDataError:
                continue  # the person wrote meanwhile; their message handled the expiry
            if ids:
                ended += 1
                self.after_commit(ids)
        return ended

    # -- inside one transaction ------------------------------------------------------------

    def _store(self, session: Session, message: InboundMessage, address_id: int) -> _Stored:
        """Insert the message, unless a provider retry already did: one statement, usually."""
        now = self.clock()
        row: dict[str, Any] = {
            "address_id": address_id,
            "channel": message.channel,
            "direction": "in",
            "body": message.text,
            "provider_id": message.provider_id,
            "status": "received",
            # For an inbound message: the language the person's app says they use, if any.
            "language": message.language_hint,
            "created_at": message.received_at or now,
        }
        if message.media:
            row["media"] = [{"url": m.url, "content_type": m.content_type} for m in message.media]
        dialect = session.get_bind().dialect.name
        statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(Message)
        new_id = session.scalar(
            statement.values(**row)
            .on_conflict_do_nothing(
                index_elements=["channel", "provider_id"],
                # Written as in the index, so PostgreSQL can match the partial index.
                index_where=text("direction = 'in'"),
            )
            .returning(Message.id)
        )
        if new_id is not None:
            return _Stored(new_id, address_id)
        seen = session.scalar(
            select(Message.id).where(
                Message.direction == "in",
                Message.channel == message.channel,
                Message.provider_id == message.provider_id,
            )
        )
        return _Stored(seen or 0, address_id, duplicate=True)

    def _address_id(self, channel: str, value: str) -> int:
        """Return the address's id, creating it and its contact on a first message."""
        key = (channel, value)
        known = self._address_ids.get(key)
        if known is not None:
            return known
        with self.database.session() as session:
            address = self._address(session, channel, value, self.clock())
        if len(self._address_ids) >= ADDRESS_CACHE_SIZE:
            self._address_ids.clear()
        self._address_ids[key] = address.id
        return address.id

    def _step_next(self, session: Session, address_id: int) -> _Step | None:
        """Step the oldest unprocessed message of this address; None when there is none."""
        # Locking the address row makes a second worker on the same person wait on
        # PostgreSQL; the conversation's version column catches anything that slips past
        # (SQLite serialises writers and ignores the clause).
        address, contact, conversation = session.execute(
            select(Address, Contact, Conversation)
            .join(Contact, Contact.id == Address.contact_id)
            .outerjoin(Conversation, Conversation.address_id == Address.id)
            .where(Address.id == address_id)
            .with_for_update(of=Address)
        ).one()
        waiting = session.scalars(_waiting(address_id).limit(2)).all()
        if not waiting:
            return None
        inbound = waiting[0]
        now = self.clock()
        window_reopened = False
        if address.channel == "whatsapp":
            last = address.last_inbound_at
            window_reopened = last is None or now - last > WHATSAPP_WINDOW
            address.last_inbound_at = now
        if address.stopped_by == "provider" and address.channel == "telegram":
            # Telegram only delivers messages from people who have not blocked the bot: the
            # block that stopped this address has been lifted.
            address.stopped_at = address.stopped_by = None
        state = _state(conversation)
        transitions: list[Transition] = []
        if state is not None and conversation is not None and not is_idle(state):
            if now - conversation.updated_at > self.expiry:
                expired = step(self.flows, state, Event(kind="expire"))
                transitions.append(expired)
                state = expired.state
        event = Event(
            text=inbound.body or "",
            media=tuple(inbound.media or ()),
            language=contact.language,
            language_hint=inbound.language,
            opted_out=address.stopped_at is not None,
        )
        transitions.append(step(self.flows, state, event))
        outbound = [
            row
            for index, transition in enumerate(transitions)
            for row in self._apply(
                session,
                address,
                transition,
                now,
                is_reply=True,
                window_reopened=window_reopened and index == 0,
            )
        ]
        self._save_state(session, conversation, address, transitions[-1].state, now)
        inbound.status = "processed"
        session.flush()
        return _Step([row.id for row in outbound], more=len(waiting) > 1)

    def _mark_failed(self, address_id: int) -> None:
        """Set aside the message whose step raised, so the rest can go on; its words stay."""
        with self.database.session() as session:
            inbound = session.scalar(_waiting(address_id).limit(1))
            if inbound is not None:
                inbound.status, inbound.reason = "failed", "step-error"

    def _expire_one(self, session: Session, conversation_id: int, cutoff: datetime) -> list[int]:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.updated_at >= cutoff:
            return []
        state = _state(conversation)
        if state is None or is_idle(state):
            return []
        address = session.get_one(Address, conversation.address_id)
        now = self.clock()
        transition = step(self.flows, state, Event(kind="expire"))
        rows = self._apply(session, address, transition, now, is_reply=False)
        self._save_state(session, conversation, address, transition.state, now)
        session.flush()
        return [row.id for row in rows]

    def _address(self, session: Session, channel: str, value: str, now: datetime) -> Address:
        address = session.scalar(
            select(Address).where(Address.channel == channel, Address.address == value)
        )
        if address is None:
            contact = Contact(created_at=now)
            address = Address(contact=contact, channel=channel, address=value, created_at=now)
            session.add(address)
            session.flush()  # a concurrent first message from this address fails here: retry
        return address

    def _save_state(
        self,
        session: Session,
        conversation: Conversation | None,
        address: Address,
        state: State,
        now: datetime,
    ) -> None:
        if conversation is None:
            conversation = Conversation(address_id=address.id, started_at=now)
            session.add(conversation)
        conversation.flow = state.flow
        conversation.node = state.node
        conversation.answers = dict(state.answers)
        conversation.updated_at = now
        # Always write the row, so its version moves with every message even when nothing
        # else changed: a concurrent step from the same old version then fails and retries.
        flag_modified(conversation, "updated_at")

    def _apply(
        self,
        session: Session,
        address: Address,
        transition: Transition,
        now: datetime,
        is_reply: bool,
        window_reopened: bool = False,
    ) -> list[Message]:
        outputs: dict[str, Any] = {}
        for effect in transition.effects:
            outputs.update(self._effect(session, address, effect, now))
        release = []
        if any(effect.kind == "opt_in" for effect in transition.effects):
            release.append("opted-out")
        if window_reopened:
            release.append("outside-whatsapp-window")  # they wrote: the window is open again
        released = self._release_held(session, address, release) if release else []
        rows = [
            Message(
                address_id=address.id,
                channel=address.channel,
                direction="out",
                status="queued",
                is_reply=is_reply,
                created_at=now,
                **say_to_row_fields(say, outputs),
            )
            for say in transition.say
        ]
        session.add_all(rows)
        return [*released, *rows]

    def _release_held(
        self, session: Session, address: Address, reasons: list[str]
    ) -> list[Message]:
        """Queue again what was held for reasons that no longer hold (START, a new message)."""
        held = session.scalars(
            select(Message)
            .where(
                Message.address_id == address.id,
                Message.status == "held",
                Message.reason.in_(reasons),
            )
            # In the order they were written: an update on a case must not overtake the last.
            .order_by(Message.id)
        ).all()
        for row in held:
            row.status, row.reason, row.next_attempt_at = "queued", None, None
        return list(held)

    def _effect(
        self, session: Session, address: Address, effect: Effect, now: datetime
    ) -> dict[str, Any]:
        contact = address.contact
        if effect.kind == "set_language":
            contact.language = effect.data["language"]
        elif effect.kind == "opt_out":
            address.stopped_at, address.stopped_by = now, "person"
        elif effect.kind == "opt_in":
            address.stopped_at = address.stopped_by = None
        elif effect.kind == "submit":
            return self._submit(session, address, effect.data, now)
        return {}

    def _submit(
        self, session: Session, address: Address, data: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        language = address.contact.language or "en"
        answers = data["answers"]
        complete = bool(data["complete"])
        fields = data["fields"]
        if data["record"] == "feedback":
            kind = fields["kind"]
            deadline = None
            if kind == "complaint":
                today = now.astimezone(self.zone).date()
                deadline = add_working_days(today, ACKNOWLEDGE_WORKING_DAYS)
            feedback = create_feedback(
                session, address, language, kind, answers, complete, now, deadline
            )
            outputs: dict[str, Any] = {"reference": feedback.reference}
            if deadline is not None:
                outputs["deadline"] = {"date": deadline.isoformat()}
            return outputs
        if data["record"] == "survey":
            create_survey_response(
                session, address, language, fields["survey"], answers, complete, now
            )
        else:
            create_interest(session, address, language, answers, now)
        return {}


def _waiting(address_id: int) -> Select[Message]:
    """The messages from this address still to be stepped, oldest first."""
    return (
        select(Message)
        .where(
            Message.address_id == address_id,
            Message.direction == "in",
            Message.status == "received",
        )
        .order_by(Message.id)
    )


def _state(conversation: Conversation | None) -> State | None:
    if conversation is None:
        return None
    return State(conversation.flow, conversation.node, dict(conversation.answers or {}))
