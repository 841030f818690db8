"""A broadcast in a real browser, by keyboard alone: compose, preview, send, watch it finish.

Every page is checked by axe against WCAG 2.2 A and AA. The recipients are simulated phones
(the console sender delivers to them at once), found by a topic only this test uses.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from bot.casework.accounts import create_user
from storage.models import Address, Contact, Feedback
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import press_button, tab_to, type_into
from tests.console.test_calendar_browser import sign_in as calendar_sign_in
from tests.storage.rows import yes_to_broadcasts

pytestmark = pytest.mark.browser

EMAIL = "broadcast-staff@example.org"
PASSWORD = "correct horse battery staple"
TOPIC = "broadcast-browser-test"


@pytest.fixture(scope="module")
def recipients(live_server: LiveServer) -> int:
    """Two simulated people, in English and Bengali, who gave feedback on the test's topic
    and said yes to broadcasts."""
    now = datetime.now(UTC)
    with live_server.services.database.session() as session:
        create_user(
            session, EMAIL, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
        for index, language in enumerate(("en", "bn")):
            contact = Contact(language=language, created_at=now)
            address = Address(
                contact=contact, channel="sms", address=f"sim:b0adca5{index}", created_at=now
            )
            session.add(address)
            yes_to_broadcasts(session, contact, now)
            session.flush()
            session.add(
                Feedback(
                    reference=f"C-9{index:05d}",
                    kind="comment",
                    status="received",
                    language=language,
                    channel="sms",
                    contact_id=contact.id,
                    address_id=address.id,
                    topic=TOPIC,
                    created_at=now,
                )
            )
    return 2


def test_compose_preview_send_and_watch_by_keyboard(
    page: Page, live_server: LiveServer, recipients: int
) -> None:
    calendar_sign_in(page, live_server, EMAIL)
    page.goto(f"{live_server.url}/console/broadcasts")
    assert_accessible(page)
    tab_to(page, "Compose a broadcast")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Compose a broadcast"
    assert_accessible(page, "label", "valid-lang")

    type_into(page, "title", "Transport meeting")
    type_into(page, "text-en", "Come to the transport meeting on Monday.")
    type_into(page, "text-bn", "সোমবার পরিবহন সভায় আসুন।")
    type_into(page, "topic", TOPIC)
    press_button(page, "Preview")
    preview = page.locator("#preview")
    expect(preview).to_be_visible()
    main = page.inner_text("main")
    assert f"{recipients} people receive it" in main
    assert "UCS-2, 1 segment" in main and "GSM-7, 1 segment" in main
    assert "Not written in সিলেটি: these people read the বাংলা text." in main
    assert_accessible(page, "label", "valid-lang", "th-has-data-cells")

    press_button(page, "Send the broadcast")
    assert page.locator("h1").inner_text() == "Transport meeting"
    # The page's script asks for the counts every few seconds. Run in quiet hours, the
    # messages wait for the morning (held); otherwise they are delivered at once.
    page.wait_for_function(
        """() => ["delivered", "held"].reduce(
              (sum, key) => sum + Number(document.getElementById(`count-${key}`).textContent), 0
            ) === 2 && document.getElementById("count-queued").textContent === "0" """,
        timeout=20_000,
    )
    counts = {
        key: page.locator(f"#count-{key}").inner_text() for key in ("delivered", "held", "failed")
    }
    if counts["held"] == "0":
        expect(page.locator("#progress-note")).to_have_text("Finished.")
        assert page.evaluate("document.getElementById('progress-bar').value") == 100
    assert counts["failed"] == "0"
    assert_accessible(page)

    page.goto(f"{live_server.url}/you-said-we-did")
    assert page.locator("h1").inner_text() == "You said, we did"
    assert_accessible(page, "valid-lang")
