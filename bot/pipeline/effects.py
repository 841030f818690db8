"""Applying what a step asks for: one small handler per kind of effect (flows/effects.py).

Handlers run inside the step's transaction and see it through a `StepContext`. What a
`Submit` keeps is written by the record writer registered for its record (feedback by
casework, survey answers and interests, event subscriptions and answers by outreach; the
wiring in bot/services.py gives the table), so the pipeline knows no feature's tables.
A new kind of effect is a type in flows/effects.py and a handler here, in `Effects.handlers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.orm import Session

from bot.pipeline import conversation
from bot.pipeline.conversation import Person
from flows.effects import Effect, OptIn, OptOut, SetLanguage, Submit
from flows.understanding import Understanding
from storage.db import Transaction
from storage.models import Address, Message
from storage.records import AddressOwner

# What an effect gives the messages of its step to say (a complaint's reference).
Outputs = Mapping[str, Any]

_RELEASE = (
    update(Message)
    .where(
        Message.address_id == bindparam("held_address_id"),
        Message.status == "held",
        Message.reason.in_(bindparam("reasons", expanding=True)),
    )
    .values(status="queued", reason=None, next_attempt_at=None)
    .returning(Message.id)
)


@dataclass
class StepContext:
    """One step's transaction, person and moment, as handlers and watchers see them."""

    tx: Transaction
    person: Person
    now: datetime
    # Reasons for holding this person's messages that no longer hold (START, a new message).
    releases: set[str] = field(default_factory=set)

    @property
    def connection(self) -> Connection:
        return self.tx.connection

    @property
    def session(self) -> Session:
        """The ORM session of the same transaction, for what is rare (flags, subscriptions)."""
        return self.tx.session

    @property
    def owner(self) -> AddressOwner:
        """Whose records this step writes: the person's address, by its ids."""
        person = self.person
        return AddressOwner(person.address_id, person.contact_id, person.channel)

    @property
    def language(self) -> str:
        """The language the person reads, English until they choose."""
        return self.person.language or "en"

    def address(self) -> Address:
        """The address as an ORM object, with what the step changed on it written first."""
        conversation.write_changes(self.connection, self.person)
        return self.session.get_one(Address, self.person.address_id)

    def release_held(self) -> list[int]:
        """Queue again what was held for reasons that no longer hold; return the ids."""
        if not self.releases:
            return []
        released = self.connection.execute(
            _RELEASE,
            {"held_address_id": self.person.address_id, "reasons": sorted(self.releases)},
        )
        self.releases = set()
        # In the order they were written: an update on a case must not overtake the last.
        return sorted(released.scalars())


class RecordWriter(Protocol):
    """Keeps what a `Submit` of one record carries; returns what its message says."""

    def __call__(self, step: StepContext, submit: Submit) -> Outputs: ...


class InboundWatcher(Protocol):
    """Looks at what each inbound message was understood to say, inside its step
    (safeguarding); returns the ids of what it wrote to send first."""

    def watch(
        self, step: StepContext, message_id: int, understood: Understanding | None
    ) -> list[int]: ...


def set_language(step: StepContext, effect: SetLanguage) -> Outputs:
    step.person.set_language(effect.language)
    return {}


def opt_out(step: StepContext, effect: OptOut) -> Outputs:
    step.person.change_address(stopped_at=step.now, stopped_by="person")
    return {}


def opt_in(step: StepContext, effect: OptIn) -> Outputs:
    step.person.change_address(stopped_at=None, stopped_by=None)
    step.releases.add("opted-out")
    return {}


class Effects:
    """Applies effects with the handler for each type; a Submit through its record's writer."""

    def __init__(self, records: Mapping[str, RecordWriter]) -> None:
        self.records = dict(records)
        self.handlers: Mapping[type, Callable[[StepContext, Any], Outputs]] = {
            SetLanguage: set_language,
            OptOut: opt_out,
            OptIn: opt_in,
            Submit: self.submit,
        }

    def apply(self, step: StepContext, effect: Effect) -> Outputs:
        return self.handlers[type(effect)](step, effect)

    def submit(self, step: StepContext, effect: Submit) -> Outputs:
        return self.records[effect.record](step, effect)
