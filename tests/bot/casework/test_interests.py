"""Interests waiting too long: counted in working days (bank holidays out), named in the daily
digest, never for simulated people; KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS sets how long."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.casework.digest import MAX_CHARACTERS, CaseDigest, Urgent, digest_text
from bot.casework.interests import follow_up_by, waiting_count, waiting_since
from bot.channels.console import RecordingSender
from bot.services import Services, build_services
from bot.settings import SettingError, Settings, load
from bot.types import CHANNELS
from storage.db import Database
from storage.models import Address, Contact
from storage.records import create_interest
from tests.conftest import FrozenClock

LONDON = ZoneInfo("Europe/London")
WEDNESDAY = date(2026, 11, 18)


def test_the_follow_up_date_skips_weekends_and_bank_holidays() -> None:
    # Friday 18 Dec 2026 + 5 working days: 21-24 Dec, then 29 Dec (25, 28 are holidays).
    came = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)
    assert follow_up_by(came, LONDON, 5) == date(2026, 12, 29)
    # Waiting too long on the 30th, not on the 29th.
    assert came < waiting_since(date(2026, 12, 30), LONDON, 5)
    assert not came < waiting_since(date(2026, 12, 29), LONDON, 5)


@pytest.mark.parametrize("days", [1, 5, 20])
def test_waiting_since_agrees_with_the_follow_up_date_every_day(days: int) -> None:
    for offset in range(0, 40):
        today = WEDNESDAY + timedelta(days=offset)
        cutoff = waiting_since(today, LONDON, days)
        for back in range(0, 45):
            came = datetime.combine(today - timedelta(days=back), datetime.min.time(), LONDON)
            came += timedelta(hours=13)
            late = follow_up_by(came, LONDON, days) < today
            assert (came < cutoff) == late, (today, came)


def test_the_digest_names_interests_waiting_and_stays_within_two_texts() -> None:
    waiting = Urgent((), (), interests_waiting=3, follow_up_days=5)
    assert digest_text(WEDNESDAY, waiting) == (
        "Kotha cases Wed 18 Nov: nothing overdue or due soon. "
        "Interests not contacted in 5 working days: 3."
    )
    many = Urgent(tuple(f"C-{n:06d}" for n in range(40)), (), interests_waiting=12)
    text = digest_text(WEDNESDAY, many)
    assert len(text) <= MAX_CHARACTERS
    assert text.endswith(" Interests not contacted in 5 working days: 12.")
    assert "C-000000" in text and "more." in text


def add_interest(services: Services, address: str, created: datetime, **fields: object) -> None:
    with services.database.session() as session:
        row = Address(
            contact=Contact(language="en", created_at=created),
            channel="sms",
            address=address,
            created_at=created,
        )
        session.add(row)
        session.flush()
        made = create_interest(session, row, "en", {"opportunity": "surveys"}, created)
        for name, value in fields.items():
            setattr(made, name, value)


@pytest.fixture
def staffed(settings: Settings, database: Database, clock: FrozenClock) -> Services:
    sender = RecordingSender()
    built = build_services(
        settings.with_overrides(
            digest_to=("sms:+447700900399",), interest_follow_up_working_days=3
        ),
        senders={channel: sender for channel in CHANNELS},
        clock=clock,
        database=database,
    )
    built.sender = sender  # type: ignore[attr-defined]
    return built


def test_the_daily_digest_counts_interests_not_contacted_in_time(
    staffed: Services, clock: FrozenClock
) -> None:
    clock.now = datetime(2026, 11, 18, 8, 30, tzinfo=UTC)
    now = clock.now
    add_interest(staffed, "+447700900401", now - timedelta(days=7))  # waiting too long
    add_interest(staffed, "+447700900402", now - timedelta(days=1))  # not yet
    add_interest(staffed, "+447700900403", now - timedelta(days=9), status="contacted")
    add_interest(staffed, "sim:de0000ff", now - timedelta(days=9))  # the simulator's
    with staffed.database.session() as session:
        assert waiting_count(session, waiting_since(WEDNESDAY, LONDON, 3)) == 1
    digest = CaseDigest(staffed.database, staffed.settings, clock)
    assert len(digest.write_if_due(staffed.queue.enqueue)) == 1
    sender: RecordingSender = staffed.sender  # type: ignore[attr-defined]
    assert sender.sent[-1].text == (
        "Kotha cases Wed 18 Nov: nothing overdue or due soon. "
        "Interests not contacted in 3 working days: 1."
    )
    with staffed.database.session() as session:
        assert session.scalars(select(Contact).where(Contact.staff.is_(True))).one()


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    name = "KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS"
    where = {"KOTHA_INSTANCE_DIR": str(tmp_path)}
    assert load(where).interest_follow_up_working_days == 5
    assert load({**where, name: "8"}).interest_follow_up_working_days == 8
    for bad in ("0", "-2", "five", "1.5"):
        with pytest.raises(SettingError, match=name):
            load({**where, name: bad})
