"""Retention: people silent past their period and complaints closed past theirs are erased."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import settings as settings_module
from bot.casework.erasure import add_months
from bot.channels.console import RecordingSender
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import CHANNELS, Kind
from storage.db import Database
from storage.models import Address, Contact, Feedback
from tests.bot.casework.test_people import kotha
from tests.conftest import FrozenClock

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def someone(services: Services, number: str, last_message: datetime, staff: bool = False) -> int:
    """A person whose last message (an outbound one: either way counts) was at that time."""
    with services.database.session() as session:
        address = Address(
            contact=Contact(language="en", created_at=last_message, staff=staff),
            channel="sms",
            address=number,
            created_at=last_message,
        )
        session.add(address)
        session.flush()
        outbox.add(
            session,
            Outbound(address.id, "sms", last_message, Kind.REPLY, body="Hello.", language="en"),
        ).status = "delivered"
        return address.contact_id


def complaint(services: Services, reference: str, closed: datetime | None) -> int:
    contact_id = someone(services, f"+4477009{reference[-5:]}", NOW)
    with services.database.session() as session:
        address_id = session.scalars(
            select(Address.id).where(Address.contact_id == contact_id)
        ).one()
        record = Feedback(
            reference=reference,
            kind="complaint",
            status="closed" if closed else "received",
            service="home_care",
            text=f"The words of {reference}",
            language="en",
            channel="sms",
            contact_id=contact_id,
            address_id=address_id,
            created_at=closed or NOW,
            closed_at=closed,
        )
        session.add(record)
        session.flush()
        return record.id


def test_months_are_calendar_months() -> None:
    assert add_months(NOW.date(), -24).isoformat() == "2024-11-18"
    assert add_months(datetime(2024, 2, 29).date(), 72).isoformat() == "2030-02-28"
    assert add_months(datetime(2026, 1, 31).date(), -2).isoformat() == "2025-11-30"


def test_the_periods_are_settings_and_bad_ones_are_refused() -> None:
    loaded = settings_module.load(
        {
            "KOTHA_SECRET_KEY": "x",
            "KOTHA_RETENTION_CONVERSATIONS_MONTHS": "36",
            "KOTHA_RETENTION_COMPLAINTS_MONTHS": "84",
        }
    )
    assert (loaded.retention_conversations_months, loaded.retention_complaints_months) == (36, 84)
    assert settings_module.load({"KOTHA_SECRET_KEY": "x"}).retention_complaints_months == 72
    for bad in ("0", "-3", "two years", "1.5"):
        with pytest.raises(ValueError, match="KOTHA_RETENTION_CONVERSATIONS_MONTHS"):
            settings_module.load(
                {"KOTHA_SECRET_KEY": "x", "KOTHA_RETENTION_CONVERSATIONS_MONTHS": bad}
            )


def test_what_is_due_and_what_is_not(services: Services) -> None:
    silent = someone(services, "+447700900401", NOW - timedelta(days=2 * 366))
    someone(services, "+447700900402", NOW - timedelta(days=690))  # 22 and a half months
    someone(services, "+447700900403", NOW - timedelta(days=3000), staff=True)
    old = complaint(services, "C-100001", NOW - timedelta(days=6 * 366))
    complaint(services, "C-100002", NOW - timedelta(days=5 * 365))
    complaint(services, "C-100003", None)

    due = services.retention.due()

    assert [(item.kind, item.id) for item in due] == [("person", silent), ("complaint", old)]
    assert due[0].why == "no message for 24 months"
    assert due[1].label == "complaint C-100001"


def test_dry_run_lists_and_changes_nothing_then_retention_erases(services: Services) -> None:
    silent = someone(services, "+447700900411", datetime(2020, 1, 5, tzinfo=UTC))
    old = complaint(services, "C-100011", datetime(2019, 6, 1, tzinfo=UTC))

    listed = kotha(services, "retention", "--dry-run")

    assert listed.returncode == 0, listed.stderr
    assert f"would erase person {silent} (since 2020-01-05): no message for 24 months" in (
        listed.stdout
    )
    assert "would erase complaint C-100011 (since 2019-06-01)" in listed.stdout
    assert "+447700900411" not in listed.stdout
    with services.database.session() as session:
        assert session.get_one(Contact, silent).erased_at is None

    applied = kotha(services, "retention")

    assert applied.returncode == 0, applied.stderr
    assert "2 erased, 0 not" in applied.stdout
    with services.database.session() as session:
        assert session.get_one(Contact, silent).erased_at is not None
        record = session.get_one(Feedback, old)
        assert (record.text, record.kind, record.service) == (None, "complaint", "home_care")
    again = kotha(services, "retention", "--dry-run")
    assert again.stdout.strip() == "0 to erase"


def test_the_queue_consumer_runs_retention_daily(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    services = build_services(
        settings,
        senders={channel: RecordingSender() for channel in CHANNELS},
        clock=clock,
        database=database,
        queue="huey",
    )
    silent = someone(services, "+447700900421", datetime(2020, 1, 5, tzinfo=UTC))
    huey = services.huey
    assert huey is not None

    def due_at(hour: int, minute: int) -> list[object]:
        moment = datetime(2026, 11, 18, hour, minute)
        return [t for t in huey.read_periodic(moment) if t.name == "kotha.retention"]

    assert due_at(3, 14) == [] and due_at(10, 15) == []
    (task,) = due_at(3, 15)
    huey.execute(task)
    huey.execute(task)  # another consumer the same minute: nothing more, nothing broken
    with database.session() as session:
        assert session.get_one(Contact, silent).erased_at is not None
