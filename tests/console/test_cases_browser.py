"""Cases in a real browser: work a case by keyboard alone and see the text reach fake Twilio.

The app is served wired to the fake Twilio (tests/fakes), so telling the person goes the whole
way: the form, bot/casework/cases.py, the outbound row, the dispatcher, the Twilio SDK, the fake.
axe (WCAG 2.2 A and AA) checks every page visited.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page

from bot.casework.accounts import create_user
from bot.casework.cases import STATUS_TEXT
from bot.settings import QuietHours, Settings
from storage.models import Address, Contact
from storage.records import create_feedback
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer, serve
from tests.console.keyboard import focused, tab_to
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.browser

PASSWORD = "a long browser test password"
SMS_FROM = "+447700900999"
CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "naughty_strings.txt"


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, fake_twilio: FakeTwilio
) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 whose SMS go to the fake Twilio, on a database of its own."""
    instance = tmp_path_factory.mktemp("cases-live")
    settings = Settings(
        database_url=f"sqlite:///{instance / 'kotha.db'}",
        secret_key="cases-live-test-secret",
        instance_dir=instance,
        testing=True,
        # No quiet hours, so an update is sent whatever the hour the test runs.
        quiet_hours=QuietHours(time(0, 0), time(0, 0)),
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        sms_from=SMS_FROM,
        twilio_api_url=fake_twilio.url,
    )
    with serve(settings) as served:
        yield served


def staff_account(server: LiveServer) -> str:
    email = f"a-staff-{secrets.token_hex(4)}@example.org"
    with server.services.database.session() as session:
        create_user(
            session, email, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
    return email


def complaint(server: LiveServer, number: str, text: str, language: str = "bn") -> str:
    """A complaint from a person texting from `number`; return its reference."""
    now = datetime.now(UTC)
    with server.services.database.session() as session:
        address = Address(
            contact=Contact(language=language, created_at=now),
            channel="sms",
            address=number,
            created_at=now,
        )
        session.add(address)
        session.flush()
        feedback = create_feedback(
            session, address, language, "complaint", {"text": text}, True, now, None
        )
        session.flush()
        return feedback.reference


def sign_in_by_keyboard(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/console/login")
    assert_accessible(page)
    tab_to(page, "input#email")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/console/"), page.url


def follow_by_keyboard(page: Page, href: str) -> None:
    """Tab to the link to `href` and press Enter (opening the navigation menu first if shut)."""
    link = page.locator(f'a[href="{href}"]').first
    toggle = page.locator(".govuk-service-navigation__toggle")
    if not link.is_visible() and toggle.is_visible():
        # On a phone-sized screen the navigation hides behind its Menu button.
        for _ in range(40):
            if page.evaluate(
                "() => document.activeElement.classList.contains("
                "'govuk-service-navigation__toggle')"
            ):
                break
            page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert link.is_visible()
    for _ in range(120):
        if page.evaluate("() => document.activeElement.getAttribute('href')") == href:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"no link to {href} took focus")


def record_dialogs(page: Page) -> list[str]:
    opened: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    return opened


def test_acknowledge_a_complaint_and_tell_the_person_by_keyboard(
    page: Page, server: LiveServer, fake_twilio: FakeTwilio
) -> None:
    dialogs = record_dialogs(page)
    number = f"+4477009{secrets.randbelow(100_000):05d}"
    reference = complaint(server, number, "আমার মায়ের কেয়ারার আসেনি <b>দুবার</b>")
    sign_in_by_keyboard(page, server, staff_account(server))

    follow_by_keyboard(page, "/console/cases")
    assert page.locator("h1").inner_text() == "Cases"
    assert_accessible(page)

    follow_by_keyboard(page, f"/console/cases/{reference}")
    assert page.locator("h1").inner_text() == reference
    said = page.locator(".kotha-message").first
    assert said.inner_text() == "আমার মায়ের কেয়ারার আসেনি <b>দুবার</b>"
    assert said.get_attribute("lang") == "bn"
    assert_accessible(page)

    # The first status offered is "Acknowledged": Space chooses it, Tab moves on.
    tab_to(page, "input#status")
    page.keyboard.press("Space")
    assert page.locator("#status").is_checked()
    tab_to(page, "textarea#note")
    page.keyboard.type("আমরা শুক্রবার আপনাকে ফোন করব।")
    tab_to(page, "input#tell")
    page.keyboard.press("Space")
    assert page.locator("#tell").is_checked()
    tab_to(page, "button#change-status:Change status")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # First the message as the person will read it, and its cost; nothing has gone yet.
    preview = page.locator("#status-preview").inner_text()
    assert "আমরা শুক্রবার আপনাকে ফোন করব।" in preview and "(UCS-2), £" in preview
    # The page opens at the message, far down the page, and says what to do in its title.
    top = page.evaluate("document.getElementById('status-preview').getBoundingClientRect().top")
    assert -2 < top < page.evaluate("window.innerHeight")
    assert page.title().startswith("Check the message: ")
    assert "Nothing has been sent yet" in preview and fake_twilio.sent_to(number) == []
    assert_accessible(page)
    page.keyboard.press("Tab")  # the keyboard goes on from the message, not the page's top
    assert focused(page) == "button#change-status:Send and change status"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    banner = page.locator("#case-result").inner_text()
    assert "Status changed to acknowledged." in banner
    assert "The message to the person is" in banner and "could not" not in banner
    [sent] = fake_twilio.sent_to(number)
    bengali = server.services.i18n.gettext("bn", STATUS_TEXT["acknowledged"])
    assert reference in sent.body and bengali in sent.body
    assert sent.body.endswith("আমরা শুক্রবার আপনাকে ফোন করব।")
    history = page.locator("table").last.inner_text()
    assert "Received to Acknowledged" in history and "আমরা শুক্রবার আপনাকে ফোন করব।" in history
    assert_accessible(page)
    assert dialogs == []


def test_a_correction_without_a_reason_is_explained_and_fixed_by_keyboard(
    page: Page, server: LiveServer, fake_twilio: FakeTwilio
) -> None:
    number = f"+4477009{secrets.randbelow(100_000):05d}"
    reference = complaint(server, number, "Nobody came", language="en")
    sign_in_by_keyboard(page, server, staff_account(server))
    page.goto(f"{server.url}/console/cases/{reference}")
    # Resolve it, then try to take it back to "In progress" without saying why.
    page.locator("input[name=status][value=resolved]").check()
    page.locator("#change-status").click()
    page.wait_for_load_state()
    tab_to(page, "input#status")
    page.keyboard.press("Space")
    for _ in range(2):  # Acknowledged, then In progress
        page.keyboard.press("ArrowDown")
    assert page.locator("input[name=status][value=in_progress]").is_checked()
    tab_to(page, "button#change-status:Change status")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    summary = page.locator(".govuk-error-summary")
    assert "give a note saying why" in summary.inner_text()
    assert_accessible(page)
    # The summary's link takes the keyboard to the note.
    summary.locator("a").first.focus()
    page.keyboard.press("Enter")
    assert focused(page) == "textarea#note"
    page.keyboard.type("Reopened: the family sent new evidence.")
    tab_to(page, "button#change-status:Change status")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Status changed to in progress." in page.locator("#case-result").inner_text()
    assert fake_twilio.sent_to(number) == []  # nobody ticked "tell the person"


@pytest.fixture
def bare_page(browser: Browser) -> Iterator[Page]:
    """A tab that ignores the Content-Security-Policy, so only escaping stands in the way."""
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()


def test_naughty_strings_on_case_pages_are_text_and_never_run(
    bare_page: Page, server: LiveServer
) -> None:
    page = bare_page
    dialogs = record_dialogs(page)
    lines = CORPUS.read_text(encoding="utf-8").split("\n")
    strings = [line for line in lines if line and not line.startswith("# ")]
    assert len(strings) >= 60
    references = [
        complaint(server, f"+4477008{index:05d}", text) for index, text in enumerate(strings)
    ]
    sign_in_by_keyboard(page, server, staff_account(server))
    for reference, text in zip(references, strings, strict=True):
        page.goto(f"{server.url}/console/cases/{reference}")
        assert page.locator(".kotha-message").first.text_content() == text, reference
    assert page.evaluate("() => window.__xss === undefined")
    page.wait_for_timeout(200)  # give an injected handler the chance to fire
    assert dialogs == []
