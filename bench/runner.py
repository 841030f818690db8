"""Measure the runner's inbound throughput against the bare database work per message.

On each database (a fresh SQLite file, a fresh PostgreSQL schema) three paths receive the
same realistic stream of inbound messages, each from its own 200 people, one message after
another from one thread, taking turns of 50 messages so a busy host slows them alike:

- baseline: insert the inbound `messages` row (its address already exists) and commit,
  one transaction per message, through the same SQLAlchemy engine: the floor;
- runner: `Runner.receive` with no queue to hand its rows to, so outbound rows stay queued;
- runner + delivery: the wiring `build_services` gives: each step claims and renders its
  replies as it writes them, and they are "sent" through a RecordingSender and recorded
  right after the commit.

It also times the understanding of free text (flows/understanding) on its own: every labelled
example message, understood afresh (no cache), one after another; its p99 must stay under
1 ms, the cost it adds to each message.

Run `python bench/runner.py --help`. It leaves nothing behind: the SQLite file lives in a
temporary directory and the PostgreSQL schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas import postgres_schema
from sqlalchemy import Engine, event, func, insert, select

from bot.channels.base import Sender
from bot.channels.console import RecordingSender
from bot.pipeline.runner import Runner
from bot.pipeline.step import Stepper
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import CHANNELS, Channel, InboundMessage
from flows.understanding import EXAMPLES, default_lexicon, read_examples
from storage.db import Database, DriverStatement
from storage.migrate import upgrade
from storage.models import Address, Contact, Feedback, Interest, Message, SurveyResponse

DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
DEFAULT_MESSAGES = {"sqlite": 3000, "postgresql": 2000}
QUOTE = '"'
# The share of the baseline's rate each path should manage at least.
TARGETS = {"runner": 0.30, "runner + delivery": 0.20}
# The understanding of one message, at the 99th percentile, must cost at most this (seconds).
UNDERSTANDING_P99 = 0.001
PROFILED = 1000  # messages in the --profile pass: cProfile makes each one several times slower

# -- the workload ------------------------------------------------------------------------------

# Language menu positions (locales/languages.yaml order) and how often each is chosen.
LANGUAGES = {"en": 1, "bn": 2, "syl": 3, "syl-Latn": 4}
LANGUAGE_WEIGHTS = {"en": 50, "bn": 25, "syl": 15, "syl-Latn": 10}
CHANNEL_WEIGHTS: dict[Channel, int] = {"sms": 50, "whatsapp": 35, "telegram": 15}
BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")

GREETINGS = {
    "en": ["hi", "Hello", "hello council", "Hi, I want to say something"],
    "bn": ["সালাম", "হ্যালো", "আসসালামু আলাইকুম"],
    "syl": ["সালাম", "হ্যালো"],
    "syl-Latn": ["salam", "hi", "hello"],
}
STORIES = {
    "en": [
        "The carer came late twice this week and did not stay the full half hour.",
        "My mum waited three weeks for a reassessment and nobody called back.",
        "The day centre was closed without notice and my father had nowhere to go.",
        "Direct payments came in late again so I could not pay the PA on time. 😞",
        "The social worker was kind and explained everything clearly. Thank you!",
        "Nobody speaks Bengali at the front desk; my aunt could not explain her needs.",
        "The reablement team helped my husband walk again after his fall.",
    ],
    "bn": [
        "কেয়ারার এই সপ্তাহে দুইবার দেরিতে এসেছে।",
        "আমার মা তিন সপ্তাহ ধরে অপেক্ষা করছেন, কেউ ফোন করেনি।",
        "ডে সেন্টার কোনো খবর না দিয়ে বন্ধ ছিল।",
        "সমাজকর্মী খুব ভালো ব্যবহার করেছেন, ধন্যবাদ।",
    ],
    "syl": [
        "কেয়ারার দুইবার দেরি করি আইছে।",
        "আমার আম্মা তিন হপ্তা ধরি বই রইছইন।",
        "ডে সেন্টার বন্ধ আছিল, কেউ খবর দিছে না।",
    ],
    "syl-Latn": [
        "carer duibar deri kori aise",
        "amar amma tin hopta dhori boi roisoin, keu phone kore na",
        "day centre bondho asil, keu khobor dise na",
    ],
}
OUTCOMES = {
    "en": ["I want an apology", "Please send a different carer", "SKIP", "not sure"],
    "bn": ["অন্য কেয়ারার চাই", "বাদ"],
    "syl": ["মাফ চাইতা অইবো", "বাদ"],
    "syl-Latn": ["onno carer chai", "skip"],
}


@dataclass
class Person:
    """One person writing to the council, with the replies they will send in turn."""

    channel: Channel
    address: str
    language: str
    replies: Iterator[str]


def _say(language: str, *numbers: int) -> Iterator[str]:
    """Yield menu numbers as this person would type them (Bengali digits in Bengali script)."""
    for number in numbers:
        typed = str(number)
        yield typed.translate(BENGALI_DIGITS) if language in ("bn", "syl") else typed


def _episode(rng: random.Random, language: str) -> Iterator[str]:
    """Yield one visit from the main menu: a complaint, a survey, a question for help..."""
    story = rng.choice(STORIES[language])
    kind = rng.choices(
        ["complaint", "comment", "compliment", "survey", "involve", "help", "language", "slip"],
        weights=[30, 12, 10, 20, 12, 6, 4, 6],
    )[0]
    if kind == "complaint":
        yield from _say(language, 1, rng.randint(1, 7))
        yield story
        yield rng.choice(OUTCOMES[language])
        if rng.random() < 0.4:
            yield from _say(language, 1, rng.randint(1, 4), 1)  # phone me, in this language
        else:
            yield from _say(language, 2, rng.choice([1, 1, 1, 2]))
    elif kind in ("comment", "compliment"):
        yield from _say(language, 2 if kind == "comment" else 3, rng.randint(1, 7))
        yield story
    elif kind == "survey":
        yield from _say(language, 4, rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 2))
        yield rng.choice([story, *OUTCOMES[language][-1:]])
    elif kind == "involve":
        area = rng.randint(1, 3)
        yield from _say(language, 5, area, rng.randint(1, 2 if area == 3 else 4))
        if rng.random() < 0.7:
            yield from _say(language, 1, rng.randint(1, 5), rng.randint(1, 5))
        else:
            yield from _say(language, 2)
    elif kind == "help":
        yield from _say(language, 6)
    elif kind == "language":
        yield from _say(language, 7, LANGUAGES[language])
    else:
        yield "what?"  # not a menu choice: asked again
        yield "0"


def _replies(rng: random.Random, language: str) -> Iterator[str]:
    """Yield everything one person sends: first contact, their language, then visits."""
    yield rng.choice(GREETINGS[language])
    if language in ("en", "syl-Latn"):  # Bengali script is recognised; others must choose
        yield from _say(language, LANGUAGES[language])
    while True:
        yield from _episode(rng, language)


def people(count: int, seed: int, population: int) -> list[Person]:
    """Return `count` people on a mix of channels and languages.

    Every population gets the same people saying the same things, at different addresses,
    so paths measured side by side in one database never share a conversation.
    """
    rng = random.Random(seed)
    crowd: list[Person] = []
    for index in range(count):
        channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        language = rng.choices(list(LANGUAGE_WEIGHTS), weights=list(LANGUAGE_WEIGHTS.values()))[0]
        if channel == "telegram":
            address = str(7_100_000_000 + population * 1_000_000 + index)
        else:
            address = f"+447700{population}{index:05d}"
        person_rng = random.Random(rng.getrandbits(64))
        crowd.append(Person(channel, address, language, _replies(person_rng, language)))
    return crowd


def workload(count: int, crowd: int, seed: int, population: int = 0) -> list[InboundMessage]:
    """Return `count` inbound messages from `crowd` people, their conversations interleaved."""
    rng = random.Random(seed)
    folk = people(crowd, seed, population)
    stream: list[InboundMessage] = []
    for number in range(count):
        person = rng.choice(folk)
        if person.channel == "telegram":
            provider_id = str(population * 10_000_000 + number)
        else:
            provider_id = f"SM{population}{number:031x}"
        stream.append(
            InboundMessage(
                channel=person.channel,
                address=person.address,
                text=next(person.replies),
                provider_id=provider_id,
            )
        )
    return stream


# -- measuring --------------------------------------------------------------------------------


class QueryCounter:
    """Counts the statements an engine sends to the database, by kind and table.

    Statements run straight through the driver (storage/db.py DriverStatement: the step's
    read, save and INSERTs) skip SQLAlchemy's events, so they are counted where they run;
    PostgreSQL's INSERT of a step's rows, one pipeline, counts once.
    """

    def __init__(self, engine: Engine) -> None:
        self.kinds: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._count)
        # The driver's methods are wrapped once; they count for the latest counter.
        global _COUNTING
        _COUNTING = self
        if not getattr(DriverStatement, "_counted", False):
            for name in ("run", "first", "one", "returning"):
                setattr(DriverStatement, name, _counted(getattr(DriverStatement, name)))
            DriverStatement._counted = True  # type: ignore[attr-defined]

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.kinds[_shape(statement)] += 1


_COUNTING: QueryCounter | None = None


def _counted(method: Callable[..., Any]) -> Callable[..., Any]:
    """A DriverStatement method that counts its statement for the current counter."""

    @functools.wraps(method)
    def run(statement: DriverStatement, *args: Any, **kwargs: Any) -> Any:
        if _COUNTING is not None:
            _COUNTING.kinds[_shape(statement.sql)] += 1
        return method(statement, *args, **kwargs)

    return run


# Statements repeat (their SQL is compiled once and cached), so each is parsed once: counting
# must not cost the paths it measures, and cost the one with more statements more.
@functools.lru_cache(maxsize=4096)
def _shape(statement: str) -> str:
    """Return a statement's kind and table, e.g. 'SELECT messages', 'UPDATE conversations'."""
    words = statement.split()
    verb = words[0].upper() if words else ""
    upper = [word.upper() for word in words]
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in upper:
            position = upper.index(keyword) + 1
            if position < len(words):
                return f"{verb} {words[position].strip(QUOTE)}"
    return verb


@dataclass
class Lane:
    """One path a stream of messages goes through, and what timing it found."""

    path: str
    send: Callable[[InboundMessage], object]
    stream: Sequence[InboundMessage]
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    statements: Counter[str] = field(default_factory=Counter)


@dataclass
class Result:
    """One path's figures on one database."""

    database: str
    path: str
    messages: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float  # this process's CPU time per message: steadier than wall time on a busy host
    queries_per_message: float
    statements: dict[str, float] = field(default_factory=dict)


def _percentile(ordered: Sequence[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def interleave(
    lanes: Sequence[Lane],
    counter: QueryCounter,
    warmup: int,
    messages: int,
    chunk: int,
    max_seconds: float,
) -> None:
    """Send every lane's stream in turns of `chunk` messages, timing each message.

    Taking turns means a noisy neighbour slows every path alike, so their ratio holds even
    when the absolute figures do not. Stops after `max_seconds` at the end of a round.
    """
    for start in range(0, warmup, chunk):
        for lane in lanes:
            for message in lane.stream[start : min(start + chunk, warmup)]:
                lane.send(message)
    deadline = time.perf_counter() + max_seconds
    for start in range(warmup, warmup + messages, chunk):
        stop = min(start + chunk, warmup + messages)
        for lane in lanes:
            counter.kinds = lane.statements
            cpu_started = time.process_time()
            for message in lane.stream[start:stop]:
                before = time.perf_counter()
                lane.send(message)
                lane.latencies.append(time.perf_counter() - before)
            lane.cpu_seconds += time.process_time() - cpu_started
        if time.perf_counter() > deadline:
            break
    counter.kinds = Counter()


def result(database_name: str, lane: Lane) -> Result:
    count = len(lane.latencies)
    seconds = sum(lane.latencies)
    ordered = sorted(lane.latencies)
    return Result(
        database=database_name,
        path=lane.path,
        messages=count,
        seconds=seconds,
        per_second=count / seconds,
        p50_ms=_percentile(ordered, 0.50) * 1000,
        p99_ms=_percentile(ordered, 0.99) * 1000,
        cpu_ms=lane.cpu_seconds / count * 1000,
        queries_per_message=sum(lane.statements.values()) / count,
        statements={kind: n / count for kind, n in lane.statements.most_common()},
    )


def baseline_sender(
    database: Database, stream: Sequence[InboundMessage]
) -> Callable[[InboundMessage], None]:
    """Create every address first; return a function inserting one inbound row per commit."""
    now = datetime.now(UTC)
    ids: dict[tuple[str, str], int] = {}
    with database.session() as session:
        for message in stream:
            key = (message.channel, message.address)
            if key not in ids:
                address = Address(
                    contact=Contact(created_at=now),
                    channel=message.channel,
                    address=message.address,
                    created_at=now,
                )
                session.add(address)
                session.flush()
                ids[key] = address.id
    statement = insert(Message)

    def send(message: InboundMessage) -> None:
        with database.engine.begin() as connection:
            connection.execute(
                statement,
                {
                    "address_id": ids[(message.channel, message.address)],
                    "channel": message.channel,
                    "direction": "in",
                    "body": message.text,
                    "provider_id": message.provider_id,
                    "status": "processed",
                    "is_reply": False,
                    "attempts": 0,
                    "created_at": datetime.now(UTC),
                },
            )

    return send


def runner_services(database: Database, workdir: Path) -> Services:
    """Build the services as a deployment would, with a RecordingSender on every channel."""
    settings = Settings(
        database_url=database.url,
        secret_key="bench",
        instance_dir=workdir / "instance",
        testing=True,
    )
    sender = RecordingSender()
    senders: dict[str, Sender] = {channel: sender for channel in CHANNELS}
    return build_services(settings, senders=senders, database=database)


def step_alone(services: Services) -> Runner:
    """A runner that hands nothing on: what each step writes stays queued, unsent."""
    stepper = services.runner.stepper
    alone = Stepper(
        stepper.flows, stepper.effects, expiry=stepper.expiry, watchers=stepper.watchers
    )
    return Runner(services.database, alone, None, clock=services.clock)


@dataclass
class Check:
    """What a runner path left in the database, to show the workload walked real flows."""

    path: str
    inbound: int
    failed: int
    outbound: int
    queued: int
    feedback: int
    surveys: int
    interests: int


def check(database: Database, path: str, stream: Sequence[InboundMessage]) -> Check:
    """Count what one path's people left behind (the warm-up included)."""
    addresses = sorted({message.address for message in stream})
    mine = Address.address.in_(addresses)
    with database.session() as session:

        def count(model: Any, *where: Any) -> int:
            query = select(func.count(model.id)).join(Address, model.address_id == Address.id)
            return session.scalar(query.where(mine, *where)) or 0

        return Check(
            path=path,
            inbound=count(Message, Message.direction == "in"),
            failed=count(Message, Message.direction == "in", Message.status == "failed"),
            outbound=count(Message, Message.direction == "out"),
            queued=count(Message, Message.direction == "out", Message.status == "queued"),
            feedback=count(Feedback),
            surveys=count(SurveyResponse),
            interests=count(Interest),
        )


@dataclass
class Options:
    """How much to send and how."""

    messages: int
    warmup: int
    people: int
    seed: int
    chunk: int
    max_seconds: float
    profile: bool


def run_database(
    name: str, url: str, options: Options, workdir: Path
) -> tuple[list[Result], list[Check], str]:
    """Measure the three paths side by side on one migrated, empty database."""
    database = Database(url)
    try:
        upgrade(database)
        counter = QueryCounter(database.engine)
        total = options.warmup + options.messages

        def stream(population: int) -> list[InboundMessage]:
            return workload(total, options.people, options.seed, population)

        bare = stream(0)
        alone = runner_services(database, workdir)
        delivering = runner_services(database, workdir)
        lanes = [
            Lane("baseline", baseline_sender(database, bare), bare),
            Lane("runner", step_alone(alone).receive, stream(1)),
            Lane("runner + delivery", delivering.runner.receive, stream(2)),
        ]
        interleave(
            lanes, counter, options.warmup, options.messages, options.chunk, options.max_seconds
        )
        results = [result(name, lane) for lane in lanes]
        checks = [check(database, lane.path, lane.stream) for lane in lanes[1:]]
        report = ""
        if options.profile:
            profiled = stream(3)[: options.warmup + min(options.messages, PROFILED)]
            report = _profile(delivering.runner.receive, profiled, options.warmup)
        return results, checks, report
    finally:
        database.dispose()


def _profile(
    send: Callable[[InboundMessage], object], stream: Sequence[InboundMessage], warmup: int
) -> str:
    """Return where one runner + delivery pass spends its time, by package and by function."""
    for message in stream[:warmup]:
        send(message)
    profiler = cProfile.Profile()
    profiler.enable()
    for message in stream[warmup:]:
        send(message)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    by_package: Counter[str] = Counter()
    for (filename, _line, function), entry in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename, function)] += entry[2]
    spent = sum(by_package.values())
    out.write(f"own time by package ({spent:.1f} s under cProfile):\n")
    for package, seconds in by_package.most_common(10):
        out.write(f"  {seconds / spent:6.1%}  {package}\n")
    out.write("\n")
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


def _package(filename: str, function: str) -> str:
    """Name the package a profiled function belongs to, for the summary."""
    if filename == "~":
        return "C: " + function.split(" of ")[0].strip("<")
    marker = "site-packages/"
    if marker in filename:
        parts = filename.split(marker, 1)[1].split("/")
        return ".".join(parts[:2]) if parts[0] == "sqlalchemy" else parts[0]
    if "/work/" in filename or "bench" in filename:
        return "kotha: " + Path(filename).parent.name
    return "python stdlib"


# -- reporting --------------------------------------------------------------------------------


def table(results: Sequence[Result]) -> str:
    """Return the figures as a plain-text table with each path's share of its baseline."""
    baseline = {r.database: r.per_second for r in results if r.path == "baseline"}
    header = (
        f"{'database':<11}{'path':<19}{'messages':>9}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'cpu ms':>8}{'queries/msg':>13}{'vs baseline':>13}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        share = r.per_second / baseline[r.database]
        target = TARGETS.get(r.path)
        verdict = "" if target is None else (" ok" if share >= target else " LOW")
        lines.append(
            f"{r.database:<11}{r.path:<19}{r.messages:>9}{r.per_second:>9.0f}{r.p50_ms:>9.2f}"
            f"{r.p99_ms:>9.2f}{r.cpu_ms:>8.2f}{r.queries_per_message:>13.1f}{share:>10.0%}{verdict}"
        )
    lines.append(
        "targets, as shares of the baseline's messages per second: "
        + ", ".join(f"{path} {share:.0%}" for path, share in TARGETS.items())
    )
    return "\n".join(lines)


def statements(results: Sequence[Result]) -> str:
    """Return each path's statements per message by kind and table."""
    lines: list[str] = []
    for r in results:
        parts = ", ".join(f"{kind} {n:.2f}" for kind, n in r.statements.items())
        lines.append(f"{r.database} / {r.path}: {parts}")
    return "\n".join(lines)


def checks_text(name: str, checks: Sequence[Check]) -> str:
    """Return one line per runner path saying what its people's messages became."""
    return "\n".join(
        f"{name} / {c.path}: {c.inbound} inbound ({c.failed} failed), {c.outbound} outbound "
        f"({c.queued} still queued), {c.feedback} feedback, {c.surveys} survey responses, "
        f"{c.interests} interests"
        for c in checks
    )


def understanding_cost(rounds: int = 3) -> dict[str, float]:
    """Time understanding each example message afresh; the best of `rounds` passes."""
    lexicon = default_lexicon()
    messages = [example.text for example in read_examples(EXAMPLES)]
    best: list[float] | None = None
    for _ in range(rounds):
        times = []
        for message in messages:
            started = time.perf_counter()
            lexicon._understand(message)  # noqa: SLF001 - the uncached path is what is measured
            times.append(time.perf_counter() - started)
        times.sort()
        if best is None or _percentile(times, 0.99) < _percentile(best, 0.99):
            best = times
    assert best is not None
    return {
        "messages": len(best),
        "p50_ms": 1000 * _percentile(best, 0.50),
        "p99_ms": 1000 * _percentile(best, 0.99),
        "max_ms": 1000 * best[-1],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--messages",
        type=int,
        help="measured messages per path (default 3000 on SQLite, 2000 on PostgreSQL)",
    )
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured messages per path")
    parser.add_argument("--people", type=int, default=200, help="distinct addresses per path")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk", type=int, default=50, help="messages per path per turn")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=40.0,
        help="stop measuring a database after this long, so a busy host still finishes",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then profile 1000 messages through runner + delivery per database (cProfile)",
    )
    args = parser.parse_args(argv)

    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(wanted) - set(DEFAULT_MESSAGES)
    if unknown:
        parser.error(f"unknown database: {', '.join(sorted(unknown))}")

    understood = understanding_cost()
    results: list[Result] = []
    checks: list[tuple[str, list[Check]]] = []
    profiles: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kotha-bench-") as tmp:
        workdir = Path(tmp)
        for name in wanted:
            options = Options(
                messages=args.messages or DEFAULT_MESSAGES[name],
                warmup=args.warmup,
                people=args.people,
                seed=args.seed,
                chunk=args.chunk,
                max_seconds=args.max_seconds,
                profile=args.profile,
            )
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'bench.db'}"
                found, left, report = run_database(name, url, options, workdir)
            else:
                with postgres_schema(args.postgres_url) as url:
                    found, left, report = run_database(name, url, options, workdir)
            results.extend(found)
            checks.append((name, left))
            if report:
                profiles.append(f"== profile: {name} / runner + delivery ==\n{report}")

    if args.json:
        payload = {
            "understanding": understood,
            "results": [asdict(r) for r in results],
            "checks": {name: [asdict(c) for c in left] for name, left in checks},
        }
        print(json.dumps(payload, indent=2))
    else:
        print(table(results))
        print()
        print(
            f"understanding, each of {understood['messages']:.0f} example messages afresh: "
            f"p50 {understood['p50_ms']:.2f} ms, p99 {understood['p99_ms']:.2f} ms, "
            f"max {understood['max_ms']:.2f} ms (target: p99 <= {UNDERSTANDING_P99 * 1000:.0f} ms)"
        )
        print()
        print("statements per message:")
        print(statements(results))
        print()
        print("what each runner path's people left (warm-up included):")
        print("\n".join(checks_text(name, left) for name, left in checks))
    for report in profiles:
        print(report, file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
