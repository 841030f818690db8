"""Recording feedback for someone in a browser, mistakes first, then its task done by keyboard;
each page checked by axe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD, press_button, tab_to, type_into
from tests.console.test_calendar_browser import sign_in as sign_in_by_keyboard

pytestmark = pytest.mark.browser

STAFF = "onbehalf-staff@example.org"
WORDS = "ডে সেন্টারো বাস আইছে না। The bus did not come."


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> str:
    with live_server.services.database.session() as session:
        create_user(session, STAFF, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, tzinfo=UTC))
    return STAFF


def test_a_complaint_by_phone_recorded_then_its_call_done(
    page: Page, live_server: LiveServer, staff: str
) -> None:
    sign_in_by_keyboard(page, live_server, staff)
    page.goto(f"{live_server.url}/console/feedback/new")
    assert page.locator("h1").inner_text() == "Record feedback for someone"
    assert_accessible(page)

    # Sent empty: every problem named in the summary, each linked to its field.
    press_button(page, "record")
    assert page.locator(".govuk-error-summary").is_visible()
    assert page.locator(".govuk-error-summary a[href='#words']").count() == 1
    assert_accessible(page)

    page.check("#kind")  # the first kind: a complaint
    page.check("#channel")  # the first way: a phone call
    page.select_option("#language", "syl")
    page.select_option("#service", "day_centre")
    type_into(page, "words", WORDS)
    type_into(page, "name", "Rahima Khatun")
    type_into(page, "phone", "020 7364 5005")  # a landline: updates by a call
    page.check("#updates_by-2")
    page.check("#consent")
    press_button(page, "record")

    assert "/console/cases/C-" in page.url
    assert "Updates become tasks to call them." in page.locator("#case-result").inner_text()
    assert_accessible(page)
    page.check("input[name=status][value=in_progress]")
    page.check("#tell")
    press_button(page, "change-status")
    assert "A task to tell them is open under Tasks." in page.content()

    page.goto(f"{live_server.url}/console/tasks")
    assert page.locator("h1").inner_text() == "Tasks"
    assert "Rahima Khatun" in page.content() and "+442073645005" in page.content()
    assert_accessible(page)
    button = page.locator("button[id^=done-]").first
    task_button = button.get_attribute("id") or ""
    tab_to(page, task_button)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Task marked done." in page.content()
    assert_accessible(page)
