"""A burst of answers after a broadcast: how long each person waits for the bot's reply.

2,000 people (`--people`) who know Kotha (contacts with a language, as a broadcast's
recipients are) each answer once within 60 seconds (`--seconds`, arrival times drawn at
random, so some seconds are busier than others), through signed Twilio webhooks, as a
production deployment runs them:

- `gunicorn -w 2 'kotha:create_app()'` (sync workers) on a fresh PostgreSQL schema, with
  KOTHA_REDIS_URL: each webhook stores its message and answers; PostgreSQL announces it;
- one `kotha worker` (`--worker-threads` threads) steps each message and sends the replies;
- the fake Twilio API (tests/fakes/twilio_api.py) in a process of its own, stamping each
  message as it arrives, with the SMS sender limited to 100 segments a second
  (KOTHA_SMS_PER_SECOND, `--limit`).

For each reply it takes the time from the moment the person's webhook was answered to the
reply's arrival at the fake, and prints p50, p95 and p99 (target: p95 under 1 s). What held
replies is read from the database: stored -> stepped (the announcement, the queue, the
step) and stepped -> sent (the rate limit and Twilio's answer), and any reply held, failed
or left unsent, by reason. Lost: people with no reply at the fake; duplicated: the same
reply arriving twice. Run `python bench/burst.py --help`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from fake_twilio import Arrival, FakeTwilioProcess
from sqlalchemy import select
from sqlalchemy.orm import aliased
from webhook_requests import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KOTHA_NUMBER,
    Client,
    Person,
    gunicorn,
    percentile,
    postgres_schema,
    redis_emptied,
)

from storage.db import Database
from storage.models import Address, Contact, Message

ROOT = Path(__file__).resolve().parent.parent
KOTHA = str(Path(sys.executable).with_name("kotha"))
P95_TARGET = 1.0
# What people write back to a broadcast, in their language.
ANSWERS = {
    "en": ["hi", "1", "Yes please", "thank you", "menu", "2", "what is this?"],
    "bn": ["১", "হ্যাঁ", "ধন্যবাদ", "মেনু", "২"],
}


def seed_people(url: str, count: int, seed: int, prefix: str = "+4477009") -> dict[str, str]:
    """Write `count` known contacts (70% English, 30% Bengali) with an SMS address each."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    languages = {
        f"{prefix}{index:05d}": "en" if rng.random() < 0.7 else "bn" for index in range(count)
    }
    database = Database(url)
    try:
        with database.session() as session:
            session.add_all(
                Address(
                    contact=Contact(language=language, created_at=now),
                    channel="sms",
                    address=number,
                    created_at=now,
                )
                for number, language in languages.items()
            )
    finally:
        database.dispose()
    return languages


def schedule(languages: dict[str, str], seconds: float, seed: int) -> list[tuple[float, Person]]:
    """When each person answers (uniformly at random over the window) and what they say."""
    rng = random.Random(seed)
    plan = [
        (rng.uniform(0, seconds), Person(number, iter([rng.choice(ANSWERS[language])])))
        for number, language in languages.items()
    ]
    return sorted(plan, key=lambda item: item[0])


def warm_up(port: int, url: str, fake: FakeTwilioProcess, web_workers: int) -> None:
    """Wait until the worker answers: a few people outside the burst write and get replies.

    The processes' start (the understanding learns its classifier as each starts) is not
    what the burst measures.
    """
    count = 4 * web_workers
    languages = seed_people(url, count, seed=0, prefix="+4477008")
    client = Client(port)
    for number in languages:
        client.post(Person(number, iter(["hi"])))
    deadline = time.monotonic() + 180
    while fake.count(prefix="+4477008") < count:
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not answer the warm-up within 3 minutes")
        time.sleep(0.2)


def send_all(
    port: int, plan: list[tuple[float, Person]], threads: int
) -> tuple[dict[str, float], list[float], int]:
    """Post each webhook when due; return when each was answered, response times, failures."""
    answered: dict[str, float] = {}
    response_ms: list[float] = []
    failed = 0
    lock = threading.Lock()
    next_index = 0
    start = time.monotonic() + 0.5

    def work() -> None:
        nonlocal next_index, failed
        client = Client(port)
        while True:
            with lock:
                if next_index >= len(plan):
                    return
                offset, person = plan[next_index]
                next_index += 1
            pause = start + offset - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent = time.monotonic()
            status = client.post(person)
            done = time.monotonic()
            with lock:
                if status == 200:
                    answered[person.sender] = done
                    response_ms.append((done - sent) * 1000)
                else:
                    failed += 1

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return answered, response_ms, failed


def wait_for_replies(url: str, people: int, timeout: float) -> None:
    """Wait until every person's message has been stepped and nothing is left to send."""
    database = Database(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with database.session() as session:
                waiting = session.scalar(
                    select(Message.id)
                    .where(
                        (Message.direction == "in") & (Message.status == "received")
                        | (Message.direction == "out") & Message.status.in_(("queued", "sending"))
                    )
                    .limit(1)
                )
            if waiting is None:
                return
            time.sleep(0.25)
    finally:
        database.dispose()


def held_breakdown(url: str, since: datetime) -> tuple[list[float], list[float], Counter[str]]:
    """Per reply, stored -> stepped and stepped -> sent (seconds); replies not sent by status."""
    database = Database(url)
    inbound = aliased(Message)
    stepped: list[float] = []
    sending: list[float] = []
    unsent: Counter[str] = Counter()
    try:
        with database.session() as session:
            rows = session.execute(
                select(Message, inbound.created_at)
                .join(
                    inbound,
                    (inbound.address_id == Message.address_id) & (inbound.direction == "in"),
                )
                .where(Message.direction == "out", inbound.created_at >= since)
            ).all()
    finally:
        database.dispose()
    for row, received_at in rows:
        stepped.append((row.created_at - received_at).total_seconds())
        if row.sent_at is not None:
            sending.append((row.sent_at - row.created_at).total_seconds())
        else:
            unsent[f"{row.status} ({row.reason or 'no reason'})"] += 1
    return stepped, sending, unsent


def spread(values: Sequence[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not values:
        return "none"
    scaled = [value * unit for value in values]
    return (
        f"p50 {statistics.median(scaled):.0f} {suffix}, p95 {percentile(scaled, 0.95):.0f}, "
        f"p99 {percentile(scaled, 0.99):.0f}, max {max(scaled):.0f}"
    )


def most_in_window(arrivals: list[Arrival], window: float = 1.0) -> int:
    """The most segments arriving at the fake within any `window` seconds."""
    ordered = sorted(arrivals, key=lambda item: item.at)
    most = total = start = 0
    for arrival in ordered:
        total += arrival.segments
        while arrival.at - ordered[start].at >= window:
            total -= ordered[start].segments
            start += 1
        most = max(most, total)
    return most


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "KOTHA_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="the window they answer in")
    parser.add_argument("--limit", type=int, default=100, help="KOTHA_SMS_PER_SECOND")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-threads", type=int, default=8, help="`kotha worker --workers`")
    parser.add_argument("--threads", type=int, default=32, help="load generator threads")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(
        f"burst: {args.people} people answer within {args.seconds:g} s through signed webhooks; "
        f"gunicorn -w {args.web_workers}, one `kotha worker --workers {args.worker_threads}`, "
        f"PostgreSQL, Redis ({args.redis_url}), fake Twilio at {args.limit} segments/s; "
        f"{os.cpu_count()} CPUs shared by all of them and the load generator"
    )
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOTHA_", "TWILIO_", "TELEGRAM_"))
    }
    fake = FakeTwilioProcess(ACCOUNT_SID, AUTH_TOKEN)
    with ExitStack() as stack:
        stack.callback(fake.close)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kotha-burst-")))
        url = stack.enter_context(postgres_schema(args.postgres_url))
        stack.enter_context(redis_emptied(args.redis_url))
        env = {
            **base_env,
            "KOTHA_DATABASE_URL": url,
            "KOTHA_REDIS_URL": args.redis_url,
            "KOTHA_INSTANCE_DIR": str(tmp / "instance"),
            "KOTHA_SECRET_KEY": "bench",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "KOTHA_TWILIO_API_URL": fake.url,
            "KOTHA_SMS_FROM": KOTHA_NUMBER,
            "KOTHA_SMS_PER_SECOND": str(args.limit),
            "KOTHA_LOG_LEVEL": "WARNING",
        }
        languages = seed_people(url, args.people, args.seed)
        log = tmp / "processes.log"
        with log.open("ab") as output:
            worker = subprocess.Popen(
                [KOTHA, "worker", "--workers", str(args.worker_threads)],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        stack.callback(worker.wait, 30)
        stack.callback(worker.send_signal, 2)  # SIGINT: Huey's graceful stop
        port = stack.enter_context(gunicorn("kotha:create_app()", env, log, args.web_workers, 1))
        warm_up(port, url, fake, args.web_workers)
        plan = schedule(languages, args.seconds, args.seed)
        started, burst_started = time.monotonic(), datetime.now(UTC)
        answered, response_ms, failed = send_all(port, plan, args.threads)
        sent_for = time.monotonic() - started
        wait_for_replies(url, args.people, timeout=120)
        # The warm-up's people are not the burst's.
        arrivals = [item for item in fake.arrivals() if item.address in languages]
        stepped, sending, unsent = held_breakdown(url, burst_started)
        if worker.poll() is not None:
            print(f"the worker stopped early; see the log:\n{log.read_text()[-3000:]}")

    latencies: list[float] = []
    replies: dict[str, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        replies[arrival.address].append(arrival)
        if arrival.address in answered:
            latencies.append(arrival.at - answered[arrival.address])
    lost = sum(1 for number in answered if not replies.get(number))
    duplicated = sum(
        count - 1
        for person in replies.values()
        for count in Counter(item.body for item in person).values()
        if count > 1
    )
    segments = sum(arrival.segments for arrival in arrivals)
    print(
        f"webhooks: {len(answered)} answered in {sent_for:.1f} s, {failed} failed; "
        f"response {spread([ms / 1000 for ms in response_ms])}"
    )
    print(
        f"replies at the fake: {len(arrivals)} ({segments} segments; at most "
        f"{most_in_window(arrivals)} in any 1 s, limit {args.limit})"
    )
    print(f"webhook answered -> reply at the fake: {spread(latencies)}")
    print(f"  stored -> stepped (announcement, queue, step): {spread(stepped)}")
    print(f"  stepped -> sent (rate limit, Twilio's answer): {spread(sending)}")
    if unsent:
        print("  not sent: " + ", ".join(f"{n} {what}" for what, n in unsent.most_common()))
    print(f"lost (no reply): {lost}; duplicated (a reply twice): {duplicated}")
    p95 = percentile(latencies, 0.95) if latencies else float("inf")
    met = p95 < P95_TARGET and lost == 0 and duplicated == 0 and failed == 0
    print(
        f"target (p95 < {P95_TARGET:g} s, nothing lost or sent twice): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
