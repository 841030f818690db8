"""Conversations in a real browser: find, read and answer by keyboard alone; axe; stored XSS."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2.filters import do_truncate
from playwright.sync_api import Browser, Dialog, Page
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.casework.replies import SAVED_REPLIES
from storage.models import Address, Contact, Feedback, Message
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.keyboard import tab_to

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "naughty_strings.txt"
PASSWORD = "a long browser test password"
SCREENSHOT = "/tmp/conversation.png"
# Set by any payload that manages to run (several try).
FLAG_CHECK = "() => window.__xss === undefined"


def naughty_strings() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").split("\n")
    return [line for line in lines if line and not line.startswith("# ")]


def staff_account(server: LiveServer) -> str:
    email = f"b-staff-{secrets.token_hex(4)}@example.org"
    with server.services.database.session() as session:
        create_user(
            session, email, "staff", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
    return email


def seed(
    server: LiveServer, texts: list[str], language: str, *, reference: str | None = None
) -> int:
    """One person on a simulated phone (the console sender answers it) who wrote `texts`."""
    now = datetime.now(UTC)
    with server.services.database.session() as session:
        address = Address(
            contact=Contact(language=language, created_at=now),
            channel="sms",
            address=f"sim:{secrets.token_hex(4)}",
            created_at=now,
        )
        session.add(address)
        session.flush()
        for index, text in enumerate(texts):
            session.add(
                Message(
                    address_id=address.id,
                    channel="sms",
                    direction="in",
                    body=text,
                    status="processed",
                    created_at=now + timedelta(milliseconds=index),
                )
            )
        if reference:
            session.add(
                Feedback(
                    reference=reference,
                    kind="complaint",
                    status="received",
                    text=texts[0],
                    language=language,
                    channel="sms",
                    contact_id=address.contact_id,
                    address_id=address.id,
                    created_at=now,
                )
            )
        return address.id


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/console/"), page.url


def record_dialogs(page: Page) -> list[str]:
    """Every alert, confirm or prompt the page opens, dismissed; tests expect none."""
    opened: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    return opened


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    return record_dialogs(page)


def test_find_read_and_answer_by_keyboard_alone(
    page: Page, live_server: LiveServer, dialogs: list[str]
) -> None:
    reference = f"C-{secrets.randbelow(900_000) + 100_000}"
    address_id = seed(live_server, ["Hello", "আমার মায়ের যত্ন ভালো হচ্ছে না"], "bn", reference=reference)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    sign_in(page, live_server, staff_account(live_server))

    page.goto(f"{live_server.url}/console/conversations")
    assert_accessible(page, "label", "valid-lang")
    tab_to(page, "input#q")
    page.keyboard.type(reference)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    rows = page.locator("#conversations tbody tr")
    assert rows.count() == 1
    assert "আমার মায়ের যত্ন" in rows.first.inner_text()
    assert_accessible(page, "label", "valid-lang")

    link = page.locator(f'a[href="/console/conversations/{address_id}"]')
    link.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    message = page.locator(".kotha-message").last
    assert message.get_attribute("lang") == "bn"
    # The Bengali text is drawn with the console's Noto font, not a fallback.
    fonts = page.evaluate("document.fonts.check('16px \"Kotha Noto Sans Bengali\"', 'আমার')")
    assert fonts is True
    assert_accessible(page, "label", "valid-lang")

    # Choose the second saved reply with the arrow keys, then Tab to Send and press Enter.
    tab_to(page, "input#reply")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.locator("#reply-2").is_checked()
    tab_to(page, "button#send-reply:Preview the reply")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    bengali = live_server.services.i18n.render("bn", SAVED_REPLIES["call_us"]).text
    preview = page.locator("#reply-preview").inner_text()
    assert bengali in preview and "Nothing has been sent yet" in preview
    tab_to(page, "button#send-reply:Send this reply")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Your reply is delivered" in page.locator("#reply-result").inner_text()
    sent = page.locator(".kotha-transcript__message--out .kotha-message").last
    assert sent.inner_text() == bengali and sent.get_attribute("lang") == "bn"
    assert_accessible(page, "label", "valid-lang")
    assert dialogs == []
    # The Content-Security-Policy let through everything the pages need (GOV.UK Frontend's
    # scripts ran: its radios and the js-enabled class).
    assert [e for e in errors if "Content Security Policy" in e] == []
    assert page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
    page.screenshot(path=SCREENSHOT, full_page=True)


@pytest.fixture
def bare_page(browser: Browser) -> Iterator[Page]:
    """A tab that ignores the Content-Security-Policy, so only escaping stands in the way."""
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    context.add_init_script("window.__kotha_ready = true;")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()


def test_naughty_strings_are_shown_as_text_and_never_run(
    bare_page: Page, live_server: LiveServer
) -> None:
    page = bare_page
    opened = record_dialogs(page)
    strings = naughty_strings()
    assert len(strings) >= 60
    marker = f"xss{secrets.token_hex(4)}"
    # Each string is the latest message of a conversation of its own (for the inbox) ...
    bodies = [f"{text} {marker}" for text in strings]
    for body in bodies:
        seed(live_server, [body], "syl")
    # ... and all of them are one transcript.
    transcript = seed(live_server, strings, "bn")
    sign_in(page, live_server, staff_account(live_server))

    shown: list[str] = []
    for number in (1, 2):
        page.goto(f"{live_server.url}/console/conversations?q={marker}&page={number}")
        cells = page.locator("#conversations tbody td:nth-child(3) .kotha-text")
        shown.extend(cells.all_text_contents())
        assert (
            page.locator(
                "#conversations tbody :is(script, img, svg, iframe, object, embed, "
                "input, details, marquee, style, link, meta, base, form, b, i)"
            ).count()
            == 0
        )
        page.wait_for_timeout(200)  # time for an injected handler to fire
        assert page.evaluate(FLAG_CHECK), "a payload ran on the inbox"
    env = Environment()
    expected = [do_truncate(env, body, 120, True, "…") for body in bodies]
    assert sorted(shown) == sorted(expected)

    page.goto(f"{live_server.url}/console/conversations/{transcript}")
    texts = page.locator("#transcript .kotha-message").all_text_contents()
    assert texts == strings
    assert (
        page.locator(
            "#transcript :is(script, img, svg, iframe, object, embed, input, "
            "details, marquee, style, link, meta, base, form, a, b, i)"
        ).count()
        == 0
    )
    page.wait_for_timeout(200)
    assert page.evaluate(FLAG_CHECK), "a payload ran on the conversation page"
    assert page.evaluate("window.__kotha_ready") is True  # the init script did run
    assert page.title().startswith("Conversation with SMS sim:")
    assert opened == []


def test_a_correction_links_to_its_original_and_back_and_passes_axe(
    page: Page, live_server: LiveServer
) -> None:
    address_id = seed(live_server, ["The carer came late", "1"], "en")
    with live_server.services.database.session() as session:
        original = session.scalars(
            select(Message).where(Message.address_id == address_id).order_by(Message.id)
        ).first()
        assert original is not None
        correction = Message(
            address_id=address_id,
            channel="sms",
            direction="in",
            body="The carer came very late",
            status="processed",
            corrects_id=original.id,
            created_at=datetime.now(UTC) + timedelta(seconds=1),
        )
        session.add(correction)
        session.flush()
        original_id, correction_id = original.id, correction.id
    sign_in(page, live_server, staff_account(live_server))

    page.goto(f"{live_server.url}/console/conversations/{address_id}")
    assert_accessible(page, "label", "valid-lang")

    edited = page.locator(f"#m{correction_id}")
    assert "They corrected an earlier message" in edited.locator("h3").inner_text()
    assert "The carer came very late" in edited.inner_text()
    edited.locator(f'a[href="#m{original_id}"]').focus()
    page.keyboard.press("Enter")
    assert page.url.endswith(f"#m{original_id}")
    back = page.locator(f"#m{original_id} .kotha-corrected a")
    assert back.get_attribute("href") == f"#m{correction_id}"
