"""Who may use the simulator, and what a simulated conversation may never do.

KOTHA_SIMULATOR: on by default only while no provider has credentials; off (404) otherwise
unless set to `staff`, which puts it behind the console's sign-in. Its form carries a CSRF
token, so another site cannot post into it. Simulated conversations page no one on call,
stay out of the daily digest, and are marked as simulated in every list and export.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from sqlalchemy import select

from bot import cli
from bot import settings as settings_module
from bot.casework.accounts import create_user
from bot.casework.cases import complaint_deadlines
from bot.casework.digest import CaseDigest
from bot.channels.console import RecordingSender
from bot.cli import export
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import CHANNELS, InboundMessage
from console import simulator
from kotha import create_app
from storage.db import Database
from storage.models import Address, Contact, Message, SafeguardingFlag
from storage.records import create_feedback
from tests.conftest import FrozenClock
from tests.console.test_access import (
    PASSWORD,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    sign_in,
    token,
)

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SIMULATED_ADDRESS = "sim:0123abcd"
TWILIO = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "secret"}
HARM = "My son hits me and takes my money"
ON_CALL = "telegram:9001"


def app_for(
    settings: Settings, database: Database, clock: FrozenClock, **overrides: object
) -> tuple[Flask, Services]:
    """The real app for these settings, every provider a recording stand-in."""
    sender = RecordingSender()
    services = build_services(
        settings.with_overrides(**overrides),
        senders={channel: sender for channel in CHANNELS},
        clock=clock,
        database=database,
    )
    services.sender = sender  # type: ignore[attr-defined]
    with services.database.session() as session:
        create_user(session, "staff@example.org", "staff", PASSWORD, now=clock())
    return create_app(services=services), services


def simulator_token(client: FlaskClient, address: str = SIMULATED_ADDRESS) -> str:
    page = client.get(f"/simulator?channel=sms&as={address}")
    assert page.status_code == 200, page.status_code
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def post(
    client: FlaskClient, text: str, token: str | None, address: str = SIMULATED_ADDRESS
) -> int:
    form = {"channel": "sms", "as": address, "text": text}
    if token is not None:
        form["csrf_token"] = token
    status: int = client.post("/simulator", data=form).status_code
    return status


def inbound_count(services: Services) -> int:
    with services.database.session() as session:
        return len(session.scalars(select(Message.id).where(Message.direction == "in")).all())


# -- KOTHA_SIMULATOR -------------------------------------------------------------------------


def test_the_setting_and_its_default(tmp_path: Path) -> None:
    base = {"KOTHA_SECRET_KEY": "k", "KOTHA_INSTANCE_DIR": str(tmp_path)}
    assert settings_module.load(base).simulator_access == "on"
    with_twilio = {**base, "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    assert settings_module.load(with_twilio).simulator_access == "off"
    with_telegram = {**base, "TELEGRAM_BOT_TOKEN": "123:abc"}
    assert settings_module.load(with_telegram).simulator_access == "off"
    for value, access in (("staff", "staff"), ("Staff", "staff"), ("on", "on"), ("OFF", "off")):
        loaded = settings_module.load({**with_twilio, "KOTHA_SIMULATOR": value})
        assert loaded.simulator_access == access, value
    with pytest.raises(ValueError, match="KOTHA_SIMULATOR='yes': expected on, off or staff"):
        settings_module.load({**base, "KOTHA_SIMULATOR": "yes"})


def test_with_provider_credentials_there_is_no_simulator(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    app, services = app_for(settings, database, clock, **TWILIO)
    client = app.test_client()
    assert client.get("/simulator").status_code == 404
    assert client.get(f"/simulator?channel=sms&as={SIMULATED_ADDRESS}").status_code == 404
    assert post(client, "hello", None) == 404
    assert inbound_count(services) == 0


@pytest.mark.parametrize("credentials", [{}, TWILIO])
def test_off_means_off_even_without_credentials(
    settings: Settings, database: Database, clock: FrozenClock, credentials: dict[str, str]
) -> None:
    app, _ = app_for(settings, database, clock, simulator="off", **credentials)
    assert app.test_client().get("/simulator").status_code == 404


def test_staff_means_signed_in_first(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    app, services = app_for(settings, database, clock, simulator="staff", **TWILIO)
    client = app.test_client()
    asked = client.get(f"/simulator?channel=sms&as={SIMULATED_ADDRESS}")
    assert asked.status_code == 302
    assert asked.location.startswith("/console/login?next=")
    # Nothing gets in without signing in, with or without a token from the login page.
    assert post(client, "hello", None) in (302, 400)
    assert post(client, "hello", token(client)) == 302
    assert client.get("/simulator").location.startswith("/console/login")
    assert inbound_count(services) == 0
    # Signing in goes back to the simulator, which then works.
    form = {"email": "staff@example.org", "password": PASSWORD, "csrf_token": token(client)}
    signed_in = client.post(asked.location, data=form)
    assert signed_in.status_code == 302
    assert unquote(signed_in.location) == f"/simulator?channel=sms&as={SIMULATED_ADDRESS}"
    assert post(client, "hello", simulator_token(client)) == 302
    assert inbound_count(services) == 1
    # Signed out, it is closed again.
    client.post("/console/logout", data={"csrf_token": token(client, "/console/")})
    assert client.get("/simulator").status_code == 302
    assert inbound_count(services) == 1


@pytest.mark.parametrize("access", ["on", "staff"])
def test_another_sites_post_does_nothing(
    settings: Settings, database: Database, clock: FrozenClock, access: str
) -> None:
    app, services = app_for(settings, database, clock, simulator=access)
    victim = app.test_client()
    if access == "staff":
        assert sign_in(victim, "staff@example.org") == 302
    simulator_token(victim)  # the victim's browser has a session with the simulator
    # A form on another site posts with the victim's cookies but cannot read their token:
    # no token, or the attacker's own (from another session), is refused.
    attacker = app.test_client()
    if access == "staff":
        assert sign_in(attacker, "staff@example.org") == 302
    attackers_token = simulator_token(attacker)
    headers = {"Origin": "https://evil.example", "Referer": "https://evil.example/"}
    for form_token in (None, attackers_token):
        form = {"channel": "sms", "as": SIMULATED_ADDRESS, "text": "hello"}
        if form_token is not None:
            form["csrf_token"] = form_token
        refused = victim.post("/simulator", data=form, headers=headers)
        assert refused.status_code == 400
    assert inbound_count(services) == 0
    assert post(victim, "hello", simulator_token(victim)) == 302
    assert inbound_count(services) == 1


def test_one_address_cannot_flood_the_simulator(
    settings: Settings, database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulator, "SENDS_PER_ADDRESS", parse("3/minute"))
    app, services = app_for(settings, database, clock)
    client = app.test_client()
    form_token = simulator_token(client)
    assert [post(client, "hello", form_token) for _ in range(4)] == [302, 302, 302, 429]
    assert inbound_count(services) == 3
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert post(other, "hello", simulator_token(other)) == 302


# -- what simulated conversations may never do ------------------------------------------------


def test_a_simulated_conversation_pages_no_one(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    app, services = app_for(settings, database, clock, safeguarding_alert_to=(ON_CALL,))
    sender: RecordingSender = services.sender  # type: ignore[attr-defined]
    client = app.test_client()
    form_token = simulator_token(client)
    # Fresh simulated addresses each time: none of them gets past to the on-call phone.
    for number in range(4):
        assert post(client, HARM, form_token, f"sim:0000000{number}") == 302
    with services.database.session() as session:
        flags = session.scalars(select(SafeguardingFlag)).all()
        assert len(flags) == 4  # moderators still see what was typed
        assert all(flag.alerted_at is None for flag in flags)
    assert not any(message.address == "9001" for message in sender.sent)
    # The same words from a real phone page the on-call moderator at once.
    services.runner.receive(InboundMessage(channel="sms", address="+447700900123", text=HARM))
    assert [message.address for message in sender.sent].count("9001") == 1
    # Moderators see all five flags; the four simulated ones are marked so.
    with services.database.session() as session:
        create_user(session, "admin@example.org", "admin", PASSWORD, now=clock())
    moderator = app.test_client()
    assert sign_in(moderator, "admin@example.org") == 302
    for path in ("/console/safeguarding", "/console/moderation"):
        page = moderator.get(path).text
        assert page.count("Urgent") == 5 and page.count("Simulated") == 4, path


def add_complaint(services: Services, address: str, created: datetime) -> str:
    with services.database.session() as session:
        row = Address(
            contact=Contact(created_at=created, language="en"),
            channel="sms",
            address=address,
            created_at=created,
        )
        session.add(row)
        session.flush()
        ack, respond = complaint_deadlines(created, services.settings.zone, 20)
        feedback = create_feedback(
            session,
            row,
            "en",
            "complaint",
            {"text": f"complaint from {address}"},
            True,
            created,
            ack,
            respond,
        )
        session.add(
            Message(
                address_id=row.id,
                channel="sms",
                direction="in",
                body=f"complaint from {address}",
                status="processed",
                created_at=created,
            )
        )
        session.flush()
        return feedback.reference


def test_simulated_cases_are_marked_everywhere_and_left_out_of_the_digest(
    settings: Settings,
    database: Database,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, services = app_for(settings, database, clock, digest_to=("sms:+447700900302",))
    with services.database.session() as session:
        create_user(session, "admin@example.org", "admin", PASSWORD, now=clock())
    long_ago = clock() - timedelta(days=40)  # both overdue
    real = add_complaint(services, "+447700900555", long_ago)
    simulated = add_complaint(services, SIMULATED_ADDRESS, long_ago)
    client = app.test_client()
    assert sign_in(client, "admin@example.org") == 302
    tag = "Simulated"
    for path in ("/console/conversations", "/console/cases", "/console/moderation"):
        page = client.get(path).text
        assert page.count(tag) == 1, path
        # The tag sits in the simulated one's row, not the real one's.
        [row] = [row for row in page.split("<tr") if tag in row]
        assert (SIMULATED_ADDRESS in row or simulated in row) and real not in row, path
    assert tag in client.get(f"/console/cases/{simulated}").text
    assert tag not in client.get(f"/console/cases/{real}").text
    with services.database.session() as session:
        ids = {row.address: row.id for row in session.execute(select(Address.address, Address.id))}
    assert tag in client.get(f"/console/conversations/{ids[SIMULATED_ADDRESS]}").text
    assert tag not in client.get(f"/console/conversations/{ids['+447700900555']}").text
    # The cases CSV and every `kotha export` say which records are simulated.
    rows = list(csv.DictReader(io.StringIO(client.get("/console/cases.csv").text)))
    assert {row["reference"]: row["simulated"] for row in rows} == {
        real: "False",
        simulated: "True",
    }
    monkeypatch.setattr(export, "load_services", lambda **kwargs: services)
    assert cli.main(["export", "feedback", "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {row["reference"]: row["simulated"] for row in exported} == {
        real: False,
        simulated: True,
    }
    assert cli.main(["export", "feedback", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {row["reference"]: row["simulated"] for row in rows} == {
        real: "False",
        simulated: "True",
    }
    # The daily digest to staff names only the real overdue case.
    digest = CaseDigest(services.database, services.settings, clock).text()
    assert real in digest and simulated not in digest
