"""The voice line driven as Twilio drives it: signed forms through the real app and core,
TwiML answers read with xml.etree, and the recordings' URLs those of a fake Twilio."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from bot.casework.cases import change_status
from bot.casework.voiceline import NO_KEY, WRONG_KEY
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.services import Services, build_services
from bot.settings import Settings
from bot.types import CHANNELS, Kind
from kotha import create_app
from storage.db import Database
from storage.models import Address, Feedback, Message, StaffTask, VoiceCall
from tests.conftest import FrozenClock
from tests.fakes.twilio_api import FakeTwilio

TOKEN = "0123456789abcdef0123456789abcdef"
LOCAL = "http://localhost"
VOICE = "/webhooks/twilio/voice"
CALLER = "+447700900123"  # a (fictional) UK mobile
LANDLINE = "+442073645005"
LINE = "+442070000000"


@dataclass
class Heard:
    """One TwiML answer, read: what was said (with each Say's language) and what comes next."""

    status: int
    says: list[tuple[str, str]] = field(default_factory=list)
    gather: dict[str, str] | None = None
    record: dict[str, str] | None = None
    redirect: str | None = None
    dial: str | None = None
    hangup: bool = False

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.says)

    @property
    def action(self) -> str:
        if self.gather is not None:
            return self.gather["action"]
        assert self.record is not None
        return self.record["action"]


def said(verb: ET.Element) -> tuple[str, str]:
    """A Say as its words and language; a Play (a person's recording) as its URL and "play"."""
    if verb.tag == "Play":
        return verb.text or "", "play"
    return verb.text or "", verb.attrib["language"]


def hear(response: Any) -> Heard:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    heard = Heard(response.status_code)
    for verb in root:
        if verb.tag == "Gather":
            heard.gather = dict(verb.attrib)
            heard.says.extend(said(child) for child in verb)
        elif verb.tag in ("Say", "Play"):
            heard.says.append(said(verb))
        elif verb.tag == "Record":
            heard.record = dict(verb.attrib)
        elif verb.tag == "Redirect":
            heard.redirect = verb.text
        elif verb.tag == "Dial":
            heard.dial = verb.text
        elif verb.tag == "Hangup":
            heard.hangup = True
    return heard


class Phone:
    """One caller's phone, posting what Twilio posts for their call."""

    def __init__(self, client: FlaskClient, caller: str = CALLER, call_sid: str = "CA" + "1" * 32):
        self.client = client
        self.caller = caller
        self.call_sid = call_sid
        self.last: Heard | None = None

    def post(self, url: str, form: dict[str, str]) -> Any:
        """POST a form to an absolute URL, signed as Twilio signs it."""
        signature = RequestValidator(TOKEN).compute_signature(url, form)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.client.post(path, data=form, headers={"X-Twilio-Signature": signature})

    def _base(self) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": LINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
        }

    def call(self) -> Heard:
        self.last = hear(self.post(LOCAL + VOICE, {**self._base(), "CallStatus": "ringing"}))
        return self.last

    def press(self, digits: str) -> Heard:
        assert self.last is not None and self.last.gather is not None
        self.last = hear(self.post(self.last.action, {**self._base(), "Digits": digits}))
        return self.last

    def silence(self) -> Heard:
        """No key before the timeout (Gather's actionOnEmptyResult), or nothing recorded."""
        assert self.last is not None
        url = self.last.action if self.last.gather is not None else self.last.redirect
        assert url is not None
        self.last = hear(self.post(url, self._base()))
        return self.last

    def speak(self, recording_sid: str, url: str, duration: int = 12) -> Heard:
        """Finish a recording with # (the Record's action)."""
        assert self.last is not None and self.last.record is not None
        form = {
            **self._base(),
            "RecordingSid": recording_sid,
            "RecordingUrl": url,
            "RecordingDuration": str(duration),
            "Digits": "#",
        }
        self.last = hear(self.post(self.last.action, form))
        return self.last

    def recording_ready(
        self, recording_sid: str, url: str, duration: int = 12, callback: str | None = None
    ) -> Any:
        """The recordingStatusCallback: no From, only the call and the recording."""
        form = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": self.call_sid,
            "RecordingSid": recording_sid,
            "RecordingUrl": url,
            "RecordingStatus": "completed",
            "RecordingDuration": str(duration),
            "RecordingChannels": "1",
            "RecordingSource": "RecordVerb",
        }
        return self.post(callback or LOCAL + VOICE + "/recording", form)

    def hang_up(self, status: str = "completed") -> Any:
        return self.post(LOCAL + VOICE + "/status", {**self._base(), "CallStatus": status})


@pytest.fixture
def voice_services(settings: Settings, database: Database, clock: FrozenClock) -> Services:
    from bot.channels.console import RecordingSender

    sender = RecordingSender()
    built = build_services(
        settings.with_overrides(twilio_auth_token=TOKEN, voice_transfer_to="+442073645000"),
        senders={c: sender for c in CHANNELS},
        clock=clock,
        database=database,
    )
    built.sender = sender  # type: ignore[attr-defined]
    return built


@pytest.fixture
def client(voice_services: Services) -> FlaskClient:
    return create_app(services=voice_services).test_client()


@pytest.fixture
def twilio() -> Any:
    with FakeTwilio() as fake:
        yield fake


def count(database: Database, model: Any) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def recording_url(twilio: FakeTwilio) -> str:
    url: str = twilio.add_media(b"RIFF....WAVEfmt ", "audio/x-wav")
    return url


def complain_until_recording(phone: Phone) -> Heard:
    phone.call()
    phone.press("1")  # English
    phone.press("1")  # a complaint
    return phone.press("1")  # about home care


def test_a_call_asks_for_a_language_in_each_language(client: FlaskClient) -> None:
    heard = Phone(client).call()
    assert heard.gather is not None
    assert heard.gather["numDigits"] == "1"
    assert heard.gather["actionOnEmptyResult"] == "true"
    assert heard.action.startswith(LOCAL + VOICE + "/gather?")
    languages = [language for _, language in heard.says]
    assert languages[:2] == ["en-GB", "en-GB"]
    assert "bn-IN" in languages
    assert "press 1" in heard.text


def test_a_complaint_by_phone_is_kept_with_its_recording(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    menu = phone.call()
    menu = phone.press("1")
    assert "complaint" in menu.text.lower()
    service = phone.press("1")
    assert "Which service" in service.text
    question = phone.press("1")
    assert question.record is not None, question
    assert question.record["maxLength"] == "300"
    assert question.record["playBeep"] == "true"
    assert question.record["recordingStatusCallback"] == LOCAL + VOICE + "/recording"
    # Spoken renderings: what a text asks to send or write is said for a phone.
    assert "What happened? Tell us in your own words." in question.text
    assert "voice note" not in question.text and "Speak after the tone" in question.text
    url = recording_url(twilio)
    wanted = phone.speak("RE" + "a" * 32, url)
    assert wanted.record is not None  # what they would like to happen: optional, recorded
    callback = phone.silence()  # nothing said: skipped
    assert callback.gather is not None
    phone.press("2")  # no call back
    done = phone.press("1")  # yes, you may contact me
    database = voice_services.database
    with database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.channel == "voice"
        assert feedback.kind == "complaint"
        assert feedback.media == [{"url": url, "content_type": "audio/x-wav"}]
        reference = feedback.reference
        # The reference is read a character at a time, and then again.
        once = ", ".join(reference.replace("-", ""))
        assert f"{once}. {once}" in done.text
        assert "Send 0" not in done.text
        # Then goodbye: no question about news, which never reaches a call.
        assert done.hangup and done.gather is None and "Goodbye" in done.text
        assert "news" not in done.text
        # ... and texted to the caller's mobile, through the outbox.
        sms = session.scalars(
            select(Message).where(Message.channel == "sms", Message.direction == "out")
        ).all()
        assert [row.params["reference"] for row in sms if row.params] == [reference]
        # Nothing on the voice channel is left for a sender.
        voice_rows = session.scalars(
            select(Message).where(Message.channel == "voice", Message.direction == "out")
        ).all()
        assert voice_rows and {row.status for row in voice_rows} == {"spoken"}
    # The recording callback that follows is the same recording: nothing more is kept.
    assert phone.recording_ready("RE" + "a" * 32, url).status_code == 200
    assert count(database, Feedback) == 1
    with database.session() as session:
        inbound = session.scalars(
            select(Message).where(Message.direction == "in", Message.media.is_not(None))
        ).all()
        assert len(inbound) == 1


def test_hanging_up_after_the_tone_keeps_the_recording(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    assert complain_until_recording(phone).record is not None
    assert phone.hang_up().status_code == 200
    url = recording_url(twilio)
    # The recording is ready only after the call ended.
    assert phone.recording_ready("RE" + "b" * 32, url).status_code == 200
    assert phone.recording_ready("RE" + "b" * 32, url).status_code == 200  # replayed
    database = voice_services.database
    with database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.service == "home_care"
        assert feedback.complete is False
        assert feedback.media == [{"url": url, "content_type": "audio/x-wav"}]
        call = session.scalars(select(VoiceCall)).one()
        assert call.ended_at is not None and call.status == "completed"
    assert phone.hang_up().status_code == 200  # a repeated status changes nothing
    assert count(database, Feedback) == 1


def test_a_recording_before_the_hang_up_is_kept_by_its_callback(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    complain_until_recording(phone)
    url = recording_url(twilio)
    # The caller hung up at the tone's end: only the recording callback brings it.
    assert phone.recording_ready("RE" + "c" * 32, url).status_code == 200
    assert phone.hang_up().status_code == 200
    with voice_services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.media == [{"url": url, "content_type": "audio/x-wav"}]


def test_no_key_is_asked_again_twice_then_goodbye(client: FlaskClient) -> None:
    phone = Phone(client)
    first = phone.call()
    again = phone.silence()
    assert "did not hear" in again.text and again.gather is not None
    assert "press 1" in again.text
    assert phone.silence().gather is not None
    goodbye = phone.silence()
    assert goodbye.hangup and goodbye.gather is None
    # A caller whose number we have is told they will be called back (a staff task).
    assert "call you back" in goodbye.text
    assert first.gather is not None


def test_a_wrong_key_and_star_say_the_question_again(client: FlaskClient) -> None:
    phone = Phone(client)
    phone.call()
    wrong = phone.press("7")
    assert "not one of the choices" in wrong.text and "press 1" in wrong.text
    menu = phone.press("1")
    repeated = phone.press("*")
    assert repeated.gather is not None
    assert "What would you like to do?" in repeated.text
    assert "What would you like to do?" in menu.text
    not_offered = phone.press("9")
    assert not_offered.gather is not None
    assert "What would you like to do?" in not_offered.text
    # The key is named for what it was (a new user heard "Please press one key." after
    # pressing one), and said once: asked again, the question comes without it.
    assert not_offered.text.startswith("That key is not one of the choices.")
    assert "press one key" not in not_offered.text.lower()
    assert "not one of the choices" not in phone.press("*").text
    assert "not one of the choices" not in phone.silence().text


def test_before_a_language_is_chosen_a_wrong_or_no_key_is_said_in_each_language(
    client: FlaskClient, voice_services: Services
) -> None:
    phone = Phone(client)
    phone.call()
    i18n = voice_services.i18n
    for heard, msgid in ((phone.press("7"), WRONG_KEY), (phone.silence(), NO_KEY)):
        assert heard.gather is not None
        english, bengali = i18n.gettext("en", msgid), i18n.gettext("bn", msgid)
        assert english != bengali and (english, "en-GB") in heard.says
        assert (bengali, "bn-IN") in heard.says


def test_zero_puts_the_caller_through_in_office_hours_only(
    client: FlaskClient, clock: FrozenClock
) -> None:
    phone = Phone(client)
    phone.call()
    phone.press("1")
    through = phone.press("0")  # a Wednesday, 10:00
    assert through.dial == "+442073645000"
    phone = Phone(client, call_sid="CA" + "2" * 32)
    clock.advance(timedelta(hours=10))  # 20:00
    phone.call()
    phone.press("1")
    closed = phone.press("0")
    assert closed.dial is None and closed.gather is not None
    assert "Monday to Friday, 9 am to 5 pm" in closed.text


def test_bengali_and_sylheti_are_spoken_in_bengali(client: FlaskClient) -> None:
    phone = Phone(client)
    phone.call()
    bengali = phone.press("2")
    assert bengali.says and {language for _, language in bengali.says} == {"bn-IN"}
    phone = Phone(client, caller="+447700900124", call_sid="CA" + "3" * 32)
    phone.call()
    sylheti = phone.press("3")
    assert {language for _, language in sylheti.says} == {"bn-IN"}


def test_a_zero_second_recording_asks_again(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    complain_until_recording(phone)
    again = phone.speak("RE" + "d" * 32, recording_url(twilio), duration=0)
    assert again.record is not None
    assert phone.recording_ready("RE" + "d" * 32, "", duration=0).status_code == 200
    assert count(voice_services.database, Feedback) == 0


def test_callbacks_for_an_unknown_call_are_answered_without_error(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client, call_sid="CA" + "9" * 32)
    assert phone.recording_ready("RE" + "e" * 32, recording_url(twilio)).status_code == 200
    assert phone.hang_up().status_code == 200
    gather = hear(phone.post(LOCAL + VOICE + "/gather?n=3&miss=0", {"CallSid": phone.call_sid}))
    assert gather.hangup
    assert count(voice_services.database, VoiceCall) == 0


def test_a_replayed_key_press_is_one_step(client: FlaskClient, voice_services: Services) -> None:
    phone = Phone(client)
    phone.call()
    assert phone.last is not None
    action = phone.last.action
    form = {**phone._base(), "Digits": "1"}
    first = hear(phone.post(action, form))
    replayed = hear(phone.post(action, form))
    assert replayed.gather is not None
    assert first.gather is not None
    with voice_services.database.session() as session:
        inbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
    assert inbound == 1


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (VOICE, {"From": CALLER}),
        (VOICE, {"CallSid": "CA" + "1" * 32}),
        (VOICE + "/gather?n=x", {"CallSid": "CA" + "1" * 32}),
        (VOICE + "/recording", {"CallSid": "CA" + "1" * 32}),
        (VOICE + "/status", {"CallSid": "CA" + "1" * 32}),
        (VOICE + "/gather?n=1", {"CallSid": "CA" + "1" * 32, "RecordingDuration": "-1"}),
    ],
)
def test_malformed_callbacks_are_refused_with_400(
    client: FlaskClient, path: str, form: dict[str, str]
) -> None:
    phone = Phone(client)
    assert phone.post(LOCAL + path, form).status_code == 400


def test_unsigned_or_badly_signed_calls_are_refused(client: FlaskClient) -> None:
    form = {"CallSid": "CA" + "1" * 32, "From": CALLER}
    assert client.post(VOICE, data=form).status_code == 403
    bad = client.post(VOICE, data=form, headers={"X-Twilio-Signature": "bm90IGl0"})
    assert bad.status_code == 403


def reminder_to(session: Session, voice: Address, now: datetime) -> int:
    """A calendar reminder written to a caller's voice address, as the reminders job would."""
    return outbox.add(
        session,
        Outbound(
            address_id=voice.id,
            channel="voice",
            created_at=now,
            kind=Kind.REMINDER,
            template="Thank you for calling. Goodbye.",
        ),
    ).id


def complain_by_phone(phone: Phone, twilio: FakeTwilio, recording_sid: str) -> None:
    """A whole complaint by phone: home care, a recording, no call back, consent given."""
    complain_until_recording(phone)
    phone.speak(recording_sid, recording_url(twilio))
    phone.silence()  # nothing to add about what should happen
    phone.press("2")  # no call back
    phone.press("1")  # yes, you may contact me


def test_case_updates_to_a_landline_caller_become_a_task(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    complain_by_phone(Phone(client, caller=LANDLINE), twilio, "RE" + "f" * 32)
    database = voice_services.database
    with database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        # No reference by SMS to a landline, and no SMS address made for it.
        assert session.scalars(select(Address).where(Address.channel == "sms")).all() == []
        change = change_status(
            session, feedback, "resolved", user_id=None, note=None, tell=True, now=clock.now
        )
        session.flush()
        assert change.message is None and change.task is not None
        task = session.scalars(select(StaffTask)).one()
        assert task.kind == "call-with-update"
        assert task.feedback_id == feedback.id
        assert feedback.reference in task.summary
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.direction == "out", Message.status != "spoken")
            )
            == 0
        )


def test_case_updates_to_a_mobile_caller_go_by_sms(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    complain_by_phone(Phone(client), twilio, "RE" + "7" * 32)
    with voice_services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        change = change_status(
            session, feedback, "resolved", user_id=None, note=None, tell=True, now=clock.now
        )
        session.flush()
        assert change.task is None and change.message is not None
        assert change.message.channel == "sms"
        sms = session.get_one(Address, change.message.address_id)
        assert sms.address == CALLER and sms.channel == "sms"
    assert count(voice_services.database, StaffTask) == 0


def test_a_caller_who_says_no_to_contact_is_not_texted(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    complain_until_recording(phone)
    phone.speak("RE" + "8" * 32, recording_url(twilio))
    phone.silence()
    phone.press("2")  # no call back
    phone.press("2")  # no, do not contact me
    with voice_services.database.session() as session:
        assert session.scalars(select(Feedback)).one().consent_to_contact is False
        assert (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.channel == "sms")
            )
            == 0
        )


def test_a_reminder_for_a_caller_goes_by_sms_to_their_mobile_or_to_staff_to_call(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    complain_by_phone(Phone(client), twilio, "RE" + "5" * 32)
    complain_by_phone(Phone(client, LANDLINE, "CA" + "6" * 32), twilio, "RE" + "6" * 32)
    database = voice_services.database
    with database.session() as session:
        written = []
        for number in (CALLER, LANDLINE):
            voice = session.scalars(
                select(Address).where(Address.channel == "voice", Address.address == number)
            ).one()
            written.append(reminder_to(session, voice, clock.now))
    mobile, landline = (voice_services.dispatcher.deliver(row_id) for row_id in written)
    assert mobile.status in ("sent", "delivered")
    # No mobile: staff call them with it (tests/webhooks/test_twilio_voice_spoken.py).
    assert (landline.status, landline.reason) == ("cancelled", "voice-staff-call")
    with database.session() as session:
        sent = session.get_one(Message, written[0])
        assert sent.channel == "sms"
        assert session.get_one(Address, sent.address_id).address == CALLER
    texted = voice_services.sender.sent  # type: ignore[attr-defined]
    assert [message.address for message in texted].count(LANDLINE) == 0


# Each step of a complaint by phone, as the keys (or recording) that reach it.
STEPS: list[tuple[str, str]] = [
    ("press", "1"),  # English
    ("press", "1"),  # a complaint
    ("press", "1"),  # home care
    ("speak", ""),  # what happened
    ("silence", ""),  # nothing to add
    ("press", "2"),  # no call back
    ("press", "1"),  # consent
]


@pytest.mark.parametrize("hang_up_after", range(len(STEPS) + 1))
def test_a_hang_up_at_any_step_loses_nothing(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, hang_up_after: int
) -> None:
    phone = Phone(client)
    phone.call()
    url = recording_url(twilio)
    for action, keys in STEPS[:hang_up_after]:
        if action == "press":
            phone.press(keys)
        elif action == "speak":
            phone.speak("RE" + "4" * 32, url)
        else:
            phone.silence()
    assert phone.hang_up().status_code == 200
    assert phone.recording_ready("RE" + "4" * 32, url).status_code == 200
    database = voice_services.database
    with database.session() as session:
        feedback = session.scalars(select(Feedback)).all()
        if hang_up_after >= 3:  # the service was chosen: a complaint is kept, with its reference
            assert len(feedback) == 1 and feedback[0].reference
            assert feedback[0].complete is (hang_up_after == len(STEPS))
        else:
            assert feedback == []
        if hang_up_after >= 3:
            # The recording is kept once: on the feedback, and as the caller's message.
            assert feedback[0].media == [{"url": url, "content_type": "audio/x-wav"}]
            inbound = session.scalars(
                select(Message).where(Message.direction == "in", Message.media.is_not(None))
            ).all()
            assert len(inbound) == 1
        call = session.scalars(select(VoiceCall)).one()
        assert call.ended_at is not None


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    digits=st.text(max_size=12),
    field=st.sampled_from(["Digits", "RecordingUrl", "RecordingDuration", "CallStatus", "From"]),
)
def test_any_form_value_is_answered_without_a_server_error(
    client: FlaskClient, digits: str, field: str
) -> None:
    phone = Phone(client, call_sid="CA" + "3" * 32)
    phone.call()
    for path in ("/gather?n=1&miss=0", "/recording", "/status", ""):
        form = {**phone._base(), field: digits}
        if path == "/recording":
            form["RecordingSid"] = "RE" + "3" * 32
        response = phone.post(LOCAL + VOICE + path, form)
        assert response.status_code in (200, 400), (path, field, digits)
        if response.status_code == 200 and response.data:
            ET.fromstring(response.data)  # TwiML, well formed


def test_a_late_recording_for_a_call_that_kept_no_feedback_is_still_kept(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    phone = Phone(client)
    phone.call()
    phone.press("1")
    assert phone.hang_up().status_code == 200
    url = recording_url(twilio)
    assert phone.recording_ready("RE" + "2" * 32, url).status_code == 200
    with voice_services.database.session() as session:
        assert session.scalars(select(Feedback)).all() == []
        kept = session.scalars(
            select(Message).where(Message.direction == "in", Message.provider_id == "RE" + "2" * 32)
        ).one()
        assert kept.media == [{"url": url, "content_type": "audio/x-wav"}]


def test_callers_who_withhold_their_number_are_each_a_caller_of_their_own(
    client: FlaskClient, voice_services: Services
) -> None:
    first = Phone(client, caller="anonymous", call_sid="CA" + "a1" * 16)
    second = Phone(client, caller="+266696687", call_sid="CA" + "b2" * 16)
    for phone in (first, second):
        phone.call()
        phone.press("1")
    with voice_services.database.session() as session:
        voices = session.scalars(select(Address.address).where(Address.channel == "voice")).all()
    assert sorted(voices) == sorted(["withheld:" + first.call_sid, "withheld:" + second.call_sid])
    assert (
        Phone(client, caller="+4477\x01")
        .post(LOCAL + VOICE, {"CallSid": "CA" + "c3" * 16, "From": "+4477\x01"})
        .status_code
        == 400
    )
