"""The pages work under their Content-Security-Policy in a real browser: GOV.UK Frontend's
styles, fonts and scripts load and run, and the browser reports no violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, Response

from tests.console.conftest import LiveServer

pytestmark = pytest.mark.browser

WATCH = """
window.kothaViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.kothaViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.mark.parametrize(
    ("path", "govuk"),
    [
        ("/events", True),
        ("/you-said-we-did", True),
        ("/events?lang=bn", True),
        ("/console/login", True),
        ("/simulator?channel=sms&as=sim:0123abcd", False),
    ],
)
def test_the_page_runs_under_its_policy(
    page: Page, live_server: LiveServer, path: str, govuk: bool
) -> None:
    errors: list[str] = []
    missing: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A file that failed to load is reported below, with its address.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    def on_response(answer: Response) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            missing.append(f"{answer.status} {answer.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.add_init_script(WATCH)
    response = page.goto(f"{live_server.url}{path}")
    assert response is not None and response.status == 200
    assert "Content-Security-Policy" in {name.title() for name in response.headers}
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.kothaViolations") == []
    assert errors == [] and missing == []
    # The stylesheets applied (GOV.UK Frontend's, or the simulator's own in its page).
    assert page.evaluate("document.styleSheets.length") >= 1
    if govuk:
        # GOV.UK Frontend's inline script ran, with the nonce: it marks the body.
        assert "govuk-frontend-supported" in (page.locator("body").get_attribute("class") or "")
        font = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
        assert "Times" not in font and ("Noto" in font or "arial" in font.lower()), font
