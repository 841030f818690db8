"""Measure how close the dispatcher keeps one SMS sender to its rate limit, and never above it.

It gives N people one queued single-segment update each, then delivers them all to a fake
Twilio API that runs in a process of its own and stamps each message as it arrives:

- `--mode threads` (default): T threads in this process call `Dispatcher.deliver`, the
  limit counted in memory by `SendLimits` (a SQLite database in a temporary directory);
- `--mode workers`: W `kotha worker` processes share the Huey queue and the limit in Redis
  (the Redis database given is emptied of Kotha's keys before and after).

It prints the rate reached as a share of the limit (target at least 95%), the most messages
in any one-second sliding window at the fake (must not pass the limit), the total time, and
in threads mode how long each message took from leaving the limiter to reaching the fake.
`--jitter` replaces bot.pipeline.ratelimit.JITTER_SECONDS, the lateness the pacing allows
for, to see how much room it needs.
Run `python bench/dispatch.py --help`.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis
from fake_twilio import Arrival, FakeTwilioProcess
from sqlalchemy import func, select

from bot import settings as settings_module
from bot.pipeline import ratelimit
from bot.services import Services, build_services
from storage.migrate import upgrade
from storage.models import Address, Contact, Message

KOTHA = str(Path(sys.executable).with_name("kotha"))
TARGET = 0.95
BODY = "Kotha: the day centre on Vallance Road opens again on Monday. Reply STOP to opt out."


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most events within any `window` seconds (a sliding window)."""
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def quiet_hours_elsewhere() -> str:
    """A one-minute quiet window twelve hours from now, so nothing waits for morning."""
    start = datetime.now(ZoneInfo("Europe/London")) + timedelta(hours=12)
    return f"{start:%H:%M}-{start + timedelta(minutes=1):%H:%M}"


def environment(
    fake: FakeTwilioProcess, instance: Path, limit: int, **extra: str
) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KOTHA_", "TWILIO_"))}
    return {
        **base,
        "KOTHA_INSTANCE_DIR": str(instance),
        "KOTHA_SECRET_KEY": "bench",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "KOTHA_TWILIO_API_URL": fake.url,
        "KOTHA_SMS_FROM": "+447700900900",
        "KOTHA_SMS_PER_SECOND": str(limit),
        "KOTHA_QUIET_HOURS": quiet_hours_elsewhere(),
        **extra,
    }


def queue_rows(services: Services, count: int) -> list[int]:
    """Write one queued outbound SMS (staff-written, single segment) for each of `count` people."""
    now = datetime.now(UTC)
    with services.database.session() as session:
        addresses = [
            Address(
                contact=Contact(language="en", created_at=now),
                channel="sms",
                address=f"+4477009{index:05d}",
                created_at=now,
            )
            for index in range(count)
        ]
        session.add_all(addresses)
        session.flush()
        rows = []
        for address in addresses:
            row = Message(
                address_id=address.id,
                channel="sms",
                direction="out",
                status="queued",
                body=BODY,
                language="en",
                created_at=now,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        return [row.id for row in rows]


def unsent(services: Services) -> int:
    with services.database.session() as session:
        found: int = (
            session.scalar(
                select(func.count()).where(Message.direction == "out", Message.status == "queued")
            )
            or 0
        )
        found += (
            session.scalar(
                select(func.count()).where(Message.direction == "out", Message.status == "sending")
            )
            or 0
        )
    return found


def deliver_in_threads(services: Services, ids: list[int], threads: int) -> dict[str, float]:
    """Deliver every row from `threads` threads; return when each address left the limiter."""
    limits = services.dispatcher.limits
    assert limits is not None
    released: dict[str, float] = {}
    acquire = limits.acquire

    def timed_acquire(channel: str, address: str, cost: int = 1) -> float:
        waited = acquire(channel, address, cost)
        released[address] = time.monotonic()
        return waited

    limits.acquire = timed_acquire  # type: ignore[method-assign]
    pending_ids: queue.SimpleQueue[int] = queue.SimpleQueue()
    for message_id in ids:
        pending_ids.put(message_id)

    def work() -> None:
        while True:
            try:
                message_id = pending_ids.get_nowait()
            except queue.Empty:
                return
            services.dispatcher.deliver(message_id)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return released


@contextmanager
def redis_emptied(url: str) -> Iterator[None]:
    """Remove Kotha's queue and rate-limit keys from this Redis database before and after."""
    client = redis.Redis.from_url(url)

    def empty() -> None:
        for pattern in ("huey.*.kotha", "LIMITS:LIMITER/kotha:*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)

    empty()
    try:
        yield
    finally:
        empty()
        client.close()


def deliver_with_workers(
    services: Services, env: dict[str, str], ids: list[int], workers: int, threads: int, log: Path
) -> None:
    """Start `workers` consumers, queue every row, and wait until none is left unsent."""
    processes = []
    with log.open("ab") as output:
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    [KOTHA, "worker", "--workers", str(threads)],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        time.sleep(2.0)  # let both consumers start before the first job appears
        services.queue.enqueue(ids)
        deadline = time.monotonic() + 10 + 3 * len(ids) / int(env["KOTHA_SMS_PER_SECOND"])
        while unsent(services):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"workers stopped or too slow; see {log}")
            time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(
    args: argparse.Namespace, arrivals: list[Arrival], elapsed: float, released: dict[str, float]
) -> bool:
    """Print the figures; return whether the targets were met."""
    times = sorted(item.at for item in arrivals)
    segments = sum(item.segments for item in arrivals)
    spread = times[-1] - times[0]
    # n messages span n-1 gaps; per segment, since all of them are single-segment.
    rate = (len(times) - 1) / spread if spread > 0 else float("inf")
    share = rate / args.limit
    most = max_in_window(times)
    print(f"messages at the fake:        {len(arrivals)} ({segments} segments)")
    print(f"total time:                  {elapsed:.2f} s (first to last arrival {spread:.2f} s)")
    print(f"rate reached:                {rate:.1f}/s = {share:.1%} of {args.limit}/s")
    print(f"most in any 1 s window:      {most} (limit {args.limit})")
    if released:
        latency = [
            (item.at - released[item.address]) * 1000
            for item in arrivals
            if item.address in released
        ]
        print(
            "limiter -> fake (ms):        "
            f"p50 {statistics.median(latency):.1f}, p99 {percentile(latency, 0.99):.1f}, "
            f"max {max(latency):.1f}"
        )
    ok = bool(share >= TARGET and most <= args.limit and len(arrivals) == args.messages)
    print(f"targets (>= {TARGET:.0%} of the limit, never above it): {'met' if ok else 'MISSED'}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--limit", type=int, default=100, help="KOTHA_SMS_PER_SECOND")
    parser.add_argument("--mode", choices=("threads", "workers"), default="threads")
    parser.add_argument("--threads", type=int, default=8, help="sending threads (per worker)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (workers mode)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--jitter", type=float, help="replace bot.pipeline.ratelimit.JITTER_SECONDS"
    )
    args = parser.parse_args(argv)
    if args.jitter is not None and args.mode != "threads":
        parser.error("--jitter works in threads mode only (workers read the module's value)")
    if args.jitter is not None:
        ratelimit.JITTER_SECONDS = args.jitter

    print(
        f"dispatch benchmark: {args.messages} single-segment SMS at a limit of {args.limit}/s, "
        + (
            f"{args.threads} threads in one process, in-memory limiter"
            if args.mode == "threads"
            else f"{args.workers} `kotha worker` processes x {args.threads} threads, "
            f"queue and limiter in Redis ({args.redis_url})"
        )
        + f"; paced {ratelimit.pace_spacing(args.limit) * 1000:.2f} ms apart"
        + f" ({1 / ratelimit.pace_spacing(args.limit) / args.limit:.1%} of the limit)"
        + f"; {os.cpu_count()} CPUs, fake Twilio in its own process"
    )
    fake = FakeTwilioProcess()
    with tempfile.TemporaryDirectory(prefix="kotha-bench-") as tmp:
        instance = Path(tmp) / "instance"
        extra = {"KOTHA_REDIS_URL": args.redis_url} if args.mode == "workers" else {}
        env = environment(fake, instance, args.limit, **extra)
        try:
            mode_queue: Any = "huey" if args.mode == "workers" else "inline"
            services = build_services(settings_module.load(env), queue=mode_queue)
            upgrade(services.database)
            ids = queue_rows(services, args.messages)
            released: dict[str, float] = {}
            started = time.monotonic()
            if args.mode == "threads":
                released = deliver_in_threads(services, ids, args.threads)
            else:
                with redis_emptied(args.redis_url):
                    deliver_with_workers(
                        services, env, ids, args.workers, args.threads, Path(tmp) / "workers.log"
                    )
            elapsed = time.monotonic() - started
            left = unsent(services)
            services.close()
            arrivals = fake.arrivals()
        finally:
            fake.close()
    if left:
        print(f"{left} messages were not sent")
    return 0 if report(args, arrivals, elapsed, released) and not left else 1


if __name__ == "__main__":
    sys.exit(main())
