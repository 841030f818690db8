"""The simulator in a real browser: keyboard only, Bengali, no script injection, axe clean."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Dialog, Page

from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.keyboard import focused

pytestmark = pytest.mark.browser

SIMULATED = re.compile(r"[?&]as=sim(:|%3A)[0-9a-f]{8}")
BENGALI = re.compile("[\u0980-\u09ff]")
SCREENSHOT = "/tmp/simulator.png"


@pytest.fixture
def dialogs(page: Page) -> Iterator[list[str]]:
    """Every alert, confirm or prompt the page opens; a test ends by expecting none."""
    opened: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield opened


def open_simulator(page: Page, server: LiveServer, channel: str = "sms") -> None:
    page.goto(f"{server.url}/simulator?channel={channel}")
    assert SIMULATED.search(page.url), page.url


def send_by_keyboard(page: Page, text: str) -> None:
    """Type into the message box, Tab to Send and press Enter, as a keyboard user does."""
    # The box takes the focus as the page loads (autofocus): on a busy machine, a moment later.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'text'")
    assert focused(page) == "textarea#text"
    page.keyboard.type(text)
    page.keyboard.press("Tab")
    assert focused(page) == "button:Send"
    with page.expect_navigation():
        page.keyboard.press("Enter")


def latest(page: Page) -> str:
    shown: str = page.locator("#latest .body").inner_text()
    return shown


def menu_text(server: LiveServer, language: str) -> str:
    node = server.services.flows["menu"].nodes["main"]
    labels = tuple(option.label for option in node.options)
    return server.services.i18n.render(language, node.ask or "", choices=labels).text


def test_keyboard_only_conversation_in_bengali(
    page: Page, live_server: LiveServer, dialogs: list[str]
) -> None:
    open_simulator(page, live_server)
    send_by_keyboard(page, "Hello")
    menu = latest(page)
    assert "1 English" in menu and "2 বাংলা" in menu and "3 সিলেটি" in menu

    send_by_keyboard(page, "2")
    bengali_menu = menu_text(live_server, "bn")
    assert latest(page) == bengali_menu
    assert BENGALI.search(latest(page))
    assert page.locator("#latest .body").get_attribute("lang") == "bn"
    assert "UCS-2" in page.locator("#latest").inner_text()
    # The person's own messages show on their side of the conversation.
    assert page.locator("li.in .body").all_inner_texts() == ["Hello", "2"]
    assert dialogs == []
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_html_in_a_message_is_text_and_never_runs(
    page: Page, live_server: LiveServer, dialogs: list[str]
) -> None:
    open_simulator(page, live_server, "whatsapp")
    for text in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'):
        send_by_keyboard(page, text)
        assert page.locator("li.in .body").last.inner_text() == text
    assert page.locator("main script, main img").count() == 0
    page.wait_for_timeout(200)  # give an injected handler the chance to fire
    assert dialogs == []


def test_page_meets_wcag_a_and_aa(page: Page, live_server: LiveServer) -> None:
    open_simulator(page, live_server, "telegram")
    assert_accessible(page, "label", "valid-lang")
    for text in ("Hello", "2", "১", "১"):
        send_by_keyboard(page, text)
    assert_accessible(page, "label", "valid-lang")


def test_page_reflows_on_a_narrow_screen(page: Page, live_server: LiveServer) -> None:
    # WCAG 1.4.10: content fits 320 CSS pixels without scrolling sideways.
    page.set_viewport_size({"width": 320, "height": 640})
    open_simulator(page, live_server)
    send_by_keyboard(page, "Hello, I would like to tell you about my mother's home care")
    width: int = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320
