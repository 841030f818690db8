"""The voice line's prompts page through the real app: uploads (good and bad), the player,
what is missing; and the recordings played in a call's TwiML instead of a machine voice."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.casework import voiceprompts
from bot.casework.replies import ReplyError, ReplyRequest, queue_reply
from bot.casework.voiceline import GOODBYE, LINE_PROMPTS, PRESS_A_KEY, WELCOME
from bot.outreach.broadcasts import addresses, segment_condition
from bot.services import Services
from storage.models import Address, AuditEvent, Feedback, StaffTask, VoicePrompt
from tests.console import test_access as access
from tests.console.test_access import sign_in, token
from tests.webhooks.test_twilio_voice import LOCAL, TOKEN, Phone

_quick_hashes = access._quick_hashes
app = access.app
client = access.client

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(400)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64)


def keys(services: Services) -> tuple[str, ...]:
    """Every prompt staff can record, in the page's order."""
    return tuple(item.key for item in voiceprompts.recordables(LINE_PROMPTS, services.flows))


def upload(
    client: FlaskClient, prompt: str, language: str, data: bytes | None, name: str = "a.mp3"
) -> object:
    form: dict[str, object] = {
        "prompt": prompt,
        "language": language,
        "csrf_token": token(client, "/console/voice-prompts"),
    }
    if data is not None:
        form["recording"] = (io.BytesIO(data), name)
    return client.post("/console/voice-prompts", data=form, content_type="multipart/form-data")


def kept(services: Services) -> list[tuple[str, str, str]]:
    """The recordings kept, but the one the `app` fixture keeps for the access walk."""
    with services.database.session() as session:
        rows = session.scalars(select(VoicePrompt).order_by(VoicePrompt.id)).all()
        return [
            (row.prompt, row.language, row.content_type)
            for row in rows
            if (row.prompt, row.language) != (GOODBYE, "en")
        ]


def test_staff_list_what_is_missing_in_one_language_and_upload_from_it(
    client: FlaskClient, services: Services
) -> None:
    # A new user found one page of 100-odd prompts in three languages, and a form at the
    # top naming none of them.
    assert sign_in(client, "staff@example.org") == 302
    prompts = keys(services)
    welcome = str(prompts.index(WELCOME))
    assert upload(client, welcome, "en", MP3).status_code == 302  # type: ignore[attr-defined]

    english = client.get("/console/voice-prompts?show_language=en&only_missing=yes").text

    listed = re.findall(r'<div class="govuk-summary-card" id="prompt-(\d+)">', english)
    assert 0 < len(listed) < len(prompts)
    assert f"{len(listed)} of {len(prompts)} prompts shown." in english
    assert welcome not in listed  # recorded in English: not listed
    # Only the English row of each, and each of them missing.
    rows = re.findall(r'id="prompt-\d+-(\w+)"', english)
    assert set(rows) == {"en"} and len(rows) == len(listed)
    assert english.count("govuk-tag--green") == 0
    # Each listed prompt links to the form with it and its language chosen.
    first = listed[0]
    link = re.search(
        rf'href="(/console/voice-prompts\?prompt={first}&amp;language=en[^"]*)"', english
    )
    assert link is not None
    chosen = client.get(link.group(1).replace("&amp;", "&")).text
    assert re.search(rf'<option value="{first}" selected>', chosen)
    assert re.search(r'<option value="en" selected>', chosen)
    everything = client.get("/console/voice-prompts").text
    assert f"{len(prompts)} of {len(prompts)} prompts shown." in everything


def test_staff_upload_a_recording_and_play_it(client: FlaskClient, services: Services) -> None:
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/voice-prompts")
    assert page.status_code == 200
    assert "Voice line prompts" in page.text
    prompts = keys(services)
    total = len(prompts)
    assert f"Sylheti: {total} of {total} missing" in page.text
    assert "Missing: the Bengali machine voice says it" in page.text

    welcome = str(prompts.index(WELCOME))
    response = upload(client, welcome, "bn", MP3)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert kept(services) == [(WELCOME, "bn", "audio/mpeg")]
    page = client.get("/console/voice-prompts")
    assert "Recording kept: Bengali." in page.text
    assert f"Bengali: {total - 1} of {total} missing" in page.text
    # Sylheti callers hear the Bengali recording; the page says Sylheti's is missing.
    assert "Missing: the Bengali recording is played" in page.text
    assert f"Sylheti: {total} of {total} missing" in page.text
    found = re.search(r'<audio controls preload="none" src="([^"]+)"', page.text)
    assert found is not None
    audio = client.get(found.group(1))
    assert audio.status_code == 200 and audio.data == MP3
    assert audio.mimetype == "audio/mpeg"
    assert audio.headers["X-Content-Type-Options"] == "nosniff"

    # A new upload replaces the one before.
    assert upload(client, welcome, "bn", WAV, "b.wav").status_code == 302  # type: ignore[attr-defined]
    assert kept(services) == [(WELCOME, "bn", "audio/wav")]
    with services.database.session() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "voice_prompt.uploaded")
        ).all()
    assert len(actions) == 2


def test_bad_uploads_say_why_and_keep_nothing(client: FlaskClient, services: Services) -> None:
    assert sign_in(client, "admin@example.org") == 302
    first = "0"
    cases = [
        (first, "en", None, "Choose a sound file"),
        (first, "en", b"", "Choose a sound file"),
        (first, "en", b"<html>not a sound</html>", "must be an MP3 or WAV"),
        (first, "en", b"ID3" + bytes(voiceprompts.MAX_BYTES), "must be smaller than"),
        ("", "en", MP3, "Choose the prompt"),
        ("9999", "en", MP3, "Choose the prompt"),
        ("x", "en", MP3, "Choose the prompt"),
        (first, "syl-Latn", MP3, "Choose the language"),
        (first, "", MP3, "Choose the language"),
    ]
    for prompt, language, data, said in cases:
        response = upload(client, prompt, language, data)
        assert response.status_code == 400, (prompt, language)  # type: ignore[attr-defined]
        assert said in response.text, (prompt, language)  # type: ignore[attr-defined]
        assert "There is a problem" in response.text  # type: ignore[attr-defined]
    assert kept(services) == []


def test_moderators_cannot_upload_and_csrf_is_required(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "moderator@example.org") == 302
    assert client.get("/console/voice-prompts").status_code == 403
    other = client.application.test_client()
    assert sign_in(other, "staff@example.org") == 302
    refused = other.post(
        "/console/voice-prompts",
        data={"prompt": "0", "language": "en", "recording": (io.BytesIO(MP3), "a.mp3")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert kept(services) == []


def play_urls(response: object) -> list[str]:
    root = ET.fromstring(response.data)  # type: ignore[attr-defined]
    return [verb.text or "" for verb in root.iter("Play")]


def test_a_call_plays_recordings_and_sylheti_gets_the_bengali_one(
    client: FlaskClient, services: Services
) -> None:
    with services.database.session() as session:
        now = services.clock()
        for prompt, language in ((WELCOME, "en"), (PRESS_A_KEY, "bn")):
            voiceprompts.save(
                session, prompt, language, MP3, known=keys(services), user_id=None, now=now
            )
    services.settings = services.settings.with_overrides(twilio_auth_token=TOKEN)
    phone = Phone(client, caller="+447700900555")
    phone.call()
    assert phone.last is not None
    first = phone.post(LOCAL + "/webhooks/twilio/voice", phone._base())
    urls = play_urls(first)
    assert len(urls) == 1 and urls[0].startswith(LOCAL + "/webhooks/twilio/voice/prompts/")
    # Twilio fetches the recording without credentials.
    fetched = client.application.test_client().get(urls[0].removeprefix(LOCAL))
    assert fetched.status_code == 200 and fetched.data == MP3
    sylheti = phone.press("3")
    assert any("/prompts/" in url for url in play_urls_of(sylheti))
    assert client.get("/webhooks/twilio/voice/prompts/9999").status_code == 404
    with services.database.session() as session:
        assert session.scalar(select(func.count()).select_from(VoicePrompt)) == 3


def play_urls_of(heard: object) -> list[str]:
    return [text for text, language in heard.says if language == "play"]  # type: ignore[attr-defined]


def test_a_call_is_a_conversation_staff_see_with_its_recording_but_cannot_write_to(
    client: FlaskClient, services: Services
) -> None:
    from tests.webhooks.test_twilio_voice import complain_by_phone

    services.settings = services.settings.with_overrides(twilio_auth_token=TOKEN)
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32
    phone = Phone(client, caller="+442073645005")

    class Recordings:
        """complain_by_phone's source of recording URLs: a Twilio one, not fetched here."""

        def add_media(self, data: bytes, content_type: str) -> str:
            return recording

    complain_by_phone(phone, Recordings(), "RE" + "1" * 32)  # type: ignore[arg-type]
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.channel == "voice")).one()
        reference = session.scalars(
            select(Feedback.reference).where(Feedback.channel == "voice")
        ).one()
        address_id = address.id
        with pytest.raises(ReplyError, match="voice line"):
            queue_reply(session, address, ReplyRequest(text="Hello"), 1, services.clock())
        # No broadcast ever reaches a call.
        named = session.scalars(
            addresses(select(Address.channel)).where(segment_condition({}, "en"))
        ).all()
        assert "voice" not in named
    assert sign_in(client, "staff@example.org") == 302
    listing = client.get("/console/conversations?channel=voice")
    assert listing.status_code == 200 and f"/console/conversations/{address_id}" in listing.text
    for path in (f"/console/conversations/{address_id}", f"/console/cases/{reference}"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<audio" in page.text and "/console/media/" in page.text, path
    assert "Voice line" in client.get(f"/console/cases/{reference}").text


def test_a_caller_the_line_could_not_hear_is_a_call_back_task_with_their_number(
    client: FlaskClient, services: Services
) -> None:
    services.settings = services.settings.with_overrides(twilio_auth_token=TOKEN)
    phone = Phone(client, caller="+442073645006", call_sid="CA" + "4" * 32)
    phone.call()
    phone.press("3")  # Sylheti
    for _ in range(3):
        phone.silence()
    assert phone.last is not None and phone.last.hangup
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/tasks")
    assert page.status_code == 200
    assert "Call back" in page.text and "pressed no key" in page.text
    assert "+442073645006" in page.text  # read from their records, not the task
    assert "সিলেটি" in page.text  # their language
    with services.database.session() as session:
        task = session.scalars(select(StaffTask).where(StaffTask.kind == "call-back")).one()
        assert "+442073645006" not in task.summary


def test_a_question_recorded_whole_needs_no_parts_on_the_page(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "staff@example.org") == 302
    prompts = keys(services)
    menu = next(key for key in prompts if key.startswith("What would you like to do?\n"))
    assert "For a complaint, press 1." in prompts
    page = client.get("/console/voice-prompts")
    assert "A question with all its options, in one recording" in page.text
    assert "One option" in page.text
    # The page shows each language's words: the Bengali option's sentence.
    assert "অভিযোগ: 1 চাপুন।" in page.text
    total = len(prompts)
    assert upload(client, str(prompts.index(menu)), "bn", MP3).status_code == 302  # type: ignore[attr-defined]
    page = client.get("/console/voice-prompts")
    assert "Not needed: the whole question is recorded" in page.text
    # The whole question, its words and its 8 options: none missing in Bengali now.
    assert f"Bengali: {total - 10} of {total} missing" in page.text
    assert f"Sylheti: {total} of {total} missing" in page.text
