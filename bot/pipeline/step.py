"""One step of a person's conversation, inside one transaction: the heart of the pipeline.

A step reads the person (bot/pipeline/conversation.py), asks the pure engine what the
message does (flows/engine.py), applies the effects (bot/pipeline/effects.py), writes the
messages to say through the outbox, lets the watchers look at what the person wrote
(safeguarding), and saves the conversation. The replies it can send at once are claimed
as they are written (bot/pipeline/dispatch.py `Dispatcher.claim_new`), so that once the
transaction commits they go out without another round of reads and claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, bindparam, select, update

from bot.pipeline import conversation, monitoring, outbox, preferences
from bot.pipeline.conversation import Person
from bot.pipeline.dispatch import Claimed, Dispatcher, Recipient
from bot.pipeline.effects import Effects, InboundWatcher, StepContext
from bot.pipeline.hold import WHATSAPP_WINDOW
from bot.pipeline.outbox import Outbound
from bot.pipeline.store import chat_message_key
from bot.types import VOICE, Kind
from flows.effects import Effect, SetLanguage, Submit
from flows.engine import (
    CaseStatus,
    Input,
    Say,
    StatusQuery,
    Transition,
    begin,
    is_idle,
    prompt,
    status_query,
    step,
)
from flows.library import Flows
from flows.listing import Listing
from flows.texts import CORRECTION_KEPT
from flows.understanding import Understanding, understand
from storage.db import Transaction
from storage.models import Message


@dataclass
class Inbound:
    """The message a step answers: stored already (an id), or to be stored with its replies."""

    body: str | None
    media: list[Any] | None
    language: str | None
    id: int | None = None
    channel: str = ""
    provider_id: str | None = None
    created_at: datetime | None = None
    question: str | None = None  # the question a button press answers
    understood: Understanding | None = None
    # The provider's id of the message in the chat (Telegram's), kept as the row's
    # dedupe_key ("chat-message:11"); whether this is the person's edit of that message.
    chat_message_id: str | None = None
    edited: bool = False


@dataclass
class Written:
    """What a step wrote, in order: rows to queue after the commit (ids), and replies it
    claimed to send at once (Claimed)."""

    rows: list[int | Claimed] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [row if isinstance(row, int) else row.id for row in self.rows]

    def first(self, ids: list[int]) -> None:
        """Add rows written elsewhere in the step (a watcher's alerts), to hand on first."""
        self.rows[:0] = ids


# Marks a stored message stepped, with what it was understood to say.
_PROCESSED = (
    update(Message)
    .where(Message.id == bindparam("inbound_id"))
    .values(status="processed", understood=bindparam("understood", type_=JSON(none_as_null=True)))
)


# Where a person's feedback is (bot/casework/status.py), asked for the sender alone.
CaseLookup = Callable[[Connection, int, StatusQuery], CaseStatus]
# The lists a step's questions may offer (flows/listing.py), for a reader of a language on a
# channel: the ways to take part (bot/outreach/opportunities.py `OpportunityLists`).
ListingSource = Callable[[Connection, str | None, str], Mapping[str, Listing]]
# A question to ask after what a step kept (access needs after a yes to an event,
# bot/outreach/access.py): the flow to begin, or None.
AskAfter = Callable[[Connection, int, Sequence[Effect]], str | None]


class Duplicate(Exception):
    """A provider's retry of a message already stored: its step is rolled back."""


class Stepper:
    """Steps conversations inside the transactions the runner opens."""

    def __init__(
        self,
        flows: Flows,
        effects: Effects,
        *,
        expiry: timedelta,
        resume_after: timedelta = timedelta(hours=12),
        understand: Callable[[str], Understanding] = understand,
        watchers: Sequence[InboundWatcher] = (),
        dispatcher: Dispatcher | None = None,
        told_on_sms: Mapping[str, str] | None = None,
        case_status: CaseLookup | None = None,
        links: Mapping[str, str] | None = None,
        listings: ListingSource | None = None,
        ask_after: AskAfter | None = None,
    ) -> None:
        self.flows = flows
        # Without it (a benchmark of the step alone), a list's question has nothing to offer.
        self.listings = listings
        # Asked before the question about broadcasts, which then follows its answers.
        self.ask_after = ask_after
        # Addresses of this deployment's public pages, by the placeholder a text names them
        # with ({privacy_link}): given to the messages whose text asks for one.
        self.links = dict(links or {})
        # Without it (a benchmark of the step alone), a reference or STATUS finds nothing.
        self.case_status = case_status
        # Languages SMS cannot show (Syloti Nagri), each with what someone choosing it by SMS
        # is told first, once: that their texts come in another script (I18n.on_channel).
        self.told_on_sms = dict(told_on_sms or {})
        self.effects = effects
        self.expiry = expiry
        # Someone back after this long half-way through is asked whether to carry on.
        self.resume_after = resume_after
        self.understand = understand
        self.watchers = tuple(watchers)
        # Claims the step's own messages to send at once after the commit; None leaves them
        # queued, for the queue to deliver (a benchmark measuring the step alone).
        self.dispatcher = dispatcher

    def advance(self, tx: Transaction, person: Person, inbound: Inbound, now: datetime) -> Written:
        """Step the conversation through one inbound message and write everything it causes."""
        context = StepContext(tx, person, now)
        if person.channel == "whatsapp":
            last = person.last_inbound_at
            if last is None or now - last > WHATSAPP_WINDOW:
                # They wrote: the window is open again for what waited for it.
                context.releases.add("outside-whatsapp-window")
            person.change_address(last_inbound_at=now)
        if person.stopped_by == "provider" and person.channel == "telegram":
            # Telegram only delivers messages from people who have not blocked the bot: the
            # block that stopped this address has been lifted.
            person.change_address(stopped_at=None, stopped_by=None)
        state = person.state
        transitions: list[Transition] = []
        away = now - person.updated_at if person.updated_at is not None else timedelta(0)
        if state is not None and not is_idle(state) and away > self.expiry:
            expired = step(self.flows, state, Input(kind="expire"))
            transitions.append(expired)
            state = expired.state
        inbound.understood = self.understand(inbound.body or "")
        asked = status_query(self.flows, inbound.body or "")
        incoming = Input(
            status=self._status(tx.connection, person, asked),
            text=inbound.body or "",
            media=tuple(inbound.media or ()),
            language=person.language,
            language_hint=inbound.language,
            opted_out=person.stopped_at is not None,
            understood=inbound.understood,
            question=inbound.question,
            returning=away > self.resume_after,
            listings=(
                self.listings(tx.connection, person.language, person.channel)
                if self.listings is not None
                else {}
            ),
        )
        transitions.append(step(self.flows, state, incoming))
        follow_up = self._follow_up(tx.connection, person, transitions[-1], now)
        if follow_up is not None:
            # After the thanks: the access needs (after a yes to an event or an interest),
            # the one question about broadcasts, or the monitoring ones.
            question = begin(self.flows, follow_up)
            transitions.append(Transition(question.state, question.say))
        messages = [
            message
            for transition in transitions
            for message in self._apply(context, transition, is_reply=True)
        ]
        written = self._write(context, messages, inbound)
        assert inbound.id is not None  # written with its replies, or Duplicate was raised
        for watcher in self.watchers:
            # Harm outranks every other reading: its alerts go before the step's replies.
            written.first(watcher.watch(context, inbound.id, inbound.understood))
        conversation.write_changes(tx.connection, person)
        conversation.save(tx.connection, person, transitions[-1].state, now)
        return written

    def _follow_up(
        self, connection: Connection, person: Person, transition: Transition, now: datetime
    ) -> str | None:
        """The flow to ask after the thanks: the access needs, when a yes to an event or an
        interest asks for them (`ask_after`); once, the question about news after a first
        contribution; once, the optional monitoring questions after the answer about news."""
        if person.channel == VOICE:
            # No news reaches a call (nothing is sent on it), nor are its callers asked the
            # monitoring questions that follow the question about news, nor their access
            # needs, whose several answers at once ("1 3") one key cannot give: staff who
            # call them about taking part ask.
            return None
        if self.ask_after is not None and is_idle(transition.state):
            needs = self.ask_after(connection, person.contact_id, transition.effects)
            if needs is not None:
                return needs
        language, channel = person.language or "en", person.channel
        if self._contributed(transition):
            asked = preferences.ask_once(connection, person.contact_id, language, channel, now)
            return preferences.NEWS_FLOW if asked else None
        if self._answered_news(transition) and monitoring.ask_once(
            connection, person.contact_id, language, channel, now
        ):
            return monitoring.MONITORING_FLOW
        return None

    def _answered_news(self, transition: Transition) -> bool:
        """Whether a step kept the answer to the question about news (news.yaml)."""
        return is_idle(transition.state) and any(
            isinstance(effect, Submit) and effect.complete and effect.flow == preferences.NEWS_FLOW
            for effect in transition.effects
        )

    def _contributed(self, transition: Transition) -> bool:
        """Whether a step kept a finished contribution and came back to rest at the menu.

        Answers about access needs count too: they are asked after an interest (a
        contribution) in place of the question about broadcasts, which then follows them.
        """
        return is_idle(transition.state) and any(
            isinstance(effect, Submit)
            and effect.complete
            and effect.record in (*preferences.CONTRIBUTIONS, "access")
            for effect in transition.effects
        )

    def _status(
        self, connection: Connection, person: Person, asked: StatusQuery | None
    ) -> CaseStatus | None:
        """What the person's feedback asked after is, looked up only when they ask."""
        if asked is None:
            return None
        if self.case_status is None:
            return CaseStatus(asked.reference)
        return self.case_status(connection, person.contact_id, asked)

    def correct(self, tx: Transaction, person: Person, inbound: Inbound, now: datetime) -> Written:
        """Keep a person's edit of a message as a correction of it, and tell them so.

        The edit is not stepped: by the time someone corrects a typo the flow has usually
        moved on, and the edited words would answer the question asked since. It is stored
        linked to the message it corrects (the first from this chat with its chat message
        id; none when that was never stored), staff see both on the conversation page, and
        the watchers read the new words (an edit may tell of harm the original did not).
        """
        context = StepContext(tx, person, now)
        original = None
        if inbound.chat_message_id is not None:
            original = tx.connection.scalar(
                select(Message.id).where(
                    Message.address_id == person.address_id,
                    Message.dedupe_key == chat_message_key(inbound.chat_message_id),
                )
            )
        inbound.understood = self.understand(inbound.body or "")
        told = outbox.from_say(
            Say(CORRECTION_KEPT), person.address_id, person.channel, now, is_reply=True
        )
        written = self._write(context, [told], inbound)
        assert inbound.id is not None  # written with its reply, or Duplicate was raised
        if original is not None:
            tx.connection.execute(
                update(Message).where(Message.id == inbound.id).values(corrects_id=original)
            )
        for watcher in self.watchers:
            written.first(watcher.watch(context, inbound.id, inbound.understood))
        conversation.write_changes(tx.connection, person)
        return written

    def expire(self, tx: Transaction, person: Person, cutoff: datetime, now: datetime) -> Written:
        """End a conversation left half-way since before `cutoff`; nothing if it moved since."""
        state = person.state
        if person.updated_at is None or person.updated_at >= cutoff:
            return Written()
        if state is None or is_idle(state):
            return Written()
        context = StepContext(tx, person, now)
        transition = step(self.flows, state, Input(kind="expire"))
        written = self._write(context, self._apply(context, transition, is_reply=False))
        conversation.write_changes(tx.connection, person)
        conversation.save(tx.connection, person, transition.state, now)
        return written

    def prompt(
        self,
        tx: Transaction,
        person: Person,
        flow_id: str,
        context_answers: Mapping[str, Any],
        say: Say,
        instead: Say,
        dedupe_key: str,
        now: datetime,
    ) -> Written:
        """Say what the bot starts (a reminder) once per `dedupe_key`; wait at `flow_id`."""
        written_before = tx.connection.scalar(
            select(Message.id).where(
                Message.address_id == person.address_id, Message.dedupe_key == dedupe_key
            )
        )
        if written_before is not None:
            return Written()
        context = StepContext(tx, person, now)
        transition = prompt(self.flows, person.state, flow_id, context_answers, say, instead)
        messages = self._apply(
            context, transition, is_reply=False, kind=Kind.REMINDER, dedupe_key=dedupe_key
        )
        written = self._write(context, messages)
        conversation.write_changes(tx.connection, person)
        if transition.state != person.state:
            # Someone half-way through a conversation is only told: their conversation is
            # left as it was, its expiry counted from their last message, not from this.
            conversation.save(tx.connection, person, transition.state, now)
        return written

    # -- inside the step -------------------------------------------------------------------

    def _apply(
        self,
        context: StepContext,
        transition: Transition,
        *,
        is_reply: bool,
        kind: Kind = Kind.REPLY,
        dedupe_key: str | None = None,
    ) -> list[Outbound]:
        """Apply a transition's effects; return its messages with what the effects gave them."""
        outputs: dict[str, Any] = {}
        told: list[Say] = []
        for effect in transition.effects:
            outputs.update(self.effects.apply(context, effect))
            if isinstance(effect, SetLanguage) and context.person.channel == "sms":
                note = self.told_on_sms.get(effect.language)
                told.extend([Say(note)] if note else [])
        person = context.person
        return [
            outbox.from_say(
                say,
                person.address_id,
                person.channel,
                context.now,
                outputs={**self._links_in(say.text), **outputs},
                is_reply=is_reply,
                kind=kind,
                dedupe_key=dedupe_key,
            )
            for say in (*told, *transition.say)
        ]

    def _links_in(self, text: str) -> dict[str, str]:
        return {name: link for name, link in self.links.items() if "{" + name + "}" in text}

    def _write(
        self, context: StepContext, messages: list[Outbound], inbound: Inbound | None = None
    ) -> Written:
        """Queue again what was held for reasons gone, then insert the messages, claiming
        those that may go at once, with the inbound message when it is new (in the same
        statement, its id before theirs). Returns all of them, in that order.

        Raises Duplicate when a provider's retry stored the inbound message first.
        """
        released = context.release_held()
        person = context.person
        recipient = Recipient(
            address=person.address,
            channel=person.channel,
            language=person.language,
            stopped=person.stopped_at is not None,
            last_inbound_at=person.last_inbound_at,
        )
        rows: list[dict[str, Any]] = []
        claims = []
        for message in messages:
            row = message.row()
            claim = None
            if self.dispatcher is not None:
                claim = self.dispatcher.claim_new(recipient, message, context.now)
            if claim is not None:
                row.update(claim.columns)
            rows.append(row)
            claims.append(claim)
        if inbound is not None and inbound.id is None:
            rows.insert(0, _inbound_row(person, inbound))
        elif inbound is not None:
            context.connection.execute(
                _PROCESSED, {"inbound_id": inbound.id, "understood": _understood(inbound)}
            )
        written = outbox.insert_rows(context.connection, rows)
        if inbound is not None and inbound.id is None:
            stored = [row_id for row_id, direction in written if direction == "in"]
            if not stored:
                raise Duplicate()
            inbound.id = stored[0]
        ids = sorted(row_id for row_id, direction in written if direction == "out")
        return Written(
            [
                *released,
                *(
                    row_id if claim is None else claim.with_id(row_id)
                    for row_id, claim in zip(ids, claims, strict=True)
                ),
            ]
        )


def _inbound_row(person: Person, inbound: Inbound) -> dict[str, Any]:
    """A new inbound message's row, written already processed: it is being stepped now."""
    return {
        **outbox.ROW_DEFAULTS,
        "address_id": person.address_id,
        "channel": inbound.channel,
        "direction": "in",
        "status": "processed",
        "body": inbound.body,
        "provider_id": inbound.provider_id,
        # The language the person's app says they use, if any.
        "language": inbound.language,
        "media": inbound.media,
        "question": inbound.question,
        "understood": _understood(inbound),
        # An edit shares its original's chat message id, which the original keeps.
        "dedupe_key": None if inbound.edited else chat_message_key(inbound.chat_message_id),
        "created_at": inbound.created_at,
    }


def _understood(inbound: Inbound) -> dict[str, Any] | None:
    """What the message was understood to say, as kept on its row: None where there is
    nothing to show ("1", "ok": no intent and no words why)."""
    found = inbound.understood
    if found is None or (found.intent == "none" and not found.why):
        return None
    return found.as_json()
