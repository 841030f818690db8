"""Measure signed Twilio webhooks per second through gunicorn: Kotha next to a bare Flask app.

Both apps run the same way, `gunicorn -w 2` (sync workers), in this one run:

- bare: a Flask endpoint that checks the signature with twilio's RequestValidator and
  answers empty TwiML, nothing else: the ceiling for any Python webhook on this machine;
- Kotha: `kotha:create_app()` on a fresh PostgreSQL schema, with KOTHA_REDIS_URL as in
  production. Each webhook stores its message in one statement, and PostgreSQL announces it
  as it commits; a listener here counts the announcements, standing in for the `kotha
  worker` that would queue the steps (no worker runs: stepping is not a webhook's work).

A load generator in this process (threads, http.client connections kept open when the
server allows) sends form-encoded, signed SMS and WhatsApp webhooks from many people, each
person's messages in order, as conversations: greeting, language, menu choices, stories.
First the two servers are driven flat out (closed loop), taking turns (`--rounds`) so a
busy host slows both alike, to find their requests per second; then Kotha gets an open-loop
paced load at half its maximum, and the latency of each request is timed from the moment it
was due to be sent (so a late start counts against it).

Run `python bench/webhook_requests.py --help`. It cleans up: the schema is dropped, Kotha's Redis
keys deleted, the servers stopped.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import redis
from flask import Flask, Response, request
from schemas import postgres_schema
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from storage.db import Database
from storage.models import Message
from storage.notify import received_messages

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PATH = "/webhooks/twilio/messages"
AUTH_TOKEN = "bench-twilio-auth-token-000000000"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
KOTHA_NUMBER = "+447700900500"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
RATIO_TARGET = 0.5
P99_TARGET_MS = 50.0


# -- the bare app, imported by gunicorn as 'bench.webhook_requests:bare_app()' ------------


def bare_app() -> Flask:
    """A Flask app that only verifies Twilio's signature and answers empty TwiML."""
    app = Flask(__name__)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])

    @app.post(PATH)
    def messages() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            return Response("bad signature\n", status=403, mimetype="text/plain")
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")

    return app


# -- people and what they write -----------------------------------------------------------------

BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
STORIES = {
    "en": [
        "The carer came late twice this week and did not stay the full half hour.",
        "My mum waited three weeks for a reassessment and nobody called back.",
        "The social worker was kind and explained everything clearly. Thank you!",
    ],
    "bn": [
        "কেয়ারার এই সপ্তাহে দুইবার দেরিতে এসেছে।",
        "আমার মা তিন সপ্তাহ ধরে অপেক্ষা করছেন, কেউ ফোন করেনি।",
        "সমাজকর্মী খুব ভালো ব্যবহার করেছেন, ধন্যবাদ।",
    ],
}


def conversation(rng: random.Random, language: str) -> Iterator[str]:
    """Yield what one person writes, in order: first contact, language, then visits."""

    def number(n: int) -> str:
        return str(n).translate(BENGALI_DIGITS) if language == "bn" else str(n)

    yield "hi" if language == "en" else "সালাম"
    yield number(1 if language == "en" else 2)
    while True:
        visit = rng.choices(["complaint", "comment", "survey", "help", "slip"], [4, 2, 2, 1, 1])[0]
        if visit == "complaint":
            yield from (number(1), number(rng.randint(1, 7)), rng.choice(STORIES[language]))
            yield from ("SKIP", number(2), number(1))
        elif visit == "comment":
            yield from (number(2), number(rng.randint(1, 7)), rng.choice(STORIES[language]))
        elif visit == "survey":
            yield from (number(4), *(number(rng.randint(1, 5)) for _ in range(2)), number(1))
        elif visit == "help":
            yield number(6)
        else:
            yield from ("what?", "0")


@dataclass
class Person:
    sender: str  # Twilio's From: +44... or whatsapp:+44...
    says: Iterator[str]


def crowd(count: int, seed: int) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for index in range(count):
        number = f"+4477009{index:05d}"
        sender = f"whatsapp:{number}" if rng.random() < 0.4 else number
        language = "en" if rng.random() < 0.6 else "bn"
        people.append(Person(sender, conversation(random.Random(rng.getrandbits(64)), language)))
    return people


def webhook_form(person: Person) -> dict[str, str]:
    """The fields Twilio posts for one incoming message."""
    sid = "SM" + secrets.token_hex(16)
    whatsapp = person.sender.startswith("whatsapp:")
    return {
        "ToCountry": "GB",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": next(person.says),
        "FromCountry": "GB",
        "To": f"whatsapp:{KOTHA_NUMBER}" if whatsapp else KOTHA_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": person.sender,
        "ApiVersion": "2010-04-01",
    }


# -- the load generator ---------------------------------------------------------------------------


class Client:
    """One connection to one server, reopened whenever the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}{PATH}"
        self.validator = RequestValidator(AUTH_TOKEN)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, person: Person) -> int:
        form = webhook_form(person)
        body = urlencode(form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": self.validator.compute_signature(self.url, form),
        }
        try:
            self.connection.request("POST", PATH, body, headers)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0
        if response.will_close:
            self.connection.close()
        return response.status


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, latency_ms: float | None = None) -> None:
        with self.lock:
            if status == 200:
                self.ok += 1
                if latency_ms is not None:
                    self.latencies_ms.append(latency_ms)
            else:
                self.failed += 1


def run_threads(threads: int, work: Callable[[int], None]) -> None:
    pool = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def flat_out(port: int, people: list[Person], threads: int, warmup: float, seconds: float) -> Tally:
    """Send as fast as the server answers; count the answers within the measured window."""
    tally = Tally()
    start = time.monotonic() + warmup
    end = start + seconds

    def work(index: int) -> None:
        client = Client(port)
        mine = people[index::threads]  # one thread per person: their messages stay in order
        turn = 0
        while (now := time.monotonic()) < end:
            status = client.post(mine[turn % len(mine)])
            turn += 1
            if now >= start:
                tally.add(status)

    run_threads(threads, work)
    return tally


def alternating(
    ports: dict[str, int],
    people: list[Person],
    threads: int,
    warmup: float,
    seconds: float,
    rounds: int,
) -> dict[str, Tally]:
    """Drive each server flat out in turns, `rounds` times, and add up what each answered.

    Taking turns means whatever else the host runs slows both apps alike, so their ratio
    holds even when the rates do not.
    """
    for port in ports.values():
        flat_out(port, people, threads, warmup, 0.0)
    tallies = {name: Tally() for name in ports}
    for _ in range(rounds):
        for name, port in ports.items():
            part = flat_out(port, people, threads, 0.0, seconds / rounds)
            tallies[name].ok += part.ok
            tallies[name].failed += part.failed
    return tallies


def paced(port: int, people: list[Person], threads: int, rate: float, seconds: float) -> Tally:
    """Send at `rate` requests a second on a fixed schedule; time each from when it was due."""
    tally = Tally()
    start = time.monotonic() + 0.2
    period = threads / rate

    def work(index: int) -> None:
        client = Client(port)
        mine = people[index::threads]
        due = start + index / rate
        turn = 0
        while due < start + seconds:
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            status = client.post(mine[turn % len(mine)])
            tally.add(status, (time.monotonic() - due) * 1000)
            turn += 1
            due += period

    run_threads(threads, work)
    return tally


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path, workers: int, threads: int) -> Iterator[int]:
    """Serve `app` with gunicorn on a free port until the block ends; yield the port."""
    port = free_port()
    # One thread is gunicorn's sync worker; more make it a gthread worker.
    extra = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
    with log.open("ab") as output:
        process = subprocess.Popen(
            [GUNICORN, "-w", str(workers), *extra, "-b", f"127.0.0.1:{port}", app],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn {app} did not start; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def announcements_counted(url: str) -> Iterator[Callable[[], int]]:
    """Listen to the schema's announcements of received messages, as a worker would; count them."""
    database = Database(url)
    count = 0
    listening = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        nonlocal count
        with received_messages(database) as announced:
            if announced is None:
                raise SystemExit("another process listens to this schema")
            listening.set()
            while not stop.is_set():
                count += sum(1 for _ in announced.within(0.2))

    thread = threading.Thread(target=listen, name="announcements")
    thread.start()
    if not listening.wait(10):
        raise SystemExit("could not listen for PostgreSQL's announcements")
    try:
        yield lambda: count
    finally:
        stop.set()
        thread.join()
        database.dispose()


@contextmanager
def redis_emptied(url: str) -> Iterator[redis.Redis]:
    """Remove Kotha's queue and rate-limit keys from this Redis database before and after."""
    client = redis.Redis.from_url(url)

    def empty() -> None:
        for pattern in ("huey.*.kotha", "LIMITS:LIMITER/kotha:*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)

    empty()
    try:
        yield client
    finally:
        empty()
        client.close()


def messages_by_direction(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        with database.session() as session:
            rows = session.execute(
                select(Message.direction, func.count()).group_by(Message.direction)
            ).all()
    finally:
        database.dispose()
    return {direction: count for direction, count in rows}


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "KOTHA_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument(
        "--server-threads", type=int, default=1, help="threads per gunicorn worker (gthread)"
    )
    parser.add_argument("--threads", type=int, default=8, help="load generator threads")
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=8.0, help="each measured phase")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns each app takes in the flat-out phase"
    )
    args = parser.parse_args(argv)

    server = (
        "(sync workers)"
        if args.server_threads == 1
        else f"-k gthread --threads {args.server_threads}"
    )
    print(
        f"webhooks benchmark: signed Twilio webhooks, gunicorn -w {args.workers} {server} "
        f"for both apps, {args.people} people, {args.threads} client threads.\n"
        f"Note: this machine has {os.cpu_count()} CPUs, shared by the load generator, both "
        "gunicorn apps, PostgreSQL and Redis: the figures are lower bounds, the ratio the "
        "fairer comparison."
    )
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KOTHA_", "TWILIO_", "TELEGRAM_"))
    }
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kotha-bench-")))
        url = stack.enter_context(postgres_schema(args.postgres_url))
        stack.enter_context(redis_emptied(args.redis_url))
        announced = stack.enter_context(announcements_counted(url))
        kotha_env = {
            **base_env,
            "KOTHA_DATABASE_URL": url,
            "KOTHA_REDIS_URL": args.redis_url,
            "KOTHA_INSTANCE_DIR": str(tmp / "instance"),
            "KOTHA_SECRET_KEY": "bench",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "KOTHA_SMS_FROM": KOTHA_NUMBER,
            "KOTHA_WHATSAPP_FROM": f"whatsapp:{KOTHA_NUMBER}",
        }
        bare_env = {**base_env, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        log = tmp / "gunicorn.log"
        bare_port = stack.enter_context(
            gunicorn(
                "bench.webhook_requests:bare_app()",
                bare_env,
                log,
                args.workers,
                args.server_threads,
            )
        )
        kotha_port = stack.enter_context(
            gunicorn("kotha:create_app()", kotha_env, log, args.workers, args.server_threads)
        )
        people = crowd(args.people, seed=1)

        tallies = alternating(
            {"bare": bare_port, "kotha": kotha_port},
            people,
            args.threads,
            args.warmup,
            args.seconds,
            args.rounds,
        )
        bare, kotha = tallies["bare"], tallies["kotha"]
        bare_rate, kotha_rate = bare.ok / args.seconds, kotha.ok / args.seconds
        ratio = kotha_rate / bare_rate if bare_rate else 0.0
        half = kotha_rate / 2
        light = paced(kotha_port, people, args.threads, half, args.seconds)
        stored = messages_by_direction(url)
        time.sleep(0.5)  # the last announcements on their way
        heard = announced()
        if light.failed + kotha.failed + bare.failed:
            print(f"gunicorn log: {log.read_text()[-2000:]}")

    p50 = statistics.median(light.latencies_ms) if light.latencies_ms else float("nan")
    p99 = percentile(light.latencies_ms, 0.99) if light.latencies_ms else float("nan")
    print(f"bare Flask (signature only): {bare_rate:8.1f} requests/s ({bare.failed} failed)")
    print(f"Kotha:                       {kotha_rate:8.1f} requests/s ({kotha.failed} failed)")
    print(f"Kotha / bare:                {ratio:8.1%}  (target >= {RATIO_TARGET:.0%})")
    print(
        f"Kotha at half its maximum, {half:.1f} requests/s paced for {args.seconds:g} s: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 < {P99_TARGET_MS:g} ms), "
        f"{len(light.latencies_ms)} answered, {light.failed} failed"
    )
    print(
        f"stored: {stored.get('in', 0)} inbound, {stored.get('out', 0)} outbound rows; "
        f"{heard} announced to the listener (no worker ran: each webhook stores, a worker steps)"
    )
    met = ratio >= RATIO_TARGET and p99 < P99_TARGET_MS and not (light.failed + kotha.failed)
    print(f"targets: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
