"""What staff write from the terminal: priced first, long messages confirmed, bad notes refused
with nothing changed."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot import settings as settings_module
from bot.services import build_services
from storage.migrate import upgrade
from storage.models import Address, Broadcast, Contact
from tests.bot.cli.test_cli_outcomes import kotha
from tests.storage.rows import yes_to_broadcasts

COMPLAINT = "1\n1\n1\nThe carer did not come.\nSKIP\n2\n1\n"
LONG_NOTE = "We looked at the visit records for every day last month and spoke to the carer. " * 7


def _status(env: dict[str, str]) -> str:
    [record] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)
    return str(record["status"])


def test_feedback_update_prices_confirms_and_refuses_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_QUIET_HOURS": "00:00-00:00"}
    env.pop("KOTHA_DATABASE_URL", None)
    assert kotha(env, "chat", stdin="hi\n" + COMPLAINT).returncode == 0
    [record] = json.loads(kotha(env, "export", "feedback", "--format", "json").stdout)
    reference = record["reference"]
    update = ("feedback", "update", reference, "--status", "in_progress")

    emoji = kotha(env, *update, "--note", "All sorted \U0001f44d")
    assert emoji.returncode == 2 and "Take the emoji out of the note" in emoji.stderr

    dry = kotha(
        env, *update, "--note", "We spoke to the carer \u2013 it\u2019s sorted.", "--dry-run"
    )
    assert dry.returncode == 0
    assert "1 text message (GSM-7), £0.04" in dry.stdout
    assert "1 dash and 1 curly quote replaced" in dry.stdout
    assert "it's sorted" in dry.stdout

    # Piped, with no one to answer the prompt: a long message needs --yes.
    long = kotha(env, *update, "--note", LONG_NOTE)
    assert long.returncode == 2 and "add --yes" in long.stderr
    assert "text messages (GSM-7)" in long.stdout
    assert _status(env) == "received"

    sent = kotha(env, *update, "--note", LONG_NOTE, "--yes")
    assert sent.returncode == 0 and sent.stdout.strip().endswith("update failed (no-sender)")
    assert _status(env) == "in_progress"


def test_broadcast_send_over_three_segments_needs_yes(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KOTHA_", "TWILIO_"))},
        "KOTHA_INSTANCE_DIR": str(tmp_path / "instance"),
        "KOTHA_SECRET_KEY": "test-secret",
    }
    services = build_services(settings_module.load(env))
    upgrade(services.database)
    now = datetime.now(UTC)
    with services.database.session() as session:
        contact = Contact(language="en", created_at=now)
        session.add(
            Address(contact=contact, channel="sms", address="+447700900403", created_at=now)
        )
        yes_to_broadcasts(session, contact, now)
    text = "en=" + "The day centre opens on Saturdays from January \u2013 10am to 3pm. " * 9

    refused = kotha(env, "broadcast", "send", "--title", "Long", "--text", text)

    assert refused.returncode == 2 and "add --yes" in refused.stderr
    assert "9 dashes replaced" in refused.stdout and "GSM-7" in refused.stdout
    with services.database.session() as session:
        assert session.scalars(select(Broadcast)).all() == []
    sent = kotha(env, "broadcast", "send", "--title", "Long", "--text", text, "--yes")
    assert sent.returncode == 0 and "broadcast 1: 1 messages queued" in sent.stdout
    with services.database.session() as session:
        assert "\u2013" not in session.scalars(select(Broadcast.texts)).one()["en"]
    services.close()
