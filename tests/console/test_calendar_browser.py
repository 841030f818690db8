"""The calendar in a real browser: an event scheduled by keyboard alone, the festival warning,
and every calendar page checked by axe against WCAG 2.2 A and AA."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer

pytestmark = pytest.mark.browser

EMAIL = "calendar-staff@example.org"
PASSWORD = "correct horse battery staple"
# Where the focus is: an element's id, or a button's words.
FOCUS = """() => {
  const element = document.activeElement;
  return element.id || element.textContent.trim();
}"""


@pytest.fixture(scope="module")
def account(live_server: LiveServer) -> str:
    with live_server.services.database.session() as session:
        create_user(
            session, EMAIL, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
    return EMAIL


def tab_to(page: Page, target: str, limit: int = 80) -> None:
    """Press Tab until the element with this id (or button with these words) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUS) == target:
            return
    raise AssertionError(f"{target} cannot be reached by Tab")


def type_into(page: Page, target: str, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def press_button(page: Page, words: str) -> None:
    tab_to(page, words)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/console/login")
    type_into(page, "email", email)
    type_into(page, "password", PASSWORD)
    press_button(page, "Sign in")


def test_an_event_scheduled_by_keyboard_next_to_christmas(
    page: Page, live_server: LiveServer, account: str
) -> None:
    sign_in(page, live_server, account)
    page.goto(f"{live_server.url}/console/calendar?month=2026-12")
    assert_accessible(page, "th-has-data-cells")
    press_button(page, "Schedule an event")
    assert page.locator("h1").inner_text() == "Schedule an event"
    assert_accessible(page, "label", "valid-lang")

    type_into(page, "title-en", "Carers forum")
    type_into(page, "title-bn", "কেয়ারার ফোরাম")
    type_into(page, "date-day", "24")
    type_into(page, "date-month", "12")
    type_into(page, "date-year", "2026")
    type_into(page, "start", "10:00")
    type_into(page, "end", "12:00")
    type_into(page, "place", "Town Hall, Mulberry Place")
    tab_to(page, "access")  # the first checkbox: step-free access
    page.keyboard.press("Space")
    press_button(page, "save")  # "Schedule the event"

    warning = page.locator("#festival-warning")
    assert "This day is on or next to a festival" in warning.inner_text()
    assert "Christmas Day (Friday 25 December 2026)" in warning.inner_text()
    assert page.locator("#title-en").input_value() == "Carers forum"
    assert page.locator("#access").is_checked()
    assert_accessible(page, "label", "valid-lang")

    assert page.locator("#save").inner_text() == "Schedule it anyway"
    press_button(page, "save")
    assert page.locator("h1").inner_text().startswith("Carers forum")
    assert "This is on or next to Christmas Day (Friday 25 December 2026)." in page.inner_text(
        "main"
    )
    assert "Step-free access" in page.inner_text("main")
    assert_accessible(page)

    page.goto(f"{live_server.url}/console/calendar?month=2026-12")
    link = page.get_by_role("link", name="10:00 Carers forum")
    assert link.count() == 1
    caption = page.locator("caption").inner_text()
    assert caption == "December 2026"
    assert_accessible(page, "th-has-data-cells")

    page.goto(f"{live_server.url}/events")
    assert "Carers forum" in page.inner_text("main")
    assert_accessible(page, "valid-lang")
