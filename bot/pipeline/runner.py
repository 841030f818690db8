"""The runner: receive a message, step its conversation, hand what it wrote to the queue.

One transaction per inbound message holds the message row, the new conversation state, the
records its effects create and the outbound rows to send (bot/pipeline/step.py). Only after
it commits are the rows handed on: the replies the step claimed are sent at once, in this
thread, and the rest are queued, so a crash never sends what was not stored.

How a message is stepped depends on the deployment:

- `now` (embedded, `kotha chat`, tests): `receive` stores a message and steps it in one
  transaction.
- `queued` (a web process beside `kotha worker` on SQLite): `receive` only stores it and
  queues a step job for its address.
- `announced` (the same on PostgreSQL): `receive` only stores it; the database announces it
  to a worker (bot/pipeline/sweep.py `Waker`), so a webhook talks to the database alone.

A step job runs `process`, which steps every unprocessed message from that address, oldest
first, each in its own transaction under the address's row lock, so messages that arrive
together are answered in the order they came, whichever worker runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bot.pipeline import conversation
from bot.pipeline.queue import Queue
from bot.pipeline.step import Duplicate, Inbound, Stepper, Written
from bot.pipeline.store import InboundStore, media_of
from bot.types import VOICE, InboundMessage
from flows.engine import Say
from storage.db import Database, Transaction
from storage.models import Conversation

log = logging.getLogger(__name__)

# How many times a step is retried when a concurrent message moved the conversation first.
MAX_ATTEMPTS = 8
Steps = Literal["now", "queued", "announced"]


@dataclass(frozen=True)
class Received:
    """What became of one inbound message."""

    message_id: int
    duplicate: bool = False
    outbound_ids: tuple[int, ...] = ()


def _announced(address_id: int) -> None:
    """Nothing to do: the database announces a stored message to the workers itself."""


class Runner:
    """Stores inbound messages, steps each person's conversation through them in order."""

    def __init__(
        self,
        database: Database,
        stepper: Stepper,
        queue: Queue | None,
        *,
        clock: Callable[[], datetime],
        steps: Steps = "now",
    ) -> None:
        self.database = database
        self.stepper = stepper
        # None hands nothing on: what a step writes stays as written (the step measured or
        # inspected alone).
        self.queue = queue
        self.clock = clock
        self.store = InboundStore(database, lambda: self.clock())
        # Told the address of each message stored to be stepped later; None: step at once.
        self.after_store: Callable[[int], None] | None = None
        if steps == "queued":
            assert queue is not None, "queued steps need a queue"
            self.after_store = queue.enqueue_step
        elif steps == "announced":
            self.after_store = _announced

    def receive(self, message: InboundMessage, process_now: bool = False) -> Received:
        """Store one inbound message and have it processed; a repeated provider id changes nothing.

        Without `after_store`, or with `process_now` (the simulator shows replies at once),
        the message is processed here, and the ids of the outbound rows it caused returned.
        An edit of a message is kept as its correction at once, whatever the deployment.
        """
        if message.external_user_id is not None:
            message = self.store.tie_external_user(message)
        if message.edited:
            return self._receive_correction(message)
        if self.after_store is None or process_now:
            received = self._receive_and_step(message)
            if received is not None:
                return received
        stored = self.store.store(message)
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
                    stepped = self._step_next(tx, address_id)
            except (StaleDataError, IntegrityError):
                failures += 1  # another worker stepped this conversation first: look again
                continue
            except Exception:
                log.exception("step failed for an inbound message on address %d", address_id)
                failures += 1
                self.store.mark_failed(address_id)
                continue
            if stepped is None:
                return outbound
            written, more = stepped
            self._hand_on(written)
            outbound.extend(written.ids)
            if not more:
                return outbound
        log.error("gave up stepping address %d after %d conflicts", address_id, failures)
        return outbound

    def pending(self, older_than: timedelta) -> list[int]:
        """Addresses with messages stored but not processed for a while (a lost step job)."""
        return self.store.pending(self.clock() - older_than)

    def expire_stale(self) -> int:
        """End politely every conversation left half-way for longer than the expiry."""
        cutoff = self.clock() - self.stepper.expiry
        with self.database.session() as session:
            stale = session.scalars(
                select(Conversation.address_id).where(Conversation.updated_at < cutoff)
            ).all()
        ended = 0
        for address_id in stale:
            try:
                with self.database.transaction() as tx:
                    person = conversation.read(tx.connection, address_id)
                    written = self.stepper.expire(tx, person, cutoff, self.clock())
            except StaleDataError:
                continue  # the person wrote meanwhile; their message handled the expiry
            if written.ids:
                ended += 1
                self._hand_on(written)
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
                    person = conversation.read(tx.connection, address_id)
                    written = self.stepper.prompt(
                        tx, person, flow_id, context, say, instead, dedupe_key, self.clock()
                    )
            except (StaleDataError, IntegrityError):
                continue  # the person wrote, or another job wrote the same message: look again
            self._hand_on(written)
            return written.ids
        log.error("gave up prompting address %d after %d conflicts", address_id, MAX_ATTEMPTS)
        return []

    # -- after a commit ----------------------------------------------------------------------

    def _hand_on(self, written: Written) -> None:
        """Queue what the step wrote and send what it claimed, in the order it was written."""
        if self.queue is None:
            return
        for row in written.rows:
            if isinstance(row, int):
                self.queue.enqueue([row])
            elif row.outbound.channel != VOICE:  # said in the call itself, as written
                self.queue.send_now([row])

    # -- stepping --------------------------------------------------------------------------

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
                    address_id = self.store.find_address(tx.connection, key)
                    done = self._step_new(tx, message, address_id)
            except Duplicate:
                return Received(self.store.seen(message), duplicate=True)
            except (StaleDataError, IntegrityError):
                # A concurrent message moved the conversation first, or was the first from
                # this address and created it: look again.
                continue
            except Exception:
                log.exception("step failed for an inbound %s message", message.channel)
                stored = self.store.store(message, status="failed", reason="step-error")
                return Received(stored.message_id, duplicate=stored.duplicate)
            self.store.remember(key, address_id)
            if done is None:
                return None
            message_id, written = done
            self._hand_on(written)
            return Received(message_id, outbound_ids=tuple(written.ids))
        log.error("could not step a message at once after %d conflicts", MAX_ATTEMPTS)
        return None

    def _receive_correction(self, message: InboundMessage) -> Received:
        """Keep a person's edit of a message as a correction of it and tell them, in one
        transaction (Stepper.correct): their conversation is not stepped, so nothing waits."""
        key = (message.channel, message.address)
        for _ in range(MAX_ATTEMPTS):
            inbound = self._inbound(message, self.clock())
            try:
                with self.database.transaction() as tx:
                    address_id = self.store.find_address(tx.connection, key)
                    person = conversation.read(tx.connection, address_id)
                    written = self.stepper.correct(tx, person, inbound, self.clock())
            except Duplicate:
                return Received(self.store.seen(message), duplicate=True)
            except (StaleDataError, IntegrityError):
                continue  # the first message from this address was being stored: again
            except Exception:
                log.exception(
                    "keeping a correction failed for an inbound %s message", message.channel
                )
                stored = self.store.store(message, status="failed", reason="step-error")
                return Received(stored.message_id, duplicate=stored.duplicate)
            self.store.remember(key, address_id)
            self._hand_on(written)
            assert inbound.id is not None
            log.info("inbound message %d kept as a correction", inbound.id)
            return Received(inbound.id, outbound_ids=tuple(written.ids))
        raise RuntimeError("could not keep a correction after several attempts")

    def _inbound(self, message: InboundMessage, now: datetime) -> Inbound:
        """The step's view of a message not stored yet."""
        return Inbound(
            body=message.text,
            media=media_of(message),
            language=message.language_hint,
            channel=message.channel,
            provider_id=message.provider_id,
            created_at=message.received_at or now,
            question=message.question,
            chat_message_id=message.chat_message_id,
            edited=message.edited,
        )

    def _step_new(
        self, tx: Transaction, message: InboundMessage, address_id: int
    ) -> tuple[int, Written] | None:
        """Store a message and step it; None when older messages from the address wait."""
        person = conversation.read(tx.connection, address_id)
        if person.waiting:
            return None
        now = self.clock()
        inbound = self._inbound(message, now)
        written = self.stepper.advance(tx, person, inbound, now)
        assert inbound.id is not None
        return inbound.id, written

    def _step_next(self, tx: Transaction, address_id: int) -> tuple[Written, bool] | None:
        """Step the oldest unprocessed message of this address; None when there is none."""
        connection = tx.connection
        person = conversation.read(connection, address_id)
        waiting = self.store.waiting(connection, address_id)
        if not waiting:
            return None
        oldest = waiting[0]
        inbound = Inbound(
            id=oldest.id,
            body=oldest.body,
            media=oldest.media,
            language=oldest.language,
            question=oldest.question,
        )
        written = self.stepper.advance(tx, person, inbound, self.clock())
        return written, len(waiting) > 1
