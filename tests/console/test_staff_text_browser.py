"""What staff write, in a real browser: the message previewed with its cost, held awaiting a
translation, and the translation given; every page visited checked by axe (WCAG 2.2 A, AA).

The app is wired to the fake Twilio, so the translated note goes the whole way to the fake.
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_cases_browser import (
    complaint,
    fake_twilio,
    server,
    sign_in_by_keyboard,
    staff_account,
)
from tests.fakes.twilio_api import FakeTwilio

__all__ = ["fake_twilio", "server"]  # the module's fixtures, used here too

pytestmark = __import__("pytest").mark.browser

ENGLISH_NOTE = "We checked the visit records and the carer arrived on time."
BENGALI_NOTE = "আমরা ভিজিটের রেকর্ড দেখেছি, কেয়ারার সময়মতো এসেছিলেন।"


def test_a_note_is_previewed_held_and_sent_once_translated(
    page: Page, server: LiveServer, fake_twilio: FakeTwilio
) -> None:
    reference = complaint(server, "+447700900555", "The carer was late.")
    sign_in_by_keyboard(page, server, staff_account(server))
    page.goto(f"{server.url}/console/cases/{reference}")
    page.locator("#status-2").check()  # in progress
    page.locator("#note").fill(ENGLISH_NOTE)
    page.locator("#tell").check()
    with page.expect_navigation():
        page.locator("#change-status").click()
    preview = page.locator("#status-preview")
    assert "What the person will receive" in preview.inner_text()
    assert "text message" in preview.inner_text() and "£" in preview.inner_text()
    assert "held awaiting translation" in preview.inner_text()
    assert_accessible(page)

    with page.expect_navigation():
        page.locator("#change-status").click()
    assert "held: awaiting translation" in page.locator("#case-result").inner_text()

    page.goto(f"{server.url}/console/translations")
    assert reference in page.locator("main").inner_text()
    assert_accessible(page)
    box = page.locator("textarea").first
    box.fill(ENGLISH_NOTE)
    with page.expect_navigation():
        page.locator("main form button").first.click()
    assert "not in their language" in page.locator(".govuk-error-summary").inner_text()
    assert_accessible(page)
    page.locator("textarea").first.fill(BENGALI_NOTE)
    with page.expect_navigation():
        page.locator("main form button").first.click()
    preview = page.locator("main .govuk-inset-text").first.inner_text()
    assert BENGALI_NOTE in preview and "(UCS-2), £" in preview
    assert not any(BENGALI_NOTE in sent.body for sent in fake_twilio.sent)
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("main form button", has_text="Send this message").first.click()
    assert "queued to send" in page.locator("#translation-result").inner_text()
    assert_accessible(page)
    assert any(BENGALI_NOTE in sent.body for sent in fake_twilio.sent)
