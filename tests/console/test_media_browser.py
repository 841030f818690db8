"""Voice notes and photos in a real browser: the player and the picture load under the
console's CSP, a transcript is written by keyboard, and axe finds nothing."""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from bot.settings import Settings
from storage.models import Address, Contact, Feedback, Message
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer, serve
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.browser

PASSWORD = "a long browser test password"
OGG = b"OggS\x00\x02" + bytes(400)


def png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG of grey pixels, which a browser decodes (so its size is known)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def media_server(
    tmp_path_factory: pytest.TempPathFactory, twilio: FakeTwilio
) -> Iterator[LiveServer]:
    instance: Path = tmp_path_factory.mktemp("media-live")
    settings = Settings(
        database_url=f"sqlite:///{instance / 'kotha.db'}",
        secret_key="live-test-secret",
        instance_dir=instance,
        testing=True,
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_media_hosts=("127.0.0.1",),
        simulator="off",
    )
    with serve(settings) as server:
        yield server


def test_the_voice_note_plays_and_the_photo_shows_and_axe_finds_nothing(
    page: Page, media_server: LiveServer, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    email = f"media-{secrets.token_hex(4)}@example.org"
    media = [
        {"url": twilio.add_media(OGG, "audio/ogg"), "content_type": "audio/ogg"},
        {"url": twilio.add_media(png(), "image/png"), "content_type": "image/png"},
    ]
    with media_server.services.database.session() as session:
        create_user(session, email, "staff", PASSWORD, now=now)
        address = Address(
            contact=Contact(language="bn", created_at=now),
            channel="whatsapp",
            address="+447700900321",
            created_at=now,
        )
        session.add(address)
        session.flush()
        message = Message(
            address_id=address.id,
            channel="whatsapp",
            direction="in",
            body="আমার কথা শুনুন",
            media=media,
            status="processed",
            created_at=now,
        )
        session.add(message)
        session.add(
            Feedback(
                reference="C-765432",
                kind="complaint",
                status="received",
                text="আমার কথা শুনুন",
                media=media,
                language="bn",
                channel="whatsapp",
                contact_id=address.contact_id,
                address_id=address.id,
                created_at=now,
            )
        )
        session.flush()
        address_id, message_id = address.id, message.id
    problems: list[str] = []
    page.on("console", lambda line: problems.append(line.text) if line.type == "error" else None)

    page.goto(f"{media_server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    page.goto(f"{media_server.url}/console/conversations/{address_id}")
    audio = page.locator(f"#media-{message_id}-0 audio")
    assert audio.get_attribute("src") == f"/console/media/{message_id}/0"
    assert audio.get_attribute("controls") is not None
    # The player's source answers the browser, under the page's policy, as a sound.
    answered = page.evaluate(
        "src => fetch(src).then(r => [r.status, r.headers.get('content-type')])",
        f"/console/media/{message_id}/0",
    )
    assert answered == [200, "audio/ogg"]
    image = page.locator(f"#media-{message_id}-1 img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [4, 3]
    # Write what was said, by keyboard, and read it back beneath the player.
    page.locator(f"#media-{message_id}-0 summary").click()
    assert_accessible(page, "label", "valid-lang", "image-alt")
    page.fill(f"#note-{message_id}-0-transcript", "আমার কেয়ারার আসেনি")
    page.fill(f"#note-{message_id}-0-translation", "My carer did not come")
    page.select_option(f"#note-{message_id}-0-language", "bn")
    page.locator(f"#note-{message_id}-0-translation").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"note-{message_id}-0-save"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    notes = page.locator(f"#media-{message_id}-0 .kotha-media__notes")
    assert "My carer did not come" in notes.inner_text()
    assert notes.locator(".kotha-media__transcript").get_attribute("lang") == "bn"
    page.locator(f"#media-{message_id}-1 summary").click()
    assert_accessible(page, "label", "valid-lang", "image-alt")

    page.goto(f"{media_server.url}/console/cases/C-765432")
    assert page.locator(f"#media-{message_id}-0 audio").count() == 1
    assert "My carer did not come" in page.locator(f"#media-{message_id}-0").inner_text()
    page.locator(f"#media-{message_id}-0 summary").click()
    assert_accessible(page, "label", "valid-lang", "image-alt")
    assert problems == []
