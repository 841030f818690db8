"""The simulator's phone call through the real Flask app, as a browser without script uses
it: each form posted as the page has it, the voice line's own methods behind it, and the
recording kept as the feedback's media and played on the console's pages."""

from __future__ import annotations

import io
import re
import wave
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from bot.casework import voiceprompts
from bot.casework.accounts import create_user
from bot.casework.media import MediaStore, find_media, message_media_urls
from bot.casework.voiceline import WELCOME
from bot.channels.media import MediaError
from bot.services import Services, build_services
from bot.settings import Settings
from console import simulator
from console.simulator_call import recording_seconds
from kotha import create_app
from storage.db import Database
from storage.models import Address, Contact, Feedback, Message, VoiceCall
from tests.conftest import FrozenClock
from tests.console import test_access
from tests.console.test_access import PASSWORD, sign_in

SIMULATED = re.compile(r"sim:[0-9a-f]{8}")
REFERENCE = re.compile(r"\b[A-Z]-\d{4,10}\b")
MAX = 5 * 1024 * 1024


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A WAV file of silence as long as asked, as Twilio records a call (8 kHz, 16 bits)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(bytes(int(seconds * rate) * 2))
    return out.getvalue()


OGG = b"OggS\x00\x02" + bytes(400)


@dataclass
class Form:
    """A form on the page: where it goes, its hidden fields, its buttons and file fields."""

    action: str
    enctype: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, words
    files: list[str] = field(default_factory=list)


class Forms(HTMLParser):
    """The forms of a page, read as a browser reads them."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: tuple[str, str] | None = None
        self._words = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values["action"], values.get("enctype", "")))
        elif tag == "input" and values.get("type") == "hidden":
            self.forms[-1].hidden[values["name"]] = values.get("value", "")
        elif tag == "input" and values.get("type") == "file":
            self.forms[-1].files.append(values["name"])
        elif tag == "button" and values.get("type") == "submit" and "name" in values:
            self._button, self._words = (values["name"], values.get("value", "")), ""

    def handle_data(self, data: str) -> None:
        self._words += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            name, value = self._button
            self.forms[-1].buttons.append((name, value, self._words.strip()))
            self._button = None


class Caller:
    """Someone trying the voice line in the simulator, in a browser without script."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        opened = client.get("/simulator/call")
        assert opened.status_code == 302
        [self.address] = parse_qs(urlsplit(opened.headers["Location"]).query)["as"]
        assert SIMULATED.fullmatch(self.address)
        self.response = client.get(opened.headers["Location"])
        assert self.response.status_code == 200

    @property
    def page(self) -> str:
        return self.response.get_data(as_text=True)

    @property
    def said(self) -> str:
        """What the line says on this page, as text."""
        found = re.search(r'<ol class="said".*?</ol>', self.page, re.S)
        return "" if found is None else re.sub(r"<[^>]+>", " ", found.group(0))

    def forms(self) -> list[Form]:
        return Forms(self.page).forms

    def _submit(self, form: Form, data: dict[str, Any], status: int = 200) -> str:
        values = {**form.hidden, **data}
        if form.enctype:
            # Encoded here, in memory: the test client's own spools a large body to a file
            # it never closes when the app refuses it unread.
            boundary, body = encode_multipart(values)
            self.response = self.client.post(
                form.action, data=body, content_type=f"multipart/form-data; boundary={boundary}"
            )
        else:
            self.response = self.client.post(form.action, data=values)
        assert self.response.status_code == status, self.page[:500]
        return self.said

    def button(self, name: str, value: str, status: int = 200) -> str:
        """Press the page's button with this name and value."""
        for form in self.forms():
            if any((n, v) == (name, value) for n, v, _ in form.buttons):
                return self._submit(form, {name: value}, status)
        raise AssertionError(f"no button {name}={value!r} on the page")

    def call(self) -> str:
        [form] = [f for f in self.forms() if f.action.startswith("/simulator/call?")]
        return self._submit(form, {})

    def press(self, key: str) -> str:
        return self.button("key", key)

    def no_key(self) -> str:
        return self.button("key", "")

    def hang_up(self) -> str:
        return self.button("hangup", "1")

    def upload(self, data: bytes | None, name: str = "recording.wav", status: int = 200) -> str:
        [form] = [f for f in self.forms() if f.files]
        files = {} if data is None else {"recording": FileStorage(io.BytesIO(data), name)}
        return self._submit(form, files, status)

    @property
    def keypad(self) -> list[str]:
        return [v for f in self.forms() for n, v, _ in f.buttons if n == "key" and v]

    @property
    def records(self) -> bool:
        return any(f.files for f in self.forms())


_quick_hashes = test_access._quick_hashes


@pytest.fixture
def app(services: Services, clock: FrozenClock) -> Flask:
    with services.database.session() as session:
        create_user(session, "staff@example.org", "staff", PASSWORD, now=clock())
    return create_app(services=services)


@pytest.fixture
def caller(app: Flask) -> Caller:
    return Caller(app.test_client())


def complain_until_recording(caller: Caller) -> None:
    caller.call()
    caller.press("1")  # English
    caller.press("1")  # a complaint
    caller.press("1")  # about home care
    assert caller.records


def sent_and_spoken(services: Services) -> list[tuple[str, str]]:
    with services.database.session() as session:
        rows = session.execute(
            select(Message.channel, Message.status).where(Message.direction == "out")
        ).all()
    return [(row.channel, row.status) for row in rows]


def test_a_whole_call_keeps_a_complaint_with_its_recording(
    app: Flask, services: Services, caller: Caller
) -> None:
    greeting = caller.call()
    assert "Welcome to Kotha" in greeting and "For English, press 1." in greeting
    # Each language is offered in itself, marked with its language.
    assert '<span class="body" lang="bn">বাংলা' in caller.page
    assert caller.keypad == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]
    menu = caller.press("1")
    assert "complaint" in menu.lower() and "Press the number on your phone" in menu
    assert "Which service" in caller.press("1")
    question = caller.press("1")
    assert "What happened?" in question and "Speak after the tone" in question
    assert caller.records and caller.keypad == []
    recording = wav(3)
    wanted = caller.upload(recording)
    assert caller.records, wanted  # what should happen now: optional, recorded too
    caller.no_key()  # nothing to add: passed over
    caller.press("2")  # no call back
    done = caller.press("1")  # yes, you may contact us
    assert "Thank you for calling. Goodbye." in done
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert (feedback.channel, feedback.kind) == ("voice", "complaint")
        [media] = feedback.media or []
        assert media["content_type"] == "audio/x-wav"
        assert re.fullmatch(r"simulated-recording:[0-9a-f]{32}", media["url"])
        reference, address_id = feedback.reference, feedback.address_id
        call = session.scalars(select(VoiceCall)).one()
        assert call.ended_at is not None and call.status == "completed"
    assert reference in done
    assert f"What you said is kept as feedback {reference}." in caller.page
    assert "Call again" in caller.page and caller.keypad == []
    # Nothing went to a phone: the line's words are spoken, no SMS of the reference.
    assert {channel for channel, _ in sent_and_spoken(services)} == {"voice"}
    assert services.sender.sent == []  # type: ignore[attr-defined]

    # Staff play the recording on the case and conversation pages, through the media path.
    staff = app.test_client()
    assert sign_in(staff, "staff@example.org") == 302
    for path in (f"/console/cases/{reference}", f"/console/conversations/{address_id}"):
        page = staff.get(path).get_data(as_text=True)
        [source] = re.findall(r'<audio[^>]* src="(/console/media/\d+/0)"', page)
        played = staff.get(source)
        assert played.status_code == 200
        assert played.mimetype == "audio/wav"
        assert played.data == recording


def test_only_the_page_that_waits_for_a_recording_runs_a_script(caller: Caller) -> None:
    for response in (caller.response, (caller.call(), caller.response)[1]):
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "media-src 'self';" in policy
        assert "microphone=()" in response.headers["Permissions-Policy"]
        assert "<script" not in caller.page
    caller.press("1")
    caller.press("1")
    caller.press("1")
    policy = caller.response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and policy.endswith("; script-src 'self'")
    assert "unsafe-eval" not in policy and "connect-src" not in policy
    assert "microphone=(self)" in caller.response.headers["Permissions-Policy"]
    assert "camera=()" in caller.response.headers["Permissions-Policy"]
    [script] = re.findall(r"<script[^>]*>", caller.page)
    assert script == '<script src="/console/static/simulator-record.js" defer>'
    with caller.client.get("/console/static/simulator-record.js") as served:
        assert served.status_code == 200 and b"MediaRecorder" in served.data
    # The text simulator still runs no script at all.
    text_page = caller.client.get(f"/simulator?channel=sms&as={caller.address}")
    assert "script-src" not in text_page.headers["Content-Security-Policy"]
    assert 'href="/simulator/call?lang=en"' in text_page.get_data(as_text=True)


def test_a_wrong_key_says_so_and_asks_again(services: Services, caller: Caller) -> None:
    caller.call()
    again = caller.press("7")
    assert "That key is not one of the choices." in again and "press 1" in again
    assert caller.keypad
    assert "complaint" in caller.press("1").lower()  # English chosen after all


def test_no_key_is_asked_again_twice_then_goodbye(services: Services, caller: Caller) -> None:
    caller.call()
    first = caller.no_key()
    assert "We did not hear a key." in first and caller.keypad
    second = caller.no_key()
    assert "We did not hear a key." in second and caller.keypad
    goodbye = caller.no_key()
    assert "Please call us again" in goodbye
    assert caller.keypad == [] and "The call has ended." in caller.page
    with services.database.session() as session:
        assert session.scalars(select(VoiceCall.ended_at)).one() is not None
        assert session.scalars(select(Feedback)).all() == []


def test_hanging_up_keeps_what_was_said_and_ends_the_call(
    services: Services, caller: Caller
) -> None:
    complain_until_recording(caller)
    stale = caller.forms()
    caller.hang_up()
    assert "The call has ended." in caller.page and not caller.records
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert session.scalars(select(VoiceCall.status)).one() == "completed"
        messages = session.scalars(select(Message.id)).all()
    assert f"What you said is kept as feedback {feedback.reference}." in caller.page
    # The page of before the hang-up, sent again: the call is over, nothing is stored.
    [recording_form] = [form for form in stale if form.files]
    caller._submit(recording_form, {"recording": FileStorage(io.BytesIO(wav(2)), "late.wav")})
    assert "The call has ended." in caller.page
    with services.database.session() as session:
        assert session.scalars(select(Message.id)).all() == messages


@pytest.mark.parametrize(
    ("data", "name", "status", "why"),
    [
        (None, "", 400, "No sound was sent."),
        (b"", "empty.wav", 400, "No sound was sent."),
        (b"x" * (MAX + 1), "huge.wav", 413, "That file is too large."),
        (b"x" * (MAX + 200 * 1024), "huger.wav", 413, "That file is too large."),
        (b"Dear council, this is not a sound.", "note.wav", 415, "not a sound"),
        (b"<svg onload=alert(1)></svg>", "x.mp3", 415, "not a sound"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "picture.ogg", 415, "not a sound"),
    ],
)
def test_a_bad_file_is_refused_clearly_and_the_call_goes_on(
    services: Services,
    caller: Caller,
    data: bytes | None,
    name: str,
    status: int,
    why: str,
) -> None:
    complain_until_recording(caller)
    before = [f.action for f in caller.forms()]
    said = caller.upload(data, name, status)
    assert why in caller.page
    assert 'aria-invalid="true"' in caller.page
    assert "What happened?" in said and caller.records
    assert [f.action for f in caller.forms()] == before  # the same turn, asked again
    cache = services.settings.instance_dir / "media"
    assert not cache.exists() or list(cache.iterdir()) == []
    with services.database.session() as session:
        assert session.scalars(select(Message).where(Message.media.is_not(None))).all() == []
    # Nothing lost: a good file then goes on as if the bad one had never been sent.
    caller.upload(OGG, "voice.ogg")
    assert "What happened?" not in caller.said and caller.records
    with services.database.session() as session:
        assert len(session.scalars(select(Message).where(Message.media.is_not(None))).all()) == 1


def test_a_recording_under_a_second_is_asked_for_again(caller: Caller) -> None:
    complain_until_recording(caller)
    again = caller.upload(wav(0.5))
    assert "What happened?" in again and caller.records


def test_how_long_a_recording_is(tmp_path: Path) -> None:
    assert recording_seconds(wav(3)) == 3
    assert recording_seconds(wav(1.9)) == 1
    assert recording_seconds(wav(0.2)) == 0
    assert recording_seconds(OGG) == 1  # not a WAV: taken as long enough


def test_a_prompt_staff_recorded_plays_in_the_page(
    services: Services, caller: Caller, clock: FrozenClock
) -> None:
    mp3 = b"ID3\x03\x00\x00\x00" + bytes(300)
    with services.database.session() as session:
        prompts = tuple(item.key for item in voiceprompts.recordables((WELCOME,), services.flows))
        kept = voiceprompts.save(
            session, WELCOME, "en", mp3, known=prompts, user_id=None, now=clock()
        )
        prompt_id = kept.id
    caller.call()
    src = f"/simulator/prompts/{prompt_id}"
    assert re.search(
        rf'<audio controls preload="none" src="{src}" aria-label="[^"]+">', caller.page
    )
    assert "Welcome to Kotha" in caller.said  # the words stay on the page beside it
    played = caller.client.get(src)
    assert played.status_code == 200 and played.data == mp3 and played.mimetype == "audio/mpeg"
    assert "sandbox" in played.headers["Content-Security-Policy"]
    assert caller.client.get("/simulator/prompts/999999").status_code == 404


def test_a_page_in_bengali_keeps_the_lines_words_in_their_own_language(caller: Caller) -> None:
    caller.client.get(f"/simulator/call?as={caller.address}&lang=bn")
    start = caller.client.get(f"/simulator/call?as={caller.address}&lang=bn")
    caller.response = start
    assert '<html lang="bn">' in caller.page
    caller.call()
    assert "/simulator/call/turn?lang=bn" in caller.page
    menu = caller.press("1")  # English, on a Bengali page
    assert re.search(r'<span class="body" lang="en">[^<]*complaint', caller.page), menu


def test_a_form_cannot_name_another_callers_call(
    services: Services, app: Flask, caller: Caller
) -> None:
    caller.call()
    [form] = [f for f in caller.forms() if f.buttons]
    someone_else = Caller(app.test_client())
    token = Forms(someone_else.page).forms[0].hidden["csrf_token"]
    forged = [
        {**form.hidden, "as": someone_else.address},  # not this caller's call
        {**form.hidden, "call": "CA" + "1" * 32},  # a Twilio call
        {**form.hidden, "call": "SIM" + "0" * 32},  # no such call
        {**form.hidden, "n": "-1"},
        {**form.hidden, "miss": "١"},
        {**form.hidden, "n": "99999999999999999999"},
        {**form.hidden, "as": "+447700900123"},
    ]
    for values in forged:
        answer = someone_else.client.post(
            form.action, data={**values, "csrf_token": token, "key": "1"}
        )
        assert answer.status_code == 400, values
    assert caller.client.post(form.action, data={**form.hidden, "key": "A"}).status_code == 400
    with services.database.session() as session:
        assert session.scalars(select(Message).where(Message.direction == "in")).all() == []


def test_a_call_counts_against_the_simulators_limit(
    monkeypatch: pytest.MonkeyPatch, caller: Caller
) -> None:
    monkeypatch.setattr(simulator, "SENDS_PER_ADDRESS", parse("3/minute"))
    caller.call()
    caller.press("1")
    caller.press("1")
    caller.button("key", "1", status=429)


@pytest.mark.parametrize("access", ["off", "staff"])
def test_the_simulators_setting_covers_its_calls(
    settings: Settings, database: Database, clock: FrozenClock, access: str
) -> None:
    services = build_services(
        settings.with_overrides(simulator=access), clock=clock, database=database
    )
    client = create_app(services=services).test_client()
    for path in ("/simulator/call?as=sim:0123abcd", "/simulator/prompts/1"):
        answer = client.get(path)
        assert answer.status_code == 404 if access == "off" else answer.status_code == 302
    posted = client.post("/simulator/call", data={"as": "sim:0123abcd"})
    assert posted.status_code == (404 if access == "off" else 302)
    with database.session() as session:
        assert session.scalars(select(VoiceCall)).all() == []


# --- The media path ---------------------------------------------------------------------------


def test_a_simulated_recording_is_served_for_simulated_people_only(
    services: Services, clock: FrozenClock
) -> None:
    store = MediaStore.of(services.settings)
    url = store.keep_simulated(OGG)
    assert store.load(url).path.read_bytes() == OGG
    ids = {}
    with services.database.session() as session:
        for address in ("sim:0123abcd", "+447700900123"):
            contact = Contact(language="en", created_at=clock())
            row = Address(contact=contact, channel="voice", address=address, created_at=clock())
            session.add(row)
            session.flush()
            message = Message(
                address_id=row.id,
                channel="voice",
                direction="in",
                body="",
                media=[{"url": url, "content_type": "audio/x-wav"}],
                status="processed",
                created_at=clock(),
            )
            session.add(message)
            session.flush()
            ids[address] = message.id
        assert find_media(session, ids["sim:0123abcd"], 0).url == url
        with pytest.raises(MediaError) as refused:
            find_media(session, ids["+447700900123"], 0)
        assert refused.value.status == 404
        # An erasure forgets the kept file with the rest.
        assert url in message_media_urls(session, [row.id])


@pytest.mark.parametrize(
    "url",
    [
        "simulated-recording:../../kotha.db",
        "simulated-recording:" + "0" * 31,
        "simulated-recording:" + "G" * 32,
        "simulated-recording:" + "0" * 32 + "/",
    ],
)
def test_a_reference_not_made_by_the_simulator_is_never_read_from_disk(
    services: Services, url: str
) -> None:
    store = MediaStore.of(services.settings)
    with pytest.raises(MediaError) as refused:
        store.load(url)
    assert refused.value.status in (403, 404)


def test_a_kept_simulated_recording_that_went_says_so(services: Services) -> None:
    store = MediaStore.of(services.settings)
    with pytest.raises(MediaError, match="no longer kept"):
        store.load("simulated-recording:" + "a" * 32)


def test_zero_in_office_hours_is_only_said_the_simulator_dials_no_one(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    staff_phone = "+442073645000"
    services = build_services(
        settings.with_overrides(voice_transfer_to=staff_phone), clock=clock, database=database
    )
    caller = Caller(create_app(services=services).test_client())
    caller.call()
    caller.press("1")
    through = caller.press("0")  # a Wednesday, 10:00
    assert "Putting you through to a member of staff." in through
    assert "The simulator puts no calls through." in caller.page
    assert "The call has ended." in caller.page and caller.keypad == []
    assert staff_phone not in caller.page and "2073645000" not in caller.page
    with database.session() as session:
        assert session.scalars(select(VoiceCall.status)).one() == "completed"
