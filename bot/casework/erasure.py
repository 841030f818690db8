"""A person's right to erasure: their number, names, words and media gone, counts kept.

What stays, anonymous, is what the reports count: each record's kind, service, dates,
language and channel, on a contact row marked erased whose addresses read `erased:<id>`.
Everything else that could say who they were or what they wrote is removed or emptied, in
one transaction: if anything refuses (a message being sent to them at this moment), nothing
is done.

One exception, by law: a complaint still inside its retention (its record kept
`retention_complaints_months` after it closes; see bot/settings.py) is kept whole, with its
case history and the consent given with it, and the tool says until when. Everything else
of theirs, their number included, goes now; the complaint's words go when its retention
ends (bot/casework/retention.py). UK GDPR art. 17(3)(b) and (e): erasure does not apply
where keeping the data is a legal obligation or needed for legal claims, and the Local
Authority Social Services and NHS Complaints (England) Regulations 2009 (reg. 18) oblige
the council to keep a record of each complaint.

The database files: SQLite connections zero deleted content (storage/db.py,
`secure_delete`), and after an erasure the write-ahead log is checkpointed and truncated so
no older copy of a page lingers there (`scrub_files`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.casework.accounts import record_audit
from bot.casework.media import message_media_urls
from bot.casework.people import audit_targets
from flows.library import Flows
from storage.db import Database
from storage.models import (
    AccessNeed,
    Address,
    AuditEvent,
    CaseEvent,
    Consent,
    Contact,
    Conversation,
    EqualityMonitoring,
    EventSubscription,
    Feedback,
    Interest,
    InterestEvent,
    MediaNote,
    Message,
    Preference,
    SafeguardingFlag,
    StaffTask,
    SurveyResponse,
    TakenOnBehalf,
    VoiceCall,
)

# Why someone was erased, as staff give it for the audit log: this long at most.
MAX_REASON = 500
COMPLAINT_KEPT_WHY = (
    "complaint records are kept {years} after the complaint closes (Limitation Act 1980; "
    "Local Authority Social Services and NHS Complaints (England) Regulations 2009, reg. 18)"
)


class ErasureError(ValueError):
    """The person cannot be erased now; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Kept:
    """A complaint kept past the erasure: until when (None: it is still open) and why."""

    reference: str
    until: date | None
    why: str

    def sentence(self) -> str:
        if self.until is None:
            when = "while it is open, and for its retention period after it closes"
        else:
            when = f"until {self.until.isoformat()}"
        return (
            f"Complaint {self.reference} is kept {when}: {self.why}. Their number is gone, so"
            " they can no longer ask about it by text, and an export by their number finds"
            " nothing: look it up by its reference"
        )


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the contacts erased, complaints kept, messages not sent."""

    contact_ids: tuple[int, ...]
    kept: tuple[Kept, ...]
    cancelled: int
    # The files their messages named: once the erasure commits, their copies kept for the
    # console go too (bot/casework/media.py `MediaCache.forget`).
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurveyAnswers:
    """Which survey answers are counts rather than words: options' values, numbers, yes/no.

    Built from the flows: the value of an option, a scale's number or a yes or no is kept
    for the survey's results; an answer to a text question (or any other text) is not.
    """

    text_answers: frozenset[str]
    option_values: frozenset[str]

    @classmethod
    def of(cls, flows: Flows) -> SurveyAnswers:
        texts: set[str] = set()
        options: set[str] = set()
        for flow in flows.flows.values():
            for node in flow.nodes.values():
                if node.type == "text" and node.save:
                    texts.add(node.save)
                options.update(str(option.value) for option in node.options if option.value)
        return cls(frozenset(texts), frozenset(options))

    def counted(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        return {
            key: value
            for key, value in answers.items()
            if key not in self.text_answers
            and (
                value is None
                or isinstance(value, bool | int | float)
                or (isinstance(value, str) and value in self.option_values)
            )
        }


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day where it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def complaint_closed_on(feedback: Feedback) -> date | None:
    """When a complaint's retention starts: closed, or else decided; None while open."""
    ended = feedback.closed_at or feedback.decided_at
    return None if ended is None else ended.date()


def kept_complaint(feedback: Feedback, months: int, now: datetime) -> Kept | None:
    """The complaint's retention, if it still runs."""
    if feedback.kind != "complaint" or feedback.erased_at is not None:
        return None
    closed = complaint_closed_on(feedback)
    years = f"{months // 12} years" if months % 12 == 0 else f"{months} months"
    why = COMPLAINT_KEPT_WHY.format(years=years)
    if closed is None:
        return Kept(feedback.reference, None, why)
    until = add_months(closed, months)
    if until <= now.date():
        return None
    return Kept(feedback.reference, until, why)


def erase_people(
    session: Session,
    contact_ids: Sequence[int],
    *,
    now: datetime,
    complaint_months: int,
    survey_answers: SurveyAnswers,
    user_id: int | None,
    reason: str | None,
    why: str = "request",
) -> Erasure:
    """Erase these contacts in the session's transaction; raise ErasureError, changing
    nothing, for a staff contact, one already erased, or a message being sent to them."""
    ids = sorted(set(contact_ids))
    if not ids:
        raise ErasureError("nobody to erase")
    contacts = list(session.scalars(select(Contact).where(Contact.id.in_(ids)).with_for_update()))
    if len(contacts) != len(ids):
        raise ErasureError("no such person")
    for contact in contacts:
        if contact.staff:
            raise ErasureError(
                "this is a council colleague's address (alerts and digests), not a member of "
                "the public: take it out of KOTHA_SAFEGUARDING_ALERT_TO or KOTHA_DIGEST_TO"
            )
        if contact.erased_at is not None:
            raise ErasureError(f"already erased on {contact.erased_at:%Y-%m-%d}")
    address_ids = list(
        session.scalars(select(Address.id).where(Address.contact_id.in_(ids)).with_for_update())
    )
    sending = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.address_id.in_(address_ids), Message.status == "sending")
    )
    if sending:
        raise ErasureError(
            f"{sending} message(s) are being sent to them at this moment (a broadcast?): "
            "try again in a minute. Nothing was erased."
        )
    feedback = list(
        session.scalars(select(Feedback).where(Feedback.contact_id.in_(ids)).order_by(Feedback.id))
    )
    kept: list[Kept] = []
    kept_ids: set[int] = set()
    for record in feedback:
        keep = kept_complaint(record, complaint_months, now)
        if keep is not None:
            kept.append(keep)
            kept_ids.add(record.id)
    gone = [record for record in feedback if record.id not in kept_ids]
    flag_ids = list(
        session.scalars(select(SafeguardingFlag.id).where(SafeguardingFlag.contact_id.in_(ids)))
    )
    task_ids = list(session.scalars(select(StaffTask.id).where(StaffTask.contact_id.in_(ids))))
    interest_ids = list(session.scalars(select(Interest.id).where(Interest.contact_id.in_(ids))))

    media_urls = message_media_urls(session, address_ids)
    # Staff's transcripts and translations of what they sent are their words too.
    session.execute(
        delete(MediaNote).where(
            MediaNote.message_id.in_(select(Message.id).where(Message.address_id.in_(address_ids)))
        )
    )
    # Messages not yet sent never will be; every message keeps only its counts.
    cancelled = session.execute(
        update(Message)
        .where(Message.address_id.in_(address_ids), Message.status.in_(("queued", "held")))
        .values(status="cancelled", reason="erased", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.execute(
        update(Message)
        .where(Message.address_id.in_(address_ids))
        .values(
            body=None,
            media=None,
            # The message id too: without its parameters it could not be rendered again.
            template=None,
            params=None,
            lead=None,
            choices=None,
            understood=None,
            redacted_body=None,
            provider_id=None,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Conversation).where(Conversation.address_id.in_(address_ids)))
    erase_feedback(session, gone, now)
    session.execute(
        delete(Consent).where(
            Consent.contact_id.in_(ids),
            Consent.feedback_id.is_(None) | Consent.feedback_id.not_in(kept_ids),
        )
    )
    session.execute(delete(Preference).where(Preference.contact_id.in_(ids)))
    # Special category data (ethnicity, religion, disability): deleted, not counted on.
    session.execute(delete(EqualityMonitoring).where(EqualityMonitoring.contact_id.in_(ids)))
    session.execute(delete(EventSubscription).where(EventSubscription.contact_id.in_(ids)))
    # What they need to take part says something of their health: it goes. Their attendance
    # at events stays, anonymous (the contact is erased), for the impact counts.
    session.execute(delete(AccessNeed).where(AccessNeed.contact_id.in_(ids)))
    # Their calls to the voice line: Twilio's ids of them, which its logs tie to the number.
    session.execute(delete(VoiceCall).where(VoiceCall.address_id.in_(address_ids)))
    for response in session.scalars(
        select(SurveyResponse).where(SurveyResponse.contact_id.in_(ids))
    ):
        response.answers = survey_answers.counted(response.answers or {})
    session.execute(
        update(SafeguardingFlag)
        .where(
            SafeguardingFlag.contact_id.in_(ids),
            SafeguardingFlag.feedback_id.is_(None) | SafeguardingFlag.feedback_id.not_in(kept_ids),
        )
        .values(resolution_note=None)
        .execution_options(synchronize_session=False)
    )
    # A task to call or write to them cannot be done any more, and its summary may quote a
    # case note: it goes. What staff took down for them keeps only how it came (a count).
    session.execute(delete(StaffTask).where(StaffTask.id.in_(task_ids)))
    _scrub_taken(session, TakenOnBehalf.contact_id.in_(ids))
    # An interest keeps what it counts (the opportunity, its status, how it was followed
    # up); staff's notes about the person go.
    session.execute(
        update(InterestEvent)
        .where(InterestEvent.interest_id.in_(interest_ids))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    # Who did what stays in the audit log; what they wrote about the person does not.
    session.execute(
        update(AuditEvent)
        .where(
            audit_targets(
                ids,
                address_ids,
                [record.reference for record in gone],
                flag_ids,
                task_ids=task_ids,
                interest_ids=interest_ids,
            )
        )
        .values(detail=None, reason=None)
        .execution_options(synchronize_session=False)
    )
    for address in session.scalars(select(Address).where(Address.id.in_(address_ids))):
        address.address = f"erased:{address.id}"
        address.external_user_id = None
        address.stopped_at, address.stopped_by = now, "erased"
        address.last_inbound_at = None
    for contact in contacts:
        contact.hidden_reason = None
        contact.hidden_at = contact.hidden_by = None
        contact.calendar_token = None
        contact.erased_at = now
        record_audit(
            session,
            user_id,
            "person.erased",
            "contact",
            contact.id,
            {
                "why": why,
                "kept": [item.reference for item in kept],
                "messages_cancelled": cancelled,
            },
            reason,
            now=now,
        )
    session.flush()
    return Erasure(tuple(ids), tuple(kept), int(cancelled or 0), tuple(media_urls))


def erase_feedback(session: Session, records: Iterable[Feedback], now: datetime) -> None:
    """Erase feedback records' words, media and notes; their counts stay."""
    ids = []
    for record in records:
        ids.append(record.id)
        record.text = record.desired_outcome = None
        record.redacted_text = record.redacted_desired_outcome = None
        record.outcome_change = None
        record.media = None
        record.erased_at = record.erased_at or now
    if ids:
        session.execute(
            update(CaseEvent)
            .where(CaseEvent.feedback_id.in_(ids))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(SafeguardingFlag)
            .where(SafeguardingFlag.feedback_id.in_(ids))
            .values(resolution_note=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(StaffTask).where(StaffTask.feedback_id.in_(ids)))
        _scrub_taken(session, TakenOnBehalf.feedback_id.in_(ids))
        references = [
            str(reference)
            for reference in session.scalars(select(Feedback.reference).where(Feedback.id.in_(ids)))
        ]
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.target_type == "feedback", AuditEvent.target_id.in_(references))
            .values(detail=None, reason=None)
            .execution_options(synchronize_session=False)
        )


def _scrub_taken(session: Session, which: Any) -> None:
    """Empty what staff took down about a person (name, number, address, words); the row
    stays, saying only how the record came and who took it down."""
    session.execute(
        update(TakenOnBehalf)
        .where(which)
        .values(name=None, phone=None, postal_address=None, note=None, updates_by="none")
        .execution_options(synchronize_session=False)
    )


def scrub_files(database: Database) -> None:
    """After an erasure has committed: leave no older copy of an erased page in the files.

    SQLite: pages overwritten with secure_delete on are zeroed, but the write-ahead log may
    still hold earlier versions of them; a TRUNCATE checkpoint copies the log into the
    database and empties it. PostgreSQL keeps old row versions until VACUUM: run it on the
    tables an erasure changes, so their dead rows (and their search index entries) go now
    rather than whenever autovacuum comes.
    """
    if database.dialect == "sqlite":
        # On the driver's connection, outside any transaction (a checkpoint cannot run in
        # one): Kotha's SQLite connections leave transactions to SQLAlchemy's BEGIN.
        pooled = database.engine.raw_connection()
        try:
            driver: Any = pooled.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            pooled.close()
        return
    if database.dialect == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ERASED_TABLES:
                conn.exec_driver_sql(f"VACUUM {table}")


# The tables an erasure changes or deletes from.
ERASED_TABLES = (
    "media_notes",
    "messages",
    "conversations",
    "feedback",
    "case_events",
    "interest_events",
    "consents",
    "preferences",
    "equality_monitoring",
    "event_subscriptions",
    "survey_responses",
    "safeguarding_flags",
    "staff_tasks",
    "taken_on_behalf",
    "voice_calls",
    "audit_events",
    "addresses",
    "contacts",
)
