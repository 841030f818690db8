"""A person's data rights in a browser: an admin reads everything held and erases the
person with the keyboard alone, each page checked by axe; the privacy notice too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from storage.models import Address, Contact, Message
from storage.records import create_feedback
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD, press_button, tab_to, type_into
from tests.console.test_calendar_browser import sign_in as sign_in_by_keyboard
from tests.console.test_cases_browser import follow_by_keyboard

pytestmark = pytest.mark.browser

ADMIN = "people-admin@example.org"
NUMBER = "+447700900765"


@pytest.fixture(scope="module")
def address_id(live_server: LiveServer) -> int:
    """An admin, and a person who wrote in Bengali with an open complaint."""
    now = datetime.now(UTC)
    with live_server.services.database.session() as session:
        create_user(session, ADMIN, "admin", PASSWORD, now=now)
        address = Address(
            contact=Contact(language="bn", created_at=now),
            channel="sms",
            address=NUMBER,
            created_at=now,
            last_inbound_at=now,
        )
        session.add(address)
        session.flush()
        session.add(
            Message(
                address_id=address.id,
                channel="sms",
                direction="in",
                body="আমার কেয়ারার আসেনি",
                status="processed",
                created_at=now,
            )
        )
        create_feedback(
            session, address, "bn", "complaint", {"text": "আমার কেয়ারার আসেনি"}, True, now, None
        )
        return address.id


def test_an_admin_reads_then_erases_a_person_by_keyboard(
    page: Page, live_server: LiveServer, address_id: int
) -> None:
    sign_in_by_keyboard(page, live_server, ADMIN)
    page.goto(f"{live_server.url}/console/conversations/{address_id}")
    follow_by_keyboard(page, f"/console/conversations/{address_id}/person")
    assert page.locator("h1").inner_text() == "Everything held about this person"
    assert NUMBER in page.content()
    assert_accessible(page)

    page.goto(f"{live_server.url}/console/conversations/{address_id}")
    follow_by_keyboard(page, f"/console/conversations/{address_id}/erase")
    assert "is kept while it is open" in page.locator("#kept").inner_text()
    assert_accessible(page)
    # Sent without a reason or the confirmation: both errors, linked from the summary.
    press_button(page, "erase")
    assert page.locator(".govuk-error-summary").is_visible()
    assert_accessible(page)
    type_into(page, "reason", "Asked by letter")
    tab_to(page, "confirm")
    page.keyboard.press("Space")
    press_button(page, "erase")

    assert page.url.endswith(f"/console/conversations/{address_id}")
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert "Erased." in banner and "is kept while it is open" in banner
    assert NUMBER not in page.content()
    assert_accessible(page)


@pytest.mark.parametrize("language", ["en", "bn", "syl-Sylo"])
def test_the_privacy_notice_is_accessible(
    page: Page, live_server: LiveServer, language: str
) -> None:
    page.goto(f"{live_server.url}/privacy?lang={language}")
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page)
