"""Measure broadcast fan-out against a bare bulk insert of the same rows, and its peak memory.

On each database (a fresh SQLite file, a fresh PostgreSQL schema), with N people already
stored (mixed languages and channels, a few staff contacts and people who sent STOP):

- bare: insert N outbound `messages` rows with executemany, in transactions of the
  fan-out's batch size, from a list of addresses read before the clock starts: the floor;
- fan-out: `Broadcasts.launch` of a broadcast to all subscribers, in every language, whose
  job queueing is a no-op: choosing the recipients, each one's language, the INSERT ...
  SELECT ... ON CONFLICT DO NOTHING per batch and moving `fanout_after`.

The two take turns (bare, fan-out, bare, fan-out) and the better of each pair counts, so a
busy host slows both alike. The target is fan-out at most twice the bare time.

Memory: a child process fans out a broadcast to `--memory-recipients` people (1,000,000 by
default) and reports its peak resident set (`resource.getrusage`, ru_maxrss) and how much
of it came during the fan-out; the target is a peak under 300 MB. The people are written
by the database itself (a recursive CTE on SQLite, generate_series on PostgreSQL) before
the child starts, so the child's peak is the fan-out's own.

Run `python bench/fanout.py --help`. It leaves nothing behind.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import bindparam, delete, insert, select, text

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bot.i18n import I18n  # noqa: E402
from bot.outreach.broadcasts import BATCH_SIZE, Broadcasts  # noqa: E402
from bot.settings import FLOWS_DIR, LOCALES_DIR, Settings  # noqa: E402
from flows.library import load_flows  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Address, Broadcast, Message  # noqa: E402
from storage.types import UtcDateTime  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
TARGET_RATIO = 2.0
TARGET_PEAK_MB = 300
TEXTS = {
    "en": "The day centre opens on Saturdays from May. Reply 0 for the menu.",
    "bn": "মে মাস থেকে ডে সেন্টার শনিবারেও খোলা থাকবে। মেনুর জন্য 0 পাঠান।",
    "syl-Latn": "May thaki day centre shonibar-o khola thakbo. Menu lagle 0 pathain.",
}

# -- the people ------------------------------------------------------------------------------

# Every 10th person reads Bengali, 20th Sylheti, 25th romanised Sylheti, 7th has chosen no
# language; every 3rd is on WhatsApp, 5th on Telegram; 1 in 200 is staff, 1 in 50 sent STOP;
# everyone said yes to broadcasts (bot/pipeline/preferences.py), so each is checked against
# their monthly cap as the fan-out chooses them.
SEED_SQL = """
INSERT INTO contacts (id, language, created_at, staff)
SELECT n,
       CASE WHEN n % 10 = 0 THEN 'bn' WHEN n % 20 = 1 THEN 'syl'
            WHEN n % 25 = 2 THEN 'syl-Latn' WHEN n % 7 = 3 THEN NULL ELSE 'en' END,
       :now, n % 200 = 0
FROM {series};
INSERT INTO addresses (id, contact_id, channel, address, created_at, stopped_at, stopped_by)
SELECT n, n,
       CASE WHEN n % 3 = 0 THEN 'whatsapp' WHEN n % 5 = 0 THEN 'telegram' ELSE 'sms' END,
       '+447' || (100000000 + n), :now,
       CASE WHEN n % 50 = 0 THEN :now END, CASE WHEN n % 50 = 0 THEN 'person' END
FROM {series};
INSERT INTO preferences (contact_id, invitations, you_said, surveys, monthly_cap, language,
                         channel, updated_at)
SELECT n, true, true, true, 4, 'en', 'sms', :now
FROM {series};
"""
SERIES = {
    "sqlite": (
        "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :count) "
        "SELECT n FROM s)"
    ),
    "postgresql": "generate_series(1, :count) AS n",
}


def seed(database: Database, count: int) -> None:
    """Write `count` people and their addresses in the database itself."""
    series = SERIES[database.dialect]
    source = f"{series} AS people" if database.dialect == "sqlite" else series
    # Bound through the column type, so the timestamps are stored as Kotha stores them.
    now = bindparam("now", datetime.now(UTC), type_=UtcDateTime())
    with database.engine.begin() as connection:
        for statement in SEED_SQL.format(series=source).split(";"):
            if statement.strip():
                bound = text(statement).bindparams(now, count=count)
                connection.execute(bound)
        if database.dialect == "postgresql":
            for table in ("contacts", "addresses", "preferences"):
                connection.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            connection.execute(text("ANALYZE"))


def broadcasts_for(database: Database) -> Broadcasts:
    i18n = I18n(LOCALES_DIR)
    flows = load_flows(FLOWS_DIR, i18n.choices)
    return Broadcasts(
        database, i18n, flows, Settings(), lambda: datetime.now(UTC), lambda ids: None
    )


def new_broadcast(service: Broadcasts) -> int:
    with service.database.session() as session:
        created = service.create(
            session, title="Bench", texts=TEXTS, segment={"kind": "all"}, survey=None
        )
        return created.id


# -- the two paths ---------------------------------------------------------------------------


def bare_insert(database: Database, rows: Sequence[tuple[int, str]], broadcast_id: int) -> float:
    """Insert one outbound row per address with executemany, batch by batch; return seconds."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH_SIZE):
        batch = [
            {
                "address_id": address_id,
                "channel": channel,
                "direction": "out",
                "status": "queued",
                "body": TEXTS["en"],
                "language": "en",
                "encoding": "GSM-7",
                "segments": 1,
                "is_reply": False,
                "attempts": 0,
                "broadcast_id": broadcast_id,
                "dedupe_key": f"broadcast:{broadcast_id}",
                "created_at": now,
            }
            for address_id, channel in rows[start : start + BATCH_SIZE]
        ]
        with database.session() as session:
            session.execute(insert(Message), batch)
    return time.perf_counter() - started


def fan_out(service: Broadcasts) -> tuple[float, int]:
    broadcast_id = new_broadcast(service)
    started = time.perf_counter()
    written = service.launch(broadcast_id)
    return time.perf_counter() - started, written


def empty_messages(database: Database) -> None:
    """Remove every outbound row and broadcast between runs (not measured)."""
    if database.dialect == "postgresql":
        # TRUNCATE, not DELETE: a DELETE of 100,000 rows once ran for over ten minutes here
        # (on the CPU, in its foreign-key triggers), and between runs only the result matters.
        with database.engine.begin() as connection:
            connection.execute(text("TRUNCATE messages, broadcasts CASCADE"))
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE messages"))
        return
    with database.session() as session:
        session.execute(delete(Message))
        session.execute(delete(Broadcast))


@dataclass(frozen=True)
class Result:
    database: str
    recipients: int
    bare_seconds: float
    fanout_seconds: float

    @property
    def ratio(self) -> float:
        return self.fanout_seconds / self.bare_seconds


def run_speed(database: Database, name: str, count: int) -> Result:
    seed(database, count)
    service = broadcasts_for(database)
    with database.session() as session:
        # What the fan-out would choose, read before the clock starts: the bare path's input.
        rows = [
            (row.id, row.channel)
            for row in session.execute(
                text(
                    "SELECT a.id, a.channel FROM addresses a JOIN contacts c ON c.id = a.contact_id"
                    " WHERE a.stopped_at IS NULL AND NOT c.staff ORDER BY a.id"
                )
            )
        ]
    bare_times, fan_times = [], []
    for _ in range(2):
        empty_messages(database)
        placeholder = new_broadcast(service)
        bare_times.append(bare_insert(database, rows, placeholder))
        empty_messages(database)
        seconds, written = fan_out(service)
        assert written == len(rows), (written, len(rows))
        fan_times.append(seconds)
    return Result(name, len(rows), min(bare_times), min(fan_times))


# -- memory, in a child process --------------------------------------------------------------


def memory_child(url: str) -> None:
    """Fan out one broadcast to everyone stored; print peak and growth of RSS as JSON."""
    database = Database(url)
    service = broadcasts_for(database)
    broadcast_id = new_broadcast(service)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    written = service.launch(broadcast_id)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps({"written": written, "seconds": seconds, "before_kb": before, "peak_kb": peak})
    )


def run_memory(database: Database, url: str, count: int) -> dict[str, Any]:
    empty_messages(database)
    with database.session() as session:
        stored = session.scalar(select(Address.id).order_by(Address.id.desc()).limit(1)) or 0
    if stored < count:
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM preferences"))
            connection.execute(text("DELETE FROM addresses"))
            connection.execute(text("DELETE FROM contacts"))
        seed(database, count)
    child = subprocess.run(
        [sys.executable, __file__, "--memory-child", url],
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return measured


# -- databases -------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[tuple[Database, str]]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/fanout.db"
        database = Database(url)
        upgrade(database)
        try:
            yield database, url
        finally:
            database.dispose()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[tuple[Database, str]]:
    schema = f"kotha_bench_fanout_{int(time.time())}"
    admin = Database(admin_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in admin_url else "?"
    url = f"{admin_url}{separator}options={quote(f'-csearch_path={schema}')}"
    database = Database(url)
    try:
        upgrade(database)
        yield database, url
    finally:
        database.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--recipients", type=int, default=100_000, help="people for the timing")
    parser.add_argument("--memory-recipients", type=int, default=1_000_000)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--memory-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    report: list[dict[str, Any]] = []
    for name in args.databases.split(","):
        opened = sqlite_database() if name == "sqlite" else postgres_database(args.postgres_url)
        with opened as (database, url):
            speed = run_speed(database, name, args.recipients)
            memory = run_memory(database, url, args.memory_recipients)
        report.append({**asdict(speed), "ratio": speed.ratio, "memory": memory})
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    failed = False
    print(f"{'database':<11} {'recipients':>10} {'bare s':>8} {'fan-out s':>10} {'ratio':>6}")
    for entry in report:
        print(
            f"{entry['database']:<11} {entry['recipients']:>10,} {entry['bare_seconds']:>8.2f} "
            f"{entry['fanout_seconds']:>10.2f} {entry['ratio']:>6.2f}"
        )
        failed |= entry["ratio"] > TARGET_RATIO
    print(f"\ntarget: fan-out at most {TARGET_RATIO:g} x the bare insert\n")
    print(f"{'database':<11} {'recipients':>10} {'seconds':>8} {'peak MB':>8} {'growth MB':>10}")
    for entry in report:
        memory = entry["memory"]
        peak_mb = memory["peak_kb"] / 1024
        growth_mb = (memory["peak_kb"] - memory["before_kb"]) / 1024
        print(
            f"{entry['database']:<11} {memory['written']:>10,} {memory['seconds']:>8.1f} "
            f"{peak_mb:>8.1f} {growth_mb:>10.1f}"
        )
        failed |= peak_mb >= TARGET_PEAK_MB
    print(f"\ntarget: peak resident memory under {TARGET_PEAK_MB} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
