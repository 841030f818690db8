"""Telling a person what happened to their feedback, in their language, on their channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.engine import N_
from storage.models import Feedback, Message

# The case lifecycle staff move feedback through, and what each step tells the person.
STATUS_TEXT = {
    "acknowledged": N_("we have received it and are looking into it."),
    "in_progress": N_("we are working on it."),
    "resolved": N_("we have finished looking into it and put things right."),
    "not_upheld": N_("we have finished looking into it and did not find a fault."),
    "closed": N_("it is now closed."),
}
STATUSES = ("received", *STATUS_TEXT)
KIND_TEXT = {
    "complaint": N_("complaint"),
    "comment": N_("comment"),
    "compliment": N_("compliment"),
}
UPDATE = N_("Update on your {kind} {reference}: {status}")
UPDATE_WITH_NOTE = N_("Update on your {kind} {reference}: {status} {note}")


class UnknownFeedback(LookupError):
    """No feedback has that reference."""


def update_status(
    session: Session, reference: str, status: str, note: str | None, now: datetime
) -> Message | None:
    """Set a feedback record's status and queue the update to the person; return its row.

    Returns None when the new status has nothing to tell (back to "received").
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    feedback = session.scalar(select(Feedback).where(Feedback.reference == reference.strip()))
    if feedback is None:
        raise UnknownFeedback(reference)
    feedback.status = status
    if status not in STATUS_TEXT:
        return None
    params: dict[str, object] = {
        "kind": {"msgid": KIND_TEXT[feedback.kind]},
        "reference": feedback.reference,
        "status": {"msgid": STATUS_TEXT[status]},
    }
    if note:
        params["note"] = note
    row = Message(
        address_id=feedback.address_id,
        channel=feedback.channel,
        direction="out",
        status="queued",
        # Not a reply to someone who just wrote: it waits for morning in quiet hours.
        is_reply=False,
        template=UPDATE_WITH_NOTE if note else UPDATE,
        params=params,
        choices=[],
        feedback_id=feedback.id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row
