"""`kotha check` and `kotha db …`: what is configured, and whether each part answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import cli
from bot.cli.check import SHOWN
from storage import migrate
from storage.db import Database
from tests.conftest import REDIS_URL
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.wiring import SMS_FROM, TELEGRAM_SECRET, TELEGRAM_TOKEN


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "KOTHA_DATABASE_URL",
        "KOTHA_REDIS_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "KOTHA_PUBLIC_URL",
        "KOTHA_METRICS_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KOTHA_INSTANCE_DIR", str(tmp_path))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def section(output: str, title: str) -> dict[str, str]:
    lines = output.split(title + "\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return {line.split()[0]: " ".join(line.split()[1:]) for line in lines}


def test_check_with_fake_providers(
    environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    twilio: FakeTwilio,
    telegram: FakeTelegram,
) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio.auth_token)
    monkeypatch.setenv("KOTHA_TWILIO_API_URL", twilio.url)
    monkeypatch.setenv("KOTHA_SMS_FROM", SMS_FROM)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("KOTHA_TELEGRAM_API_URL", telegram.base_url)
    monkeypatch.setenv("KOTHA_PUBLIC_URL", "https://kotha.example.org")
    monkeypatch.setenv("KOTHA_DATABASE_URL", f"sqlite:///{environment / 'kotha.db'}")

    code, output = run(capsys, "check")

    assert code == 0, output
    shown = section(output, "Settings")
    assert shown["KOTHA_PUBLIC_URL"] == "https://kotha.example.org"
    for secret in (twilio.auth_token, TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1]):
        assert secret not in output
    assert shown["TWILIO_AUTH_TOKEN"].startswith("set,")
    channels = section(output, "Channels")
    assert channels["sms"] == "ready"
    assert channels["whatsapp"] == "lacks KOTHA_WHATSAPP_FROM"
    assert channels["telegram"] == "lacks KOTHA_TELEGRAM_SECRET"
    answers = section(output, "Answers")
    assert answers["database"].startswith("ok answers (sqlite, schema at")
    assert answers["queue"].startswith("ok answers (embedded SQLite")
    assert answers["twilio"].startswith("ok ")
    assert answers["telegram"] == "ok the API answered: the bot is @kotha_test_bot"
    # Asked for real: Twilio's list of messages, Telegram's getMe.
    assert telegram.calls_to("getMe")
    assert twilio.sent == []
    assert TELEGRAM_SECRET not in output


def test_check_says_what_does_not_answer(
    environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    twilio: FakeTwilio,
) -> None:
    monkeypatch.setenv("KOTHA_DATABASE_URL", "postgresql+psycopg://kotha:pw@127.0.0.1:1/kotha")
    monkeypatch.setenv("KOTHA_REDIS_URL", "redis://:redispw@127.0.0.1:1/0")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token")
    monkeypatch.setenv("KOTHA_TWILIO_API_URL", twilio.url)
    monkeypatch.setenv("KOTHA_SMS_FROM", SMS_FROM)

    code, output = run(capsys, "check")

    assert code == 1
    assert "pw@" not in output and "redispw" not in output and "wrong-token" not in output
    answers = section(output, "Answers")
    assert answers["database"].startswith("FAILED does not answer")
    assert answers["queue"].startswith("FAILED does not answer")
    assert answers["twilio"].startswith("FAILED refused: misconfigured")
    assert answers["telegram"].startswith("- not asked")
    channels = section(output, "Channels")
    assert channels["sms"] == "lacks KOTHA_PUBLIC_URL"
    assert (
        channels["telegram"] == "lacks TELEGRAM_BOT_TOKEN, KOTHA_TELEGRAM_SECRET, KOTHA_PUBLIC_URL"
    )


def test_db_current_history_and_downgrade(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The newest migration and the one before it, whichever they are.
    head, *_ = migrate.history()[0]
    before = migrate.history()[1][0]
    code, output = run(capsys, "db", "current")
    assert (code, output) == (0, f"empty (behind: `kotha db upgrade` brings it to {head})\n")
    assert run(capsys, "db", "upgrade") == (0, f"database upgraded from empty to {head}\n")
    assert run(capsys, "db", "upgrade") == (0, f"database is up to date ({head})\n")
    assert run(capsys, "db", "current") == (0, f"{head} (up to date)\n")
    history = run(capsys, "db", "history")[1].splitlines()
    assert history[0].startswith(f"* {head} <- {before}  ")
    assert history[-1].startswith("  0001 <- base  ")
    assert run(capsys, "db", "downgrade", before)[0] == 2  # not without --yes
    assert run(capsys, "db", "current")[1] == f"{head} (up to date)\n"
    assert run(capsys, "db", "downgrade", before, "--yes") == (
        0,
        f"database downgraded to {before}\n",
    )
    assert run(capsys, "db", "current")[1].startswith(f"{before} (behind")
    assert run(capsys, "db", "upgrade")[1] == f"database upgraded from {before} to {head}\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == "kotha 0.1.0"


@pytest.mark.redis
def test_check_on_the_deployment_database_and_redis(
    environment: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database: Database,
) -> None:
    """The database fixture is SQLite and, where it answers, PostgreSQL; the queue Redis."""
    monkeypatch.setenv("KOTHA_DATABASE_URL", database.url)
    monkeypatch.setenv("KOTHA_REDIS_URL", REDIS_URL)

    code, output = run(capsys, "check")

    assert code == 0, output
    answers = section(output, "Answers")
    assert answers["database"].startswith(f"ok answers ({database.dialect}, schema at")
    assert answers["queue"].startswith("ok answers (Redis,")


def test_check_shows_every_variable_the_readme_documents() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1]
    table = next(part for part in section.split("\n\n") if part.startswith("| variable"))
    documented = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }
    shown = [name for name, _ in SHOWN]
    assert len(documented) > 30
    assert sorted(documented - set(shown)) == []
    assert sorted(set(shown) - documented) == []
    assert len(shown) == len(set(shown))
