"""Writing what people told us: feedback with its reference, survey answers, interests."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from storage.models import Address, Feedback, Interest, SurveyResponse

KIND_PREFIX = {"complaint": "C", "comment": "M", "compliment": "P"}


class Owner(Protocol):
    """Whose record it is: an Address, or anything with its id, contact and channel."""

    @property
    def id(self) -> int: ...

    @property
    def contact_id(self) -> int: ...

    @property
    def channel(self) -> str: ...


@dataclass(frozen=True)
class AddressOwner:
    """An Owner known by its ids alone, without loading the Address (a step's hot path)."""

    id: int
    contact_id: int
    channel: str


def new_reference(session: Session | Connection, kind: str) -> str:
    """Return an unused reference like C-482173: a letter for the kind and six digits.

    Digits, because they are the same in every language and easy to read out on the phone.
    """
    prefix = KIND_PREFIX[kind]
    while True:
        reference = f"{prefix}-{secrets.randbelow(900_000) + 100_000}"
        taken = session.scalar(select(Feedback.id).where(Feedback.reference == reference))
        if taken is None:
            return reference


def create_feedback(
    session: Session,
    address: Address,
    language: str,
    kind: str,
    answers: Mapping[str, Any],
    complete: bool,
    now: datetime,
    acknowledge_by: date | None,
    respond_by: date | None = None,
) -> Feedback:
    """Add a feedback record; a complaint carries its statutory deadlines (bot/casework)."""
    reference = new_reference(session, kind)
    feedback = Feedback(
        **feedback_values(
            reference, address, language, kind, answers, complete, now, acknowledge_by, respond_by
        )
    )
    session.add(feedback)
    return feedback


def feedback_values(
    reference: str,
    address: Owner,
    language: str,
    kind: str,
    answers: Mapping[str, Any],
    complete: bool,
    now: datetime,
    acknowledge_by: date | None,
    respond_by: date | None = None,
) -> dict[str, Any]:
    """The columns of a feedback record, for the ORM or a Core INSERT (the runner's step)."""
    return dict(
        reference=reference,
        kind=kind,
        status="received" if complete else "incomplete",
        complete=complete,
        service=answers.get("service"),
        text=answers.get("text"),
        desired_outcome=answers.get("desired_outcome"),
        media=answers.get("text_media"),
        wants_callback=answers.get("wants_callback"),
        callback_language=answers.get("callback_language"),
        consent_to_contact=answers.get("consent_to_contact"),
        language=language,
        channel=address.channel,
        contact_id=address.contact_id,
        address_id=address.id,
        acknowledge_by=acknowledge_by,
        respond_by=respond_by,
        created_at=now,
    )


def create_survey_response(
    session: Session,
    address: Address,
    language: str,
    survey: str,
    answers: Mapping[str, Any],
    complete: bool,
    now: datetime,
) -> SurveyResponse:
    response = SurveyResponse(
        **survey_response_values(address, language, survey, answers, complete, now)
    )
    session.add(response)
    return response


def survey_response_values(
    address: Owner,
    language: str,
    survey: str,
    answers: Mapping[str, Any],
    complete: bool,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a survey response, for the ORM or a Core INSERT."""
    return dict(
        survey=survey,
        answers=dict(answers),
        complete=complete,
        language=language,
        channel=address.channel,
        contact_id=address.contact_id,
        address_id=address.id,
        created_at=now,
    )


def create_interest(
    session: Session,
    address: Address,
    language: str,
    answers: Mapping[str, Any],
    now: datetime,
) -> Interest:
    interest = Interest(**interest_values(address, language, answers, now))
    session.add(interest)
    return interest


def interest_values(
    address: Owner, language: str, answers: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The columns of an interest, for the ORM or a Core INSERT."""
    return dict(
        opportunity=answers.get("opportunity") or "unspecified",
        contact_how=answers.get("contact_how"),
        contact_when=answers.get("contact_when"),
        language=language,
        channel=address.channel,
        contact_id=address.contact_id,
        address_id=address.id,
        created_at=now,
    )
