"""The simulator's phone call in a real browser: the keypad by keyboard, a sound file chosen,
a recording made with chromium's fake microphone, the page without script, axe on each."""

from __future__ import annotations

import re
import wave
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from bot.casework.media import MediaStore
from storage.models import Address, Feedback, Message
from tests.console.axe import assert_accessible
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from tests.console.keyboard import focused, tab_to
from tests.console.test_simulator_call import wav

pytestmark = pytest.mark.browser

SIMULATED = re.compile(r"[?&]as=sim(:|%3A)([0-9a-f]{8})")
# Chromium's stand-ins for a microphone and for the question whether to allow it.
FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# A process's first step reads the understanding's examples (seconds on a busy machine).
STEP = 30_000


@pytest.fixture(scope="module")
def browser_with_microphone(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS + FAKE_MICROPHONE, headless=True
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def microphone_page(browser_with_microphone: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser_with_microphone.new_context(
        viewport={"width": 412, "height": 915}, locale="en-GB"
    )
    context.grant_permissions(["microphone"], origin=live_server.url)
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()


def start_call(page: Page, server: LiveServer, language: str = "en") -> str:
    """Open the call mode and call, by keyboard; return the simulated caller's address."""
    page.goto(f"{server.url}/simulator/call?lang={language}")
    found = SIMULATED.search(page.url)
    assert found, page.url
    expect(page.locator("button:focus")).to_have_count(1)  # autofocus, a moment after load
    with page.expect_navigation(timeout=STEP):
        page.keyboard.press("Enter")
    return f"sim:{found.group(2)}"


def key(page: Page, which: str) -> None:
    """Tab to a key of the keypad and press it with Enter, as a keyboard user does."""
    expect(page.locator("button:focus")).to_have_count(1)
    tab_to(page, f"button:{which}")
    with page.expect_navigation(timeout=STEP):
        page.keyboard.press("Enter")


def press_button(page: Page, words: str) -> None:
    tab_to(page, f"button:{words}")
    with page.expect_navigation(timeout=STEP):
        page.keyboard.press("Enter")


def said(page: Page) -> str:
    shown: str = page.locator("#said").inner_text()
    return shown


def until_recording(page: Page) -> None:
    key(page, "1")  # English
    key(page, "1")  # a complaint
    key(page, "1")  # about home care
    assert "Speak after the tone" in said(page)
    expect(page.locator("#recording")).to_be_focused()


def feedback_of(server: LiveServer, address: str) -> Feedback:
    with server.services.database.session() as session:
        found = session.scalars(
            select(Feedback)
            .join(Address, Address.id == Feedback.address_id)
            .where(Address.address == address, Address.channel == "voice")
        ).one()
        session.expunge(found)
        return found


def test_a_call_by_keyboard_with_a_sound_file(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/simulator/call")
    assert_accessible(page)
    address = start_call(page, live_server)
    assert focused(page) == "button:1"
    assert "For English, press 1." in said(page)
    assert page.locator("#said [lang=bn]").count() == 2
    assert_accessible(page)

    key(page, "7")  # not one of the choices
    assert "That key is not one of the choices." in said(page)
    until_recording(page)
    assert_accessible(page)

    # A file that is not a sound: refused, said why, the question still open.
    page.set_input_files(
        "#recording", files=[{"name": "x.wav", "mimeType": "audio/wav", "buffer": b"not sound"}]
    )
    press_button(page, "Send the recording")
    assert "not a sound" in page.locator("#recording-error").inner_text()
    assert page.locator("#recording").get_attribute("aria-invalid") == "true"
    assert_accessible(page)

    sound = wav(2)
    page.set_input_files(
        "#recording", files=[{"name": "said.wav", "mimeType": "audio/wav", "buffer": sound}]
    )
    press_button(page, "Send the recording")
    assert page.locator("#recording").count() == 1  # what should happen: a recording too
    press_button(page, "Say nothing (let the time pass)")
    key(page, "2")  # no call back
    key(page, "1")  # yes, you may contact me
    feedback = feedback_of(live_server, address)
    assert feedback.reference in said(page)
    assert "Thank you for calling. Goodbye." in said(page)
    assert (
        f"What you said is kept as feedback {feedback.reference}."
        in page.locator("main").inner_text()
    )
    assert focused(page) == "button:Call again"
    assert_accessible(page)
    [media] = feedback.media or []
    stored = MediaStore.of(live_server.services.settings).load(media["url"])
    assert stored.path.read_bytes() == sound


def test_no_key_three_times_is_goodbye_and_hanging_up_ends_the_call(
    page: Page, live_server: LiveServer
) -> None:
    start_call(page, live_server)
    for _ in range(2):
        press_button(page, "Press no key (let the time pass)")
        assert "We did not hear a key." in said(page)
    press_button(page, "Press no key (let the time pass)")
    assert "Please call us again" in said(page)
    assert page.locator("#ended").is_visible()
    with page.expect_navigation(timeout=STEP):
        page.keyboard.press("Enter")  # "Call again" has the focus
    key(page, "1")
    press_button(page, "Hang up")
    assert page.locator("#ended").is_visible()
    assert page.locator(".keypad").count() == 0


def test_a_recording_made_in_the_browser(microphone_page: Page, live_server: LiveServer) -> None:
    page = microphone_page
    address = start_call(page, live_server)
    until_recording(page)
    record = page.locator("#record")
    assert record.is_visible()  # the script shows it where the browser can record
    tab_to(page, "button#record:Record in the browser")
    page.keyboard.press("Enter")
    # (Polled by Playwright's locators: the page's policy forbids the eval of wait_for_function.)
    expect(record).to_have_text("Stop recording")
    expect(page.locator("#record-status")).to_have_text(re.compile("^Recording[.]"))
    page.wait_for_timeout(1600)  # chromium's fake microphone beeps meanwhile
    page.keyboard.press("Enter")  # the same button, now Stop recording
    expect(page.locator("#record-status")).to_have_text(re.compile("^Recorded[.]"))
    assert page.evaluate("document.getElementById('recording').files.length") == 1
    assert_accessible(page)
    press_button(page, "Send the recording")
    assert "Speak after the tone" in said(page)  # the next question: what should happen
    assert "What happened?" not in said(page)
    with live_server.services.database.session() as session:
        [media] = session.scalars(
            select(Message.media)
            .join(Address, Address.id == Message.address_id)
            .where(Address.address == address, Message.media.is_not(None))
        ).all()
    assert media is not None
    stored = MediaStore.of(live_server.services.settings).load(media[0]["url"])
    assert stored.content_type == "audio/wav"
    with wave.open(str(stored.path)) as sound:
        assert sound.getframerate() == 8000 and sound.getnchannels() == 1
        assert sound.getnframes() >= 8000  # a second or more: kept, not asked again


def test_without_script_a_chosen_file_is_sent_all_the_same(
    browser: Browser, live_server: LiveServer
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/simulator/call")
        page.get_by_role("button", name="Call the voice line").click()
        for _ in range(3):
            page.get_by_role("button", name="1", exact=True).click()
        assert page.locator("#record").is_hidden()  # no script: no recording in the page
        page.set_input_files(
            "#recording", files=[{"name": "a.wav", "mimeType": "audio/wav", "buffer": wav(2)}]
        )
        page.get_by_role("button", name="Send the recording").click()
        assert "What happened?" not in said(page) and "Speak after the tone" in said(page)
    finally:
        context.close()


def test_the_call_page_in_bengali_meets_wcag_a_and_aa(page: Page, live_server: LiveServer) -> None:
    start_call(page, live_server, "bn")
    assert page.locator("html").get_attribute("lang") == "bn"
    key(page, "2")  # Bengali
    assert page.locator("#said [lang=bn]").count() >= 1
    assert_accessible(page)
    page.set_viewport_size({"width": 320, "height": 640})
    width: int = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320
