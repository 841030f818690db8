"""Twilio's webhooks through the real Flask test client, each request signed by the SDK."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from bot.channels.base import RecipientStoppedError, SendError, ThrottledError
from bot.settings import Settings
from bot.types import LOCATION, UNKNOWN_FILE_TYPE, InboundMessage, Media
from webhooks import twilio as twilio_webhook

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
TOKEN = "0123456789abcdef0123456789abcdef"
MESSAGES = "/webhooks/twilio/messages"
STATUS = "/webhooks/twilio/status"
LOCAL = "http://localhost"
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
MEDIA_BASE = (
    "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/"
)


@dataclass
class Received:
    duplicate: bool
    message_id: int


@dataclass
class RecordingRunner:
    """Stands in for the core's runner: records messages and reports repeats as duplicates."""

    messages: list[InboundMessage] = field(default_factory=list)
    error: Exception | None = None

    def receive(self, message: InboundMessage) -> Received:
        if self.error is not None:
            raise self.error
        seen = [m.provider_id for m in self.messages]
        self.messages.append(message)
        return Received(duplicate=message.provider_id in seen, message_id=len(self.messages))


@dataclass
class RecordingDelivery:
    statuses: list[tuple[str, str, str | None]] = field(default_factory=list)
    errors: list[SendError | None] = field(default_factory=list)

    def record_status(
        self,
        provider_id: str,
        status: str,
        error_code: str | None,
        *,
        error: SendError | None = None,
    ) -> bool:
        self.statuses.append((provider_id, status, error_code))
        self.errors.append(error)
        return True


def make_app(**overrides: Any) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(twilio_webhook.blueprint)
    settings = Settings(twilio_auth_token=TOKEN, secret_key="test").with_overrides(**overrides)
    app.extensions["kotha"] = SimpleNamespace(
        settings=settings, runner=RecordingRunner(), delivery=RecordingDelivery()
    )
    return app


def runner(app: Flask) -> RecordingRunner:
    result: RecordingRunner = app.extensions["kotha"].runner
    return result


def delivery(app: Flask) -> RecordingDelivery:
    result: RecordingDelivery = app.extensions["kotha"].delivery
    return result


def fixture(name: str) -> dict[str, str]:
    form: dict[str, str] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return form


def sign(url: str, form: dict[str, str], token: str = TOKEN) -> str:
    signature: str = RequestValidator(token).compute_signature(url, form)
    return signature


def post(
    client: FlaskClient,
    path: str,
    form: dict[str, str],
    *,
    signed_for: str | None = None,
    token: str = TOKEN,
    base_url: str = LOCAL,
) -> Any:
    url = signed_for if signed_for is not None else LOCAL + path
    headers = {"X-Twilio-Signature": sign(url, form, token)}
    return client.post(path, data=form, headers=headers, base_url=base_url)


@pytest.fixture
def app() -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


INBOUND = [
    (
        "sms_english.json",
        InboundMessage(
            channel="sms",
            address="+447700900123",
            text="Hi, the carer didn't come on Tuesday & nobody rang me. 2nd time this month.",
            provider_id="SM" + "1a" * 16,
        ),
    ),
    (
        "sms_bengali.json",
        InboundMessage(
            channel="sms",
            address="+447700900124",
            text="আমার মায়ের হোম কেয়ারের কর্মী গত সপ্তাহে দুই দিন আসেননি। কেউ আমাদের জানায়নি। দয়া করে দেখুন।",
            provider_id="SM" + "2b" * 16,
        ),
    ),
    (
        "whatsapp_sylheti.json",
        InboundMessage(
            channel="whatsapp",
            address="+447700900234",
            text="আফনারে বহুত ধন্যবাদ, আমার কেয়ারার খুব বালা মানুষ 🙏",
            provider_id="SM" + "3c" * 16,
        ),
    ),
    (
        "whatsapp_voice_note.json",
        InboundMessage(
            channel="whatsapp",
            address="+447700900235",
            text="",
            provider_id="MM" + "4d" * 16,
            media=(
                Media(
                    url=MEDIA_BASE + "MM" + "4d" * 16 + "/Media/ME" + "4e" * 16,
                    content_type="audio/ogg",
                ),
            ),
        ),
    ),
    (
        "whatsapp_photo.json",
        InboundMessage(
            channel="whatsapp",
            address="+447700900236",
            text="The ramp at the day centre is broken again",
            provider_id="MM" + "5e" * 16,
            media=(
                Media(
                    url=MEDIA_BASE + "MM" + "5e" * 16 + "/Media/ME" + "5f" * 16,
                    content_type="image/jpeg",
                ),
            ),
        ),
    ),
    (
        "mms_without_content_type.json",
        InboundMessage(
            channel="sms",
            address="+447700900238",
            text="Photo of the broken lift at Brick Lane",
            provider_id="MM" + "7c" * 16,
            media=(
                Media(
                    url=MEDIA_BASE + "MM" + "7c" * 16 + "/Media/ME" + "7d" * 16,
                    content_type=UNKNOWN_FILE_TYPE,
                ),
            ),
        ),
    ),
    (
        "whatsapp_user_id.json",
        InboundMessage(
            channel="whatsapp",
            address="+447700900239",
            text="The day centre bus did not come today",
            provider_id="SM" + "8d" * 16,
            external_user_id="GB.5023117735401932",
        ),
    ),
    (
        "whatsapp_user_name_only.json",
        InboundMessage(
            channel="whatsapp",
            address="GB.5023117735401932",
            text="1",
            provider_id="SM" + "9e" * 16,
            external_user_id="GB.5023117735401932",
        ),
    ),
    (
        "whatsapp_location.json",
        InboundMessage(
            channel="whatsapp",
            address="+447700900237",
            text="",
            provider_id="MM" + "6a" * 16,
            media=(Media(url="geo:51.5155,-0.0599", content_type=LOCATION),),
        ),
    ),
]


@pytest.mark.parametrize(("name", "expected"), INBOUND, ids=[name for name, _ in INBOUND])
def test_fixture_parses_to_the_inbound_message(
    app: Flask, client: FlaskClient, name: str, expected: InboundMessage
) -> None:
    response = post(client, MESSAGES, fixture(name))

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.data == EMPTY_TWIML
    assert runner(app).messages == [expected]
    assert runner(app).messages[0].text.encode() == fixture(name)["Body"].encode()


STATUSES = [
    ("status_sms_delivered.json", ("SM" + "6a" * 16, "delivered", None)),
    ("status_sms_undelivered.json", ("SM" + "7b" * 16, "undelivered", "30003")),
    ("status_whatsapp_read.json", ("SM" + "8c" * 16, "read", None)),
    ("status_whatsapp_failed.json", ("SM" + "9e" * 16, "failed", "63016")),
    ("status_whatsapp_rate_limited.json", ("SM" + "af" * 16, "failed", "63018")),
    ("status_sms_unsubscribed.json", ("SM" + "b0" * 16, "undelivered", "21610")),
]
# What each callback's error code means to delivery, where it changes what happens next.
STATUS_ERRORS = {
    "status_whatsapp_rate_limited.json": ThrottledError,
    "status_sms_unsubscribed.json": RecipientStoppedError,
}


@pytest.mark.parametrize(("name", "expected"), STATUSES, ids=[name for name, _ in STATUSES])
def test_status_callback_is_handed_to_delivery(
    app: Flask, client: FlaskClient, name: str, expected: tuple[str, str, str | None]
) -> None:
    response = post(client, STATUS, fixture(name))

    assert response.status_code == 200
    assert response.data == b""
    assert delivery(app).statuses == [expected]
    [error] = delivery(app).errors
    assert type(error) is STATUS_ERRORS.get(name, type(None))
    assert runner(app).messages == []


def test_status_twilio_reports_but_the_core_does_not_track_is_acknowledged(
    app: Flask, client: FlaskClient
) -> None:
    form = fixture("status_sms_delivered.json") | {"MessageStatus": "accepted"}

    assert post(client, STATUS, form).status_code == 200
    assert delivery(app).statuses == []


def test_status_callback_without_a_status_is_malformed(app: Flask, client: FlaskClient) -> None:
    form = fixture("status_sms_delivered.json")
    del form["MessageStatus"], form["SmsStatus"]

    assert post(client, STATUS, form).status_code == 400
    assert delivery(app).statuses == []


def _no_signature(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    return client.post(path, data=form)


def _empty_signature(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    return client.post(path, data=form, headers={"X-Twilio-Signature": ""})


def _wrong_token(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    return post(client, path, form, token="not-the-token")


def _other_url(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    return post(client, path, form, signed_for=LOCAL + "/webhooks/twilio/elsewhere")


def _tampered_body(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    headers = {"X-Twilio-Signature": sign(LOCAL + path, form)}
    return client.post(path, data=form | {"Body": "something else"}, headers=headers)


def _extra_field(client: FlaskClient, path: str, form: dict[str, str]) -> Any:
    headers = {"X-Twilio-Signature": sign(LOCAL + path, form)}
    return client.post(path, data=form | {"Extra": "1"}, headers=headers)


REFUSALS = [_no_signature, _empty_signature, _wrong_token, _other_url, _tampered_body, _extra_field]


@pytest.mark.parametrize("path", [MESSAGES, STATUS])
@pytest.mark.parametrize("attempt", REFUSALS, ids=[f.__name__.strip("_") for f in REFUSALS])
def test_bad_signature_is_refused_and_nothing_is_handed_over(
    app: Flask, client: FlaskClient, path: str, attempt: Any
) -> None:
    form = fixture("sms_english.json" if path == MESSAGES else "status_sms_delivered.json")

    response = attempt(client, path, form)

    assert response.status_code == 403
    assert runner(app).messages == []
    assert delivery(app).statuses == []


@pytest.mark.parametrize("path", [MESSAGES, STATUS])
def test_without_an_auth_token_twilio_is_off(path: str) -> None:
    app = make_app(twilio_auth_token=None)
    form = fixture("sms_english.json" if path == MESSAGES else "status_sms_delivered.json")

    response = post(app.test_client(), path, form)

    assert response.status_code == 403
    assert runner(app).messages == []
    assert delivery(app).statuses == []


def test_public_url_behind_a_proxy_is_what_twilio_signed() -> None:
    app = make_app(public_url="https://kotha.example.org")
    client = app.test_client()
    form = fixture("sms_english.json")

    accepted = post(client, MESSAGES, form, signed_for="https://kotha.example.org" + MESSAGES)
    refused = post(client, MESSAGES, form, signed_for=LOCAL + MESSAGES)

    assert accepted.status_code == 200
    assert refused.status_code == 403
    assert len(runner(app).messages) == 1


def test_public_url_keeps_the_query_string_as_signed() -> None:
    app = make_app(public_url="https://kotha.example.org")
    client = app.test_client()
    form = fixture("sms_english.json")
    path = MESSAGES + "?site=tower%2Fhamlets&x=1"

    response = post(client, path, form, signed_for="https://kotha.example.org" + path)

    assert response.status_code == 200
    assert len(runner(app).messages) == 1


def test_without_public_url_the_request_url_is_signed(client: FlaskClient, app: Flask) -> None:
    form = fixture("sms_english.json")
    base = "https://kotha.example.org:8443"
    # Werkzeug's request.url would decode the %2F; Twilio signed it encoded.
    path = MESSAGES + "?site=tower%2Fhamlets"

    response = post(client, path, form, signed_for=base + path, base_url=base)

    assert response.status_code == 200
    assert len(runner(app).messages) == 1


def test_a_signature_with_the_default_port_is_accepted() -> None:
    # Twilio is inconsistent about including :443, and the SDK's validator allows both.
    app = make_app(public_url="https://kotha.example.org")
    form = fixture("sms_english.json")

    response = post(
        app.test_client(), MESSAGES, form, signed_for="https://kotha.example.org:443" + MESSAGES
    )

    assert response.status_code == 200


def test_a_twilio_retry_is_answered_the_same(app: Flask, client: FlaskClient) -> None:
    form = fixture("whatsapp_sylheti.json")

    first = post(client, MESSAGES, form)
    second = post(client, MESSAGES, form)

    assert (first.status_code, first.data) == (second.status_code, second.data)
    assert second.data == EMPTY_TWIML
    assert [m.provider_id for m in runner(app).messages] == ["SM" + "3c" * 16] * 2


def test_oversize_body_is_413(app: Flask, client: FlaskClient) -> None:
    form = fixture("sms_english.json") | {"Body": "x" * (twilio_webhook.MAX_BODY_BYTES + 1)}

    response = post(client, MESSAGES, form)

    assert response.status_code == 413
    assert runner(app).messages == []


def test_oversize_body_without_content_length_is_413(app: Flask, client: FlaskClient) -> None:
    form = fixture("sms_english.json") | {"Body": "x" * (twilio_webhook.MAX_BODY_BYTES + 1)}
    body = "&".join(f"{key}={value}" for key, value in form.items()).encode()

    # A chunked request: no Content-Length, the server says where the body ends.
    response = client.post(
        MESSAGES,
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(LOCAL + MESSAGES, form)},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )

    assert response.status_code == 413
    assert runner(app).messages == []


def test_largest_real_whatsapp_body_fits() -> None:
    # 4,096 characters of Bengali, each 9 bytes once percent-encoded.
    app = make_app()
    text = "আ" * 4096
    form = fixture("whatsapp_sylheti.json") | {"Body": text}

    response = post(app.test_client(), MESSAGES, form)

    assert response.status_code == 200
    assert runner(app).messages[0].text == text


def test_the_apps_own_smaller_limit_still_answers_413() -> None:
    app = make_app()
    app.config["MAX_CONTENT_LENGTH"] = 100

    response = post(app.test_client(), MESSAGES, fixture("sms_english.json"))

    assert response.status_code == 413
    assert runner(app).messages == []


def _json_body(client: FlaskClient) -> Any:
    form = fixture("sms_english.json")
    return client.post(
        MESSAGES,
        data=json.dumps(form),
        content_type="application/json",
        headers={"X-Twilio-Signature": sign(LOCAL + MESSAGES, {})},
    )


def _without(name: str) -> Any:
    def attempt(client: FlaskClient) -> Any:
        form = fixture("sms_english.json")
        del form[name]
        return post(client, MESSAGES, form)

    attempt.__name__ = f"without_{name}"
    return attempt


def _raw(body: bytes, *, signed: bool = True) -> Any:
    """Post a body as it is, signed over its fields as the webhook reads them to check the
    signature (someone holding the token); unsigned, with the signature of an empty form."""
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    signature = sign(LOCAL + MESSAGES, dict(fields) if signed else {})

    def attempt(client: FlaskClient) -> Any:
        return client.post(
            MESSAGES,
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )

    return attempt


def _with(**fields: str) -> Any:
    def attempt(client: FlaskClient) -> Any:
        return post(client, MESSAGES, fixture("whatsapp_photo.json") | fields)

    return attempt


MALFORMED = {
    "json body": _json_body,
    "no From": _without("From"),
    "no MessageSid": _without("MessageSid"),
    "bad escape": _raw(b"From=%2B447700900123&MessageSid=SM1&Body=%ZZ"),
    "invalid utf-8": _raw(b"From=%2B447700900123&MessageSid=SM1&Body=%FF%FE"),
    "field without =": _raw(b"From=%2B447700900123&MessageSid=SM1&Body"),
    "unknown channel": _with(From="messenger:1234567"),
    "NumMedia not a number": _with(NumMedia="one"),
    "NumMedia beyond Twilio's 10": _with(NumMedia="11"),
    "From over 64 characters": _with(From="+44" + "7" * 62),
    "WhatsApp From over 64 characters": _with(From="whatsapp:+44" + "7" * 62),
    "a NUL in From": _with(From="+4477009\x000123"),
    "a line break in a WhatsApp From": _with(From="whatsapp:+4477009\n00123"),
    "MessageSid over 64 characters": _with(MessageSid="MM" + "a" * 63),
    # Found by the property test: a NUL in the id reached PostgreSQL, which cannot store it.
    "a NUL in MessageSid": _with(MessageSid="MM12\x0034"),
    "a tab in a MediaUrl": _with(MediaUrl0="https://api.twilio.com/a\tb"),
    "MediaUrl over 2048 characters": _with(MediaUrl0="https://api.twilio.com/" + "m" * 2048),
    "a location that is not a number": _with(Latitude="north", Longitude="0.1"),
    "a location off the globe": _with(Latitude="91", Longitude="0.1"),
    "half a location": _with(Latitude="51.5"),
}


@pytest.mark.parametrize("attempt", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_request_is_400_in_plain_words(
    app: Flask, client: FlaskClient, attempt: Any
) -> None:
    response = attempt(client)

    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert 0 < len(response.data) < 100
    assert runner(app).messages == []


@pytest.mark.parametrize(
    "body",
    [b"From=%2B447700900123&MessageSid=SM1&Body=%ZZ", b"From=%2B447700900123&Body=%FF%FE"],
    ids=["bad escape", "invalid utf-8"],
)
def test_the_signature_is_checked_before_the_body_is_parsed(
    app: Flask, client: FlaskClient, body: bytes
) -> None:
    # Malformed and unsigned: refused for its signature, not for its form.
    response = _raw(body, signed=False)(client)

    assert response.status_code == 403
    assert response.data == b"bad signature\n"


def test_no_signature_is_refused_before_the_body_is_read(app: Flask) -> None:
    consumed: list[int] = []

    class Watched(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            data = super().read(size)
            consumed.append(len(data))
            return data

    body = b"From=%2B447700900123&MessageSid=SM1&Body=hello"
    response = app.test_client().post(
        MESSAGES,
        input_stream=Watched(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Content-Length": str(len(body))},
    )

    assert response.status_code == 403
    assert sum(consumed) == 0


def test_an_over_long_field_is_refused_with_its_reason_logged_not_its_value(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sender = "+44" + "7700900" * 10

    response = post(client, MESSAGES, fixture("sms_english.json") | {"From": sender})

    assert response.status_code == 400
    assert "From is longer than" in caplog.text
    assert "7700900" not in caplog.text


def test_media_without_its_url_is_left_out_and_the_words_kept(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    form = fixture("whatsapp_photo.json") | {"NumMedia": "2"}

    response = post(client, MESSAGES, form)

    assert response.status_code == 200
    [message] = runner(app).messages
    assert message.text == form["Body"]
    assert [m.content_type for m in message.media] == ["image/jpeg"]
    assert "MediaUrl1 missing" in caplog.text


@pytest.mark.parametrize(
    "given", ["whatsapp:foo_bar", "foo", "whatsapp:", "GB." + "1" * 129, "gb.123"]
)
def test_a_malformed_whatsapp_user_id_is_ignored_not_refused(
    app: Flask, client: FlaskClient, given: str
) -> None:
    form = fixture("whatsapp_user_id.json") | {"ExternalUserId": given}

    response = post(client, MESSAGES, form)

    assert response.status_code == 200
    [message] = runner(app).messages
    assert (message.address, message.external_user_id) == ("+447700900239", None)


def test_a_user_id_on_sms_is_not_read(app: Flask, client: FlaskClient) -> None:
    form = fixture("sms_english.json") | {"ExternalUserId": "GB.5023117735401932"}

    assert post(client, MESSAGES, form).status_code == 200
    assert runner(app).messages[0].external_user_id is None


def test_a_failing_core_is_503_not_500(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    app.testing = False
    runner(app).error = RuntimeError("INSERT ... ('+447700900123', 'secret words')")

    response = post(app.test_client(), MESSAGES, fixture("sms_english.json"))

    assert response.status_code == 503
    assert "RuntimeError" in caplog.text
    assert "+447700900123" not in caplog.text
    assert "secret words" not in caplog.text


def test_nothing_personal_is_logged(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    form = fixture("sms_bengali.json")

    post(client, MESSAGES, form)
    post(client, MESSAGES, form, token="wrong")
    post(client, STATUS, fixture("status_sms_undelivered.json"))

    assert "7700900" not in caplog.text
    assert form["Body"][:10] not in caplog.text


@settings(max_examples=150, deadline=None)
@given(body=st.text(st.characters(exclude_categories=["Cs"]), max_size=300))
def test_any_signed_body_arrives_byte_exact(body: str) -> None:
    app = make_app()
    form = fixture("sms_english.json") | {"Body": body}

    response = post(app.test_client(), MESSAGES, form)

    assert response.status_code == 200
    assert runner(app).messages[0].text.encode("utf-8") == body.encode("utf-8")


free_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=120)
FIELDS = ["From", "MessageSid", "NumMedia", "MediaUrl0", "MediaContentType0", "ExternalUserId"]


@settings(max_examples=150, deadline=None)
@given(fields=st.dictionaries(st.sampled_from(FIELDS), free_text, max_size=4))
def test_any_signed_values_get_a_clear_answer_and_nothing_over_long_is_kept(
    fields: dict[str, str],
) -> None:
    app = make_app()
    form = fixture("whatsapp_photo.json") | fields

    response = post(app.test_client(), MESSAGES, form)

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert runner(app).messages == []
        assert response.mimetype == "text/plain"
        return
    [message] = runner(app).messages
    assert 0 < len(message.address) <= twilio_webhook.MAX_ADDRESS
    assert 0 < len(message.provider_id or "") <= twilio_webhook.MAX_SID
    assert message.text == form["Body"]
    ids = message.external_user_id
    assert ids is None or twilio_webhook.BSUID.fullmatch(ids)
