"""Rows the storage tests write before the one they are about."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Address, Contact, EqualityMonitoring, Message, Preference

MOMENT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
_numbers = itertools.count()


def new_address(database: Database) -> int:
    """Store a new person with one SMS number of their own; return the address id."""
    with database.session() as session:
        address = Address(
            contact=Contact(created_at=MOMENT),
            channel="sms",
            address=f"+4477009{next(_numbers):05d}",
            created_at=MOMENT,
        )
        session.add(address)
        session.flush()
        return address.id


def yes_to_broadcasts(session: Session, contact: Contact, now: datetime, cap: int = 4) -> None:
    """Record that a person said yes to every kind of broadcast (bot/pipeline/preferences.py)."""
    session.flush()
    session.add(
        Preference(
            contact_id=contact.id,
            invitations=True,
            you_said=True,
            surveys=True,
            monthly_cap=cap,
            language=contact.language or "en",
            channel="sms",
            updated_at=now,
        )
    )


def someone_who_wrote(session: Session, number: str, language: str, at: datetime) -> Address:
    """A person who wrote "hi" by SMS at `at`: their contact, address and message."""
    address = Address(
        contact=Contact(created_at=at, language=language),
        channel="sms",
        address=number,
        created_at=at,
    )
    session.add(address)
    session.flush()
    session.add(
        Message(
            address_id=address.id,
            channel="sms",
            direction="in",
            status="processed",
            body="hi",
            created_at=at,
        )
    )
    return address


def answered_equality(session: Session, address: Address, at: datetime, ethnicity: str) -> None:
    """Their answers to the equality questions: an Asian ethnic group, `ethnicity` within it."""
    session.add(
        EqualityMonitoring(
            contact_id=address.contact_id,
            asked_at=at,
            answered_at=at,
            ethnic_group="asian",
            ethnicity=ethnicity,
            language=address.contact.language or "en",
            channel="sms",
        )
    )
