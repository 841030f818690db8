"""The console pages the other browser tests do not visit, checked by axe; and a "you said, we
did" item written with the keyboard alone, mistakes first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach import opportunities
from bot.outreach.consultations import EventDetails, create_event
from storage.models import Address, Contact, Opportunity, YouSaidItem
from storage.records import create_interest
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD, press_button, tab_to, type_into
from tests.console.test_calendar_browser import sign_in as sign_in_by_keyboard

pytestmark = pytest.mark.browser

ADMIN = "every-page-admin@example.org"
THEME = "Transport to the day centre"


@pytest.fixture(scope="module")
def event_id(live_server: LiveServer) -> int:
    """An admin account, and one event on the calendar to edit."""
    now = datetime.now(UTC)
    start = (now + timedelta(days=30)).replace(hour=10, minute=0, second=0, microsecond=0)
    details = EventDetails(
        titles={"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
        start_at=start,
        end_at=start + timedelta(hours=2),
        place="Town Hall, Mulberry Place",
        step_free=True,
    )
    with live_server.services.database.session() as session:
        create_user(
            session, ADMIN, "admin", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
        return create_event(session, details, None, now).id


def test_the_pages_no_other_test_visits(page: Page, live_server: LiveServer, event_id: int) -> None:
    sign_in_by_keyboard(page, live_server, ADMIN)
    assert page.url.endswith("/console/")
    assert_accessible(page)
    for path, heading in [
        ("/console/users", "Accounts"),
        ("/console/audit", "Audit log"),
        ("/console/you-said/quotes", "Quotes to approve"),
        ("/console/feedback/new", "Record feedback for someone"),
        ("/console/tasks", "Tasks"),
        (f"/console/calendar/events/{event_id}/edit", "Change the event"),
        ("/console/cases/C-999999", "Page not found"),
    ]:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("h1").inner_text() == heading, path
        assert_accessible(page)


def test_a_you_said_item_written_by_keyboard(
    page: Page, live_server: LiveServer, event_id: int
) -> None:
    sign_in_by_keyboard(page, live_server, ADMIN)
    page.goto(f"{live_server.url}/console/you-said")
    assert_accessible(page)
    press_button(page, "Write an item")
    assert_accessible(page)

    press_button(page, "Save")  # nothing written yet: every mistake is named
    summary = page.locator(".govuk-error-summary")
    assert "Enter the theme people raised" in summary.inner_text()
    assert "Write what people said and what was done in English" in summary.inner_text()
    assert_accessible(page)

    type_into(page, "theme", THEME)
    tab_to(page, "change")  # the first choice: the change is made
    page.keyboard.press("Space")
    type_into(page, "said-en", "The minibus came late.")
    type_into(page, "did-en", "A second minibus runs from Monday.")
    type_into(page, "said-bn", "মিনিবাস দেরিতে এসেছে।")
    type_into(page, "did-bn", "সোমবার থেকে দ্বিতীয় মিনিবাস চলবে।")
    press_button(page, "Save")

    assert page.locator("h1").inner_text().startswith(THEME)
    assert_accessible(page)
    with live_server.services.database.session() as session:
        item = session.scalars(select(YouSaidItem).where(YouSaidItem.theme == THEME)).one()
        assert item.status == "draft"
        assert item.texts["bn"] == {
            "said": "মিনিবাস দেরিতে এসেছে।",
            "did": "সোমবার থেকে দ্বিতীয় মিনিবাস চলবে।",
        }
        assert item.texts["en"]["did"] == "A second minibus runs from Monday."


@pytest.fixture(scope="module")
def interest_id(live_server: LiveServer, event_id: int) -> int:
    """The ways to take part, and one person's interest in the Carers Forum, long waiting."""
    long_ago = datetime.now(UTC) - timedelta(days=20)
    with live_server.services.database.session() as session:
        opportunities.seed(session, long_ago)
        address = Address(
            contact=Contact(language="bn", created_at=long_ago),
            channel="whatsapp",
            address="+447700900777",
            created_at=long_ago,
        )
        session.add(address)
        session.flush()
        answers = {
            "opportunity": "carers_forum",
            "contact_how": "phone",
            "contact_when": "evenings",
        }
        made = create_interest(session, address, "bn", answers, long_ago)
        session.flush()
        return made.id


def test_the_ways_to_take_part_and_the_interests_queue(
    page: Page, live_server: LiveServer, interest_id: int
) -> None:
    sign_in_by_keyboard(page, live_server, ADMIN)
    with live_server.services.database.session() as session:
        carers = session.scalars(select(Opportunity.id).where(Opportunity.key == "carers_forum"))
        carers_id = carers.one()
    for path, heading in [
        ("/console/involvement", "People who want to take part"),
        (f"/console/involvement/{interest_id}", "Carers Forum"),
        ("/console/opportunities", "Ways to take part"),
        (f"/console/opportunities/{carers_id}/edit", "Change a way to take part"),
    ]:
        page.goto(f"{live_server.url}{path}")
        assert page.locator("h1").inner_text() == heading, path
        assert_accessible(page)
    # A way to take part added with a mistake first: the mistake named, then saved.
    page.goto(f"{live_server.url}/console/opportunities/new")
    assert_accessible(page)
    submit(page, "#save")
    summary = page.locator(".govuk-error-summary")
    assert "Enter the title in English" in summary.inner_text()
    assert_accessible(page)
    page.check("#area")
    page.fill("#title-en", "Dementia carers group")
    page.fill("#line-en", "Carers of people with dementia meet to share tips.")
    page.fill("#time-en", "2 hours, once a month")
    submit(page, "#save")
    assert page.locator("h1").inner_text() == "Ways to take part"
    assert "Dementia carers group" in page.locator("main").inner_text()
    # The queue: the person waiting too long is flagged; moving them on is kept as history.
    page.goto(f"{live_server.url}/console/involvement/{interest_id}")
    assert page.locator("#waiting").is_visible()
    page.check("#status-2")  # Contacted
    page.fill("#note", "Rang them; they will come next month.")
    submit(page, "#save-interest")
    assert "New to Contacted" in page.locator("main").inner_text()
    assert_accessible(page)


def submit(page: Page, button: str) -> None:
    """Press a form's button (a long form: tabbing to it is the keyboard tests' part)."""
    with page.expect_navigation():
        page.click(button)
