"""`kotha broadcast` in a terminal: preview, send (queued for the worker), status, cancel."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot import settings as settings_module
from bot.outreach.broadcasts import STOP_LINE
from bot.services import build_services
from storage.migrate import upgrade
from storage.models import Address, Broadcast, Contact, Message
from tests.storage.rows import yes_to_broadcasts

KOTHA = str(Path(sys.executable).with_name("kotha"))


def kotha(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KOTHA, "broadcast", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_send_status_and_cancel_from_the_command_line(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KOTHA_", "TWILIO_"))},
        "KOTHA_INSTANCE_DIR": str(tmp_path / "instance"),
        "KOTHA_SECRET_KEY": "test-secret",
    }
    services = build_services(settings_module.load(env))
    upgrade(services.database)
    now = datetime.now(UTC)
    with services.database.session() as session:
        for number, language in (("+447700900401", "bn"), ("+447700900402", "en")):
            contact = Contact(language=language, created_at=now)
            session.add(Address(contact=contact, channel="sms", address=number, created_at=now))
            yes_to_broadcasts(session, contact, now)
    texts = ["--text", "en=Meeting on Monday.", "--text", "bn=সোমবার সভা।"]

    dry = kotha(env, "send", "--title", "Monday", *texts, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "UCS-2" in dry.stdout and "2 recipients" in dry.stdout
    assert "Sylheti (Latin)  en (fallback)" in dry.stdout
    with services.database.session() as session:
        assert session.scalars(select(Broadcast)).all() == []

    only_bengali = kotha(env, "send", "--title", "Monday", *texts, "--segment", "language=bn")
    assert only_bengali.returncode == 0, only_bengali.stderr
    assert "broadcast 1: 1 messages queued" in only_bengali.stdout
    shown = kotha(env, "status", "1")
    assert "[------------------------------]   0% of 1" in shown.stdout
    assert "queued 1" in shown.stdout
    stopped = kotha(env, "cancel", "1")
    assert "1 messages not yet sent were stopped" in stopped.stdout
    with services.database.session() as session:
        row = session.scalars(select(Message)).one()
        assert (row.status, row.reason) == ("cancelled", "broadcast-cancelled")
        assert row.body == "সোমবার সভা।\n" + services.i18n.gettext("bn", STOP_LINE)

    scheduled = kotha(env, "send", "--title", "Later", *texts, "--at", "2099-01-05T09:30")
    assert "broadcast 2 scheduled for 2099-01-05 09:30 GMT" in scheduled.stdout
    refused = kotha(env, "send", "--title", "Bad", "--text", "bn=শুধু বাংলা")
    assert refused.returncode == 2 and "English" in refused.stderr
    services.close()
