"""Records as plain rows for `kotha export`: no phone numbers, text exactly as written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    Consultation,
    Feedback,
    Interest,
    MediaNote,
    Message,
    Opportunity,
    Rsvp,
    SurveyResponse,
    User,
)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# such cells get a leading apostrophe, which spreadsheets show as text. Tab and carriage
# return are on OWASP's list too, for the same reason.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Return a cell a spreadsheet shows as text: formulas are defused with an apostrophe.

    Every CSV Kotha writes (the console's and `kotha export`'s) passes its cells here.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def media_notes_by_url(session: Session) -> dict[str, MediaNote]:
    """Staff's transcripts and translations, by the file they are of (its provider URL).

    A feedback record keeps the files of the message that told its story (their URLs), the
    notes the message's file: the URL joins them.
    """
    found: dict[str, MediaNote] = {}
    for note, media in session.execute(
        select(MediaNote, Message.media)
        .join(Message, Message.id == MediaNote.message_id)
        .order_by(MediaNote.id)
    ):
        items = media if isinstance(media, list) else []
        if 0 <= note.media_index < len(items) and isinstance(items[note.media_index], dict):
            found[str(items[note.media_index].get("url", ""))] = note
    return found


def _noted(media: Any, notes: dict[str, MediaNote]) -> tuple[str | None, str | None]:
    """A record's files' transcripts and translations, each joined by blank lines, or None."""
    found = [
        notes[str(item.get("url"))]
        for item in (media if isinstance(media, list) else [])
        if isinstance(item, dict) and str(item.get("url")) in notes
    ]
    transcripts = [note.transcript for note in found if note.transcript]
    translations = [note.translation for note in found if note.translation]
    return "\n\n".join(transcripts) or None, "\n\n".join(translations) or None


def feedback_rows(session: Session) -> Iterator[dict[str, Any]]:
    notes = media_notes_by_url(session)
    for f in session.scalars(select(Feedback).order_by(Feedback.id)):
        transcript, translation = _noted(f.media, notes)
        yield {
            "reference": f.reference,
            "kind": f.kind,
            "status": f.status,
            "complete": f.complete,
            "service": f.service,
            "text": f.text,
            "desired_outcome": f.desired_outcome,
            "media": f.media,
            # Staff's transcript and English translation of the voice notes (console).
            "transcript": transcript,
            "translation": translation,
            "wants_callback": f.wants_callback,
            "callback_language": f.callback_language,
            "consent_to_contact": f.consent_to_contact,
            "language": f.language,
            "channel": f.channel,
            "simulated": f.simulated,
            "acknowledge_by": _plain(f.acknowledge_by),
            "created_at": _plain(f.created_at),
            **_lifecycle(f),
        }


def _lifecycle(f: Feedback) -> dict[str, Any]:
    """A case's deadlines, the first time it reached each step, and its outcome."""
    return {
        "respond_by": _plain(f.respond_by),
        "acknowledged_at": _plain(f.acknowledged_at),
        "in_progress_at": _plain(f.in_progress_at),
        "decided_at": _plain(f.decided_at),
        "closed_at": _plain(f.closed_at),
        "outcome": f.outcome,
        "outcome_change": f.outcome_change,
    }


def _in_time(done: datetime | None, deadline: date | None, zone: ZoneInfo) -> str:
    """Say "yes" or "no" once a deadline was met or missed; empty while it is still owed."""
    if deadline is None or done is None:
        return ""
    return "yes" if done.astimezone(zone).date() <= deadline else "no"


def case_row(f: Feedback, zone: ZoneInfo) -> dict[str, Any]:
    """One case for the complaints annual report: deadlines, lifecycle times and outcome.

    What the person wrote is left out; the report counts and times cases.
    """
    responded = f.decided_at or f.closed_at
    return {
        "reference": f.reference,
        "kind": f.kind,
        "status": f.status,
        "service": f.service,
        "topic": f.topic,
        "language": f.language,
        "channel": f.channel,
        "simulated": f.simulated,
        "created_at": _plain(f.created_at),
        "acknowledge_by": _plain(f.acknowledge_by),
        **_lifecycle(f),
        "acknowledged_in_time": _in_time(f.acknowledged_at, f.acknowledge_by, zone),
        "responded_in_time": _in_time(responded, f.respond_by, zone),
    }


def survey_rows(session: Session) -> Iterator[dict[str, Any]]:
    for r in session.scalars(select(SurveyResponse).order_by(SurveyResponse.id)):
        yield {
            "id": r.id,
            "survey": r.survey,
            "complete": r.complete,
            "answers": r.answers,
            "language": r.language,
            "channel": r.channel,
            "simulated": r.simulated,
            "created_at": _plain(r.created_at),
        }


def interest_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every interest with its opportunity's English title, where staff are with it and who
    follows it up (the assignee's email)."""
    titles = {
        key: titles for key, titles in session.execute(select(Opportunity.key, Opportunity.titles))
    }
    emails = {user_id: email for user_id, email in session.execute(select(User.id, User.email))}
    for i in session.scalars(select(Interest).order_by(Interest.id)):
        named = titles.get(i.opportunity) or {}
        yield {
            "id": i.id,
            "opportunity": i.opportunity,
            "opportunity_title": named.get("en") or next(iter(named.values()), ""),
            "status": i.status,
            "assigned_to": emails.get(i.assigned_to) if i.assigned_to is not None else None,
            "contact_how": i.contact_how,
            "contact_when": i.contact_when,
            "language": i.language,
            "channel": i.channel,
            "simulated": i.simulated,
            "created_at": _plain(i.created_at),
            "contacted_at": _plain(i.contacted_at),
        }


def event_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every event with its details and how many said they will come, or will not."""
    answers: dict[int, dict[str, int]] = {}
    for event_id, answer, number in session.execute(
        select(Rsvp.event_id, Rsvp.answer, func.count()).group_by(Rsvp.event_id, Rsvp.answer)
    ):
        answers.setdefault(event_id, {})[answer] = number
    for e in session.scalars(select(Consultation).order_by(Consultation.start_at, Consultation.id)):
        yield {
            "id": e.id,
            "title": e.titles.get("en") or next(iter(e.titles.values()), ""),
            "titles": e.titles,
            "start_at": _plain(e.start_at),
            "end_at": _plain(e.end_at),
            "place": e.place,
            "step_free": e.step_free,
            "hearing_loop": e.hearing_loop,
            "parking": e.parking,
            "access_notes": e.access_notes,
            "languages": e.languages,
            "interpreters": e.interpreters,
            "topic": e.topic,
            "capacity": e.capacity,
            "status": e.status,
            "sequence": e.sequence,
            "attending": answers.get(e.id, {}).get("yes", 0),
            "not_attending": answers.get(e.id, {}).get("no", 0),
        }


EXPORTS = {
    "feedback": feedback_rows,
    "surveys": survey_rows,
    "interests": interest_rows,
    "events": event_rows,
}
