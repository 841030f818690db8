"""What a person answered when asked whether we may contact them, kept as it was asked.

A consent row holds the question (its message id), the words the person read in their
language with a digest of them (the wording's version: a reworded question or a corrected
translation is a new version), the channel, the moment and the answer. The newest answer
for a person counts: a No holds what bot/pipeline/hold.py NO_CONTACT_COVERS names on every
path that sends, until they say yes again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select
from sqlalchemy.orm import Session

from storage.models import Consent

# What an answer is about: being contacted about what they told us.
CONTACT = "contact"


def wording_version(wording: str) -> str:
    """A short digest of the words a question was asked in: equal words, equal version."""
    return hashlib.sha256(wording.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Asked:
    """A question of consent as one person read it, and their answer."""

    contact_id: int
    address_id: int
    purpose: str
    question: str  # the catalog message id
    wording: str  # in the language they read
    language: str
    channel: str
    answer: bool
    given_at: datetime
    feedback_id: int | None = None

    def row(self) -> dict[str, object]:
        return {
            "contact_id": self.contact_id,
            "address_id": self.address_id,
            "purpose": self.purpose,
            "question": self.question,
            "wording": self.wording,
            "wording_version": wording_version(self.wording),
            "language": self.language,
            "channel": self.channel,
            "answer": self.answer,
            "feedback_id": self.feedback_id,
            "given_at": self.given_at,
        }


def record(connection: Connection, asked: Asked) -> None:
    """Keep one answer, in the transaction of whatever asked it."""
    connection.execute(insert(Consent), asked.row())


def _newest(purpose: str, contact_id: int) -> Select[Any]:
    return (
        select(Consent)
        .where(Consent.contact_id == contact_id, Consent.purpose == purpose)
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
    )


def latest(session: Session, contact_id: int, purpose: str = CONTACT) -> Consent | None:
    """The person's newest answer about `purpose`, or None when they were never asked."""
    return session.scalars(_newest(purpose, contact_id)).first()


def refuses_contact(db: Connection | Session, contact_id: int) -> bool:
    """Whether the person's newest answer to "may we contact you?" is No."""
    answer = db.scalar(_newest(CONTACT, contact_id).with_only_columns(Consent.answer))
    return answer is False
