"""Time the console's pages with 100,000 conversations in PostgreSQL, through the real app.

It seeds a fresh PostgreSQL schema quickly with COPY: contacts, one address each on SMS,
WhatsApp or Telegram, about ten messages a conversation in both directions (interleaved in
time, as people write), feedback for a third of them (complaints with their statutory
dates), open safeguarding flags for a few, and the equality monitoring answers of 10,000
people. Then it signs in as staff with Flask's test client (the whole app: sessions, CSRF,
roles, templates) and requests each page about 50 times: the inbox's first page, the inbox
filtered, searches by reference, phone number and a word, a conversation page, the cases
list, the home page, and the impact page and its printable report over the whole seeded
period. It prints p50 and p95 per page against its target (200 ms; the impact pages, which
count every message of the period, 300 ms). The schema is dropped at the end.

Run `python bench/console.py --help`.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient

# Run as a script, Python puts bench/ first on the path, where this file, console.py, would
# stand in for the console package: the repository's root goes first instead.
REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = str(REPO_ROOT / "bench")
sys.path[:] = [str(REPO_ROOT), *(entry for entry in sys.path if entry != BENCH_DIR)]

from bench.schemas import postgres_schema  # noqa: E402
from bot.casework.accounts import create_user  # noqa: E402
from bot.channels.console import RecordingSender  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.types import CHANNELS  # noqa: E402
from kotha import create_app  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
TARGET_MS = 200.0
# The impact page and report read every inbound message of a period (bot/outreach/impact.py).
IMPACT_TARGET_MS = 300.0
# The seeded messages span these three months: the impact pages are asked for all of them.
PERIOD = "from=2026-08-01&to=2026-10-31"
PASSWORD = "bench password, long enough"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
START = datetime(2026, 8, 1, tzinfo=UTC)
LANGUAGE_WEIGHTS = {"en": 50, "bn": 25, "syl": 15, "syl-Latn": 10}
CHANNEL_WEIGHTS = {"sms": 50, "whatsapp": 35, "telegram": 15}
KINDS = ("complaint", "comment", "compliment")
STATUSES = ("received", "acknowledged", "in_progress", "resolved", "closed")
SERVICES = ("home_care", "day_centres", "direct_payments", "assessments", "reablement")
WRITTEN = {
    "en": [
        "The carer came late twice this week and did not stay the full half hour.",
        "My mum waited three weeks for an assessment and nobody called back.",
        "The day centre was closed without notice and my father had nowhere to go.",
        "Direct payments came in late again so I could not pay the PA on time.",
        "The social worker was kind and explained everything clearly. Thank you!",
        "The reablement team helped my husband walk again after his fall.",
        "hi",
        "1",
        "2",
    ],
    "bn": [
        "আমার মায়ের যত্নকারী এই সপ্তাহে দুবার দেরিতে এসেছেন।",
        "ডে সেন্টার কোনো নোটিশ ছাড়াই বন্ধ ছিল।",
        "সোশ্যাল ওয়ার্কার খুব ভালো ছিলেন, ধন্যবাদ।",
        "১",
        "২",
    ],
    "syl": ["আমার আম্মার দেখাশোনার মানুষ দেরিতে আইছইন।", "ধন্যবাদ, বালা লাগছে।", "১"],
    "syl-Latn": [
        "amar ammar dekhashonar manush deri kori aisoin",
        "day centre bondo asil, kew kisu koy nai",
        "1",
    ],
}
# What the bot says, in short: the transcript's outbound half.
SAID = [
    "Kotha lets you tell Tower Hamlets Council what you think. Send a number.",
    "Which service is it about?",
    "Thank you. Your reference is C-482173. We will contact you by Wednesday 30 September.",
]
# Searches: a word a few people wrote (one English message in about 200, like a street
# name or a diagnosis) and a word one English message in nine has.
WORD = "reassessment"
RARE_STORY = "My dad is still waiting for his reassessment after the hospital."
WORD_SHARE = 0.005
COMMON_WORD = "carer"


@dataclass(frozen=True)
class Seeded:
    """What the seeding made, and samples to search for."""

    conversations: int
    messages: int
    feedback: int
    flags: int
    seconds: float
    monitored: int
    references: list[str]
    phones: list[str]
    address_ids: list[int]


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _copy(
    connection: Any, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    """COPY rows into a table through psycopg's COPY support; return how many."""
    count = 0
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


# The equality monitoring answers seeded, each question's values as the flow saves them.
MONITORING = {
    "carer": ("carer", "service_user", "both", "neither", "prefer_not"),
    "age_band": ("under_18", "18_24", "25_49", "50_64", "65_74", "75_over", "prefer_not"),
    "sex": ("female", "male", "prefer_not"),
    "ethnic_group": ("asian", "black", "mixed", "white", "other", "prefer_not"),
    "disability": ("yes", "no", "prefer_not"),
    "religion": ("none", "christian", "hindu", "jewish", "muslim", "sikh", "prefer_not"),
    "area": ("E1", "E1W", "E2", "E3", "E14", "elsewhere", "prefer_not"),
}
DETAIL = {
    "asian": ("bangladeshi", "chinese", "indian", "pakistani", "other_asian"),
    "black": ("african", "caribbean", "other_black"),
    "mixed": ("white_asian", "other_mixed"),
    "white": ("british", "irish", "roma", "other_white"),
    "other": ("arab", "other_ethnic"),
}


def _monitoring_row(rng: random.Random, index: int, contact: int, at: datetime) -> tuple[Any, ...]:
    answers = {question: rng.choice(values) for question, values in MONITORING.items()}
    group = answers["ethnic_group"]
    detail = rng.choice(DETAIL[group]) if group in DETAIL else None
    return (
        index,
        contact,
        at,
        at,
        False,
        *answers.values(),
        detail,
        "en",
        "sms",
    )


def seed(
    database: Database, conversations: int, rng: random.Random, monitored: int = 10_000
) -> Seeded:
    """Fill the schema with conversations, fast: one COPY per table, then ANALYZE."""
    started = time.perf_counter()
    people = []
    for number in range(1, conversations + 1):
        channel = _weighted(rng, CHANNEL_WEIGHTS)
        language = _weighted(rng, LANGUAGE_WEIGHTS)
        address = str(100_000_000 + number) if channel == "telegram" else f"+4479{number:08d}"
        first = START + timedelta(seconds=rng.uniform(0, 90 * 86400))
        people.append((number, channel, language, address, first))
    # Messages in time order across everyone, so ids follow time as they do in production.
    messages: list[tuple[datetime, int, str, str, str]] = []
    for number, channel, language, _, first in people:
        at = first
        for turn in range(rng.randint(6, 14)):
            direction = "in" if turn % 2 == 0 else "out"
            body = rng.choice(WRITTEN[language]) if direction == "in" else rng.choice(SAID)
            if direction == "in" and language == "en" and rng.random() < WORD_SHARE:
                body = RARE_STORY
            messages.append((at, number, channel, direction, body))
            at += timedelta(seconds=rng.uniform(5, 600))
    messages.sort()
    feedback_rows = []
    flags = []
    for number, channel, language, _, first in people:
        if rng.random() < 0.33:
            kind = rng.choice(KINDS)
            feedback_rows.append((number, channel, language, first, kind))
        if rng.random() < 0.005:
            flags.append((number, first))
    references = [f"C-{n:06d}" for n in rng.sample(range(100_000, 1_000_000), len(feedback_rows))]

    raw = database.engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        _copy(
            connection,
            "contacts",
            ("id", "language", "created_at", "staff"),
            ((n, lang, first, False) for n, _, lang, _, first in people),
        )
        _copy(
            connection,
            "addresses",
            ("id", "contact_id", "channel", "address", "created_at", "last_inbound_at"),
            ((n, n, ch, addr, first, first) for n, ch, _, addr, first in people),
        )
        _copy(
            connection,
            "messages",
            (
                "id",
                "address_id",
                "channel",
                "direction",
                "body",
                "status",
                "is_reply",
                "attempts",
                "created_at",
            ),
            (
                (i, n, ch, d, body, "processed" if d == "in" else "delivered", d == "out", 0, at)
                for i, (at, n, ch, d, body) in enumerate(messages, 1)
            ),
        )
        _copy(
            connection,
            "feedback",
            (
                "id",
                "reference",
                "kind",
                "status",
                "complete",
                "service",
                "text",
                "language",
                "channel",
                "contact_id",
                "address_id",
                "created_at",
                "acknowledge_by",
                "respond_by",
                "acknowledged_at",
            ),
            (
                (
                    i,
                    references[i - 1],
                    kind,
                    rng.choice(STATUSES),
                    True,
                    rng.choice(SERVICES),
                    "seeded",
                    lang,
                    ch,
                    n,
                    n,
                    at,
                    (at + timedelta(days=5)).date() if kind == "complaint" else None,
                    (at + timedelta(days=28)).date() if kind == "complaint" else None,
                    at + timedelta(days=rng.uniform(0, 7)) if kind == "complaint" else None,
                )
                for i, (n, ch, lang, at, kind) in enumerate(feedback_rows, 1)
            ),
        )
        _copy(
            connection,
            "equality_monitoring",
            (
                "id",
                "contact_id",
                "asked_at",
                "answered_at",
                "skipped",
                *MONITORING,
                "ethnicity",
                "language",
                "channel",
            ),
            (
                _monitoring_row(rng, i, n, first)
                for i, (n, _, _, _, first) in enumerate(
                    rng.sample(people, min(monitored, len(people))), 1
                )
            ),
        )
        _copy(
            connection,
            "safeguarding_flags",
            ("id", "contact_id", "categories", "source", "raised_at", "status"),
            ((i, n, '["neglect"]', "automatic", at, "open") for i, (n, at) in enumerate(flags, 1)),
        )
        with connection.cursor() as cursor:
            for table in (
                "contacts",
                "addresses",
                "messages",
                "feedback",
                "safeguarding_flags",
                "equality_monitoring",
            ):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            cursor.execute("ANALYZE")
        connection.commit()
        # Rows loaded by COPY have no visibility map until vacuumed, so no index-only scan
        # (the impact page's count of who wrote reads only an index): in production
        # autovacuum keeps it, here VACUUM does once.
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM messages")
    finally:
        raw.close()
    phones = [addr for _, ch, _, addr, _ in people if ch != "telegram"]
    return Seeded(
        conversations=conversations,
        messages=len(messages),
        feedback=len(feedback_rows),
        flags=len(flags),
        seconds=time.perf_counter() - started,
        monitored=min(monitored, len(people)),
        references=references,
        phones=phones,
        address_ids=[n for n, *_ in people],
    )


def national(phone: str) -> str:
    """Write +4479... as staff would type it: 079.. with a space."""
    digits = "0" + phone.removeprefix("+44")
    return f"{digits[:5]} {digits[5:]}"


@dataclass(frozen=True)
class Timing:
    """One page's response times."""

    page: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    # The app's own CPU time (Flask, SQLAlchemy, templates; not PostgreSQL's): steadier than
    # wall time when other work shares the machine.
    cpu_p50_ms: float
    target_ms: float = TARGET_MS

    @property
    def verdict(self) -> str:
        return "ok" if self.p95_ms < self.target_ms else f"over {self.target_ms:.0f} ms"


def _percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_page(
    client: FlaskClient,
    name: str,
    paths: Callable[[int], str],
    requests: int,
    expect: str,
    target_ms: float = TARGET_MS,
) -> Timing:
    """Request a page `requests` times after one warm-up; every answer must be 200."""
    warm = client.get(paths(0))
    assert warm.status_code == 200, (name, warm.status_code)
    assert expect in warm.text, (name, expect)
    latencies = []
    cpu = []
    for number in range(requests):
        path = paths(number + 1)
        before, cpu_before = time.perf_counter(), time.process_time()
        response = client.get(path)
        latencies.append(time.perf_counter() - before)
        cpu.append(time.process_time() - cpu_before)
        assert response.status_code == 200, (name, path, response.status_code)
    ordered = sorted(latencies)
    return Timing(
        page=name,
        requests=requests,
        p50_ms=_percentile(ordered, 0.50) * 1000,
        p95_ms=_percentile(ordered, 0.95) * 1000,
        max_ms=ordered[-1] * 1000,
        cpu_p50_ms=_percentile(sorted(cpu), 0.50) * 1000,
        target_ms=target_ms,
    )


def signed_in_client(url: str, tmp: Path) -> tuple[FlaskClient, Any]:
    settings = Settings(database_url=url, secret_key="bench", instance_dir=tmp, testing=True)
    sender = RecordingSender()
    services = build_services(settings, senders={c: sender for c in CHANNELS})
    with services.database.session() as session:
        create_user(
            session,
            "bench-staff@example.org",
            "staff",
            PASSWORD,
            now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
        )
    app = create_app(services=services)
    client = app.test_client()
    login = client.get("/console/login")
    found = TOKEN.search(login.text)
    assert found is not None
    form = {"email": "bench-staff@example.org", "password": PASSWORD, "csrf_token": found[1]}
    assert client.post("/console/login", data=form).status_code == 302
    return client, services


def measure(
    url: str, seeded: Seeded, requests: int, rng: random.Random, tmp: Path, only: str = ""
) -> list[Timing]:
    client, services = signed_in_client(url, tmp)
    try:
        pages: list[tuple[str, Callable[[int], str], str]] = [
            ("inbox, first page", lambda _: "/console/conversations", "newest first"),
            (
                "inbox, WhatsApp in Bengali",
                lambda _: "/console/conversations?channel=whatsapp&language=bn",
                "found",
            ),
            (
                "inbox, complaints in progress",
                lambda _: "/console/conversations?kind=complaint&status=in_progress",
                "found",
            ),
            (
                "inbox, open safeguarding flag",
                lambda _: "/console/conversations?flag=open",
                "found",
            ),
            (
                "inbox, page 20",
                lambda _: "/console/conversations?page=20",
                "newest first",
            ),
            (
                "search by reference",
                lambda _: "/console/conversations?q=" + rng.choice(seeded.references),
                "1 conversation found",
            ),
            (
                "search by phone number",
                lambda _: (
                    "/console/conversations?"
                    + urlencode({"q": national(rng.choice(seeded.phones))})
                ),
                "1 conversation found",
            ),
            (f"search by a word ({WORD})", lambda _: f"/console/conversations?q={WORD}", "found"),
            (
                f"search by a common word ({COMMON_WORD})",
                lambda _: f"/console/conversations?q={COMMON_WORD}",
                "found",
            ),
            (
                "a conversation",
                lambda _: f"/console/conversations/{rng.choice(seeded.address_ids)}",
                "Messages, oldest first",
            ),
        ]
        rules = {rule.rule for rule in client.application.url_map.iter_rules()}
        if "/console/cases" in rules:
            pages.append(("cases list", lambda _: "/console/cases", "Cases"))
        pages.append(("home", lambda _: "/console/", "People who wrote to us"))
        if "/console/involvement" in rules:
            pages.append(
                (
                    "interests queue",
                    lambda _: "/console/involvement",
                    "People who want to take part",
                )
            )
        slow = [
            ("impact page", lambda _: f"/console/impact?{PERIOD}", "Reach beside the borough"),
            (
                "impact report (printable)",
                lambda _: f"/console/impact/report?{PERIOD}",
                "Kotha impact report",
            ),
        ]
        return [
            time_page(client, name, paths, requests, expect)
            for name, paths, expect in pages
            if only in name
        ] + [
            time_page(client, name, paths, requests, expect, IMPACT_TARGET_MS)
            for name, paths, expect in slow
            if only in name
        ]
    finally:
        services.close()


def table(timings: Sequence[Timing]) -> str:
    out = io.StringIO()
    print(
        f"{'page':<36} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'app cpu':>8}  verdict",
        file=out,
    )
    for t in timings:
        print(
            f"{t.page:<36} {t.requests:>4} {t.p50_ms:>8.1f} {t.p95_ms:>8.1f} {t.max_ms:>8.1f}"
            f" {t.cpu_p50_ms:>8.1f}  {t.verdict}",
            file=out,
        )
    return out.getvalue().rstrip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument(
        "--monitored", type=int, default=10_000, help="people who answered the equality questions"
    )
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--only", default="", help="time only the pages whose name has this")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="kotha-bench-") as tmp,
        postgres_schema(args.postgres_url, "kotha_bench_console") as url,
    ):
        database = Database(url)
        upgrade(database)
        seeded = seed(database, args.conversations, rng, args.monitored)
        database.dispose()
        timings = measure(url, seeded, args.requests, rng, Path(tmp), args.only)

    summary = {k: v for k, v in asdict(seeded).items() if not isinstance(v, list)}
    if args.json:
        print(json.dumps({"seeded": summary, "pages": [asdict(t) for t in timings]}, indent=2))
    else:
        print(
            f"seeded {seeded.conversations:,} conversations, {seeded.messages:,} messages, "
            f"{seeded.feedback:,} feedback, {seeded.flags:,} open flags, "
            f"{seeded.monitored:,} people's equality answers "
            f"in {seeded.seconds:.1f} s (PostgreSQL, COPY)"
        )
        print(table(timings))
    return 0 if all(t.p95_ms < t.target_ms for t in timings) else 1


if __name__ == "__main__":
    raise SystemExit(main())
