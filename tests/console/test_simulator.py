"""The simulator page through the real Flask app: a conversation, its costs, and its safety."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from bot.channels.console import RecordingSender
from bot.services import Services, build_services
from bot.settings import Settings
from bot.sms import sms_cost
from bot.types import CHANNELS
from kotha import create_app
from storage.db import Database
from storage.models import Address, Message
from tests.conftest import Bot, FrozenClock

SIMULATED = re.compile(r"sim:[0-9a-f]{8}")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def fresh_address(client: FlaskClient, channel: str = "sms") -> str:
    """Open the simulator as a new visitor would and return the address it gives them."""
    response = client.get(f"/simulator?channel={channel}")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["channel"] == [channel]
    [address] = query["as"]
    return address


def form_token(client: FlaskClient, address: str = "sim:0123abcd") -> str:
    """The CSRF token the simulator's form carries for this browser."""
    page = client.get(f"/simulator?channel=sms&as={address}").get_data(as_text=True)
    found = TOKEN.search(page)
    assert found is not None, "no CSRF token on the simulator's form"
    return found.group(1)


def say(client: FlaskClient, address: str, text: str, channel: str = "sms") -> str:
    """Send one message from the simulator's form; return the page the browser lands on."""
    form = {"channel": channel, "as": address, "text": text, "csrf_token": form_token(client)}
    response = client.post("/simulator", data=form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    return page.get_data(as_text=True)


def menu_text(services: Services, language: str) -> str:
    node = services.flows["menu"].nodes["main"]
    labels = tuple(option.label for option in node.options)
    return services.i18n.render(language, node.ask or "", choices=labels).text


def greeting_text(services: Services, channel: str = "sms") -> str:
    """The first greeting as `channel` shows it (by SMS, without Syloti Nagri)."""
    node = services.flows["language"].nodes["choose"]
    names = tuple(language.name for language in services.flows.languages)
    # The step fills in the privacy notice's address (bot/pipeline/step.py `links`).
    links = services.runner.stepper.links
    return services.i18n.render(
        None, node.ask or "", links, choices=names, raw_choices=True, channel=channel
    ).text


def outbound(services: Services, address: str) -> list[Message]:
    with services.database.session() as session:
        return list(
            session.scalars(
                select(Message)
                .join(Address, Address.id == Message.address_id)
                .where(Address.address == address, Message.direction == "out")
                .order_by(Message.id)
            )
        )


def test_healthz_answers_json(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


def test_simulator_forbids_every_script(client: FlaskClient) -> None:
    response = client.get(f"/simulator?channel=sms&as={fresh_address(client)}")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_each_visit_gets_a_fresh_simulated_address(client: FlaskClient) -> None:
    first, second = fresh_address(client), fresh_address(client)
    assert SIMULATED.fullmatch(first) and SIMULATED.fullmatch(second)
    assert first != second


def test_unknown_channel_in_the_address_bar_falls_back_to_sms(client: FlaskClient) -> None:
    response = client.get("/simulator?channel=carrier-pigeon")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["channel"] == ["sms"]


def test_empty_simulator_invites_a_first_message(client: FlaskClient) -> None:
    address = fresh_address(client)
    page = client.get(f"/simulator?channel=sms&as={address}").get_data(as_text=True)
    assert "Send any message to start" in page
    assert '<textarea id="text" name="text"' in page
    assert f'value="{address}"' in page


def test_reply_shows_with_its_encoding_and_segments(
    services: Services, client: FlaskClient
) -> None:
    address = fresh_address(client)
    page = say(client, address, "Hello")
    greeting = greeting_text(services)
    assert str(escape(greeting)) in page
    # The greeting lists বাংলা and সিলেটি, so it cannot be GSM-7.
    cost = sms_cost(greeting)
    assert cost.encoding == "UCS-2"
    assert f"UCS-2, {cost.segments} SMS segment" in page

    page = say(client, address, "1")
    menu = menu_text(services, "en")
    assert str(escape(menu)) in page
    assert f"GSM-7, {sms_cost(menu).segments} SMS segment" in page
    assert page.count('id="latest"') == 1

    rows = outbound(services, address)
    assert [row.body for row in rows] == [greeting, menu]
    assert [(row.encoding, row.status) for row in rows] == [
        ("UCS-2", "delivered"),
        ("GSM-7", "delivered"),
    ]


def test_bengali_menu_is_sent_in_ucs2(services: Services, client: FlaskClient) -> None:
    address = fresh_address(client)
    say(client, address, "Hello")
    page = say(client, address, "2")
    menu = menu_text(services, "bn")
    assert str(escape(menu)) in page
    assert "২ " in menu  # numbered in Bengali digits, whatever the wording
    assert 'lang="bn"' in page
    assert f"UCS-2, {sms_cost(menu).segments} SMS segment" in page


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_can_be_simulated(
    services: Services, client: FlaskClient, channel: str
) -> None:
    address = fresh_address(client, channel)
    page = say(client, address, "Hello", channel)
    assert str(escape(greeting_text(services, channel))) in page
    # The language menu names Syloti Nagri in itself; the conversation shows it off SMS only.
    transcript = page.split('<div class="phone">')[1]
    assert ("ꠍꠤꠟꠐꠤ" in transcript) == (channel != "sms")
    assert 'aria-current="page"' in page
    with services.database.session() as session:
        stored = session.scalars(select(Address)).one()
    assert (stored.channel, stored.address) == (channel, address)


REFUSED_FORMS = [
    {"channel": "fax", "as": "sim:0123abcd", "text": "hi"},
    {"channel": "", "as": "sim:0123abcd", "text": "hi"},
    {"as": "sim:0123abcd", "text": "hi"},
    {"channel": "sms", "text": "hi"},
    {"channel": "sms", "as": "", "text": "hi"},
    {"channel": "sms", "as": "+447700900123", "text": "hi"},
    {"channel": "whatsapp", "as": "whatsapp:+447700900123", "text": "hi"},
    {"channel": "telegram", "as": "700900003", "text": "hi"},
    {"channel": "sms", "as": "sim:", "text": "hi"},
    {"channel": "sms", "as": 'sim:"><b>x', "text": "hi"},
    {"channel": "sms", "as": "sim:0123abcd\n", "text": "hi"},
    {"channel": "sms", "as": " sim:0123abcd", "text": "hi"},
]


def test_bad_channel_or_address_is_refused(services: Services, client: FlaskClient) -> None:
    token = form_token(client)
    for form in REFUSED_FORMS:
        response = client.post("/simulator", data={**form, "csrf_token": token})
        assert response.status_code == 400, form
    with services.database.session() as session:
        assert session.scalars(select(Message)).first() is None


def test_forged_address_in_the_url_never_shows_a_real_conversation(
    bot: Bot, client: FlaskClient
) -> None:
    bot.receive("+447700900123", "My private words")
    response = client.get("/simulator?channel=sms&as=%2B447700900123")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "447700900123" not in location
    page = client.get(location).get_data(as_text=True)
    assert "My private words" not in page


def test_html_in_a_message_is_shown_as_text(client: FlaskClient) -> None:
    address = fresh_address(client)
    for text in (SCRIPT, ATTRIBUTE_BREAK, f"{ATTRIBUTE_BREAK} and {SCRIPT}"):
        page = say(client, address, text)
        assert str(escape(text)) in page
        assert SCRIPT not in page
        assert "<img" not in page
        assert "onerror=alert(1)>" not in page


def test_a_line_break_from_the_browser_is_stored_as_a_phone_sends_it(
    services: Services, client: FlaskClient
) -> None:
    address = fresh_address(client)
    say(client, address, "Hello")
    say(client, address, "1")
    say(client, address, "2")  # leave a comment
    say(client, address, "1")  # about home care
    say(client, address, "first line\r\nsecond line  ")
    with services.database.session() as session:
        bodies = session.scalars(
            select(Message.body).where(Message.direction == "in").order_by(Message.id)
        ).all()
    assert bodies[-1] == "first line\nsecond line  "


def test_simulated_people_never_reach_a_real_sender(
    services: Services, client: FlaskClient
) -> None:
    for channel in CHANNELS:
        address = fresh_address(client, channel)
        for text in ("Hello", "1", "1", "1"):
            say(client, address, text, channel)
    # The services' sender stands for Twilio and Telegram: it must have been given nothing.
    assert services.sender.sent == []  # type: ignore[attr-defined]
    with services.database.session() as session:
        addresses = session.scalars(select(Address.address)).all()
        statuses = set(session.scalars(select(Message.status).where(Message.direction == "out")))
    assert len(addresses) == len(CHANNELS)
    assert all(SIMULATED.fullmatch(address) for address in addresses)
    assert statuses == {"delivered"}


def test_replies_show_at_once_when_the_job_queue_sends_them(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    # As under `kotha run`: replies are queued for a consumer, and none is running here.
    sender = RecordingSender()
    queued = build_services(
        settings,
        senders={c: sender for c in CHANNELS},
        clock=clock,
        database=database,
        queue="huey",
    )
    assert queued.huey is not None
    try:
        client = create_app(services=queued).test_client()
        address = fresh_address(client)
        page = say(client, address, "Hello")
        assert str(escape(greeting_text(queued))) in page
        assert "waiting to be sent" not in page
        assert sender.sent == []
    finally:
        queued.huey.storage.close()
