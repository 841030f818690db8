"""An event's page in a real browser with access needs, interpreter requests and attendance:
marked by keyboard alone, a mistake shown, and axe finding nothing (WCAG 2.2 A and AA)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from bot.outreach import access
from bot.outreach.consultations import EventDetails, create_event, record_answer
from storage.models import Address, Contact
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD, press_button, sign_in, tab_to, type_into

pytestmark = pytest.mark.browser

EMAIL = "attendance-staff@example.org"


@pytest.fixture(scope="module")
def event_id(live_server: LiveServer) -> int:
    """An event that began an hour ago; two said yes, with needs told."""
    services = live_server.services
    now = services.clock()
    with services.database.session() as session:
        create_user(session, EMAIL, "staff", PASSWORD, now=now)
        start = now - timedelta(hours=1)
        event = create_event(
            session,
            EventDetails(
                titles={"en": "Partnership board", "bn": "পার্টনারশিপ বোর্ড"},
                start_at=start,
                end_at=start + timedelta(hours=2),
                place="Town Hall",
                step_free=True,
                access_notes="Lift at the side door",
            ),
            None,
            now,
        )
        for phone, needs, language in (
            ("+447700900611", ["interpreter"], "syl"),
            ("+447700900622", ["step_free", "companion"], None),
        ):
            address = Address(
                contact=Contact(language="en", created_at=now),
                channel="sms",
                address=phone,
                created_at=now,
            )
            session.add(address)
            session.flush()
            record_answer(session, event.id, address, True, now)
            access.save(session, address.contact_id, needs, language, now)
        return event.id


def test_who_came_is_marked_by_keyboard_on_an_accessible_page(
    page: Page, live_server: LiveServer, event_id: int
) -> None:
    sign_in(page, live_server, EMAIL)
    page.goto(f"{live_server.url}/console/calendar/events/{event_id}")
    main = page.inner_text("main")
    assert "Book an interpreter for each of these people" in main
    assert "Sylheti" in main and "Someone to come with them" in main
    assert_accessible(page, "label", "link-name")

    tab_to(page, "came")  # the first of those who said yes
    page.keyboard.press("Space")
    type_into(page, "extra", "ten")
    page.locator("#extra").fill("ten")
    press_button(page, "save-attendance")
    assert "There is a problem" in page.inner_text("main")
    assert "Enter how many came unknown" in page.inner_text("main")
    assert_accessible(page, "label")

    tab_to(page, "came")
    if not page.locator("#came").is_checked():
        page.keyboard.press("Space")
    page.locator("#extra").fill("3")
    press_button(page, "save-attendance")
    main = page.inner_text("main")
    assert "Attendance saved: 1 person marked, and 3 more who were not known." in main
    assert "1 known person and 3 not known to us came." in main
    assert page.locator("#came").is_checked()
    assert_accessible(page, "label", "link-name")
