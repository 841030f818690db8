"""A person's right of access: who an address belongs to, and everything held about them.

`find_people` reads an address typed any usual way; `export_people` gathers every row that
refers to those people (UK GDPR art. 15, a subject access request) as plain JSON values,
one list per table, named as the tables are. The staff who viewed or changed their records
come from the audit log. tests/bot/casework/test_people.py walks the tables' foreign keys
to check that no table that refers to a person is left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.casework.inbox import normalise_phone
from bot.types import CHANNELS
from storage.models import (
    AccessNeed,
    Address,
    Attendance,
    AuditEvent,
    Base,
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
    Rsvp,
    SafeguardingFlag,
    StaffTask,
    SurveyResponse,
    TakenOnBehalf,
    User,
    VoiceCall,
    YouSaidLink,
)

# The sections of an export, in the order a reader meets them: each a table's name.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("contacts", "Contact details"),
    ("addresses", "Phone numbers and chats"),
    ("preferences", "What they chose to receive"),
    ("consents", "What they answered when asked for consent"),
    ("messages", "Every message, both ways"),
    ("media_notes", "Transcripts and translations of the voice notes and photos they sent"),
    ("conversations", "Where each conversation stands"),
    ("feedback", "Complaints, comments and compliments"),
    ("taken_on_behalf", "Feedback staff took down for them (phone, in person, letter)"),
    ("case_events", "Case history"),
    ("survey_responses", "Survey answers"),
    ("interests", "Interest in taking part"),
    ("interest_events", "How staff followed up their interest"),
    ("equality_monitoring", "Equality monitoring answers (optional, kept apart)"),
    ("event_subscriptions", "Event reminders asked for"),
    ("rsvps", "Replies about events"),
    ("access_needs", "Access and communication needs"),
    ("attendances", "Events they came to"),
    ("voice_calls", "Their calls to the voice line"),
    ("safeguarding_flags", "Safeguarding flags"),
    ("staff_tasks", "Things staff were to do for them (a call, a letter)"),
    ("you_said_links", '"You said, we did" items that answer their feedback'),
    ("audit_events", "Staff who viewed or changed their records"),
)


# Addresses are stored in at most 64 characters (storage/models.py).
MAX_ADDRESS = 64


class PersonError(ValueError):
    """The address names nobody we can act on; the message says why."""


def find_people(session: Session, typed: str) -> list[int]:
    """The contacts an address belongs to: a phone number typed any usual way (on SMS and
    WhatsApp both), `channel:address` for one channel, or an address exactly as stored."""
    text = typed.strip()
    if not text:
        raise PersonError("give an address: a phone number, or channel:address")
    if "\x00" in text or not text.isprintable() or len(text) > MAX_ADDRESS:
        return []  # no address holds such characters (nor is stored this long)
    matches = [Address.address == text]
    channel, colon, value = text.partition(":")
    if colon and channel.lower() in CHANNELS:
        phone = normalise_phone(value) if channel.lower() != "telegram" else None
        matches.append((Address.channel == channel.lower()) & (Address.address == value.strip()))
        if phone:
            matches.append((Address.channel == channel.lower()) & (Address.address == phone))
    else:
        phone = normalise_phone(text)
        if phone:
            matches.append(Address.address == phone)
    found = session.scalars(
        select(Address.contact_id).where(or_(*matches)).distinct().order_by(Address.contact_id)
    )
    return list(found)


def plain(value: Any) -> Any:
    """A column's value as JSON holds it: times and dates in ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_values(row: Base) -> dict[str, Any]:
    """Every column of a row, by name."""
    return {column.name: plain(getattr(row, column.key)) for column in row.__table__.columns}


def _rows(session: Session, model: type[Base], *conditions: Any) -> list[Base]:
    if not conditions:
        return []
    return list(session.scalars(select(model).where(or_(*conditions)).order_by(model.id)))  # type: ignore[attr-defined]


def _ids(rows: Iterable[Base]) -> list[int]:
    return [row.id for row in rows]  # type: ignore[attr-defined]


def audit_targets(
    contact_ids: Sequence[int],
    address_ids: Sequence[int],
    references: Sequence[str],
    flag_ids: Sequence[int],
    task_ids: Sequence[int] = (),
    interest_ids: Sequence[int] = (),
) -> Any:
    """The audit events about these people's records: the targets the console writes."""
    as_text = [str(value) for value in contact_ids]
    return or_(
        (AuditEvent.target_type == "interest")
        & AuditEvent.target_id.in_([str(value) for value in interest_ids]),
        (AuditEvent.target_type == "contact") & AuditEvent.target_id.in_(as_text),
        (AuditEvent.target_type == "address")
        & AuditEvent.target_id.in_([str(value) for value in address_ids]),
        (AuditEvent.target_type == "feedback") & AuditEvent.target_id.in_(list(references)),
        (AuditEvent.target_type == "safeguarding_flag")
        & AuditEvent.target_id.in_([str(value) for value in flag_ids]),
        (AuditEvent.target_type == "staff_task")
        & AuditEvent.target_id.in_([str(value) for value in task_ids]),
    )


def export_people(session: Session, contact_ids: Sequence[int], now: datetime) -> dict[str, Any]:
    """Everything held about these contacts (one person, perhaps on several channels)."""
    ids = list(contact_ids)
    contacts = _rows(session, Contact, Contact.id.in_(ids))
    addresses = _rows(session, Address, Address.contact_id.in_(ids))
    address_ids = _ids(addresses)
    messages = _rows(session, Message, Message.address_id.in_(address_ids))
    message_ids = _ids(messages)
    feedback = _rows(
        session, Feedback, Feedback.contact_id.in_(ids), Feedback.address_id.in_(address_ids)
    )
    feedback_ids = _ids(feedback)
    flags = _rows(
        session,
        SafeguardingFlag,
        SafeguardingFlag.contact_id.in_(ids),
        SafeguardingFlag.message_id.in_(message_ids),
        SafeguardingFlag.feedback_id.in_(feedback_ids),
    )
    survey_responses = _rows(
        session,
        SurveyResponse,
        SurveyResponse.contact_id.in_(ids),
        SurveyResponse.address_id.in_(address_ids),
    )
    interests = _rows(
        session, Interest, Interest.contact_id.in_(ids), Interest.address_id.in_(address_ids)
    )
    staff_tasks = _rows(
        session,
        StaffTask,
        StaffTask.contact_id.in_(ids),
        StaffTask.feedback_id.in_(feedback_ids),
    )
    found: dict[str, list[Base]] = {
        "contacts": contacts,
        "addresses": addresses,
        "preferences": _rows(session, Preference, Preference.contact_id.in_(ids)),
        "consents": _rows(
            session,
            Consent,
            Consent.contact_id.in_(ids),
            Consent.address_id.in_(address_ids),
            Consent.feedback_id.in_(feedback_ids),
        ),
        "messages": messages,
        "media_notes": _rows(session, MediaNote, MediaNote.message_id.in_(message_ids)),
        "conversations": _rows(session, Conversation, Conversation.address_id.in_(address_ids)),
        "feedback": feedback,
        "case_events": _rows(
            session,
            CaseEvent,
            CaseEvent.feedback_id.in_(feedback_ids),
            CaseEvent.message_id.in_(message_ids),
        ),
        "taken_on_behalf": _rows(
            session,
            TakenOnBehalf,
            TakenOnBehalf.contact_id.in_(ids),
            TakenOnBehalf.feedback_id.in_(feedback_ids),
            TakenOnBehalf.survey_response_id.in_(_ids(survey_responses)),
            TakenOnBehalf.interest_id.in_(_ids(interests)),
        ),
        "survey_responses": survey_responses,
        "interests": interests,
        "interest_events": _rows(
            session,
            InterestEvent,
            InterestEvent.interest_id.in_(_ids(interests)),
            InterestEvent.message_id.in_(message_ids),
        ),
        "staff_tasks": staff_tasks,
        "equality_monitoring": _rows(
            session, EqualityMonitoring, EqualityMonitoring.contact_id.in_(ids)
        ),
        "event_subscriptions": _rows(
            session,
            EventSubscription,
            EventSubscription.contact_id.in_(ids),
            EventSubscription.address_id.in_(address_ids),
        ),
        "rsvps": _rows(session, Rsvp, Rsvp.contact_id.in_(ids), Rsvp.address_id.in_(address_ids)),
        "access_needs": _rows(session, AccessNeed, AccessNeed.contact_id.in_(ids)),
        "attendances": _rows(session, Attendance, Attendance.contact_id.in_(ids)),
        "voice_calls": _rows(session, VoiceCall, VoiceCall.address_id.in_(address_ids)),
        "safeguarding_flags": flags,
        "you_said_links": _rows(session, YouSaidLink, YouSaidLink.feedback_id.in_(feedback_ids)),
        "audit_events": _rows(
            session,
            AuditEvent,
            audit_targets(
                ids,
                address_ids,
                [row.reference for row in feedback],  # type: ignore[attr-defined]
                _ids(flags),
                task_ids=_ids(staff_tasks),
                interest_ids=_ids(interests),
            ),
        ),
    }
    export: dict[str, Any] = {"exported_at": now.isoformat()}
    for name, _title in SECTIONS:
        export[name] = [row_values(row) for row in found[name]]
    export["staff"] = _staff(session, found)
    return export


# The columns that name a staff account, in the tables an export holds.
STAFF_COLUMNS = (
    "hidden_by",
    "sent_by",
    "reviewed_by",
    "user_id",
    "raised_by",
    "resolved_by",
    "recorded_by",
    "created_by",
    "done_by",
    "assigned_to",
    "marked_by",
)


def _staff(session: Session, found: dict[str, list[Base]]) -> list[dict[str, Any]]:
    """The staff accounts the export's rows name, so a reader knows who each was."""
    user_ids = {
        value
        for rows in found.values()
        for row in rows
        for name in STAFF_COLUMNS
        if (value := getattr(row, name, None)) is not None
    }
    users = session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.id))
    return [{"id": user.id, "email": user.email, "role": user.role} for user in users]
