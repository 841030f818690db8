"""Shared fixtures: databases on SQLite and PostgreSQL, a frozen clock, a bot to talk to."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from bot.channels.console import RecordingSender
from bot.cli.catalogs import compile_catalogs
from bot.services import Services, build_services
from bot.settings import LOCALES_DIR, Settings
from bot.types import CHANNELS, InboundMessage, Media
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Base

# Speed is measured by bench/, never by a test: no deadline on a property test's examples,
# which a loaded machine (two workers, a browser) can miss by chance.
hypothesis_settings.register_profile("kotha", deadline=None)
hypothesis_settings.load_profile("kotha")

# Fixtures for services wired to the fake providers: `twilio`, `telegram`, `wired`.
pytest_plugins = ["tests.fakes.wiring"]

CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get(
    "KOTHA_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


def redis_url_of_this_worker(url: str) -> str:
    """A Redis database for this pytest-xdist worker alone: 15, 14, ... from the given one.

    Keys shared by every process of a deployment (the pacer's slots, Huey's queue) would
    otherwise be shared by tests running at the same moment in two workers, and they
    would pace each other.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    base, _, number = url.rpartition("/")
    if not number.isdigit():
        return url
    return f"{base}/{(int(number) - index) % 16}"


REDIS_URL = redis_url_of_this_worker(
    os.environ.get("KOTHA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# PostgreSQL tests run where PostgreSQL answers, and always under CI=true, where an absent
# server makes them fail rather than vanish.
POSTGRES = CI or reachable("127.0.0.1", 5432)
# Likewise Redis, at the address the tests use.
_REDIS_PARTS = urlsplit(REDIS_URL)
REDIS = CI or reachable(_REDIS_PARTS.hostname or "127.0.0.1", _REDIS_PARTS.port or 6379)
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES else [])]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL or Redis here (never under CI=true), tests marked `postgres` or
    `redis` are deselected."""
    absent = [name for name, here in (("postgres", POSTGRES), ("redis", REDIS)) if not here]
    deselected = [item for item in items if any(item.get_closest_marker(m) for m in absent)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.fixture(scope="session", autouse=True)
def _catalogs() -> None:
    compile_catalogs(LOCALES_DIR)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kotha.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


def _worker_schema() -> str:
    # One schema per test process, so parallel workers and parallel runs never collide.
    return f"kotha_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def _run_admin(statement: str) -> None:
    admin = Database(POSTGRES_URL)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    schema = _worker_schema()
    try:
        _run_admin(f"CREATE SCHEMA {schema}")
    except Exception as error:  # noqa: BLE001 - say plainly why the suite cannot go on
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} cannot be used: {error}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    yield url
    _run_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a fresh SQLite file, or PostgreSQL truncated after use."""
    if request.param == "sqlite":
        path = tmp_path / "kotha.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    database = Database(request.getfixturevalue("_postgres_url"))
    try:
        yield database
    finally:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        database.dispose()


@dataclass
class FrozenClock:
    """A clock that stands still until a test moves it."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 18, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(tmp_path: Path, database: Database) -> Settings:
    return Settings(
        database_url=database.url,
        secret_key="test-secret",
        instance_dir=tmp_path / "instance",
        testing=True,
    )


class Bot:
    """A conversation partner for tests: `bot.receive(address, text)` then read `bot.replies`."""

    def __init__(self, services: Services, sender: RecordingSender) -> None:
        self.services = services
        self.sender = sender

    @property
    def replies(self) -> list[str]:
        return [message.text for message in self.sender.sent]

    def receive(
        self,
        address: str,
        text: str,
        channel: str = "sms",
        *,
        provider_id: str | None = None,
        media: tuple[Media, ...] = (),
        language_hint: str | None = None,
    ) -> list[str]:
        """Send one message as a person; return the bot's replies to it."""
        before = len(self.sender.sent)
        self.services.runner.receive(
            InboundMessage(
                channel=channel,  # type: ignore[arg-type]
                address=address,
                text=text,
                provider_id=provider_id,
                media=media,
                language_hint=language_hint,
            )
        )
        return self.replies[before:]

    def conversation(self, address: str, *texts: str, channel: str = "sms") -> list[str]:
        """Send several messages in turn; return every reply."""
        replies: list[str] = []
        for line in texts:
            replies.extend(self.receive(address, line, channel))
        return replies


@pytest.fixture
def services(settings: Settings, database: Database, clock: FrozenClock) -> Services:
    sender = RecordingSender()
    built = build_services(
        settings, senders={c: sender for c in CHANNELS}, clock=clock, database=database
    )
    built.sender = sender  # type: ignore[attr-defined]
    return built


@pytest.fixture
def bot(services: Services) -> Bot:
    return Bot(services, services.sender)  # type: ignore[attr-defined]
