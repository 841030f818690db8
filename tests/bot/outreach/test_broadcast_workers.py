"""Broadcasts through real `kotha worker` processes: killed part-way, cancelled part-way.

Like tests/bot/pipeline/test_workers.py: workers run against a fake Twilio on 127.0.0.1 and every
claim is checked where it lands, at the fake. A killed worker's lease running out is
simulated by moving the unsent rows' timestamps back; the sweep runs every second.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from bot.pipeline.dispatch import QUEUED_GRACE, SENDING_LEASE
from bot.services import Services
from storage.models import Address, Contact, Message, Preference
from tests.bot.pipeline.test_workers import age_unsent_rows, embedded, statuses, wait_for, worker
from tests.fakes.twilio_api import FakeTwilio


def subscribers(services: Services, count: int) -> set[str]:
    """Add `count` people with an SMS number each, in bulk; return their numbers."""
    now = datetime.now(UTC)
    numbers = [f"+447{index:09d}" for index in range(count)]
    with services.database.session() as session:
        session.execute(insert(Contact), [{"language": "en", "created_at": now} for _ in numbers])
        ids = session.scalars(select(Contact.id).order_by(Contact.id)).all()
        session.execute(
            insert(Address),
            [
                {"contact_id": contact_id, "channel": "sms", "address": number, "created_at": now}
                for contact_id, number in zip(ids, numbers, strict=True)
            ],
        )
        chose = {"invitations": True, "you_said": True, "surveys": True, "monthly_cap": 4}
        session.execute(
            insert(Preference),
            [
                {**chose, "contact_id": contact_id, "language": "en", "channel": "sms"}
                | {"updated_at": now}
                for contact_id in ids
            ],
        )
    return set(numbers)


def scheduled_now(services: Services, text: str) -> int:
    """A broadcast to everyone, due now: the worker's sweep starts and fans it out."""
    assert services.broadcasts is not None
    with services.database.session() as session:
        broadcast = services.broadcasts.create(
            session, title="Test", texts={"en": text}, segment={"kind": "all"}
        )
        broadcast_id = broadcast.id
    services.broadcasts.schedule(broadcast_id, datetime.now(UTC))
    return broadcast_id


def test_a_worker_killed_mid_broadcast_sends_each_person_exactly_once(tmp_path: Path) -> None:
    count = 10_000
    with FakeTwilio() as fake:
        env, services = embedded(tmp_path, fake)
        numbers = subscribers(services, count)
        scheduled_now(services, "The day centre opens on Saturdays from May.")
        started = time.monotonic()
        with worker(env, tmp_path / "worker.log") as first:
            wait_for(lambda: len(fake.sent) >= 2000, 60, "2,000 sends before the kill")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = statuses(services)
        assert at_kill["queued"] > 0, at_kill
        age_unsent_rows(services, SENDING_LEASE + QUEUED_GRACE)
        with worker(env, tmp_path / "worker.log"):
            # Counted at the fake, not in the database, so the waiting costs the worker nothing.
            wait_for(lambda: len(fake.sent) >= count, 180, "every person reached")
            wait_for(lambda: statuses(services)["sent"] == count, 30, "every row recorded")
        received = Counter(message.address for message in fake.sent)
        print(f"\nkilled with {dict(at_kill)}; {count} sent in {time.monotonic() - started:.1f} s")
        assert set(received) == numbers
        assert [number for number, times in received.items() if times > 1] == []
        services.close()


def test_cancelling_part_way_stops_everyone_not_yet_sent(tmp_path: Path) -> None:
    count = 2000
    with FakeTwilio() as fake:
        env, services = embedded(tmp_path, fake)
        env["KOTHA_SMS_PER_SECOND"] = "200"  # slow enough to cancel half-way
        subscribers(services, count)
        broadcast_id = scheduled_now(services, "A meeting about transport on Monday.")
        assert services.broadcasts is not None
        with worker(env, tmp_path / "worker.log"):
            wait_for(lambda: len(fake.sent) >= 300, 60, "300 sends before cancelling")
            services.broadcasts.cancel(broadcast_id)
            with services.database.session() as session:
                claimed = set(
                    session.scalars(
                        select(Address.address)
                        .join(Message, Message.address_id == Address.id)
                        .where(
                            Message.broadcast_id == broadcast_id,
                            Message.status.in_(("sending", "sent")),
                        )
                    )
                )
            time.sleep(3)  # time for any job still queued to run and find nothing to do
        at_fake = Counter(message.address for message in fake.sent)
        after = statuses(services)
        print(f"\ncancelled: {dict(after)}; {len(at_fake)} reached the fake")
        assert set(at_fake) <= claimed
        assert after["cancelled"] >= count - len(claimed)
        assert after["cancelled"] + after["sent"] == count
        services.close()
