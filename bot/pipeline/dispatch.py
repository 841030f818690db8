"""Sending one outbound row: claim it, decide, render in the recipient's language, send, record.

A row moves queued -> sending -> sent -> delivered (or read), or to held / failed with a
reason, or to unknown when it may or may not have gone and the provider cannot say.
Claiming is one conditional UPDATE, so however often a row is queued, one worker sends it; a
row left in `sending` by a killed worker is queued again after a lease.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, false, or_, select, update
from sqlalchemy.orm import Session

from bot.channels.base import (
    OutcomeUnknownError,
    RecipientStoppedError,
    Sender,
    SendError,
    ThrottledError,
)
from bot.channels.base import TransientError as TransientSendError
from bot.i18n import I18n, Rendered
from bot.metrics import RATE_LIMIT_WAIT_SECONDS, SEND_ATTEMPTS, SEND_SECONDS
from bot.pipeline import consent, preferences
from bot.pipeline.conversation import enter_survey
from bot.pipeline.hold import NO_CONTACT_COVERS, Decision, decide
from bot.pipeline.outbox import Outbound
from bot.pipeline.ratelimit import SendLimits
from bot.pipeline.spoken import render_spoken
from bot.pipeline.templates import FoundTemplate, WhatsAppTemplates
from bot.settings import Settings
from bot.sms import sms_cost
from bot.types import VOICE, Kind, OutboundMessage, SendReceipt
from storage.db import Database
from storage.models import Address, Broadcast, Message, is_simulated

log = logging.getLogger(__name__)

# Provider statuses in the order they can happen; a callback never moves a row backwards.
STATUS_RANK = {
    "queued": 0,
    "held": 0,
    "sending": 1,
    "unknown": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}
# A row still `sending` after this long belonged to a worker that died: send it again.
SENDING_LEASE = timedelta(minutes=2)
# What the voice line said in a call: written as spoken, never queued nor sent.
SPOKEN = "spoken"
# Why a message written for a voice line caller outside a call went nowhere: no mobile.
NOT_IN_A_CALL = "voice-no-mobile"
# Such a message that staff will tell the caller by phone instead (a task), or that was not
# to be told at all (their No to contact, or STOP): cancelled with the reason.
CallInstead = Callable[[Session, Kind, Address, str, datetime], str | None]
# A queued row that no job has picked up after this long is queued again by the sweep.
QUEUED_GRACE = timedelta(seconds=30)
MAX_BACKOFF_SECONDS = 600.0
# Looking up an in-doubt row at the provider starts this long before its last update: the
# clocks' skew, and the client's timeout after an unanswered request (10 s by default).
IN_DOUBT_MARGIN = timedelta(minutes=1)
# Rows that may have reached the provider already: a killed worker's, or one unanswered.
IN_DOUBT_REASONS = ("requeued-after-lease", OutcomeUnknownError.reason)


# What a send records: one statement, atomic by itself, run through the driver (on
# PostgreSQL's autocommit pool): it follows every message sent (bench/README).
_SENT = (
    update(Message)
    .where(Message.id == bindparam("sent_id"))
    .values(
        provider_id=bindparam("provider_id"),
        status=bindparam("status"),
        reason=None,
        sent_at=bindparam("sent_at"),
        updated_at=bindparam("sent_at"),
    )
)


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did; `retry_in` asks the queue to try again later."""

    status: str
    reason: str | None = None
    retry_in: float | None = None


def render_row(i18n: I18n, row: Message, language: str | None) -> Rendered:
    """Render an outbound row's message id and parameters in `language`."""
    if row.template is None:  # written by staff, in the language they chose
        return Rendered(row.body or "", (), row.language or i18n.default)
    return i18n.render(
        language,
        row.template,
        dict(row.params or {}),
        row.lead,
        tuple(row.choices or ()),
        bool(row.raw_choices),
        row.channel,
    )


@dataclass(frozen=True)
class Recipient:
    """Who a message the step is writing goes to, as the step knows them after its effects."""

    address: str
    channel: str
    language: str | None
    stopped: bool
    last_inbound_at: datetime | None


@dataclass(frozen=True)
class Claimed:
    """An outbound row claimed for sending (`sending`), rendered, for one sender."""

    outbound: OutboundMessage
    units: int  # what the rate limit counts: SMS segments, or one message
    # Set when a dead worker had claimed this row, or its provider did not answer the last
    # attempt: it may have reached the provider already.
    in_doubt_since: datetime | None = None
    # Its sends are used up and the last went unanswered: only ask whether it went.
    look_only: bool = False

    @property
    def id(self) -> int:
        return self.outbound.id


@dataclass(frozen=True)
class NewClaim:
    """A message claimed as it is written: the columns its row gets, and what to send."""

    columns: Mapping[str, Any]
    outbound: OutboundMessage
    units: int

    def with_id(self, message_id: int) -> Claimed:
        return Claimed(replace(self.outbound, id=message_id), self.units)


class Dispatcher:
    """Delivers outbound rows by id through the sender for each channel."""

    def __init__(
        self,
        database: Database,
        i18n: I18n,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        settings: Settings,
        limits: SendLimits | None = None,
        local_sender: Sender | None = None,
        templates: WhatsAppTemplates | None = None,
        call_instead: CallInstead | None = None,
    ) -> None:
        self.database = database
        self.i18n = i18n
        self.senders = senders
        self.clock = clock
        self.settings = settings
        self.limits = limits
        self.local_sender = local_sender
        # Without kinds of message given, no template is ever found: outside WhatsApp's window
        # a message goes by SMS where it may, or waits.
        self.templates = templates or WhatsAppTemplates(i18n, (), settings.whatsapp_templates)
        self.zone = settings.zone
        # For a caller without a mobile: a staff task to call them with the message
        # (bot/casework/callers.py `call_instead`), given by the wiring, which knows casework.
        self.call_instead = call_instead
        self._record_sent = database.driver_statement(_SENT)

    def deliver(self, message_id: int) -> Outcome:
        """Send one row if it is due and not yet sent; return what happened."""
        claimed = self._claim(message_id)
        if isinstance(claimed, Outcome):
            return claimed
        return self.send_claimed(claimed)

    def claim_new(self, recipient: Recipient, message: Outbound, now: datetime) -> NewClaim | None:
        """Claim a message as the step writes it, to send it once the step commits.

        Only what may go now without a WhatsApp template is claimed, rendered in the
        reader's language as it would be at the send; anything else (quiet hours, a stopped
        address, a closed WhatsApp window) returns None and waits in the queue, where the
        claim decides again and records why it is held.
        """
        language = self.i18n.on_channel(
            message.language or recipient.language or self.i18n.default, recipient.channel
        )
        if recipient.channel == VOICE:
            # Said in the call; anything else written for a caller waits in the queue,
            # whose claim texts it to their mobile or gives up (`_claim`).
            return (
                self._spoken(recipient, message, language, now)
                if message.kind == Kind.REPLY
                else None
            )
        if message.kind in NO_CONTACT_COVERS or message.kind in preferences.BULK:
            return None  # the claim in the queue asks whether the person said No
        decision = self._decide(
            message, recipient.stopped, False, recipient.last_inbound_at, language, now
        )
        if decision != Decision():
            return None
        if message.template is None:
            rendered = Rendered(message.body or "", (), language)
        else:
            rendered = self.i18n.render(
                language,
                message.template,
                message.params,
                message.lead,
                message.choices,
                message.raw_choices,
                recipient.channel,
            )
        cost = sms_cost(rendered.text)
        columns = {
            "status": "sending",
            "attempts": 1,
            "updated_at": now,
            "body": rendered.text,
            "language": rendered.language,
            "encoding": cost.encoding,
            "segments": cost.segments,
        }
        outbound = OutboundMessage(
            id=0,
            channel=message.channel,  # type: ignore[arg-type]
            address=recipient.address,
            text=rendered.text,
            choices=rendered.choices,
            question=message.question,
        )
        units = cost.segments if message.channel == "sms" else 1
        return NewClaim(columns, outbound, units)

    def _spoken(
        self, recipient: Recipient, message: Outbound, language: str, now: datetime
    ) -> NewClaim:
        """A message on the voice line: rendered now and kept as `spoken`, for the call to
        say (bot/casework/voiceline.py); no sender has the channel, so nothing sends it."""
        if message.template is None:
            text = message.body or ""
        else:
            said = render_spoken(
                self.i18n,
                message.language or recipient.language or self.i18n.default,
                message.template,
                message.params,
                message.lead,
                message.choices,
                message.raw_choices,
            )
            text, language = said.text, said.body.language
        columns = {
            "status": SPOKEN,
            "attempts": 0,
            "updated_at": now,
            "sent_at": now,
            "body": text,
            "language": language,
        }
        outbound = OutboundMessage(
            id=0,
            channel=VOICE,
            address=recipient.address,
            text=text,
            choices=(),
            question=message.question,
        )
        return NewClaim(columns, outbound, 0)

    def send_claimed(self, claimed: Claimed) -> Outcome:
        """Send a claimed row through its channel's sender and record what happened."""
        outbound = claimed.outbound
        message_id = outbound.id
        simulated = is_simulated(outbound.address)
        sender = self.local_sender if simulated and self.local_sender else None
        sender = sender or self.senders.get(outbound.channel)
        if sender is None:
            return self._finish_failed(message_id, "no-sender")
        try:
            receipt = self._already_sent(sender, claimed)
        except SendError as error:
            # The provider could not be asked: sending now could send it twice, so it is
            # asked again later.
            log.warning("could not look up message %d: %s", message_id, error.reason)
            unknown = OutcomeUnknownError(f"lookup failed: {error.reason}")
            return self._after_error(message_id, unknown, can_look_up=True)
        if receipt is None and claimed.look_only:
            # The provider does not have its last, unanswered send: that did not go either.
            return self._finish_failed(message_id, TransientSendError.reason)
        if receipt is None and self.limits is not None and not simulated:
            waited = self.limits.acquire(outbound.channel, outbound.address, claimed.units)
            RATE_LIMIT_WAIT_SECONDS.labels(outbound.channel).observe(waited)
            if waited > 1.0:
                log.info("message %d waited %.1f s for the rate limit", message_id, waited)
        started = time.perf_counter()
        try:
            receipt = receipt or sender.send(outbound)
        except SendError as error:
            return self._after_error(message_id, error, can_look_up=hasattr(sender, "find_sent"))
        SEND_SECONDS.labels(outbound.channel).observe(time.perf_counter() - started)
        SEND_ATTEMPTS.labels(outbound.channel, "sent", "").inc()
        now = self.clock()
        self._record_sent.write(
            {
                "sent_id": message_id,
                "provider_id": receipt.provider_id,
                "status": receipt.status,
                "sent_at": now,
            }
        )
        return Outcome(receipt.status)

    def record_status(
        self,
        provider_id: str,
        status: str,
        error_code: str | None,
        *,
        error: SendError | None = None,
    ) -> bool:
        """Apply a provider's delivery report; return False when it would move backwards.

        `error` is what the report's error code means where that changes what happens next
        (the channel says, bot/channels/twilio.py `delivery_error`): a throttle reported after
        the provider accepted the message is retried as a throttled send is, not final; the
        person having stopped us stops their address, as a refused send does.
        """
        if status not in STATUS_RANK:
            return False
        with self.database.session() as session:
            row = session.scalar(
                select(Message).where(
                    Message.provider_id == provider_id,
                    Message.direction == "out",
                    Message.channel.in_(("sms", "whatsapp")),
                )
            )
            if row is None or STATUS_RANK[status] <= STATUS_RANK.get(row.status, 0):
                return False
            failed = status in ("failed", "undelivered")
            if failed and error is not None and row.status in ("sent", "sending"):
                # Only a row the report is the latest word on: once delivered or failed,
                # or already queued again, it is left alone.
                self._failed_after_sending(session, row, error)
                return True
            row.status = status
            if failed:
                row.reason = f"provider-error-{error_code}" if error_code else "provider-error"
            row.updated_at = self.clock()
            return True

    def _failed_after_sending(self, session: Session, row: Message, error: SendError) -> None:
        """A message the provider accepted and then could not deliver, for a reason that
        decides what follows: stopped (the address too), or queued again after a backoff."""
        now = self.clock()
        row.updated_at = now
        if isinstance(error, RecipientStoppedError):
            address = session.get_one(Address, row.address_id)
            if address.stopped_at is None:
                address.stopped_at, address.stopped_by = now, "provider"
            row.status, row.reason = "failed", error.reason
            log.warning("message %d failed after sending: %s", row.id, error.reason)
            return
        if isinstance(error, ThrottledError) and row.attempts < self.settings.max_send_attempts:
            # Queued again with the send path's backoff; the sweep hands it to a worker when
            # it is due (Dispatcher.due), and the new send records its new provider id.
            delay = self._backoff(row.attempts, error)
            row.status, row.reason = "queued", error.reason
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.info("message %d throttled after sending: again in %.0fs", row.id, delay)
            return
        row.status, row.reason = "failed", error.reason
        log.warning("message %d failed after sending: %s", row.id, error.reason)

    def due(self, lost: bool = True) -> list[int]:
        """Return rows to queue again: lost jobs, due retries, quiet hours over, dead workers.

        With `lost` False, rows still waiting for their first job are left alone: the queue
        is busy, and a broadcast's rows may wait there far longer than QUEUED_GRACE.
        """
        now = self.clock()
        waiting_long = (
            (Message.next_attempt_at.is_(None)) & (Message.created_at <= now - QUEUED_GRACE)
            if lost
            else false()
        )
        with self.database.session() as session:
            # Quiet hours are over for these: they go back in the queue.
            session.execute(
                update(Message)
                .where(
                    Message.status == "held",
                    Message.reason == "quiet-hours",
                    Message.next_attempt_at <= now,
                )
                .values(status="queued", reason=None)
            )
            session.execute(
                update(Message)
                .where(Message.status == "sending", Message.updated_at < now - SENDING_LEASE)
                .values(status="queued", reason="requeued-after-lease")
            )
            return list(
                session.scalars(
                    select(Message.id)
                    .where(
                        Message.direction == "out",
                        Message.status == "queued",
                        or_(Message.next_attempt_at <= now, waiting_long),
                    )
                    .order_by(Message.id)
                )
            )

    # -- steps, each its own short transaction -----------------------------------------------

    def _claim(self, message_id: int) -> Claimed | Outcome:
        now = self.clock()
        with self.database.session() as session:
            row = session.get(Message, message_id)
            if row is None or row.direction != "out":
                return Outcome("missing")
            if row.status != "queued":
                return Outcome(row.status, row.reason)
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                return Outcome(row.status, retry_in=(row.next_attempt_at - now).total_seconds())
            in_doubt = row.updated_at if row.reason in IN_DOUBT_REASONS else None
            look_only = (
                row.reason == OutcomeUnknownError.reason
                and row.attempts >= self.settings.max_send_attempts
            )
            address = session.get_one(Address, row.address_id)
            if row.channel == VOICE:
                # Written for a caller outside a call (an event reminder): by SMS to the
                # mobile they called from when we text it already, else a staff task to call
                # them where the wiring gives one for its kind, else never.
                texted = self._texted_instead(session, address)
                if texted is None:
                    return self._not_texted(session, row, address, now)
                row.channel, row.address_id, address = "sms", texted.id, texted
            language = self.i18n.on_channel(
                row.language or address.contact.language or self.i18n.default, row.channel
            )
            # Asked only where the answer matters: a step's replies never wait for it.
            refused = row.kind in NO_CONTACT_COVERS and consent.refuses_contact(
                session, address.contact_id
            )
            bulk = None
            if row.kind in preferences.BULK:
                since = preferences.month_start(now, self.zone)
                bulk = preferences.reason(session, address.contact_id, Kind(row.kind), since)
            found = self._template(row, language)
            decision = self._decide(
                row,
                address.stopped_at is not None,
                refused,
                address.last_inbound_at,
                language,
                now,
                found,
                bulk,
            )
            filled = None
            if decision.template is not None and found is not None:
                # Its variables in the template's language (the reader's, or along the chain).
                as_written = render_row(self.i18n, row, found.language).text
                filled = self.templates.fill(found, dict(row.params or {}), as_written)
                if filled is None:
                    decision = Decision("outside-whatsapp-window")
            if decision.reason == "outside-whatsapp-window":
                sms = self._sms_instead(session, address, now)
                if sms is not None:
                    # No template for their language: text the same phone, as they agreed.
                    row.channel, row.address_id, address = "sms", sms.id, sms
                    language = self.i18n.on_channel(language, "sms")
                    decision = Decision()
            if decision.reason is not None:
                row.status, row.reason = "held", decision.reason
                row.next_attempt_at, row.updated_at = decision.until, now
                SEND_ATTEMPTS.labels(row.channel, "held", decision.reason).inc()
                log.info("message %d (%s) held: %s", message_id, row.kind, decision.reason)
                return Outcome("held", decision.reason)
            claimed = session.execute(
                update(Message)
                .where(
                    Message.id == message_id,
                    Message.status == "queued",
                    # In the same statement as the claim: a broadcast cancelled a moment
                    # ago never goes to anyone not already being sent it.
                    ~exists().where(
                        Broadcast.id == Message.broadcast_id, Broadcast.status == "cancelled"
                    ),
                )
                .values(status="sending", attempts=Message.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return self._not_claimed(session, row, now)
            if row.survey and row.survey_node:
                # A survey sent as a broadcast: their reply answers its first question.
                enter_survey(session, address.id, row.survey, row.survey_node, now)
            rendered = render_row(self.i18n, row, language)
            if filled is not None:
                # The transcript shows the template's words as the person reads them.
                rendered = Rendered(filled.text, (), filled.language)
            if row.body is None or filled is not None:
                cost = sms_cost(rendered.text)
                row.body, row.language = rendered.text, rendered.language
                row.encoding, row.segments = cost.encoding, cost.segments
            outbound = OutboundMessage(
                id=row.id,
                channel=row.channel,  # type: ignore[arg-type]
                address=address.address,
                text=row.body or "",
                choices=rendered.choices,
                template=decision.template,
                variables=filled.variables if filled is not None else None,
                question=row.question,
            )
            units = (row.segments or 1) if row.channel == "sms" else 1
            return Claimed(outbound, units, in_doubt, look_only)

    def _decide(
        self,
        message: Outbound | Message,
        stopped: bool,
        refused_contact: bool,
        last_inbound_at: datetime | None,
        language: str,
        now: datetime,
        found: FoundTemplate | None = None,
        bulk: str | None = None,
    ) -> Decision:
        """Whether a message may go now, under this deployment's quiet hours and templates
        (`found`: the WhatsApp template it would go as outside the window; `bulk`: why the
        person's preferences leave a broadcast out, if they do)."""
        return decide(
            channel=message.channel,
            kind=message.kind or Kind.REPLY,
            is_reply=message.is_reply,
            urgent=message.urgent,
            even_if_stopped=message.even_if_stopped,
            stopped=stopped,
            refused_contact=refused_contact,
            last_inbound_at=last_inbound_at,
            language=language,
            now=now,
            quiet=self.settings.quiet_hours,
            zone=self.zone,
            whatsapp_templates={language: found.content_sid} if found is not None else {},
            chose_kind=bulk != "not-chosen",
            over_monthly_cap=bulk == "monthly-cap",
        )

    def _template(self, row: Message, language: str) -> FoundTemplate | None:
        """The WhatsApp template this row would go as, outside the 24-hour window."""
        if row.channel != "whatsapp":
            return None
        kind = self.templates.kind_of(row.template, row.broadcast_id, row.sent_by)
        return self.templates.find(kind, language)

    def _already_sent(self, sender: Sender, claimed: Claimed) -> SendReceipt | None:
        """For a row that may have gone already, ask the provider whether it went out.

        Only providers that can list what they sent (Twilio) are asked, and a SendError says
        they could not be. Elsewhere (Telegram) a dead worker's row is sent again, the rare
        duplicate being better than a silent loss; an unanswered send is not (`_after_error`).
        """
        find = getattr(sender, "find_sent", None)
        if claimed.in_doubt_since is None or find is None:
            return None
        found: SendReceipt | None = find(claimed.outbound, claimed.in_doubt_since - IN_DOUBT_MARGIN)
        if found is not None:
            log.info("message %d had reached the provider already", claimed.outbound.id)
        return found

    def _not_claimed(self, session: Session, row: Message, now: datetime) -> Outcome:
        """Another worker claimed the row, or its broadcast was cancelled: say which."""
        cancelled = (
            row.broadcast_id is not None
            and session.scalar(select(Broadcast.status).where(Broadcast.id == row.broadcast_id))
            == "cancelled"
        )
        if not cancelled:
            return Outcome("sending")
        session.execute(
            update(Message)
            .where(Message.id == row.id, Message.status.in_(("queued", "held")))
            .values(status="cancelled", reason="broadcast-cancelled", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        log.info("message %d not sent: broadcast-cancelled", row.id)
        return Outcome("cancelled", "broadcast-cancelled")

    def _not_texted(self, session: Session, row: Message, voice: Address, now: datetime) -> Outcome:
        """A message for a caller we cannot text: cancelled, staff told to call them with
        it (or not to, after their No or STOP), or failed when no one can tell them."""
        reason = None
        if self.call_instead is not None and row.template is not None:
            words = self.i18n.render(self.i18n.default, row.template, row.params).text
            reason = self.call_instead(session, Kind(row.kind or Kind.REPLY), voice, words, now)
        status = "cancelled" if reason is not None else "failed"
        reason = reason or NOT_IN_A_CALL
        row.status, row.reason, row.updated_at = status, reason, now
        SEND_ATTEMPTS.labels(VOICE, status, reason).inc()
        log.info("message %d to a caller not texted: %s", row.id, reason)
        return Outcome(status, reason)

    def _texted_instead(self, session: Session, voice: Address) -> Address | None:
        """The SMS address of a voice line caller's number, where Kotha texts them already
        (bot/casework/callers.py made it for a UK mobile, or they text from it)."""
        if "sms" not in self.senders:
            return None
        return session.scalar(
            select(Address).where(Address.channel == "sms", Address.address == voice.address)
        )

    def _sms_instead(self, session: Session, whatsapp: Address, now: datetime) -> Address | None:
        """The SMS address of a WhatsApp user who agreed to be contacted, if we may text it.

        A colleague (a safeguarding alert or digest recipient) gave their number in the
        settings to be told: an alert must not wait for them to write on WhatsApp first.
        """
        if "sms" not in self.senders or not whatsapp.address.startswith("+"):
            # A WhatsApp user known only by their user id (their number hidden) has no
            # number to text.
            return None
        said_yes = consent.latest(session, whatsapp.contact_id)
        if not (whatsapp.contact.staff or (said_yes is not None and said_yes.answer)):
            return None
        # WhatsApp addresses are phone numbers: the same number takes SMS.
        sms = session.scalar(
            select(Address).where(Address.channel == "sms", Address.address == whatsapp.address)
        )
        if sms is None:
            sms = Address(
                contact_id=whatsapp.contact_id,
                channel="sms",
                address=whatsapp.address,
                created_at=now,
            )
            session.add(sms)
            session.flush()
        return None if sms.stopped_at is not None else sms

    def _after_error(self, message_id: int, error: SendError, can_look_up: bool) -> Outcome:
        """Record a failed attempt: queue it again after a backoff, or say how it ended.

        `can_look_up` says whether the provider can be asked later if the message went.
        """
        now = self.clock()
        with self.database.session() as session:
            row = session.get_one(Message, message_id)
            row.updated_at = now
            if isinstance(error, RecipientStoppedError):
                address = session.get_one(Address, row.address_id)
                if address.stopped_at is None:
                    address.stopped_at, address.stopped_by = now, "provider"
            unknown = isinstance(error, OutcomeUnknownError)
            # One claim more than the sends allowed may only ask whether the last one went.
            if unknown and (not can_look_up or row.attempts > self.settings.max_send_attempts):
                # It may well have arrived: another try could send it twice. Staff see it.
                row.status, row.reason = "unknown", error.reason
                SEND_ATTEMPTS.labels(row.channel, "unknown", error.reason).inc()
                log.warning("message %d: outcome unknown (%s)", message_id, error.reason)
                return Outcome("unknown", error.reason)
            retryable = isinstance(error, TransientSendError | ThrottledError)
            # An unanswered send is queued to be looked up even when the sends are used up.
            used_up = row.attempts >= self.settings.max_send_attempts and not unknown
            if not retryable or used_up:
                row.status, row.reason = "failed", error.reason
                SEND_ATTEMPTS.labels(row.channel, "failed", error.reason).inc()
                log.warning(
                    "message %d failed after %d attempts: %s",
                    message_id,
                    row.attempts,
                    error.reason,
                )
                return Outcome("failed", error.reason)
            delay = self._backoff(row.attempts, error)
            row.status, row.reason = "queued", error.reason
            row.next_attempt_at = now + timedelta(seconds=delay)
            SEND_ATTEMPTS.labels(row.channel, "retry", error.reason).inc()
            log.info(
                "message %d attempt %d: %s; retrying in %.1f s",
                message_id,
                row.attempts,
                error.reason,
                delay,
            )
            return Outcome("queued", error.reason, retry_in=delay)

    def _finish_failed(self, message_id: int, reason: str) -> Outcome:
        with self.database.session() as session:
            row = session.get_one(Message, message_id)
            row.status, row.reason, row.updated_at = "failed", reason, self.clock()
            SEND_ATTEMPTS.labels(row.channel, "failed", reason).inc()
        log.warning("message %d failed: %s", message_id, reason)
        return Outcome("failed", reason)

    def _backoff(self, attempts: int, error: SendError) -> float:
        base = self.settings.retry_base_seconds
        delay: float = min(MAX_BACKOFF_SECONDS, base * 2.0 ** (attempts - 1))
        # Jitter spreads retries so a provider outage does not end in a stampede.
        delay *= random.uniform(0.5, 1.0)
        if isinstance(error, ThrottledError) and error.retry_after:
            delay = max(delay, error.retry_after)
        if isinstance(error, OutcomeUnknownError) and error.look_after:
            delay = max(delay, error.look_after)
        return delay
