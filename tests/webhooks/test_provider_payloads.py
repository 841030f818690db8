"""Every provider payload type through the real app: stored and acknowledged, or answered and
logged with its reason.

Requests are signed with Twilio's own RequestValidator (or carry Telegram's secret token),
go through `kotha.create_app` with full services on SQLite and PostgreSQL, and what the
person is told is read where the official SDKs delivered it: the fake Twilio and Telegram.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.casework.accounts import create_user
from bot.i18n import I18n
from bot.services import Services
from bot.types import OTHER, UNKNOWN_FILE_TYPE, VENUE, WEB_APP_DATA
from flows.texts import CORRECTION_KEPT, SHARED_NOT_READ
from kotha import create_app
from storage.models import Address, Message, SafeguardingFlag
from tests.conftest import FrozenClock
from tests.console.test_access import PASSWORD, sign_in
from tests.console.test_access import _quick_hashes as _quick_hashes
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.wiring import TELEGRAM_SECRET

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOCAL = "http://localhost"


def fixture(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / provider / name).read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def client(wired: Services) -> FlaskClient:
    return create_app(services=wired).test_client()


def twilio_post(client: FlaskClient, twilio: FakeTwilio, path: str, form: dict[str, str]) -> Any:
    signature = RequestValidator(twilio.auth_token).compute_signature(LOCAL + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def telegram_post(client: FlaskClient, update: dict[str, Any]) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return client.post("/webhooks/telegram", json=update, headers=headers)


def english(services: Services, msgid: str) -> str:
    i18n: I18n = services.i18n
    return i18n.gettext("en", msgid)


def inbound(services: Services) -> list[Message]:
    with services.database.session() as session:
        rows = session.scalars(select(Message).where(Message.direction == "in")).all()
        session.expunge_all()
        return list(rows)


def told(telegram: FakeTelegram, chat_id: str) -> list[str]:
    return [sent.text for sent in telegram.sent if sent.chat_id == chat_id]


# -- Telegram ---------------------------------------------------------------------------------


def test_an_update_without_from_is_bot_is_kept_and_answered(
    wired: Services, client: FlaskClient, telegram: FakeTelegram
) -> None:
    update = fixture("telegram", "text_without_is_bot.json")
    assert "is_bot" not in update["message"]["from"]

    response = telegram_post(client, update)

    assert response.status_code == 200
    [row] = inbound(wired)
    assert row.body == update["message"]["text"]
    assert told(telegram, "5000000005")  # the bot answered


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("sticker.json", "sticker"),
        ("location.json", "location"),
        ("contact.json", "contact"),
        ("venue.json", VENUE),
        ("web_app_data.json", WEB_APP_DATA),
        ("dice.json", OTHER),
    ],
)
def test_what_the_bot_cannot_read_is_kept_and_the_person_told_kindly(
    wired: Services,
    client: FlaskClient,
    telegram: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    name: str,
    kind: str,
) -> None:
    caplog.set_level(logging.INFO)
    update = fixture("telegram", name)
    chat = str(update["message"]["chat"]["id"])

    response = telegram_post(client, update)

    assert response.status_code == 200
    [row] = inbound(wired)
    assert [item["content_type"] for item in row.media or []] == [kind]
    reply, *_ = told(telegram, chat)
    assert reply.startswith(english(wired, SHARED_NOT_READ))
    # The reason is logged by kind; nothing the person sent is.
    assert f"telegram update {update['update_id']}: message with" in caplog.text
    for value in ("51.5", "+447700900999", "home care", "Brick Lane"):
        assert value not in caplog.text


def test_words_with_a_sticker_are_read_as_words(
    wired: Services, client: FlaskClient, telegram: FakeTelegram
) -> None:
    update = fixture("telegram", "sticker.json")
    update["message"]["caption"] = "hello"

    assert telegram_post(client, update).status_code == 200

    replies = told(telegram, "5000000001")
    assert replies
    assert not any(english(wired, SHARED_NOT_READ) in reply for reply in replies)


def test_an_edit_is_kept_as_a_correction_of_the_original_and_the_person_told(
    wired: Services, client: FlaskClient, telegram: FakeTelegram
) -> None:
    original, edit = fixture("telegram", "text_en.json"), fixture("telegram", "edited_message.json")
    assert original["message"]["message_id"] == edit["edited_message"]["message_id"]

    assert telegram_post(client, original).status_code == 200
    before = len(told(telegram, "5000000001"))
    assert telegram_post(client, edit).status_code == 200
    # Telegram delivers an update again when it missed our answer: nothing changes.
    assert telegram_post(client, edit).status_code == 200

    first, correction = inbound(wired)
    assert first.body == original["message"]["text"]
    assert correction.body == edit["edited_message"]["text"]
    assert correction.corrects_id == first.id
    assert first.corrects_id is None
    assert told(telegram, "5000000001")[before:] == [english(wired, CORRECTION_KEPT)]


def test_an_edit_of_a_message_never_stored_is_kept_and_acknowledged(
    wired: Services, client: FlaskClient, telegram: FakeTelegram
) -> None:
    assert telegram_post(client, fixture("telegram", "edited_message.json")).status_code == 200

    [correction] = inbound(wired)
    assert correction.corrects_id is None
    assert told(telegram, "5000000001") == [english(wired, CORRECTION_KEPT)]


def test_a_chat_message_brought_again_under_another_update_id_is_stored_once(
    wired: Services, client: FlaskClient
) -> None:
    # Found by the property test: a second update with the same message in the same chat
    # (not an edit) broke the one-message-per-chat-id key, and the webhook failed.
    first = fixture("telegram", "text_en.json")
    again = {**first, "update_id": first["update_id"] + 1}

    assert telegram_post(client, first).status_code == 200
    assert telegram_post(client, again).status_code == 200

    [row] = inbound(wired)
    assert row.body == first["message"]["text"]


def test_staff_see_the_correction_on_the_conversation_page(
    wired: Services, client: FlaskClient, _quick_hashes: None
) -> None:
    telegram_post(client, fixture("telegram", "text_en.json"))
    telegram_post(client, fixture("telegram", "edited_message.json"))
    first, correction = inbound(wired)
    with wired.database.session() as session:
        create_user(session, "staff@example.org", "staff", PASSWORD, now=wired.clock())
    assert sign_in(client, "staff@example.org") == 302

    page = client.get(f"/console/conversations/{first.address_id}").text

    assert f'href="#m{first.id}">an earlier message</a>' in page
    assert f'href="#m{correction.id}">see their correction</a>' in page
    assert "The carer came very late again this morning." in page


# -- Twilio -----------------------------------------------------------------------------------


def test_an_mms_without_a_content_type_keeps_its_body_and_its_file(
    wired: Services, client: FlaskClient, twilio: FakeTwilio
) -> None:
    form = fixture("twilio", "mms_without_content_type.json")

    response = twilio_post(client, twilio, "/webhooks/twilio/messages", form)

    assert response.status_code == 200
    [row] = inbound(wired)
    assert row.body == form["Body"]
    assert row.media == [{"url": form["MediaUrl0"], "content_type": UNKNOWN_FILE_TYPE}]
    assert twilio.sent_to(form["From"])  # answered


def test_a_whatsapp_user_name_is_tied_to_the_person_who_wrote_with_their_number(
    wired: Services, client: FlaskClient, twilio: FakeTwilio
) -> None:
    with_number = fixture("twilio", "whatsapp_user_id.json")
    name_only = fixture("twilio", "whatsapp_user_name_only.json")

    assert twilio_post(client, twilio, "/webhooks/twilio/messages", with_number).status_code == 200
    answered = len(twilio.sent_to("+447700900239"))
    assert twilio_post(client, twilio, "/webhooks/twilio/messages", name_only).status_code == 200

    first, second = inbound(wired)
    # The same address: the conversation, consent and any STOP carry on.
    assert first.address_id == second.address_id
    with wired.database.session() as session:
        [address] = session.scalars(select(Address)).all()
        assert (address.address, address.external_user_id) == (
            "+447700900239",
            "GB.5023117735401932",
        )
    assert len(twilio.sent_to("+447700900239")) > answered


def test_a_whatsapp_user_name_never_seen_with_a_number_is_an_address_of_its_own(
    wired: Services, client: FlaskClient, twilio: FakeTwilio
) -> None:
    form = fixture("twilio", "whatsapp_user_name_only.json")

    assert twilio_post(client, twilio, "/webhooks/twilio/messages", form).status_code == 200

    with wired.database.session() as session:
        [address] = session.scalars(select(Address)).all()
        assert (address.channel, address.address) == ("whatsapp", "GB.5023117735401932")


@pytest.mark.parametrize(
    "fields",
    [
        {"From": "+44" + "7" * 62},
        {"MessageSid": "SM" + "a" * 63},
        {"From": "whatsapp:" + "GB." + "1" * 70},
    ],
    ids=["From", "MessageSid", "WhatsApp user id as From"],
)
def test_an_over_long_field_is_400_with_a_reason_and_nothing_stored(
    wired: Services,
    client: FlaskClient,
    twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
    fields: dict[str, str],
) -> None:
    form = fixture("twilio", "sms_english.json") | fields

    response = twilio_post(client, twilio, "/webhooks/twilio/messages", form)

    assert response.status_code == 400
    assert "is longer than" in response.text
    assert inbound(wired) == []
    assert "is longer than" in caplog.text
    assert "7777777777" not in caplog.text and "aaaaaaaaaa" not in caplog.text


def _sent_sms(wired: Services, client: FlaskClient, twilio: FakeTwilio, person: str) -> Message:
    """Have the bot text `person` (its answer to their hello); return that outbound row."""
    form = fixture("twilio", "sms_english.json") | {"From": person, "Body": "hello"}
    assert twilio_post(client, twilio, "/webhooks/twilio/messages", form).status_code == 200
    with wired.database.session() as session:
        row = session.scalars(
            select(Message).where(Message.direction == "out").order_by(Message.id)
        ).first()
        assert row is not None and row.status == "sent" and row.provider_id
        session.expunge(row)
        return row


def _status(
    client: FlaskClient, twilio: FakeTwilio, name: str, row: Message, **fields: str
) -> None:
    form = fixture("twilio", name) | {"MessageSid": row.provider_id, "SmsSid": row.provider_id}
    form |= fields
    assert twilio_post(client, twilio, "/webhooks/twilio/status", form).status_code == 200


def test_a_rate_limit_reported_after_sending_is_retried_not_final(
    wired: Services, client: FlaskClient, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    person = "+447700900126"
    row = _sent_sms(wired, client, twilio, person)
    before = len(twilio.sent_to(person))

    _status(client, twilio, "status_whatsapp_rate_limited.json", row)

    with wired.database.session() as session:
        again = session.get_one(Message, row.id)
        assert (again.status, again.reason) == ("queued", "throttled")
        assert again.next_attempt_at is not None
        due_at = again.next_attempt_at
    clock.now = max(clock.now, due_at)
    assert row.id in wired.dispatcher.due()
    outcome = wired.dispatcher.deliver(row.id)

    assert outcome.status == "sent"
    assert len(twilio.sent_to(person)) == before + 1
    with wired.database.session() as session:
        assert session.get_one(Message, row.id).provider_id != row.provider_id


def test_recipient_unsubscribed_at_the_status_callback_stops_the_address(
    wired: Services, client: FlaskClient, twilio: FakeTwilio
) -> None:
    person = "+447700900127"
    row = _sent_sms(wired, client, twilio, person)

    _status(client, twilio, "status_sms_unsubscribed.json", row)

    with wired.database.session() as session:
        failed = session.get_one(Message, row.id)
        assert (failed.status, failed.reason) == ("failed", "recipient-stopped")
        address = session.get_one(Address, row.address_id)
        assert address.stopped_at is not None and address.stopped_by == "provider"


def test_other_failures_at_the_status_callback_stay_final(
    wired: Services, client: FlaskClient, twilio: FakeTwilio
) -> None:
    row = _sent_sms(wired, client, twilio, "+447700900128")

    _status(client, twilio, "status_sms_undelivered.json", row)

    with wired.database.session() as session:
        failed = session.get_one(Message, row.id)
        assert (failed.status, failed.reason) == ("undelivered", "provider-error-30003")
        assert session.get_one(Address, row.address_id).stopped_at is None


# -- anything at all, through the real app and database ---------------------------------------

any_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**70)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=80)
    | st.text(min_size=65, max_size=200),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
TELEGRAM_NAMES = sorted(path.name for path in (FIXTURES / "telegram").glob("*.json"))


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
def mangled_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A real update with one value anywhere inside replaced, or removed."""
    update = fixture("telegram", draw(st.sampled_from(TELEGRAM_NAMES)))
    path = draw(st.sampled_from(_paths(update)[1:]))
    parent = update
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(any_value)
    return update


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(update=mangled_updates())
def test_a_mangled_update_is_stored_and_answered_or_refused_never_a_server_error(
    client: FlaskClient, update: dict[str, Any]
) -> None:
    # Telegram retries a 5xx for a day; a 400 it drops. Values too long for a column (an id
    # past 64 bits, a long language code) must not reach the database.
    response = telegram_post(client, update)

    assert response.status_code in (200, 400), response.text


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["From", "MessageSid", "Body", "NumMedia", "MediaUrl0", "ExternalUserId"]),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=100),
        max_size=3,
    )
)
def test_any_signed_twilio_values_are_stored_or_refused_never_a_server_error(
    client: FlaskClient, twilio: FakeTwilio, fields: dict[str, str]
) -> None:
    form = fixture("twilio", "whatsapp_photo.json") | fields

    response = twilio_post(client, twilio, "/webhooks/twilio/messages", form)

    assert response.status_code in (200, 400), response.text


def test_a_language_code_longer_than_telegram_sends_is_dropped_not_stored(
    wired: Services, client: FlaskClient
) -> None:
    update = fixture("telegram", "text_en.json")
    update["message"]["from"]["language_code"] = "en-" + "x" * 40

    assert telegram_post(client, update).status_code == 200
    [row] = inbound(wired)
    assert row.language is None and row.body == update["message"]["text"]


@pytest.mark.parametrize(
    "change",
    [
        {"update_id": 2**64},
        {"message": {"chat": {"id": -(2**70), "type": "private"}}},
        {"message": {"message_id": 2**63}},
    ],
    ids=["update_id", "chat id", "message_id"],
)
def test_ids_beyond_telegrams_range_are_400_and_nothing_stored(
    wired: Services, client: FlaskClient, change: dict[str, Any]
) -> None:
    update = fixture("telegram", "text_en.json")
    for key, value in change.items():
        if isinstance(value, dict):
            for inner, given in value.items():
                update[key][inner] = given
        else:
            update[key] = value

    assert telegram_post(client, update).status_code == 400
    assert inbound(wired) == []


def test_button_data_longer_than_telegram_allows_is_400(
    wired: Services, client: FlaskClient
) -> None:
    update = fixture("telegram", "callback_query.json")
    update["callback_query"]["data"] = "complaint/service#" + "1" * 60

    assert telegram_post(client, update).status_code == 400
    assert inbound(wired) == []


def test_a_correction_that_tells_of_harm_raises_a_safeguarding_flag(
    wired: Services, client: FlaskClient
) -> None:
    # The watchers read the corrected words: an edit may say what the original did not.
    original, edit = fixture("telegram", "text_en.json"), fixture("telegram", "edited_message.json")
    original["message"]["text"] = "Hello"
    edit["edited_message"]["text"] = "my carer abused me"

    telegram_post(client, original)
    with wired.database.session() as session:
        assert session.scalars(select(SafeguardingFlag)).all() == []
    telegram_post(client, edit)

    [_, correction] = inbound(wired)
    with wired.database.session() as session:
        [flag] = session.scalars(select(SafeguardingFlag)).all()
        assert flag.message_id == correction.id
