"""Any text a person sent renders on every page and in every export, lone surrogates included.

Telegram's JSON may carry a lone surrogate ("\\ud800"), which no UTF-8 page can hold. The
rows here are stored as the pipeline stores them and read through the real app and the
real `kotha export`.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import cli
from bot.casework.accounts import create_user
from bot.cli import export
from bot.services import Services
from bot.types import InboundMessage
from kotha import create_app
from storage.models import Address, Feedback, Message, SafeguardingFlag
from storage.records import create_feedback
from tests.console.test_access import (
    PASSWORD,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    sign_in,
)

# What a person wrote: a lone high surrogate, a lone low one, and a NUL between real words.
ODD = "carer late \ud800 again \udfff and \x00 still 😞"
# What a page shows of it: each lone surrogate as the replacement character.
SHOWN = "carer late \ufffd again \ufffd and"


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff", "moderator"):
            create_user(session, f"{role}@example.org", role, PASSWORD, now=services.clock())
    return create_app(services=services)


def store(services: Services, address: str = "+447700900321") -> tuple[int, int, str]:
    """A person's message with the odd text, the complaint holding it, and a flag on it."""
    services.runner.receive(InboundMessage(channel="telegram", address=address, text=ODD))
    with services.database.session() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
        feedback_id, reference = _complaint(session, message.address_id)
        session.add(
            SafeguardingFlag(
                contact_id=session.get_one(Feedback, feedback_id).contact_id,
                message_id=message.id,
                feedback_id=feedback_id,
                categories=["neglect"],
                source="automatic",
                raised_at=services.clock(),
                status="open",
            )
        )
        return message.address_id, feedback_id, reference


def _complaint(session: Session, address_id: int) -> tuple[int, str]:
    address = session.get_one(Address, address_id)
    feedback = create_feedback(
        session,
        address,
        "en",
        "complaint",
        {"text": ODD, "desired_outcome": ODD},
        True,
        address.created_at,
        None,
    )
    session.flush()
    return feedback.id, feedback.reference


def test_the_text_is_stored_exactly(services: Services) -> None:
    store(services)
    with services.database.session() as session:
        assert session.scalars(select(Message.body).where(Message.direction == "in")).one() == ODD
        assert session.scalars(select(Feedback.text)).one() == ODD


@pytest.mark.parametrize("role", ["admin", "staff", "moderator"])
def test_every_page_showing_it_renders(app: Flask, services: Services, role: str) -> None:
    address_id, feedback_id, reference = store(services)
    client: FlaskClient = app.test_client()
    assert sign_in(client, f"{role}@example.org") == 302
    pages = [
        "/console/conversations",
        f"/console/conversations/{address_id}",
        "/console/conversations?q=again",
        "/console/",
    ]
    if role in ("staff", "admin"):
        pages += ["/console/cases", f"/console/cases/{reference}", "/console/cases.csv"]
    if role in ("moderator", "admin"):
        pages += [
            "/console/moderation",
            f"/console/moderation/{feedback_id}",
            "/console/safeguarding",
        ]
    shown = set()
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data()
        body.decode("utf-8")  # strict: what was sent is valid UTF-8
        if SHOWN.encode() in body:
            shown.add(path)
    # The pages that show what people wrote show these words too.
    # Every page that shows what the person wrote shows these words (the list shows the
    # bot's reply, the newest message; a word search cannot see inside escaped text).
    wrote = {
        f"/console/conversations/{address_id}",
        f"/console/cases/{reference}",
        "/console/moderation",
        f"/console/moderation/{feedback_id}",
        "/console/safeguarding",
    }
    assert shown == wrote & set(pages)


def test_every_export_keeps_it(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store(services)
    monkeypatch.setattr(export, "load_services", lambda **kwargs: services)
    for records in ("feedback", "surveys", "interests", "events"):
        for form in ("json", "csv"):
            assert cli.main(["export", records, "--format", form]) == 0, (records, form)
            printed = capsys.readouterr().out
            printed.encode("utf-8")  # printable on any UTF-8 terminal or file
            if records != "feedback":
                continue
            if form == "json":
                [row] = json.loads(printed)
                assert row["text"] == ODD  # exactly as written, escapes read back
            else:
                [row] = list(csv.DictReader(io.StringIO(printed)))
                assert re.match(r"carer late \\ud800 again \\udfff and \x00 still", row["text"])
