"""Kotha end to end: signed provider requests in, the official SDKs out to fake providers.

Every request goes through the real Flask app with a real-format payload from
tests/fixtures/, and every reply is read where the SDK delivered it: at FakeTwilio or
FakeTelegram on 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.casework.accounts import create_user
from bot.outreach.yousaid import ItemFields, link, publish, save_item
from bot.services import Services
from flows.texts import MEDIA_RECEIVED
from kotha import create_app
from storage.models import Feedback, Message
from tests.console.sending import post_seen
from tests.console.test_access import PASSWORD, sign_in, token
from tests.console.test_access import _quick_hashes as _quick_hashes
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_api import SentMessage as TelegramSent
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.twilio_api import SentMessage as TwilioSent
from tests.fakes.wiring import SMS_FROM, TELEGRAM_SECRET, WHATSAPP_FROM

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOCAL = "http://localhost"
YOU_SAID = ItemFields(
    theme="Carers on time",
    texts={"en": {"said": "Carers came late.", "did": "Rotas now leave time to travel."}},
    change="change_made",
    change_date=None,
    quote=None,
)


def fixture(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / provider / name).read_text(encoding="utf-8"))
    return loaded


class Provider:
    """Plays Twilio and Telegram calling the app, with payloads built from real fixtures."""

    def __init__(self, client: FlaskClient, twilio: FakeTwilio, telegram: FakeTelegram) -> None:
        self.client = client
        self.twilio = twilio
        self.telegram = telegram
        self._ids = itertools.count(1)

    def _signed_post(self, path: str, form: dict[str, str]) -> Any:
        signature = RequestValidator(self.twilio.auth_token).compute_signature(LOCAL + path, form)
        return self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    def twilio_message(self, sender: str, body: str, **fields: str) -> list[TwilioSent]:
        """Post one inbound message as Twilio would; return the replies sent back to `sender`."""
        name = "whatsapp_sylheti.json" if sender.startswith("whatsapp:") else "sms_english.json"
        sid = f"SM{next(self._ids):032x}"
        form = {
            **fixture("twilio", name),
            "From": sender,
            "Body": body,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            **fields,
        }
        before = len(self.twilio.sent_to(sender))
        response = self._signed_post("/webhooks/twilio/messages", form)
        assert response.status_code == 200
        return self.twilio.sent_to(sender)[before:]

    def twilio_conversation(self, sender: str, *bodies: str) -> list[TwilioSent]:
        return [reply for body in bodies for reply in self.twilio_message(sender, body)]

    def status_callback(
        self, sid: str, status: str, name: str = "status_sms_delivered.json"
    ) -> None:
        """Post Twilio's status callback for one of our messages, built from a real one."""
        form = {**fixture("twilio", name), "MessageStatus": status}
        form.update(SmsStatus=status, MessageSid=sid, SmsSid=sid)
        assert self._signed_post("/webhooks/twilio/status", form).status_code == 200

    def _telegram_post(self, update: dict[str, Any]) -> Any:
        update["update_id"] = 731100000 + next(self._ids)
        if "message" in update:
            # Telegram numbers each chat's messages: a new message has a new number.
            update["message"]["message_id"] = update["update_id"]
        return self.client.post(
            "/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        )

    def telegram_text(self, chat_id: int, text: str) -> list[TelegramSent]:
        update = fixture("telegram", "text_en.json")
        update["message"]["text"] = text
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat_id
        before = len(self.telegram.sent)
        assert self._telegram_post(update).status_code == 200
        return [sent for sent in self.telegram.sent[before:] if sent.chat_id == str(chat_id)]

    def telegram_press(self, chat_id: int, data: str) -> list[TelegramSent]:
        """Press an inline button: a callback_query update whose data is the choice's number."""
        update = fixture("telegram", "callback_query.json")
        query = update["callback_query"]
        query["data"] = data
        query["from"]["id"] = query["message"]["chat"]["id"] = chat_id
        query["from"]["language_code"] = "en"
        before = len(self.telegram.sent)
        response = self._telegram_post(update)
        assert response.status_code == 200
        # The press is answered in the webhook's own response, stopping the phone's spinner.
        assert response.get_json() == {
            "method": "answerCallbackQuery",
            "callback_query_id": query["id"],
        }
        return [sent for sent in self.telegram.sent[before:] if sent.chat_id == str(chat_id)]


@pytest.fixture
def provider(wired: Services, twilio: FakeTwilio, telegram: FakeTelegram) -> Provider:
    return Provider(create_app(services=wired).test_client(), twilio, telegram)


def bengali_letters(text: str) -> int:
    return sum(1 for char in text if "\u0980" <= char <= "\u09ff")


def latin_letters(text: str) -> int:
    return sum(1 for char in text if char.isascii() and char.isalpha())


def written_in_bengali_script(text: str) -> bool:
    # A reply may quote a reference (C-123456) or a keyword such as SKIP in Latin letters.
    return bengali_letters(text) > 4 * latin_letters(text)


def only_feedback(services: Services) -> Feedback:
    with services.database.session() as session:
        return session.scalars(select(Feedback)).one()


def menu_question(services: Services, language: str) -> str:
    return services.i18n.gettext(language, services.flows["menu"].nodes["main"].ask or "")


def test_bengali_complaint_over_sms_is_answered_in_bengali(
    wired: Services, provider: Provider
) -> None:
    person = "+447700900124"
    complaint = fixture("twilio", "sms_bengali.json")["Body"]
    # Decomposed (NFD) Bengali must come back exactly so, not normalised to NFC.
    complaint += " " + unicodedata.normalize("NFD", "য়")

    [greeting] = provider.twilio_message(person, "Hello")
    assert "বাংলা" in greeting.body
    replies = provider.twilio_conversation(person, "বাংলা", "১", "১", complaint, "বাদ", "২", "১")

    # The last is the one question about broadcasts that follows a first contribution.
    assert len(replies) == 8
    assert replies[0].body.startswith(menu_question(wired, "bn"))
    assert menu_question(wired, "bn") != menu_question(wired, "en")
    for reply in replies:
        assert (reply.to, reply.from_) == (person, SMS_FROM)
        assert written_in_bengali_script(reply.body), reply.body
    feedback = only_feedback(wired)
    assert (feedback.kind, feedback.language, feedback.channel) == ("complaint", "bn", "sms")
    assert feedback.text is not None
    assert feedback.text.encode("utf-8") == complaint.encode("utf-8")
    assert feedback.reference in replies[-2].body


def test_status_callbacks_never_move_a_reply_backwards(wired: Services, provider: Provider) -> None:
    person = "+447700900123"
    greeting, menu = provider.twilio_conversation(person, "Hello", "1")

    def status(sent: TwilioSent) -> tuple[str, str | None]:
        with wired.database.session() as session:
            row = session.scalars(select(Message).where(Message.provider_id == sent.sid)).one()
            return row.status, row.reason

    assert status(greeting) == ("sent", None)
    provider.status_callback(greeting.sid, "delivered")
    assert status(greeting) == ("delivered", None)
    provider.status_callback(greeting.sid, "sent")  # older, delayed in Twilio's queue
    assert status(greeting) == ("delivered", None)

    provider.status_callback(menu.sid, "undelivered", "status_sms_undelivered.json")
    assert status(menu) == ("undelivered", "provider-error-30003")
    provider.status_callback(menu.sid, "delivered")
    assert status(menu) == ("undelivered", "provider-error-30003")


def test_sylheti_complaint_over_whatsapp(wired: Services, provider: Provider) -> None:
    person = "whatsapp:+447700900234"
    complaint = fixture("twilio", "whatsapp_sylheti.json")["Body"]

    replies = provider.twilio_conversation(person, "hi", "সিলেটি", "1", "1", complaint, "skip")
    replies += provider.twilio_conversation(person, "2", "1")

    assert len(replies) == 9  # the thanks, then the question about broadcasts
    assert replies[1].body.startswith(menu_question(wired, "syl"))
    for reply in replies:
        assert (reply.to, reply.from_) == (person, WHATSAPP_FROM)
        assert reply.num_segments == 1  # WhatsApp is not billed by segment
    assert all(written_in_bengali_script(reply.body) for reply in replies[1:])
    provider.status_callback(replies[-1].sid, "read", "status_whatsapp_read.json")
    with wired.database.session() as session:
        last = session.scalars(select(Message).where(Message.provider_id == replies[-1].sid)).one()
        assert last.status == "read"
    feedback = only_feedback(wired)
    assert (feedback.kind, feedback.language, feedback.channel) == ("complaint", "syl", "whatsapp")
    assert feedback.text == complaint
    assert feedback.reference in replies[-2].body


def test_english_comment_over_telegram_with_buttons(
    wired: Services, provider: Provider, telegram: FakeTelegram
) -> None:
    chat = 5000000001
    # Telegram says the person's app is in English: whose service this is, then the menu.
    introduction, menu = provider.telegram_text(chat, "Hello")
    assert introduction.text.startswith("This is Kotha") and introduction.reply_markup is None
    assert menu.text.startswith(menu_question(wired, "en"))
    assert menu.reply_markup is not None
    buttons = [row[0] for row in menu.reply_markup["inline_keyboard"]]
    # Each button says which question it answers, so an old one can be told apart.
    assert [button["callback_data"] for button in buttons] == [
        f"menu/main#{number}" for number in range(1, len(buttons) + 1)
    ]
    assert buttons[1]["text"] == "2 Leave a comment"

    [services_menu] = provider.telegram_press(chat, buttons[1]["callback_data"])
    assert services_menu.reply_markup is not None
    service_buttons = [row[0] for row in services_menu.reply_markup["inline_keyboard"]]
    # The menu's button again, now that the question is another: told, and asked again.
    [told] = provider.telegram_press(chat, buttons[0]["callback_data"])
    assert told.text.startswith("That button was for an earlier question.")
    assert told.reply_markup is not None
    [question] = provider.telegram_press(chat, service_buttons[0]["callback_data"])
    assert question.reply_markup is None  # a free-text question has no buttons
    comment = "The carer was kind & patient — thank you <3"
    thanks, news = provider.telegram_text(chat, comment)
    assert news.text.startswith("May we send you news") and news.reply_markup is not None

    feedback = only_feedback(wired)
    assert (feedback.kind, feedback.language, feedback.channel) == ("comment", "en", "telegram")
    assert (feedback.service, feedback.text) == ("home_care", comment)
    assert feedback.reference in thanks.text
    assert all(sent.chat_id == str(chat) for sent in telegram.sent)


def test_voice_note_is_a_valid_complaint(wired: Services, provider: Provider) -> None:
    voice = fixture("twilio", "whatsapp_voice_note.json")
    person = voice["From"]
    provider.twilio_conversation(person, "hi", "1", "1", "1")

    media = {key: voice[key] for key in ("NumMedia", "MediaUrl0", "MediaContentType0")}
    [received] = provider.twilio_message(person, "", **media)
    assert received.body.startswith(wired.i18n.gettext("en", MEDIA_RECEIVED))
    replies = provider.twilio_conversation(person, "skip", "2", "1")

    feedback = only_feedback(wired)
    assert feedback.kind == "complaint" and feedback.complete
    assert feedback.media == [{"url": voice["MediaUrl0"], "content_type": "audio/ogg"}]
    assert feedback.reference in replies[-2].body


def test_a_no_to_contact_is_heard_on_every_path_that_sends(
    wired: Services, provider: Provider, twilio: FakeTwilio, _quick_hashes: None
) -> None:
    """No to contact, then a status update, a staff reply and "you said, we did": nothing
    reaches the person at the fake Twilio, and staff read why."""
    person = "+447700900125"
    provider.twilio_message(person, "Hello")
    replies = provider.twilio_conversation(
        person, "1", "1", "1", "The letter about my payments was confusing.", "SKIP", "2", "2"
    )
    feedback = only_feedback(wired)
    assert replies[-1].body.startswith("May we send you news")
    assert replies[-2].body == (
        f"Thank you. We will not contact you. Your reference is {feedback.reference}: "
        "send it to us any time to hear where it is. Send 0 for the menu."
    )
    heard = len(twilio.sent_to(person))
    with wired.database.session() as session:
        create_user(session, "staff@example.org", "staff", PASSWORD, now=wired.clock())
    client = provider.client
    assert sign_in(client, "staff@example.org") == 302
    case_path = f"/console/cases/{feedback.reference}"

    changed = post_seen(
        client,
        f"{case_path}/status",
        {
            "status": "acknowledged",
            "tell": "yes",
            "note": "",
            "csrf_token": token(client, case_path),
        },
    )
    assert changed.status_code == 302
    case_page = client.get(case_path).text
    assert "The message to the person is held: the person asked not to be contacted" in case_page
    assert 'id="no-contact"' in case_page and "The person asked not to be contacted" in case_page

    conversation_path = f"/console/conversations/{feedback.address_id}"
    replied = post_seen(
        client,
        f"{conversation_path}/reply",
        {
            "reply": "own",
            "text": "Can we talk?",
            "csrf_token": token(client, conversation_path),
        },
    )
    assert replied.status_code == 302
    conversation_page = client.get(conversation_path).text
    assert "Your reply is held: the person asked not to be contacted" in conversation_page
    assert "The person asked not to be contacted. They said no on" in conversation_page

    now = wired.clock()
    with wired.database.session() as session:
        item = save_item(session, wired.i18n, None, YOU_SAID, None, now)
        assert link(session, item, [feedback.reference]) == []
        broadcast = publish(session, wired.broadcasts, item, None, None, now)
        broadcast_id = broadcast.id
        # "You said, we did" is not even written for them: the preview says why.
        assert wired.broadcasts.preview_of(session, broadcast).left_out == {"no-contact": 1}
    wired.broadcasts.launch(broadcast_id)

    assert len(twilio.sent_to(person)) == heard
    with wired.database.session() as session:
        held = session.execute(
            select(Message.kind, Message.status, Message.reason)
            .where(Message.address_id == feedback.address_id, Message.direction == "out")
            .where(Message.kind != "reply")
            .order_by(Message.id)
        ).all()
    assert held == [
        ("case-update", "held", "no-contact"),
        ("staff-reply", "held", "no-contact"),
    ]

    # They can still talk to us: the bot's own answers are not what the No covers.
    [menu] = provider.twilio_message(person, "0")
    assert menu.body.startswith(menu_question(wired, "en"))
