"""The voice line's prompts page in a browser: a mistake first, then a recording uploaded
and playable in the page; each state checked by axe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD, press_button
from tests.console.test_calendar_browser import sign_in as sign_in_by_keyboard

pytestmark = pytest.mark.browser

STAFF = "prompts-staff@example.org"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(400)


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> str:
    with live_server.services.database.session() as session:
        create_user(session, STAFF, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, tzinfo=UTC))
    return STAFF


def test_a_prompt_recorded_in_bengali_then_played(
    page: Page, live_server: LiveServer, staff: str, tmp_path: Path
) -> None:
    sign_in_by_keyboard(page, live_server, staff)
    page.goto(f"{live_server.url}/console/voice-prompts")
    assert page.locator("h1").inner_text() == "Voice line prompts"
    assert_accessible(page)

    # Sent with nothing chosen: each problem named and linked to its field.
    press_button(page, "upload")
    assert page.locator(".govuk-error-summary").is_visible()
    assert page.locator(".govuk-error-summary a[href='#prompt']").is_visible()
    assert page.title().startswith("Error:")
    assert_accessible(page)

    sound = tmp_path / "welcome.mp3"
    sound.write_bytes(MP3)
    page.select_option("#prompt", index=1)
    page.select_option("#language", "bn")
    page.set_input_files("#recording", str(sound))
    press_button(page, "upload")
    assert "Recording kept: Bengali." in page.locator("#prompt-result").inner_text()
    player = page.locator("#prompt-0-bn audio")
    assert player.count() == 1
    assert "Recorded" in page.locator("#prompt-0-bn").inner_text()
    assert "Bengali recording is played" in page.locator("#prompt-0-syl").inner_text()
    source = player.get_attribute("src")
    assert source is not None
    fetched = page.request.get(f"{live_server.url}{source}")
    assert fetched.status == 200 and fetched.body() == MP3
    assert_accessible(page)
