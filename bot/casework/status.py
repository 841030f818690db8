"""Where a person's feedback is, told to them alone when they send its reference or STATUS.

The runner asks this inside the step of the message that asks (flows/engine.py
`status_query`), for the person who sent it: only feedback of the same contact, on any of
their channels, is found. Someone else's reference is answered exactly as one that does
not exist, so a guessed reference tells nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from bot.casework.cases import KIND_TEXT, STATUS_TEXT, status_text
from flows.engine import CaseStatus, StatusQuery
from flows.texts import N_
from storage.models import Feedback

# What each status means, said to the person who asks (the steps after `received` say what
# the case update said).
PROGRESS_TEXT = {
    **STATUS_TEXT,
    "received": N_("it has reached us and is waiting to be looked at."),
    "incomplete": N_("you left it part-way, and we kept what you told us."),
}
_COLUMNS = (
    Feedback.reference,
    Feedback.kind,
    Feedback.status,
    Feedback.respond_by,
    Feedback.decided_at,
    Feedback.closed_at,
)


def case_status(connection: Connection, contact_id: int, query: StatusQuery) -> CaseStatus:
    """Their feedback with the reference asked (or their newest), as the answer's parameters."""
    found = select(*_COLUMNS).where(Feedback.contact_id == contact_id)
    if query.reference is not None:
        found = found.where(Feedback.reference == query.reference)
    row = connection.execute(found.order_by(Feedback.id.desc()).limit(1)).first()
    if row is None:
        return CaseStatus(query.reference)
    reference, kind, status, respond_by, decided_at, closed_at = row
    params: dict[str, Any] = {
        "kind": {"msgid": KIND_TEXT[kind]},
        "reference": reference,
        # A step past "received" is said in the words for its kind (a compliment passed on).
        "status": {
            "msgid": status_text(kind, status)
            if status in STATUS_TEXT
            else PROGRESS_TEXT.get(status, PROGRESS_TEXT["received"])
        },
    }
    if respond_by is not None and decided_at is None and closed_at is None:
        params["deadline"] = {"date": respond_by.isoformat()}
    return CaseStatus(query.reference, params)
