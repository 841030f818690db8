"""The impact page and its printable report in a real browser: axe finds nothing, the charts
draw under the console's Content-Security-Policy (nothing refused), and the printed page
leaves the console's menus off."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from bot.casework.accounts import create_user
from bot.settings import Settings
from storage.models import EqualityMonitoring
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer, serve
from tests.storage.rows import someone_who_wrote

pytestmark = pytest.mark.browser

PASSWORD = "a long browser test password"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    instance = tmp_path_factory.mktemp("impact-live")
    settings = Settings(
        database_url=f"sqlite:///{instance / 'kotha.db'}",
        secret_key="impact-live-test-secret",
        instance_dir=instance,
        testing=True,
    )
    with serve(settings) as served:
        yield served


def people(server: LiveServer) -> None:
    """Seven people who wrote today, six of whom answered the equality questions."""
    now = datetime.now(UTC)
    with server.services.database.session() as session:
        for index in range(7):
            address = someone_who_wrote(session, f"+4477009001{index:02d}", "bn", now)
            if index < 6:
                session.add(
                    EqualityMonitoring(
                        contact_id=address.contact_id,
                        asked_at=now,
                        answered_at=now,
                        carer="carer",
                        ethnic_group="asian",
                        ethnicity="bangladeshi",
                        religion="muslim",
                        language="bn",
                        channel="sms",
                    )
                )


def sign_in(page: Page, server: LiveServer) -> None:
    email = f"impact-{secrets.token_hex(4)}@example.org"
    with server.services.database.session() as session:
        create_user(session, email, "staff", PASSWORD, now=datetime.now(UTC))
    page.goto(f"{server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def refused(page: Page) -> list[str]:
    """What the browser reports refusing under the Content-Security-Policy, as it happens."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


def test_the_impact_page_and_its_report_are_accessible(page: Page, server: LiveServer) -> None:
    people(server)
    csp = refused(page)
    sign_in(page, server)
    page.goto(f"{server.url}/console/impact")
    assert page.locator("h1").inner_text() == "Impact"
    assert page.locator("svg.kotha-chart").count() >= 10
    # The chart is drawn: its bars have a size (the stylesheet and attributes applied).
    box = page.locator("svg.kotha-chart").first.bounding_box()
    assert box is not None and box["width"] > 200
    assert_accessible(page, "svg-img-alt", "th-has-data-cells")
    # Another period, by the form.
    page.fill("#from", "2026-01-01")
    page.fill("#to", "2026-03-31")
    with page.expect_navigation():
        page.click("text=Show this period")
    assert "1 January 2026 to 31 March 2026" in page.content()
    page.fill("#from", "2026-04-01")
    with page.expect_navigation():
        page.click("text=Show this period")
    assert "The end date must be the same as or after the start date" in page.content()
    assert_accessible(page)

    page.goto(f"{server.url}/console/impact")
    with page.expect_navigation():
        page.click("text=Printable report")
    assert page.locator("h1").inner_text() == "Kotha impact report"
    assert_accessible(page, "svg-img-alt")
    page.emulate_media(media="print")
    assert not page.locator(".govuk-service-navigation").is_visible()
    assert not page.locator(".kotha-no-print").is_visible()
    assert page.locator("svg.kotha-chart").first.is_visible()
    page.emulate_media(media="screen")

    page.goto(f"{server.url}/console/")
    assert page.locator("svg.kotha-chart").count() == 1
    assert_accessible(page, "svg-img-alt")
    assert csp == []
