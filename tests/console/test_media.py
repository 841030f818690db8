"""Voice notes and photos in the console: fetched through the app from the provider's own
hosts (fakes on 127.0.0.1), kept with a size limit, served safely, written down by staff,
found by the search, carried by the exports and gone with an erasure."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import cli
from bot.casework import accounts
from bot.casework.accounts import ROLES, create_user
from bot.casework.media import (
    MediaCache,
    MediaStore,
    NoteError,
    NoteRequest,
    find_media,
    notes_of,
    save_note,
)
from bot.channels.media import Fetched, MediaError, MediaFetcher
from bot.cli import export
from bot.services import Services
from bot.settings import SettingError, Settings, load
from kotha import create_app
from storage.db import Database
from storage.exports import feedback_rows
from storage.models import Address, AuditEvent, Contact, Feedback, MediaNote, Message
from tests.bot.casework.test_people import kotha
from tests.conftest import FrozenClock
from tests.console.test_access import PASSWORD, TOKEN, sign_in
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_api import Fault as TelegramFault
from tests.fakes.twilio_api import FakeTwilio, Fault

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
# The first bytes of each kind of file, as the providers serve them.
OGG = b"OggS\x00\x02" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
TELEGRAM_TOKEN = "123456:TEST-token"


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", quick)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", quick.hash("not a password anyone has"))


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
def settings(
    tmp_path: Path, database: Database, twilio: FakeTwilio, telegram: FakeTelegram
) -> Settings:
    return Settings(
        database_url=database.url,
        secret_key="test-secret",
        instance_dir=tmp_path / "instance",
        testing=True,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_api_url=twilio.url,
        twilio_media_hosts=("127.0.0.1",),
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_api_url=telegram.base_url,
        media_max_mb=1,
        media_timeout_seconds=1.0,
    )


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ROLES:
            create_user(session, f"{role}@example.org", role, PASSWORD, now=NOW)
    return create_app(services=services)


def client_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{role}@example.org") == 302
    return client


def person_sent(
    services: Services,
    media: list[dict[str, str]],
    *,
    channel: str = "whatsapp",
    address: str = "+447700900123",
    body: str = "",
    hidden: bool = False,
    reference: str | None = None,
) -> tuple[int, int]:
    """A person who sent these files in one message (and a complaint keeping them, if a
    reference is given); return their address id and the message id."""
    with services.database.session() as session:
        contact = Contact(language="bn", created_at=NOW, hidden_at=NOW if hidden else None)
        row = Address(contact=contact, channel=channel, address=address, created_at=NOW)
        session.add(row)
        session.flush()
        message = Message(
            address_id=row.id,
            channel=channel,
            direction="in",
            body=body,
            media=media,
            status="processed",
            created_at=NOW,
        )
        session.add(message)
        if reference is not None:
            session.add(
                Feedback(
                    reference=reference,
                    kind="complaint",
                    status="received",
                    text=body,
                    media=media,
                    language="bn",
                    channel=channel,
                    contact_id=contact.id,
                    address_id=row.id,
                    created_at=NOW,
                )
            )
        session.flush()
        return row.id, message.id


def csrf(page: str) -> str:
    found = TOKEN.search(page)
    assert found is not None
    return found.group(1)


def voice(url: str) -> list[dict[str, str]]:
    return [{"url": url, "content_type": "audio/ogg"}]


# --- Played and shown --------------------------------------------------------------------------


def test_a_whatsapp_voice_note_is_played_through_the_app_with_twilio_credentials(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    address_id, message_id = person_sent(services, voice(url))
    client = client_as(app, "staff")
    page = client.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    src = f"/console/media/{message_id}/0"
    assert f'<audio class="kotha-media__audio" controls preload="none" src="{src}"' in page
    assert "They sent a voice note" not in page  # played, not only named

    before = len(twilio.media_requests)
    answer = client.get(src)
    assert answer.status_code == 200
    assert answer.data == OGG
    assert answer.mimetype == "audio/ogg"
    assert answer.headers["Content-Disposition"] == "inline"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == (
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    )
    assert "no-store" in answer.headers["Cache-Control"]
    # The API was asked with the account's credentials; the CDN's signed address without.
    asked = twilio.media_requests[before:]
    assert [(path.split("/")[1], auth) for path, auth in asked] == [
        ("2010-04-01", True),
        ("cdn", False),
    ]
    # Kept: a second look asks the provider nothing.
    assert client.get(src).data == OGG
    assert len(twilio.media_requests) == before + 2
    assert list((services.settings.instance_dir / "media").iterdir())
    with services.database.session() as session:
        looks = session.scalars(select(AuditEvent).where(AuditEvent.action == "media.viewed")).all()
        assert looks and looks[0].detail == {"message_id": message_id, "index": 0}
        assert looks[0].target_id == str(address_id)


def test_a_player_asking_for_part_of_the_file_gets_that_part(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    _, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")))
    client = client_as(app, "moderator")
    answer = client.get(f"/console/media/{message_id}/0", headers={"Range": "bytes=4-9"})
    assert answer.status_code == 206
    assert answer.data == OGG[4:10]


def test_a_telegram_photo_is_shown_on_the_case_page_through_getfile(
    app: Flask, services: Services, telegram: FakeTelegram
) -> None:
    telegram.add_file("AgACAgQAAxkBAAIBphoto", JPEG, "photos/file_7.jpg")
    media = [{"url": "telegram-file:AgACAgQAAxkBAAIBphoto", "content_type": "image/jpeg"}]
    _, message_id = person_sent(
        services, media, channel="telegram", address="5551234", reference="C-111222"
    )
    client = client_as(app, "staff")
    page = client.get("/console/cases/C-111222").get_data(as_text=True)
    src = f"/console/media/{message_id}/0"
    assert (
        f'<img class="kotha-media__image" src="{src}" loading="lazy" alt="The photo they sent'
        in page
    )
    answer = client.get(src)
    assert answer.status_code == 200
    assert answer.mimetype == "image/jpeg"  # by its bytes: Telegram says octet-stream
    assert answer.data == JPEG
    assert telegram.calls_to("getFile")[-1].params["file_id"] == "AgACAgQAAxkBAAIBphoto"


# --- Refused ------------------------------------------------------------------------------------


def refusal(client: FlaskClient, message_id: int, index: int = 0) -> tuple[int, str]:
    answer = client.get(f"/console/media/{message_id}/{index}")
    assert answer.mimetype == "text/plain"
    return answer.status_code, answer.get_data(as_text=True)


def test_a_file_at_another_host_is_never_asked_for(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    before = len(twilio.media_requests)
    elsewhere = twilio.add_media(OGG, "audio/ogg").replace("127.0.0.1", "localhost")
    _, one = person_sent(services, voice(elsewhere))
    _, two = person_sent(services, voice("https://evil.example/voice.ogg"), address="+447700900124")
    client = client_as(app, "staff")
    for message_id in (one, two):
        assert refusal(client, message_id) == (
            403,
            "This file is not at the provider's own address: refused.\n",
        )
    assert len(twilio.media_requests) == before


def test_a_redirect_off_the_providers_hosts_is_not_followed(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    url = twilio.add_media(OGG, "audio/ogg", cdn_host="localhost")
    _, message_id = person_sent(services, voice(url))
    before = len(twilio.media_requests)
    assert refusal(client_as(app, "staff"), message_id)[0] == 403
    assert len(twilio.media_requests) == before + 1  # the API only, never the other host


@pytest.mark.parametrize(
    ("fault", "status", "says"),
    [
        (Fault.error(404, 20404, "Not found"), 404, "The provider no longer has this file."),
        (Fault.server_error(), 502, "The provider answered 500. Try again later."),
        (Fault.timeout(3), 504, "The provider did not answer in time. Try again in a minute."),
    ],
)
def test_a_provider_that_fails_gets_a_clear_answer(
    app: Flask, services: Services, twilio: FakeTwilio, fault: Fault, status: int, says: str
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    twilio.media_fault(url, fault)
    _, message_id = person_sent(services, voice(url))
    assert refusal(client_as(app, "staff"), message_id) == (status, says + "\n")
    assert not (services.settings.instance_dir / "media").exists()


def test_a_huge_file_and_a_page_dressed_as_a_photo_are_refused(
    app: Flask, services: Services, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    huge = twilio.add_media(OGG + bytes(1024 * 1024), "audio/ogg")
    page = twilio.add_media(HTML, "image/jpeg")
    telegram.add_file("BIG", OGG + bytes(1024 * 1024))
    _, one = person_sent(services, voice(huge))
    _, two = person_sent(
        services, [{"url": page, "content_type": "image/jpeg"}], address="+447700900124"
    )
    _, three = person_sent(
        services, voice("telegram-file:BIG"), channel="telegram", address="5559999"
    )
    client = client_as(app, "staff")
    assert refusal(client, one) == (413, "The file is too large to show here.\n")
    assert refusal(client, two) == (415, "This file is not a sound or a picture Kotha can show.\n")
    assert refusal(client, three)[0] == 413  # told by getFile's size, never downloaded


def test_ids_with_no_such_file_get_404(
    app: Flask, services: Services, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    _, words_only = person_sent(services, [], body="just words")
    _, with_file = person_sent(services, voice(url), address="+447700900124")
    _, sticker = person_sent(
        services,
        [{"url": "telegram-file:STK", "content_type": "sticker"}],
        address="5550000",
        channel="telegram",
    )
    _, unknown_file = person_sent(
        services, voice("telegram-file:NOT-THERE"), channel="telegram", address="5550001"
    )
    with services.database.session() as session:
        out = Message(
            address_id=session.scalar(select(Message.address_id).where(Message.id == with_file)),
            channel="whatsapp",
            direction="out",
            body="hello",
            media=voice(url),
            status="sent",
            created_at=NOW,
        )
        session.add(out)
        session.flush()
        out_id = out.id
    client = client_as(app, "staff")
    assert refusal(client, words_only)[0] == 404
    assert refusal(client, with_file, 1)[0] == 404
    assert refusal(client, sticker)[0] == 404
    assert refusal(client, out_id)[0] == 404
    assert refusal(client, 999_999)[0] == 404
    assert refusal(client, unknown_file) == (404, "Telegram no longer has this file.\n")
    assert client.get(f"/console/media/{with_file}/-1").status_code == 404
    assert client.get(f"/console/media/{with_file}/99999999999999999999").status_code == 404


def test_a_hidden_persons_files_are_for_moderators_and_admins_only(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    _, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")), hidden=True)
    assert refusal(client_as(app, "staff"), message_id)[0] == 404
    assert client_as(app, "moderator").get(f"/console/media/{message_id}/0").status_code == 200
    assert app.test_client().get(f"/console/media/{message_id}/0").status_code == 302  # sign in


def test_without_credentials_the_console_says_so(
    services: Services, settings: Settings, twilio: FakeTwilio
) -> None:
    fetcher = MediaFetcher(settings.with_overrides(twilio_auth_token=None, telegram_bot_token=None))
    for url in (twilio.add_media(OGG, "audio/ogg"), "telegram-file:ABC"):
        with pytest.raises(MediaError) as refused:
            fetcher.fetch(url)
        assert refused.value.status == 503


# --- The cache ------------------------------------------------------------------------------------


def test_the_cache_keeps_within_its_size_reading_out_the_oldest(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media", limit_bytes=2 * len(OGG) + 10)
    first, second, third = (cache.put(f"u{n}", Fetched(OGG, "audio/ogg")) for n in range(3))
    assert not first.path.exists()  # the oldest went to make room
    assert second.path.exists() and third.path.exists()
    assert cache.get("u0") is None
    kept = cache.get("u1")
    assert kept is not None and kept.content_type == "audio/ogg"
    assert oct(first.path.parent.stat().st_mode)[-3:] == "700"
    assert cache.forget(["u1", "u2", "never"]) == 2
    assert list((tmp_path / "media").iterdir()) == []


def test_a_file_changed_on_disk_is_fetched_again(tmp_path: Path) -> None:
    cache = MediaCache(tmp_path / "media", limit_bytes=10_000)
    stored = cache.put("u", Fetched(OGG, "audio/ogg"))
    stored.path.write_bytes(HTML)
    assert cache.get("u") is None and not stored.path.exists()


# --- What staff write beside it ---------------------------------------------------------------


def test_staff_write_what_was_said_it_shows_and_the_search_finds_it(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    address_id, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")))
    client = client_as(app, "staff")
    page = client.get(f"/console/conversations/{address_id}")
    answer = client.post(
        f"/console/media/{message_id}/0/note",
        data={
            "csrf_token": csrf(page.get_data(as_text=True)),
            "transcript": "আমার কেয়ারার তিন দিন আসেনি",
            "translation": "My carer has not come for three days",
            "language": "bn",
            "back": "",
        },
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(
        f"/console/conversations/{address_id}#note-{message_id}-0"
    )
    shown = client.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    assert "আমার কেয়ারার তিন দিন আসেনি" in shown
    assert "My carer has not come for three days" in shown
    assert "Written by</dt>" in shown and "staff@example.org" in shown
    for words in ("কেয়ারার", "three days"):
        found = client.get("/console/conversations", query_string={"q": words})
        assert f'href="/console/conversations/{address_id}"' in found.get_data(as_text=True)
    with services.database.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "media.noted")).one()
        assert event.detail == {"message_id": message_id, "index": 0, "language": "bn"}


def test_a_note_written_again_replaces_the_last(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    _, message_id = person_sent(
        services, voice(twilio.add_media(OGG, "audio/ogg")), reference="C-222333"
    )
    client = client_as(app, "admin")
    for words in ("first try", "second try"):
        page = client.get("/console/cases/C-222333").get_data(as_text=True)
        answer = client.post(
            f"/console/media/{message_id}/0/note",
            data={"csrf_token": csrf(page), "transcript": words, "back": "case:C-222333"},
        )
        assert answer.headers["Location"].endswith(f"/console/cases/C-222333#note-{message_id}-0")
    page = client.get("/console/cases/C-222333").get_data(as_text=True)
    assert "second try" in page and "first try" not in page
    with services.database.session() as session:
        assert session.scalars(select(MediaNote.transcript)).all() == ["second try"]


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"transcript": "  ", "translation": ""}, "Write what was said, its English translation"),
        ({"transcript": "x" * 20_001}, "Keep each to 20,000 characters"),
        ({"transcript": "words kept", "language": "fr"}, "Choose the language from the list"),
    ],
)
def test_bad_notes_are_refused_and_what_was_typed_is_kept(
    app: Flask, services: Services, twilio: FakeTwilio, form: dict[str, str], says: str
) -> None:
    address_id, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")))
    client = client_as(app, "staff")
    page = client.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    answer = client.post(
        f"/console/media/{message_id}/0/note", data={"csrf_token": csrf(page), **form}
    )
    assert answer.status_code == 400
    shown = answer.get_data(as_text=True)
    assert says in shown
    assert f'href="#note-{message_id}-0-transcript"' in shown  # the summary links the field
    if form["transcript"].strip():
        assert form["transcript"][:50] in shown
    with services.database.session() as session:
        assert session.scalars(select(MediaNote)).all() == []


def test_notes_need_the_role_and_the_form_csrf(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    address_id, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")))
    moderator = client_as(app, "moderator")
    page = moderator.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    assert "Write what was said" not in page  # moderators read notes, staff write them
    assert (
        moderator.post(
            f"/console/media/{message_id}/0/note",
            data={"csrf_token": csrf(page), "transcript": "x"},
        ).status_code
        == 403
    )
    staff = client_as(app, "staff")
    assert (
        staff.post(f"/console/media/{message_id}/0/note", data={"transcript": "x"}).status_code
        == 400
    )
    page = staff.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    missing = staff.post(
        "/console/media/999999/0/note", data={"csrf_token": csrf(page), "transcript": "x"}
    )
    assert missing.status_code == 404


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(transcript=st.text(min_size=1, max_size=300), translation=st.text(max_size=300))
def test_any_words_are_kept_exactly_as_written(
    services: Services, transcript: str, translation: str
) -> None:
    if not transcript.strip():
        transcript = "x" + transcript
    with services.database.session() as session:
        message_id = session.scalars(select(Message.id).where(Message.direction == "in")).first()
    if message_id is None:
        _, message_id = person_sent(services, voice("telegram-file:ANY"), channel="telegram")
    with services.database.session() as session:
        ref = find_media(session, message_id, 0)
        save_note(session, ref, NoteRequest(transcript, translation, ""), ["bn"], None, NOW)
    with services.database.session() as session:
        note = notes_of(session, [message_id])[(message_id, 0)]
        assert note.transcript == transcript.strip()
        assert note.translation == (translation.strip() or None)


def test_a_note_with_nothing_in_it_is_refused_in_the_function_too(services: Services) -> None:
    _, message_id = person_sent(services, voice("telegram-file:X"), channel="telegram")
    with services.database.session() as session:
        ref = find_media(session, message_id, 0)
        with pytest.raises(NoteError):
            save_note(session, ref, NoteRequest("", " \n", ""), [], None, NOW)


# --- Exports and erasure ------------------------------------------------------------------------


def test_the_feedback_export_carries_the_transcript(
    services: Services,
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    _, message_id = person_sent(services, voice(url), reference="C-333444")
    with services.database.session() as session:
        ref = find_media(session, message_id, 0)
        save_note(session, ref, NoteRequest("আমি অসুস্থ", "I am ill", "bn"), ["bn"], None, NOW)
    with services.database.session() as session:
        (row,) = list(feedback_rows(session))
        assert (row["transcript"], row["translation"]) == ("আমি অসুস্থ", "I am ill")
    monkeypatch.setattr(export, "load_services", lambda **kwargs: services)
    assert cli.main(["export", "feedback", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["translation"] == "I am ill"
    assert cli.main(["export", "feedback", "--format", "csv"]) == 0
    (line,) = csv.DictReader(io.StringIO(capsys.readouterr().out, newline=""))
    assert line["transcript"] == "আমি অসুস্থ"


def test_an_erased_persons_files_are_no_longer_served_and_their_copies_go(
    app: Flask, services: Services, twilio: FakeTwilio
) -> None:
    address_id, message_id = person_sent(services, voice(twilio.add_media(OGG, "audio/ogg")))
    admin = client_as(app, "admin")
    page = admin.get(f"/console/conversations/{address_id}").get_data(as_text=True)
    admin.post(
        f"/console/media/{message_id}/0/note",
        data={"csrf_token": csrf(page), "transcript": "Zebulonquartz said"},
    )
    assert admin.get(f"/console/media/{message_id}/0").status_code == 200
    cached = list((services.settings.instance_dir / "media").iterdir())
    assert len(cached) == 1
    form_page = admin.get(f"/console/conversations/{address_id}/erase").get_data(as_text=True)
    erased = admin.post(
        f"/console/conversations/{address_id}/erase",
        data={"csrf_token": csrf(form_page), "reason": "asked by letter", "confirm": "yes"},
    )
    assert erased.status_code == 302
    assert not cached[0].exists()
    assert refusal(admin, message_id)[0] == 404
    with services.database.session() as session:
        assert session.scalars(select(MediaNote)).all() == []


def test_the_store_is_what_a_call_recording_goes_through(
    settings: Settings, twilio: FakeTwilio
) -> None:
    """Issue #19 keeps a recording's URL as media and loads it the same way."""
    store = MediaStore.of(settings)
    recording = twilio.add_media(b"ID3\x03\x00\x00\x00" + bytes(300), "audio/mpeg")
    stored = store.load(recording)
    assert stored.content_type == "audio/mpeg"
    assert stored.path.read_bytes().startswith(b"ID3")


# --- Settings ---------------------------------------------------------------------------------


def test_the_media_settings_are_read_and_checked(tmp_path: Path) -> None:
    env = {"KOTHA_INSTANCE_DIR": str(tmp_path), "KOTHA_SECRET_KEY": "k"}
    defaults = load(env)
    assert defaults.twilio_media_hosts == (
        "api.twilio.com",
        "media.twiliocdn.com",
        "mms.twiliocdn.com",
    )
    assert (defaults.media_cache_mb, defaults.media_max_mb) == (200, 20)
    given_ = load(
        {
            **env,
            "KOTHA_TWILIO_MEDIA_HOSTS": "API.twilio.com, cdn.example.org",
            "KOTHA_MEDIA_CACHE_MB": "50",
            "KOTHA_MEDIA_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert given_.twilio_media_hosts == ("api.twilio.com", "cdn.example.org")
    assert (given_.media_cache_mb, given_.media_timeout_seconds) == (50, 2.5)
    for name, bad in (
        ("KOTHA_TWILIO_MEDIA_HOSTS", "https://api.twilio.com/"),
        ("KOTHA_MEDIA_CACHE_MB", "0"),
        ("KOTHA_MEDIA_MAX_MB", "lots"),
        ("KOTHA_MEDIA_TIMEOUT_SECONDS", "-1"),
    ):
        with pytest.raises(SettingError, match=name):
            load({**env, name: bad})


def test_kotha_people_erase_deletes_the_kept_copies_too(
    services: Services, twilio: FakeTwilio
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    _, message_id = person_sent(services, voice(url), address="+447700900555")
    stored = MediaStore.of(services.settings).load(url)
    assert stored.path.exists()
    done = kotha(
        services, "people", "erase", "07700 900555", "--yes", "--reason", "asked by letter"
    )
    assert done.returncode == 0, done.stderr
    assert not stored.path.exists()
    with services.database.session() as session, pytest.raises(MediaError):
        find_media(session, message_id, 0)


def test_retention_deletes_the_kept_copies_of_those_it_erases(
    services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    url = twilio.add_media(OGG, "audio/ogg")
    person_sent(services, voice(url))
    stored = MediaStore.of(services.settings).load(url)
    clock.advance(timedelta(days=31 * services.settings.retention_conversations_months))
    assert [item.erased for item in services.retention.apply()] == [True]
    assert not stored.path.exists()


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (TelegramFault.server_error(), 502),
        (TelegramFault.bad_gateway(), 502),
        (TelegramFault.timeout(3), 504),
        (TelegramFault.error(400, "Bad Request: file is too big"), 413),
        (TelegramFault.error(404, "Not Found"), 404),
    ],
)
def test_telegram_failing_gets_a_clear_answer(
    app: Flask, services: Services, telegram: FakeTelegram, fault: TelegramFault, status: int
) -> None:
    telegram.add_file("VOICE-FAULT", OGG)
    _, message_id = person_sent(
        services, voice("telegram-file:VOICE-FAULT"), channel="telegram", address="5554321"
    )
    telegram.script("getFile", fault)
    answer = client_as(app, "staff").get(f"/console/media/{message_id}/0")
    assert answer.status_code == status
    assert answer.mimetype == "text/plain" and answer.get_data(as_text=True).endswith(".\n")


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reference=st.one_of(
        st.text(max_size=80),
        st.builds("https://".__add__, st.text(max_size=80)),
        st.builds("http://127.0.0.1:1/".__add__, st.text(max_size=40)),
        st.builds("telegram-file:".__add__, st.text(max_size=80)),
    )
)
def test_any_stored_reference_is_a_file_or_a_clear_refusal(
    settings: Settings, reference: str
) -> None:
    try:
        fetched = MediaFetcher(settings).fetch(reference)
    except MediaError as refused:
        assert 400 <= refused.status < 600 and str(refused).endswith(".")
    else:
        assert fetched.content_type in ("audio/ogg", "image/jpeg", "image/png")
