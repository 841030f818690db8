"""Broadcasts: one message to many people, each in their own language, fanned out in batches.

A broadcast's recipients are addresses (a person on one channel), chosen by a segment and
never a staff contact or an address that sent STOP. Fan-out walks them in address-id order,
a batch at a time: one INSERT ... SELECT writes the batch's outbound rows (the unique
(address_id, dedupe_key) index makes a repeated batch write nothing), and the same
transaction moves `fanout_after` past the batch. Only after it commits are the new rows
queued, so a killed fan-out resumes where it stopped and memory stays flat however many
people there are. The rest is the ordinary pipeline: the dispatcher holds rows for quiet
hours and the WhatsApp window (with their reasons), and refuses rows of a cancelled
broadcast in the same conditional UPDATE that claims them.

It runs past 500 lines on purpose: a broadcast's segment, texts, preview, progress and
fan-out are read together whenever one of them changes, and each section is short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import Integer, String

from bot.i18n import I18n
from bot.pipeline import outbox, preferences
from bot.pipeline.templates import TemplateKind, whole_text
from bot.settings import Settings
from bot.sms import SmsCost, sms_cost
from bot.smssafe import SmsSafe, sms_safe
from bot.staff_text import CONFIRM_OVER
from bot.types import CHANNELS, Kind
from flows.library import Flows
from flows.texts import N_, NO, YES
from storage.db import Database
from storage.models import (
    Address,
    Broadcast,
    Contact,
    Feedback,
    Interest,
    Message,
    Preference,
    YouSaidLink,
)
from storage.types import ExactText, UtcDateTime

log = logging.getLogger(__name__)

# Every broadcast by SMS ends with how to stop, in the reader's language: the Privacy and
# Electronic Communications Regulations 2003 (reg. 22(3)) ask for a simple way to refuse
# with each message sent in bulk, and many SMS readers never see the first one again. On
# every message rather than the first of the month: a phone shows one text at a time.
STOP_LINE = N_("Send STOP to get no more messages.")

# Outside WhatsApp's window a broadcast goes as this template, its text written by staff as
# its one variable (bot/pipeline/templates.py).
BROADCAST_WORDING = N_("News from Tower Hamlets Council adult social care: {text}")
BROADCAST_TEMPLATE = TemplateKind("broadcast", BROADCAST_WORDING, whole_text)

# Rows written per transaction: large enough that the per-statement cost vanishes, small
# enough that a batch's ids (all the fan-out holds in memory) and its lock stay small.
BATCH_SIZE = 5000
SEGMENT_KEYS = ("language", "channel", "service", "topic", "opportunity")
# Statuses of a broadcast's rows that have not left us: cancelling stops all of these.
UNSENT = ("queued", "held")


class BroadcastError(ValueError):
    """A broadcast that cannot be made or changed as asked; the message says why."""


def dedupe_key(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def kind_of(segment: Mapping[str, Any], survey: str | None) -> Kind:
    """What kind of message a broadcast's rows are: people choose which kinds they get."""
    if segment.get("you_said"):
        return Kind.YOU_SAID
    if survey:
        return Kind.SURVEY
    return Kind.BROADCAST


def broadcast_kind(broadcast: Broadcast) -> Kind:
    return kind_of(broadcast.segment, broadcast.survey)


# -- segments ------------------------------------------------------------------------------


def parse_segment(pairs: Iterable[str]) -> dict[str, Any]:
    """Turn `language=bn` style pairs (the CLI's and the console's) into a segment."""
    segment: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in SEGMENT_KEYS or not value:
            raise BroadcastError(f"a segment is {'|'.join(SEGMENT_KEYS)}=value, not {pair!r}")
        segment[key] = value
    return segment or {"kind": "all"}


def describe_segment(segment: Mapping[str, Any]) -> str:
    """Say in a few words who a segment reaches, for staff."""
    parts = []
    if segment.get("you_said"):
        parts.append(f'people whose feedback "you said, we did" item {segment["you_said"]} answers')
    also = segment.get("also") if segment.get("you_said") else segment
    filters = [f"{key} {also[key]}" for key in SEGMENT_KEYS if also and also.get(key)]
    if filters:
        parts.append("subscribers with " + ", ".join(filters))
    elif not segment.get("you_said") or segment.get("also"):
        parts.append("all subscribers")
    described = " and ".join(parts)
    return described[:1].upper() + described[1:]


def _filters(segment: Mapping[str, Any], default_language: str) -> ColumnElement[bool]:
    """The segment's own conditions on an address joined to its contact, ANDed."""
    conditions: list[ColumnElement[bool]] = []
    language = segment.get("language")
    if language:
        same = Contact.language == language
        # Someone who never chose a language reads the default one.
        conditions.append(
            or_(same, Contact.language.is_(None)) if language == default_language else same
        )
    if segment.get("channel"):
        conditions.append(Address.channel == segment["channel"])
    # Feedback and interests count on the address they came from: "on their channel".
    if segment.get("service"):
        conditions.append(
            Address.id.in_(
                select(Feedback.address_id).where(Feedback.service == segment["service"])
            )
        )
    if segment.get("topic"):
        conditions.append(
            Address.id.in_(select(Feedback.address_id).where(Feedback.topic == segment["topic"]))
        )
    if segment.get("opportunity"):
        conditions.append(
            Address.id.in_(
                select(Interest.address_id).where(Interest.opportunity == segment["opportunity"])
            )
        )
    return and_(true(), *conditions)


SelectOf = TypeVar("SelectOf")


def segment_condition(segment: Mapping[str, Any], default_language: str) -> ColumnElement[bool]:
    """Who a segment names: never staff, only addresses a message can go to (not a voice
    line caller's, nor feedback taken on someone's behalf); before their own choices."""
    if segment.get("you_said"):
        linked = Address.id.in_(
            select(Feedback.address_id)
            .join(YouSaidLink, YouSaidLink.feedback_id == Feedback.id)
            .where(YouSaidLink.item_id == int(segment["you_said"]))
        )
        also = segment.get("also")
        chosen = or_(linked, _filters(also, default_language)) if also else linked
    else:
        chosen = _filters(segment, default_language)
    return and_(Contact.staff.is_(False), Address.channel.in_(CHANNELS), chosen)


def addresses(query: SelectOf) -> SelectOf:
    """`query` over addresses, joined to their contact and (outer) their preferences, as
    `segment_condition` and preferences.left_out read them."""
    selected: Any = query
    return cast(
        SelectOf,
        selected.select_from(Address)
        .join(Contact, Contact.id == Address.contact_id)
        .outerjoin(Preference, preferences.joined_preference()),
    )


def recipients_condition(
    segment: Mapping[str, Any], default_language: str, kind: Kind, since: datetime
) -> ColumnElement[bool]:
    """Who really receives a broadcast: named by its segment, not stopped, and (for this
    kind) said yes and not past their monthly cap (bot/pipeline/preferences.py)."""
    return and_(
        segment_condition(segment, default_language),
        preferences.left_out(kind, since).is_(None),
    )


def _recipients(
    segment: Mapping[str, Any], default_language: str, kind: Kind, since: datetime
) -> Select[Any]:
    return addresses(select(Address.id)).where(
        recipients_condition(segment, default_language, kind, since)
    )


# -- texts and the preview -----------------------------------------------------------------


@dataclass(frozen=True)
class LanguageText:
    """What people reading one language get: their own text, or a fallback's.

    By SMS the text ends with how to stop (`sms_text`), and that is what `cost` counts.
    """

    code: str
    name: str
    text: str
    source: str  # the language the text is written in (the fallback when it differs)
    sms_text: str
    cost: SmsCost
    replaced: str = ""  # what bot/smssafe.py replaced in staff's text, for staff

    @property
    def fallback(self) -> bool:
        return self.source != self.code


def written_texts(texts: Mapping[str, str]) -> dict[str, SmsSafe]:
    """Staff's text per language as it will be sent: trimmed, made SMS-safe (bot/smssafe.py),
    the languages with nothing written left out."""
    return {code: sms_safe(text.strip()) for code, text in texts.items() if text and text.strip()}


def resolve_texts(
    i18n: I18n, texts: Mapping[str, str], flows: Flows | None = None, survey: str | None = None
) -> dict[str, LanguageText]:
    """Each configured language's text, following the fallback chain (syl -> bn -> en), with
    the characters GSM-7 lacks but has a plain equal for replaced (bot/smssafe.py)."""
    safe = written_texts(texts)
    written = {code: found.text for code, found in safe.items()}
    if i18n.default not in written:
        name = i18n.language(i18n.default).name
        raise BroadcastError(f"write the text in {name}: every other language falls back to it")
    resolved = {}
    for code, language in i18n.languages.items():
        source: str | None = code
        while source is not None and source not in written:
            source = i18n.languages[source].fallback
        source = source or i18n.default
        text = i18n.written_over(code, source, written[source])
        if text != written[source]:
            source = code  # written over into the reader's own script
        if survey is not None and flows is not None:
            text = f"{text}\n\n{survey_question(i18n, flows, survey, source)}"
        by_sms = f"{text}\n{i18n.gettext(code, STOP_LINE)}"
        replaced = safe[source].summary() if source in safe else ""
        resolved[code] = LanguageText(
            code, language.name, text, source, by_sms, sms_cost(by_sms), replaced
        )
    return resolved


def survey_question(i18n: I18n, flows: Flows, survey: str, language: str) -> str:
    """The survey's first question with its numbered choices, as the person will read it."""
    flow = flows.flows.get(survey)
    if flow is None or not survey.startswith("survey-"):
        raise BroadcastError(f"there is no survey called {survey!r}")
    node = flow.nodes[flow.start]
    choices: tuple[str, ...] = (YES, NO) if node.type == "yesno" else ()
    choices = choices or tuple(option.label for option in node.options)
    return i18n.render(language, node.ask or "", choices=choices).text


def surveys(flows: Flows) -> list[str]:
    return sorted(flow_id for flow_id in flows.flows if flow_id.startswith("survey-"))


@dataclass(frozen=True)
class PreviewLine:
    """One language in the preview: its text's cost and how many people read it on what."""

    text: LanguageText
    recipients: Mapping[str, int]  # channel -> addresses
    price_per_sms: Decimal

    @property
    def total(self) -> int:
        return sum(self.recipients.values())

    @property
    def cost(self) -> Decimal:
        return self.price_per_sms * self.recipients.get("sms", 0)


@dataclass(frozen=True)
class Preview:
    """What a broadcast would cost before it is sent: per language and in total, and how
    many the segment names who would not get it, by reason (LEFT_OUT)."""

    lines: list[PreviewLine]
    segment_price: Decimal
    left_out: Mapping[str, int] = field(default_factory=dict)

    @property
    def recipients(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def cost(self) -> Decimal:
        return sum((line.cost for line in self.lines), Decimal(0))

    @property
    def fallback_recipients(self) -> int:
        return sum(line.total for line in self.lines if line.text.fallback)

    @property
    def long_by_sms(self) -> list[PreviewLine]:
        """The languages whose text reaches someone by SMS in more than CONFIRM_OVER
        segments: sending needs staff to confirm it."""
        return [
            line
            for line in self.lines
            if line.recipients.get("sms") and line.text.cost.segments > CONFIRM_OVER
        ]


# Why someone a segment names would not get a broadcast, as staff read it in the preview.
LEFT_OUT = {
    "opted-out": "sent STOP",
    "no-contact": "asked not to be contacted",
    "not-chosen": "not said yes to this kind of message",
    "monthly-cap": "had as many messages this month as they allow",
}


def count_by_language(
    session: Session, i18n: I18n, segment: Mapping[str, Any], kind: Kind, since: datetime
) -> dict[str, dict[str, int]]:
    """How many addresses really receive a broadcast, per language read and per channel."""
    rows = session.execute(
        addresses(select(Contact.language, Address.channel, func.count()))
        .where(recipients_condition(segment, i18n.default, kind, since))
        .group_by(Contact.language, Address.channel)
    ).all()
    counts: dict[str, dict[str, int]] = {code: {} for code in i18n.languages}
    for language, channel, count in rows:
        code = i18n.language(language).code
        counts[code][channel] = counts[code].get(channel, 0) + count
    return counts


def count_left_out(
    session: Session, i18n: I18n, segment: Mapping[str, Any], kind: Kind, since: datetime
) -> dict[str, int]:
    """How many addresses the segment names that would not get it, by reason."""
    reason = preferences.left_out(kind, since)
    rows = session.execute(
        addresses(select(reason, func.count()))
        .where(segment_condition(segment, i18n.default), reason.is_not(None))
        .group_by(reason)
    ).all()
    return {str(why): count for why, count in rows}


def preview(
    session: Session,
    i18n: I18n,
    flows: Flows,
    settings: Settings,
    texts: Mapping[str, str],
    segment: Mapping[str, Any],
    survey: str | None = None,
    *,
    now: datetime,
) -> Preview:
    """Per language: the text read, its encoding and segments, real recipients and estimated
    cost; and who is left out, by reason."""
    resolved = resolve_texts(i18n, texts, flows, survey)
    kind = kind_of(segment, survey)
    since = preferences.month_start(now, settings.zone)
    counts = count_by_language(session, i18n, segment, kind, since)
    price = settings.sms_segment_price
    lines = [
        PreviewLine(text, counts[code], price * text.cost.segments)
        for code, text in resolved.items()
    ]
    return Preview(lines, price, count_left_out(session, i18n, segment, kind, since))


# -- progress ------------------------------------------------------------------------------

# How the pipeline's row statuses show on the progress bar.
PROGRESS_BUCKETS = {
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "failed": "failed",
    "undelivered": "failed",
    "held": "held",
    "cancelled": "cancelled",
    # The provider did not answer and cannot be asked (Telegram): it has most likely gone.
    "unknown": "unknown",
}


@dataclass(frozen=True)
class Progress:
    """Where a broadcast's rows are: counts per stage, and the share that has left us."""

    status: str
    recipients: int
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(self.counts.get(key, 0) for key in ("sent", "delivered", "failed", "unknown"))

    @property
    def percent(self) -> int:
        return 100 * self.done // self.recipients if self.recipients else 0

    @property
    def finished(self) -> bool:
        # Held rows still go out (quiet hours end, the person writes again): not finished.
        waiting = self.counts.get("queued", 0) + self.counts.get("held", 0)
        return self.status == "cancelled" or (self.status == "sent" and waiting == 0)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "recipients": self.recipients,
            "percent": self.percent,
            "finished": self.finished,
            **{key: self.counts.get(key, 0) for key in sorted(set(PROGRESS_BUCKETS.values()))},
        }


def progress(session: Session, broadcast: Broadcast) -> Progress:
    rows = session.execute(
        select(Message.status, func.count())
        .where(Message.broadcast_id == broadcast.id)
        .group_by(Message.status)
    ).all()
    counts: dict[str, int] = {}
    for status, count in rows:
        bucket = PROGRESS_BUCKETS.get(status, "failed")
        counts[bucket] = counts.get(bucket, 0) + count
    return Progress(broadcast.status, broadcast.recipients, counts)


# -- the service ---------------------------------------------------------------------------


class Broadcasts:
    """Creates, previews, fans out, schedules and cancels broadcasts."""

    def __init__(
        self,
        database: Database,
        i18n: I18n,
        flows: Flows,
        settings: Settings,
        clock: Callable[[], datetime],
        enqueue: Callable[[Iterable[int]], None],
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.database = database
        self.i18n = i18n
        self.flows = flows
        self.settings = settings
        self.clock = clock
        self.enqueue = enqueue
        self.batch_size = batch_size

    def create(
        self,
        session: Session,
        *,
        title: str,
        texts: Mapping[str, str],
        segment: Mapping[str, Any],
        survey: str | None = None,
        created_by: int | None = None,
    ) -> Broadcast:
        """Store a draft broadcast after checking its texts, segment and survey; the texts
        are stored as they will be sent, SMS-safe (bot/smssafe.py)."""
        if not title.strip():
            raise BroadcastError("give the broadcast a title (only staff see it)")
        unknown = set(texts) - set(self.i18n.languages)
        if unknown:
            raise BroadcastError(f"unknown languages: {', '.join(sorted(unknown))}")
        resolve_texts(self.i18n, texts, self.flows, survey)
        broadcast = Broadcast(
            title=title.strip(),
            texts={code: found.text for code, found in written_texts(texts).items()},
            segment=dict(segment),
            survey=survey,
            status="draft",
            fanout_after=0,
            recipients=0,
            created_by=created_by,
            created_at=self.clock(),
        )
        session.add(broadcast)
        session.flush()
        return broadcast

    def preview_of(self, session: Session, broadcast: Broadcast) -> Preview:
        return preview(
            session,
            self.i18n,
            self.flows,
            self.settings,
            broadcast.texts,
            broadcast.segment,
            broadcast.survey,
            now=self.clock(),
        )

    def schedule(self, broadcast_id: int, at: datetime) -> None:
        """Have the sweep start this broadcast once `at` has passed."""
        with self.database.session() as session:
            broadcast = self._locked(session, broadcast_id)
            if broadcast.status not in ("draft", "scheduled"):
                raise BroadcastError(f"a broadcast that is {broadcast.status} cannot be scheduled")
            broadcast.status, broadcast.send_at = "scheduled", at

    def launch(self, broadcast_id: int) -> int:
        """Start a draft or scheduled broadcast now and fan it out; return rows written."""
        self.start(broadcast_id)
        return self.fan_out(broadcast_id)

    def launch_in_background(self, broadcast_id: int) -> None:
        """Start a broadcast now and fan it out beside the caller (a console request).

        If this process stops part-way, the sweep resumes the fan-out where it stopped.
        """
        self.start(broadcast_id)
        threading.Thread(
            target=self.fan_out, args=(broadcast_id,), name="kotha-fanout", daemon=True
        ).start()

    def start(self, broadcast_id: int) -> None:
        with self.database.session() as session:
            broadcast = self._locked(session, broadcast_id)
            if broadcast.status not in ("draft", "scheduled"):
                raise BroadcastError(f"a broadcast that is {broadcast.status} cannot be sent")
            broadcast.status, broadcast.started_at = "sending", self.clock()
            broadcast.send_at = broadcast.send_at or broadcast.started_at

    def fan_out(self, broadcast_id: int) -> int:
        """Write the outbound rows batch by batch, queueing each batch after it commits."""
        written = 0
        while True:
            with self.database.session() as session:
                ids = self._batch(session, broadcast_id)
            if ids is None:
                return written
            written += len(ids)
            self.enqueue(ids)

    def run_due(self) -> int:
        """For the sweep: start scheduled broadcasts whose time has come, resume fan-outs."""
        now = self.clock()
        with self.database.session() as session:
            due = session.scalars(
                select(Broadcast.id)
                .where(
                    or_(
                        and_(Broadcast.status == "scheduled", Broadcast.send_at <= now),
                        Broadcast.status == "sending",
                    )
                )
                .order_by(Broadcast.id)
            ).all()
        written = 0
        for broadcast_id in due:
            with self.database.session() as session:
                started = session.execute(
                    update(Broadcast)
                    .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
                    .values(status="sending", started_at=now)
                    .execution_options(synchronize_session=False)
                )
                if started.rowcount:  # type: ignore[attr-defined]
                    log.info("broadcast %d: scheduled time reached, fanning out", broadcast_id)
            written += self.fan_out(broadcast_id)
        return written

    def cancel(self, broadcast_id: int, user_id: int | None = None) -> int:
        """Stop a broadcast: nothing not yet sent goes out. Return how many rows were stopped."""
        now = self.clock()
        with self.database.session() as session:
            broadcast = self._locked(session, broadcast_id)
            if broadcast.status == "cancelled":
                return 0
            broadcast.status, broadcast.cancelled_at, broadcast.cancelled_by = (
                "cancelled",
                now,
                user_id,
            )
            # Rows a worker has claimed (`sending`) are already on their way to the provider;
            # every other unsent row stops here, and the dispatcher's claim refuses the rest.
            stopped = session.execute(
                update(Message)
                .where(Message.broadcast_id == broadcast_id, Message.status.in_(UNSENT))
                .values(status="cancelled", reason="broadcast-cancelled", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            count: int = stopped.rowcount  # type: ignore[attr-defined]
        log.info("broadcast %d cancelled; %d messages stopped", broadcast_id, count)
        return count

    # -- inside one transaction ------------------------------------------------------------

    def _locked(self, session: Session, broadcast_id: int) -> Broadcast:
        broadcast = session.scalar(
            select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update()
        )
        if broadcast is None:
            raise BroadcastError(f"there is no broadcast {broadcast_id}")
        return broadcast

    def _batch(self, session: Session, broadcast_id: int) -> list[int] | None:
        """Write one batch; None when there is nothing left to write (or it was cancelled)."""
        # The row lock makes two fan-outs of one broadcast (a sweep and a console request)
        # take turns, each reading where the other stopped; SQLite serialises writers anyway.
        broadcast = self._locked(session, broadcast_id)
        if broadcast.status != "sending":
            return None
        kind = broadcast_kind(broadcast)
        since = preferences.month_start(self.clock(), self.settings.zone)
        recipients = _recipients(broadcast.segment, self.i18n.default, kind, since)
        after = broadcast.fanout_after
        window = (
            recipients.where(Address.id > after).order_by(Address.id).limit(self.batch_size)
        ).subquery()
        upto = session.scalar(select(func.max(window.c.id)))
        if upto is None:
            broadcast.status, broadcast.finished_at = "sent", self.clock()
            log.info("broadcast %d: fan-out finished", broadcast_id)
            return None
        ids = list(session.scalars(self._insert(session, broadcast, after, upto)))
        broadcast.fanout_after = upto
        broadcast.recipients += len(ids)
        return ids

    def _insert(self, session: Session, broadcast: Broadcast, after: int, upto: int) -> Any:
        """INSERT ... SELECT of one batch's rows, each in the language its contact reads."""
        texts = resolve_texts(self.i18n, broadcast.texts, self.flows, broadcast.survey)
        default = texts[self.i18n.default]
        # By SMS, a reader of Syloti Nagri gets the Sylheti in Bengali script (I18n.on_channel).
        by_sms = [
            (and_(Contact.language == code, Address.channel == "sms"), literal(other, String))
            for code, other in self.i18n.sms_instead.items()
        ]
        reads = case(*by_sms, else_=Contact.language) if by_sms else Contact.language

        def by_language(value: Callable[[LanguageText], Any], type_: Any) -> Any:
            return case(
                {code: literal(value(text), type_) for code, text in texts.items()},
                value=reads,
                else_=literal(value(default), type_),
            )

        def on_channel(sms: Any, chat: Any) -> Any:
            return case((Address.channel == "sms", sms), else_=chat)

        chat_cost = {code: sms_cost(text.text) for code, text in texts.items()}
        columns = {
            "address_id": Address.id,
            "channel": Address.channel,
            "body": on_channel(
                by_language(lambda text: text.sms_text, ExactText()),
                by_language(lambda text: text.text, ExactText()),
            ),
            "language": by_language(lambda text: text.source, String),
            "encoding": on_channel(
                by_language(lambda text: text.cost.encoding, String),
                by_language(lambda text: chat_cost[text.code].encoding, String),
            ),
            "segments": on_channel(
                by_language(lambda text: text.cost.segments, Integer),
                by_language(lambda text: chat_cost[text.code].segments, Integer),
            ),
            "broadcast_id": literal(broadcast.id, Integer),
            "dedupe_key": literal(dedupe_key(broadcast.id), String),
            "created_at": literal(self.clock(), UtcDateTime()),
        }
        if broadcast.survey:
            # The dispatcher puts the conversation at the survey's first question as it sends.
            columns["survey"] = literal(broadcast.survey, String)
            columns["survey_node"] = literal(self.flows[broadcast.survey].start, String)
        kind = broadcast_kind(broadcast)
        since = preferences.month_start(self.clock(), self.settings.zone)
        recipients = (
            addresses(select(Address.id))
            .where(
                recipients_condition(broadcast.segment, self.i18n.default, kind, since),
                Address.id > after,
                Address.id <= upto,
            )
            .order_by(Address.id)
        )
        dialect = session.get_bind().dialect.name
        return outbox.fan_out(dialect, kind, columns, recipients)
