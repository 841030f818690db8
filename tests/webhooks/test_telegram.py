"""The Telegram webhook, driven through Flask's test client with real-format updates."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from bot.types import CONTACT, LOCATION, OTHER, STICKER, VENUE, WEB_APP_DATA, InboundMessage, Media
from webhooks import telegram

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
TOKEN = "123456:TEST-token"
SECRET = "s3cret_Token-for-tests"
HEADERS = {telegram.SECRET_HEADER: SECRET}


@dataclass
class RecordingRunner:
    """Stands in for the core's runner: records messages, says duplicate for a repeated id."""

    received: list[InboundMessage] = field(default_factory=list)

    def receive(self, message: InboundMessage) -> SimpleNamespace:
        duplicate = any(seen.provider_id == message.provider_id for seen in self.received)
        self.received.append(message)
        return SimpleNamespace(duplicate=duplicate, message_id=len(self.received))


def make_app(**overrides: Any) -> tuple[Flask, RecordingRunner]:
    app = Flask(__name__)
    app.register_blueprint(telegram.blueprint)
    options = {"telegram_bot_token": TOKEN, "telegram_secret": SECRET, **overrides}
    runner = RecordingRunner()
    app.extensions["kotha"] = SimpleNamespace(settings=Settings(**options), runner=runner)
    return app, runner


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def post(client: FlaskClient, body: bytes | str, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/webhooks/telegram",
        data=body,
        headers=HEADERS if headers is None else headers,
        content_type="application/json",
    )


@pytest.fixture
def app_and_runner() -> tuple[Flask, RecordingRunner]:
    return make_app()


@pytest.fixture
def client(app_and_runner: tuple[Flask, RecordingRunner]) -> FlaskClient:
    return app_and_runner[0].test_client()


@pytest.fixture
def runner(app_and_runner: tuple[Flask, RecordingRunner]) -> RecordingRunner:
    return app_and_runner[1]


def at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


HANDED_OVER = [
    (
        "text_en.json",
        InboundMessage(
            channel="telegram",
            address="5000000001",
            text="The carer came late again this morning.",
            provider_id="731000101",
            language_hint="en",
            received_at=at(1718013600),
            chat_message_id="11",
        ),
    ),
    (
        "text_bn.json",
        InboundMessage(
            channel="telegram",
            address="5000000002",
            text="আমার মায়ের জন্য বাড়িতে সেবা দরকার। ধন্যবাদ ১",
            provider_id="731000102",
            language_hint="bn",
            received_at=at(1718013660),
            chat_message_id="12",
        ),
    ),
    (
        "voice.json",
        InboundMessage(
            channel="telegram",
            address="5000000003",
            text="",
            provider_id="731000103",
            media=(
                Media("telegram-file:AwACAgQAAxkBAAMNZmdTestVoiceFileId0000000000001", "audio/ogg"),
            ),
            language_hint="en",
            received_at=at(1718013720),
            chat_message_id="13",
        ),
    ),
    (
        "photo_caption.json",
        InboundMessage(
            channel="telegram",
            address="5000000004",
            text="The ramp outside the day centre is broken \u2014 see photo",
            provider_id="731000104",
            media=(
                Media("telegram-file:AgACAgQAAxkBAAMOZmdTestPhotoLarge000000000001", "image/jpeg"),
            ),
            language_hint="en-GB",
            received_at=at(1718013780),
            chat_message_id="14",
        ),
    ),
    (
        "document.json",
        InboundMessage(
            channel="telegram",
            address="5000000003",
            text="My care plan",
            provider_id="731000110",
            media=(
                Media(
                    "telegram-file:BQACAgQAAxkBAAMQZmdTestDocument000000000001",
                    "application/pdf",
                ),
            ),
            language_hint=None,
            received_at=at(1718014260),
            chat_message_id="16",
        ),
    ),
    (
        "video_note.json",
        InboundMessage(
            channel="telegram",
            address="5000000003",
            text="",
            provider_id="731000111",
            media=(
                Media("telegram-file:DQACAgQAAxkBAAMRZmdTestVideoNote00000000001", "video/mp4"),
            ),
            language_hint="en",
            received_at=at(1718014320),
            chat_message_id="17",
        ),
    ),
    (
        "sticker.json",
        InboundMessage(
            channel="telegram",
            address="5000000001",
            text="",
            provider_id="731000109",
            media=(Media("telegram-file:CAACAgIAAxkBAAMPZmdTestSticker0000000000001", STICKER),),
            language_hint="en",
            received_at=at(1718014200),
            chat_message_id="15",
        ),
    ),
    (
        "location.json",
        InboundMessage(
            channel="telegram",
            address="5000000001",
            text="",
            provider_id="731000112",
            media=(Media("geo:51.515519,-0.059906", LOCATION),),
            language_hint="en",
            received_at=at(1718014380),
            chat_message_id="18",
        ),
    ),
    (
        "contact.json",
        InboundMessage(
            channel="telegram",
            address="5000000001",
            text="",
            provider_id="731000113",
            media=(Media("tel:+447700900999", CONTACT),),
            language_hint="en",
            received_at=at(1718014440),
            chat_message_id="19",
        ),
    ),
    (
        "edited_message.json",
        InboundMessage(
            channel="telegram",
            address="5000000001",
            text="The carer came very late again this morning.",
            provider_id="731000106",
            language_hint="en",
            received_at=at(1718013600),
            chat_message_id="11",
            edited=True,
        ),
    ),
    (
        "text_without_is_bot.json",
        InboundMessage(
            channel="telegram",
            address="5000000005",
            text="The lunch club is closed again and nobody told us",
            provider_id="731000114",
            language_hint="en",
            received_at=at(1718014520),
            chat_message_id="20",
        ),
    ),
    (
        "venue.json",
        InboundMessage(
            channel="telegram",
            address="5000000005",
            text="",
            provider_id="731000115",
            media=(Media("geo:51.52003,-0.071663", VENUE),),
            language_hint="en",
            received_at=at(1718014521),
            chat_message_id="21",
        ),
    ),
    (
        "web_app_data.json",
        InboundMessage(
            channel="telegram",
            address="5000000005",
            text="",
            provider_id="731000116",
            media=(
                Media(
                    "data:,%7B%22service%22%3A%20%22home%20care%22%2C%20%22rating%22%3A%202%7D",
                    WEB_APP_DATA,
                ),
            ),
            language_hint="en",
            received_at=at(1718014522),
            chat_message_id="22",
        ),
    ),
    (
        "dice.json",
        InboundMessage(
            channel="telegram",
            address="5000000005",
            text="",
            provider_id="731000117",
            media=(Media("telegram:dice", OTHER),),
            language_hint="en",
            received_at=at(1718014523),
            chat_message_id="23",
        ),
    ),
    (
        "callback_query.json",
        InboundMessage(
            channel="telegram",
            address="5000000002",
            text="2",
            provider_id="731000105",
            language_hint="bn",
        ),
    ),
]

IGNORED = [
    "my_chat_member.json",
    "group_text.json",  # Kotha only talks in private chats
]


@pytest.mark.parametrize(("name", "expected"), HANDED_OVER)
def test_update_is_handed_over_as_sent(
    client: FlaskClient, runner: RecordingRunner, name: str, expected: InboundMessage
) -> None:
    response = post(client, (FIXTURES / name).read_bytes())

    assert response.status_code == 200
    assert runner.received == [expected]


@pytest.mark.parametrize("name", IGNORED)
def test_update_kotha_does_not_read_is_acknowledged_and_ignored(
    client: FlaskClient, runner: RecordingRunner, name: str
) -> None:
    response = post(client, (FIXTURES / name).read_bytes())

    assert response.status_code == 200
    assert response.data == b""
    assert runner.received == []


def test_button_press_is_answered_in_the_response_body(client: FlaskClient) -> None:
    response = post(client, (FIXTURES / "callback_query.json").read_bytes())

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {
        "method": "answerCallbackQuery",
        "callback_query_id": "4382bfdwdsb323b2d9",
    }


def test_plain_message_gets_an_empty_answer(client: FlaskClient) -> None:
    response = post(client, (FIXTURES / "text_en.json").read_bytes())

    assert response.status_code == 200
    assert response.data == b""


def test_button_without_data_is_answered_but_not_handed_over(
    client: FlaskClient, runner: RecordingRunner
) -> None:
    update = fixture("callback_query.json")
    del update["callback_query"]["data"]
    update["callback_query"]["game_short_name"] = "quiz"

    response = post(client, json.dumps(update))

    assert response.get_json()["method"] == "answerCallbackQuery"
    assert runner.received == []


def test_repeated_update_is_answered_the_same_way(
    client: FlaskClient, runner: RecordingRunner
) -> None:
    body = (FIXTURES / "text_bn.json").read_bytes()

    first, second = post(client, body), post(client, body)

    assert (first.status_code, first.data) == (second.status_code, second.data) == (200, b"")
    # Deduping is the runner's job; the webhook hands both over with the same provider_id.
    assert [m.provider_id for m in runner.received] == ["731000102", "731000102"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {telegram.SECRET_HEADER: ""},
        {telegram.SECRET_HEADER: "wrong"},
        {telegram.SECRET_HEADER: SECRET[:-1]},
        {telegram.SECRET_HEADER: SECRET + "x"},
        {telegram.SECRET_HEADER: SECRET.upper()},
        {telegram.SECRET_HEADER: "sécret"},
    ],
    ids=["missing", "empty", "wrong", "prefix", "longer", "case", "non-ascii"],
)
def test_wrong_or_missing_secret_is_forbidden(
    client: FlaskClient, runner: RecordingRunner, headers: dict[str, str]
) -> None:
    response = post(client, (FIXTURES / "text_en.json").read_bytes(), headers=headers)

    assert response.status_code == 403
    assert runner.received == []


@pytest.mark.parametrize(
    "overrides",
    [{"telegram_secret": None}, {"telegram_bot_token": None}, {"telegram_secret": ""}],
    ids=["no-secret", "no-token", "empty-secret"],
)
def test_telegram_not_configured_is_forbidden(overrides: dict[str, Any]) -> None:
    app, runner = make_app(**overrides)
    headers = {telegram.SECRET_HEADER: overrides.get("telegram_secret") or SECRET}

    response = post(app.test_client(), (FIXTURES / "text_en.json").read_bytes(), headers)

    assert response.status_code == 403
    assert runner.received == []


def test_secret_is_checked_before_the_body_is_read(client: FlaskClient) -> None:
    response = post(client, b"x" * (telegram.MAX_BODY_BYTES + 1), headers={})

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json",
        b"[]",
        b"[1, 2]",
        b'"update"',
        b"null",
        b"{}",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "731000101"}',
        b'{"update_id": true}',
        b'{"update_id": 1.5}',
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"update_id": 1, "message": {"chat": "x"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": "soon", '
        b'"chat": {"id": 1, "type": "private"}, "text": "hi"}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1, '
        b'"chat": {"id": 1, "type": "private"}, "text": 42}}',
        b'{"update_id": 1, "message": {"message_id": 1, "date": 1, '
        b'"chat": {"id": "1", "type": "private"}, "text": "hi"}}',
    ],
    ids=lambda body: body[:40].decode("latin-1"),
)
def test_anything_but_an_update_is_a_bad_request(
    client: FlaskClient, runner: RecordingRunner, body: bytes
) -> None:
    response = post(client, body)

    assert response.status_code == 400
    assert runner.received == []


def test_oversized_body_is_refused(client: FlaskClient, runner: RecordingRunner) -> None:
    update = fixture("text_en.json")
    update["message"]["text"] = "x" * telegram.MAX_BODY_BYTES

    response = post(client, json.dumps(update))

    assert response.status_code == 413
    assert runner.received == []


def test_body_just_under_the_limit_is_read(client: FlaskClient, runner: RecordingRunner) -> None:
    update = fixture("text_en.json")
    update["message"]["text"] = ""
    room = telegram.MAX_BODY_BYTES - len(json.dumps(update))
    update["message"]["text"] = "x" * room

    response = post(client, json.dumps(update))

    assert len(json.dumps(update)) == telegram.MAX_BODY_BYTES
    assert response.status_code == 200
    assert runner.received[0].text == "x" * room


SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")

# Every code point, lone surrogates included: json.dumps writes those as "\ud800" escapes,
# which is how they would reach us; the parser must hand back exactly the same string.
any_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
    max_size=300,
)
surrogate_heavy_text = st.text(
    st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, exclude_categories=()),
    min_size=1,
    max_size=20,
)
tricky_text = st.sampled_from(
    [
        "\ud800",
        "a\udfffb",
        "\x00\x07\x1b[31m\r\n\t",
        "مرحبا \u202eabc\u202c",
        "\u200f\u05e9\u05dc\u05d5\u05dd",
        "👍🏽👨‍👩‍👧",
        "\ufeff\ufffe\uffff",
        " leading and trailing ",
        "১২৩ আমি",
    ]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(tricky_text, surrogate_heavy_text, any_text))
def test_any_text_arrives_exactly(text: str) -> None:
    app, runner = make_app()
    update = fixture("text_bn.json")
    update["message"]["text"] = text
    body = json.dumps(update)

    response = post(app.test_client(), body)

    # On the wire a high and a low surrogate escape side by side are one astral character
    # (JSON says so), so "exactly" means exactly what the JSON text says.
    sent = json.loads(body)["message"]["text"]
    assert response.status_code == 200
    assert runner.received[0].text == sent
    if not SURROGATE_PAIR.search(text):
        assert runner.received[0].text == text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
update_keys = st.sampled_from(
    ["update_id", "message", "edited_message", "callback_query", "channel_post", "poll"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(update_keys | any_text, json_values, max_size=5))
def test_random_objects_never_cause_a_server_error(body: dict[str, Any]) -> None:
    app, _ = make_app()

    response = post(app.test_client(), json.dumps(body))

    assert response.status_code in (200, 400)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


@st.composite
def mutated_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A real fixture with one value anywhere inside replaced by arbitrary JSON."""
    name = draw(st.sampled_from([n for n, _ in HANDED_OVER] + IGNORED))
    update = copy.deepcopy(fixture(name))
    path = draw(st.sampled_from(_paths(update)[1:]))
    parent = update
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = draw(json_values)
    return update


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(update=mutated_updates())
def test_mangled_real_updates_never_cause_a_server_error(update: dict[str, Any]) -> None:
    app, runner = make_app()

    response = post(app.test_client(), json.dumps(update))

    assert response.status_code in (200, 400)
    for message in runner.received:
        assert isinstance(message.address, str) and message.address.lstrip("-").isdigit()
        assert isinstance(message.text, str)
        assert all(isinstance(media.url, str) for media in message.media)


# Fields Telegram documents as always sent but Kotha never reads; updates replayed from other
# projects' tests lack them. Dropping any of them must not lose the person's words.
OPTIONAL_PATHS = [
    ("from", "is_bot"),
    ("from", "first_name"),
    ("from",),
    ("chat", "type"),
    ("chat", "first_name"),
    ("date",),
    ("message_id",),
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["text_en.json", "text_bn.json", "photo_caption.json", "voice.json"]),
    dropped=st.sets(st.sampled_from(OPTIONAL_PATHS)),
)
def test_fields_kotha_does_not_read_may_be_missing(
    name: str, dropped: set[tuple[str, ...]]
) -> None:
    app, runner = make_app()
    update = fixture(name)
    message = update["message"]
    expected = dict(HANDED_OVER)[name]
    for path in dropped:
        holder = message
        for key in path[:-1]:
            holder = holder.get(key, {})
        holder.pop(path[-1], None)

    response = post(app.test_client(), json.dumps(update))

    assert response.status_code == 200
    [received] = runner.received
    assert (received.address, received.text, received.media) == (
        expected.address,
        expected.text,
        expected.media,
    )


def test_a_group_chat_without_its_type_is_still_left_alone(runner: RecordingRunner) -> None:
    app, runner = make_app()
    update = fixture("group_text.json")
    del update["message"]["chat"]["type"]

    assert post(app.test_client(), json.dumps(update)).status_code == 200
    assert runner.received == []


def test_every_refusal_and_ignored_update_is_logged_with_its_reason(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")

    post(client, b'{"update_id": 1, "message": {"chat": "x"}}')
    post(client, (FIXTURES / "my_chat_member.json").read_bytes())
    post(client, (FIXTURES / "text_en.json").read_bytes(), headers={})

    assert "refused (400): not a Telegram update" in caplog.text
    assert "ignored: my_chat_member update" in caplog.text
    assert "refused (403): wrong secret token" in caplog.text
    assert "The carer" not in caplog.text and "5000000001" not in caplog.text
