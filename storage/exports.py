"""Records as plain rows for `kotha export`: no phone numbers, text exactly as written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Feedback, Interest, SurveyResponse


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def feedback_rows(session: Session) -> Iterator[dict[str, Any]]:
    for f in session.scalars(select(Feedback).order_by(Feedback.id)):
        yield {
            "reference": f.reference,
            "kind": f.kind,
            "status": f.status,
            "complete": f.complete,
            "service": f.service,
            "text": f.text,
            "desired_outcome": f.desired_outcome,
            "media": f.media,
            "wants_callback": f.wants_callback,
            "callback_language": f.callback_language,
            "consent_to_contact": f.consent_to_contact,
            "language": f.language,
            "channel": f.channel,
            "acknowledge_by": _plain(f.acknowledge_by),
            "created_at": _plain(f.created_at),
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
            "created_at": _plain(r.created_at),
        }


def interest_rows(session: Session) -> Iterator[dict[str, Any]]:
    for i in session.scalars(select(Interest).order_by(Interest.id)):
        yield {
            "id": i.id,
            "opportunity": i.opportunity,
            "contact_how": i.contact_how,
            "contact_when": i.contact_when,
            "language": i.language,
            "channel": i.channel,
            "created_at": _plain(i.created_at),
        }


EXPORTS = {"feedback": feedback_rows, "surveys": survey_rows, "interests": interest_rows}
