"""The queue survives real `kotha worker` processes: killed, queue lost, two sharing Redis.

Each test starts real worker subprocesses against a fake Twilio on 127.0.0.1 and checks
what reached the fake. Waiting two minutes for the lease of a killed worker to run out is
simulated by moving the unsent rows' timestamps back by that much (the sweep reads only
those); the sweep itself runs every second here (KOTHA_SWEEP_SECONDS).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

from bot import settings as settings_module
from bot.casework.cases import update_status
from bot.pipeline.dispatch import QUEUED_GRACE, SENDING_LEASE
from bot.services import Services, build_services
from kotha import create_app
from storage.migrate import upgrade
from storage.models import Address, Base, Contact, Feedback, Message
from tests.conftest import POSTGRES, REDIS, REDIS_URL
from tests.fakes.twilio_api import FakeTwilio

KOTHA = str(Path(sys.executable).with_name("kotha"))
SMS_FROM = "+447700900900"


def quiet_hours_elsewhere() -> str:
    """A one-minute quiet window twelve hours from now, so nothing waits for morning."""
    start = datetime.now(ZoneInfo("Europe/London")) + timedelta(hours=12)
    end = start + timedelta(minutes=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def worker_env(fake: FakeTwilio, **extra: str) -> dict[str, str]:
    """The environment of a worker: this process's, without any Kotha or provider settings."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KOTHA_", "TWILIO_", "TELEGRAM_"))
    }
    return {
        **base,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "KOTHA_TWILIO_API_URL": fake.url,
        "KOTHA_SMS_FROM": SMS_FROM,
        "KOTHA_SECRET_KEY": "test-secret",
        "KOTHA_QUIET_HOURS": quiet_hours_elsewhere(),
        **extra,
    }


def queue_updates(services: Services, count: int) -> dict[int, str]:
    """Give `count` people a complaint and queue an update on each; return row id -> number."""
    now = datetime.now(UTC)
    with services.database.session() as session:
        for index in range(count):
            contact = Contact(language="en", created_at=now)
            address = Address(
                contact=contact, channel="sms", address=f"+4477009{index:05d}", created_at=now
            )
            session.add(address)
            session.flush()
            session.add(
                Feedback(
                    reference=f"KT{index:05d}",
                    kind="complaint",
                    status="received",
                    language="en",
                    channel="sms",
                    contact_id=contact.id,
                    address_id=address.id,
                    created_at=now,
                )
            )
        session.flush()
        rows = {}
        for index in range(count):
            row = update_status(session, f"KT{index:05d}", "acknowledged", None, now)
            assert row is not None
            rows[row.id] = f"+4477009{index:05d}"
    services.queue.enqueue(sorted(rows))
    return rows


def statuses(services: Services) -> Counter[str]:
    with services.database.session() as session:
        found = session.execute(
            select(Message.status, func.count())
            .where(Message.direction == "out")
            .group_by(Message.status)
        ).all()
    return Counter({status: count for status, count in found})


def age_unsent_rows(services: Services, by: timedelta) -> None:
    """Move the unsent rows back in time, as if `by` had passed since they were queued."""
    with services.database.session() as session:
        for row in session.scalars(
            select(Message).where(Message.status.in_(("queued", "sending")))
        ):
            row.created_at -= by
            if row.updated_at is not None:
                row.updated_at -= by


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def worker(env: dict[str, str], log: Path, threads: int = 4) -> Iterator[subprocess.Popen[bytes]]:
    """Run `kotha worker` until the block ends (or the test kills it first)."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [KOTHA, "worker", "--workers", str(threads)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def embedded(tmp_path: Path, fake: FakeTwilio) -> tuple[dict[str, str], Services]:
    """A SQLite database and the embedded SqliteHuey queue under tmp_path, sweeping each second."""
    env = worker_env(
        fake,
        KOTHA_INSTANCE_DIR=str(tmp_path / "instance"),
        KOTHA_SMS_PER_SECOND="10000",
        KOTHA_SWEEP_SECONDS="1",
    )
    services = build_services(settings_module.load(env), queue="huey")
    upgrade(services.database)
    return env, services


def test_a_killed_worker_loses_nothing(tmp_path: Path) -> None:
    with FakeTwilio() as fake:
        env, services = embedded(tmp_path, fake)
        rows = queue_updates(services, 1000)
        with worker(env, tmp_path / "worker.log") as first:
            wait_for(lambda: len(fake.sent) >= 200, 30, "200 sends before the kill")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        at_kill = statuses(services)
        # Each message at the fake is `sent` in the database, or `sending` if the worker died
        # between the provider's answer and recording it.
        assert at_kill["sent"] + at_kill["sending"] >= 200 and at_kill["queued"] > 0, at_kill
        # The lease of the dead worker's rows (and the grace of rows whose job died with
        # it) runs out: the next sweep queues them again.
        age_unsent_rows(services, SENDING_LEASE + QUEUED_GRACE)
        with worker(env, tmp_path / "worker.log"):
            wait_for(lambda: statuses(services)["sent"] == 1000, 30, "every row sent")

        received = Counter(message.address for message in fake.sent)
        assert set(received) == set(rows.values())
        twice = sum(count - 1 for count in received.values())
        # Only a row the dead worker had claimed (`sending`) can have reached the fake twice.
        assert twice <= at_kill["sending"]
        print(f"\nkilled with {dict(at_kill)}; sent twice after the lease: {twice}")
        with services.database.session() as session:
            unsent = session.scalar(
                select(func.count()).where(
                    Message.direction == "out", Message.provider_id.is_(None)
                )
            )
        assert unsent == 0
        services.close()


def test_a_lost_queue_is_rebuilt_by_the_sweep(tmp_path: Path) -> None:
    with FakeTwilio() as fake:
        env, services = embedded(tmp_path, fake)
        rows = queue_updates(services, 300)
        assert services.huey is not None
        assert services.huey.pending_count() == 300
        queue_file = tmp_path / "instance" / "queue.db"
        services.huey.storage.close()
        for path in tmp_path.glob("instance/queue.db*"):
            path.unlink()
        assert not queue_file.exists()
        age_unsent_rows(services, QUEUED_GRACE)
        with worker(env, tmp_path / "worker.log"):
            wait_for(lambda: statuses(services)["sent"] == 300, 30, "every row sent")
        received = Counter(message.address for message in fake.sent)
        # Nothing was being sent when the queue went: each row reaches the fake exactly once.
        assert received == Counter(rows.values())
        services.close()


# What a deployment keeps in Redis: Huey's queue and schedule, and the send counters.
KOTHA_KEYS = ("huey.*.kotha", "LIMITS:LIMITER/kotha:*")


@contextmanager
def redis_to_ourselves() -> Iterator[redis.Redis]:
    """Hold Kotha's keys in the test Redis database for this test, deleted before and after.

    Not a FLUSHDB: other tests share the database under prefixes of their own. A lock keeps
    two test runs on one machine from emptying each other's queue.
    """
    client = redis.Redis.from_url(REDIS_URL)

    def empty() -> None:
        for pattern in KOTHA_KEYS:
            for key in client.scan_iter(match=pattern):
                client.delete(key)

    lock = client.lock("kotha-test:workers", timeout=120, blocking_timeout=120)
    if not lock.acquire():
        pytest.fail("another test run held Kotha's keys in the Redis test database for 2 minutes")
    try:
        empty()
        yield client
    finally:
        empty()
        lock.release()
        client.close()


if POSTGRES and REDIS:
    # Deselected (not defined) where PostgreSQL or Redis is absent, unless CI=true.

    @pytest.mark.postgres
    def test_two_workers_share_one_rate_limit(_postgres_url: str, tmp_path: Path) -> None:
        limit, count = 20, 240
        with FakeTwilio() as fake, redis_to_ourselves():
            env = worker_env(
                fake,
                KOTHA_INSTANCE_DIR=str(tmp_path / "instance"),
                KOTHA_DATABASE_URL=_postgres_url,
                KOTHA_REDIS_URL=REDIS_URL,
                KOTHA_SMS_PER_SECOND=str(limit),
            )
            services = build_services(settings_module.load(env), queue="huey")
            try:
                rows = queue_updates(services, count)
                # Each worker sends from its own number so the fake can tell them apart;
                # the limit is counted per channel, so they still share it.
                with (
                    worker({**env, "KOTHA_SMS_FROM": "+447700900901"}, tmp_path / "1.log"),
                    worker({**env, "KOTHA_SMS_FROM": "+447700900902"}, tmp_path / "2.log"),
                ):
                    wait_for(lambda: statuses(services)["sent"] == count, 60, "every row sent")
                sent = fake.sent
                assert Counter(message.address for message in sent) == Counter(rows.values())
                # Two workers that did not share the limit would send about twice as many. The
                # fake sees each message a few milliseconds after the limiter let it go, more
                # or less under load, so a whole second of arrivals can hold the grant after
                # the limit's second: arrivals are counted in 0.9 s, which leaves room for that
                # jitter and none for a second worker's 18.
                assert fake.max_per_second(window=0.9) <= limit
                times = sorted(message.at for message in sent)
                rate = (len(times) - 1) / (times[-1] - times[0])
                by_worker = Counter(message.from_ for message in sent)
                print(
                    f"\n{rate:.1f}/s of {limit}/s; most in 1 s at the fake "
                    f"{fake.max_per_second()}; per worker {dict(by_worker)}"
                )
                assert rate >= 0.8 * limit
                assert set(by_worker) == {"+447700900901", "+447700900902"}
            finally:
                truncate_and_close(services)

    @pytest.mark.postgres
    def test_a_webhook_reaches_a_worker_through_postgresql(
        _postgres_url: str, tmp_path: Path
    ) -> None:
        """A message stored while no worker runs is stepped when one starts; later ones at once.

        The web app talks to PostgreSQL only: the database announces each message to the
        worker listening. The sweep waits an hour here, so it is not what steps them.
        """
        with FakeTwilio() as fake, redis_to_ourselves() as client:
            env = worker_env(
                fake,
                KOTHA_INSTANCE_DIR=str(tmp_path / "instance"),
                KOTHA_DATABASE_URL=_postgres_url,
                KOTHA_REDIS_URL=REDIS_URL,
                KOTHA_SWEEP_SECONDS="3600",
            )
            services = build_services(settings_module.load(env), queue="huey")
            web = create_app(services=services).test_client()
            validator = RequestValidator(fake.auth_token)

            def webhook(number: str, text: str) -> None:
                form = {"MessageSid": f"SM{secrets.token_hex(16)}", "From": number, "Body": text}
                form |= {"To": SMS_FROM, "NumMedia": "0", "AccountSid": fake.account_sid}
                url = "http://localhost/webhooks/twilio/messages"
                signature = validator.compute_signature(url, form)
                answer = web.post(url, data=form, headers={"X-Twilio-Signature": signature})
                assert answer.status_code == 200

            def replies_to(number: str) -> list[str]:
                return [message.body for message in fake.sent if message.to == number]

            try:
                webhook("+447700900001", "hello")  # nobody listens yet
                assert client.llen("huey.redis.kotha") == 0  # the web app queued nothing
                with worker(env, tmp_path / "worker.log"):
                    wait_for(lambda: len(replies_to("+447700900001")) == 1, 30, "the first reply")
                    webhook("+447700900002", "hi")
                    wait_for(lambda: len(replies_to("+447700900002")) == 1, 10, "the second reply")
                    webhook("+447700900001", "1")
                    wait_for(lambda: len(replies_to("+447700900001")) == 2, 10, "the third reply")
                assert "1 English" in replies_to("+447700900002")[0]
                assert "1 English" not in replies_to("+447700900001")[1]  # English was chosen
            finally:
                truncate_and_close(services)


def truncate_and_close(services: Services) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with services.database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    services.close()
