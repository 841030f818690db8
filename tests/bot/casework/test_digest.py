"""The daily digest of overdue and due-soon cases: its text, once a day at 08:00, the command."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.casework.cases import complaint_deadlines
from bot.casework.digest import MAX_CHARACTERS, CaseDigest, Urgent, digest_text
from bot.channels.console import RecordingSender
from bot.services import Services, build_services
from bot.settings import Settings
from bot.sms import is_gsm7, sms_cost
from bot.types import CHANNELS
from storage.db import Database
from storage.models import Address, Contact, Feedback, Message
from storage.records import create_feedback
from tests.conftest import FrozenClock

LONDON = ZoneInfo("Europe/London")
STAFF = ("telegram:900100", "sms:+447700900301")
KOTHA = str(Path(sys.executable).with_name("kotha"))
WEDNESDAY = date(2026, 11, 18)


def test_the_text_counts_and_names_the_most_urgent_first() -> None:
    urgent = Urgent(overdue=("C-100001", "C-100002"), due_soon=("C-100003",))
    assert digest_text(WEDNESDAY, urgent) == (
        "Kotha cases Wed 18 Nov: 2 overdue, 1 due soon. "
        "Overdue: C-100001, C-100002. Due soon: C-100003."
    )
    assert digest_text(WEDNESDAY, Urgent((), ())) == (
        "Kotha cases Wed 18 Nov: nothing overdue or due soon."
    )


def test_a_long_list_is_cut_to_fit_two_text_messages() -> None:
    many = Urgent(
        overdue=tuple(f"C-1{n:05d}" for n in range(40)),
        due_soon=tuple(f"C-2{n:05d}" for n in range(10)),
    )
    text = digest_text(WEDNESDAY, many)
    assert len(text) <= MAX_CHARACTERS and is_gsm7(text)
    assert sms_cost(text).segments <= 2
    assert text.startswith("Kotha cases Wed 18 Nov: 40 overdue, 10 due soon. Overdue: C-100000,")
    shown = text.count("C-")
    assert shown >= 20 and text.endswith(f" +{50 - shown} more.")
    assert "Due soon" not in text  # the overdue ones come first


def add_complaint(services: Services, reference: str, created: datetime, **fields: object) -> None:
    with services.database.session() as session:
        address = session.scalar(select(Address).where(Address.address == "+447700900555"))
        if address is None:
            address = Address(
                contact=Contact(created_at=created, language="en"),
                channel="sms",
                address="+447700900555",
                created_at=created,
            )
            session.add(address)
            session.flush()
        ack, respond = complaint_deadlines(created, LONDON, 20)
        feedback = create_feedback(
            session, address, "en", "complaint", {}, True, created, ack, respond
        )
        feedback.reference = reference
        for name, value in fields.items():
            setattr(feedback, name, value)


@pytest.fixture
def staffed(settings: Settings, database: Database, clock: FrozenClock) -> Services:
    """Services whose digest goes to two colleagues; every send recorded."""
    sender = RecordingSender()
    built = build_services(
        settings.with_overrides(digest_to=STAFF),
        senders={channel: sender for channel in CHANNELS},
        clock=clock,
        database=database,
    )
    built.sender = sender  # type: ignore[attr-defined]
    return built


def test_the_digest_goes_once_a_day_from_eight(staffed: Services, clock: FrozenClock) -> None:
    now = datetime(2026, 11, 18, 7, 59, tzinfo=UTC)  # 07:59 in London (GMT)
    clock.now = now
    add_complaint(staffed, "C-500001", now - timedelta(days=10))  # acknowledgement overdue
    add_complaint(staffed, "C-500002", now - timedelta(days=1))  # acknowledge by Friday
    add_complaint(staffed, "C-500003", now, acknowledged_at=now)  # not due for weeks
    digest = CaseDigest(staffed.database, staffed.settings, clock)
    sender: RecordingSender = staffed.sender  # type: ignore[attr-defined]

    assert digest.write_if_due(staffed.queue.enqueue) == []
    clock.advance(timedelta(minutes=1))
    first = digest.write_if_due(staffed.queue.enqueue)
    clock.advance(timedelta(hours=3))
    again = digest.write_if_due(staffed.queue.enqueue)

    assert len(first) == 2 and again == []
    expected = (
        "Kotha cases Wed 18 Nov: 1 overdue, 1 due soon. Overdue: C-500001. Due soon: C-500002."
    )
    assert [(m.channel, m.address, m.text) for m in sender.sent] == [
        ("telegram", "900100", expected),
        ("sms", "+447700900301", expected),
    ]
    with staffed.database.session() as session:
        staff = session.scalars(select(Contact).where(Contact.staff.is_(True))).all()
        assert len(staff) == 2 and {c.language for c in staff} == {"en"}
        row = session.get_one(Message, first[1])
        assert (row.dedupe_key, row.encoding, row.segments) == ("digest:2026-11-18", "GSM-7", 1)

    clock.advance(timedelta(days=1))  # Thursday 11:00: a new day, a new digest
    assert len(digest.write_if_due(staffed.queue.enqueue)) == 2
    assert sender.sent[-1].text.startswith("Kotha cases Thu 19 Nov: 1 overdue, 1 due soon.")


def test_eight_oclock_is_local_time_in_summer(staffed: Services, clock: FrozenClock) -> None:
    clock.now = datetime(2027, 6, 2, 7, 0, tzinfo=UTC)  # 08:00 British Summer Time
    digest = CaseDigest(staffed.database, staffed.settings, clock)
    assert len(digest.write_if_due(staffed.queue.enqueue)) == 2
    sent = staffed.sender.sent[-1].text  # type: ignore[attr-defined]
    assert sent == "Kotha cases Wed 2 Jun: nothing overdue or due soon."


def test_the_queue_consumer_runs_the_digest_as_a_periodic_task(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    clock.now = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    services = build_services(
        settings.with_overrides(digest_to=("sms:+447700900302",)),
        senders={channel: RecordingSender() for channel in CHANNELS},
        clock=clock,
        database=database,
        queue="huey",
    )
    huey = services.huey
    assert huey is not None
    tasks = [t for t in huey.read_periodic(datetime.now()) if t.name == "kotha.case_digest"]
    assert len(tasks) == 1
    huey.execute(tasks[0])
    huey.execute(tasks[0])  # a second consumer checking the same minute
    with database.session() as session:
        rows = session.scalars(select(Message).where(Message.dedupe_key.is_not(None))).all()
        assert [(r.dedupe_key, r.direction) for r in rows] == [("digest:2026-11-18", "out")]
        assert session.scalar(select(Feedback.id)) is None


def test_the_command_prints_and_sends_the_digest(tmp_path: Path) -> None:
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_QUIET_HOURS": "00:00-00:00"}
    env.pop("KOTHA_DATABASE_URL", None)
    env.pop("KOTHA_DIGEST_TO", None)

    def kotha(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KOTHA, *args], env={**env, **extra}, capture_output=True, text=True, timeout=60
        )

    printed = kotha("cases", "digest")
    assert printed.returncode == 0
    assert printed.stdout.startswith("Kotha cases ")
    assert printed.stdout.strip().endswith(": nothing overdue or due soon.")
    unset = kotha("cases", "digest", "--send")
    assert unset.returncode == 2 and "set KOTHA_DIGEST_TO first" in unset.stderr
    to = {"KOTHA_DIGEST_TO": "sms:+447700900303"}
    assert kotha("cases", "digest", "--send", **to).stdout.endswith(
        "sent to 1 of 1 (once a day each)\n"
    )
    assert kotha("cases", "digest", "--send", **to).stdout.endswith(
        "sent to 0 of 1 (once a day each)\n"
    )
