"""The moderation queue in a real browser: urgent first, redact, tag, review, flags; axe clean.

Clearing a safeguarding flag is done with the keyboard alone, from the queue to the saved
decision; axe (WCAG 2.2 A and AA) checks every page on the way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import select

from bot.casework.accounts import create_user
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag
from tests.console.axe import assert_accessible
from tests.console.conftest import LiveServer
from tests.console.keyboard import focused

pytestmark = pytest.mark.browser

PASSWORD = "a long browser test password"
ACTIVE = """() => {
  const element = document.activeElement;
  return [element.tagName.toLowerCase(), element.id || '', element.getAttribute('href') || '',
          element.getAttribute('value') || '', element.textContent.trim()];
}"""


def moderator_account(server: LiveServer) -> str:
    email = f"c-moderator-{secrets.token_hex(4)}@example.org"
    with server.services.database.session() as session:
        create_user(
            session, email, "moderator", PASSWORD, now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
        )
    return email


def seed(server: LiveServer, text: str, *, age: timedelta, categories: list[str]) -> int:
    """A person who wrote `text` in a complaint `age` ago, flagged when categories are given."""
    now = datetime.now(UTC) - age
    with server.services.database.session() as session:
        address = Address(
            contact=Contact(language="en", created_at=now),
            channel="sms",
            address=f"sim:{secrets.token_hex(4)}",
            created_at=now,
        )
        session.add(address)
        session.flush()
        message = Message(
            address_id=address.id,
            channel="sms",
            direction="in",
            body=text,
            status="processed",
            created_at=now,
        )
        feedback = Feedback(
            reference=f"C-{secrets.randbelow(900_000) + 100_000}",
            kind="complaint",
            status="received",
            text=text,
            language="en",
            channel="sms",
            contact_id=address.contact_id,
            address_id=address.id,
            created_at=now,
        )
        session.add_all([message, feedback])
        session.flush()
        if categories:
            session.add(
                SafeguardingFlag(
                    contact_id=address.contact_id,
                    message_id=message.id,
                    categories=categories,
                    source="automatic",
                    raised_at=now,
                    status="open",
                )
            )
        return feedback.id


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")


def tab_until(page: Page, wanted: Callable[[list[str]], bool], limit: int = 150) -> list[str]:
    """Press Tab until the focused element is the one wanted (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        active: list[str] = page.evaluate(ACTIVE)
        if wanted(active):
            return active
    raise AssertionError(f"never reached by Tab; last focused {focused(page)}")


def queue_rows(page: Page) -> list[tuple[bool, str]]:
    """Each queue row: whether it is marked urgent, and where its link goes."""
    rows = page.locator("#queue tbody tr")
    return [
        (
            rows.nth(index).locator(".govuk-tag--red").count() == 1,
            rows.nth(index).locator("a").first.get_attribute("href") or "",
        )
        for index in range(rows.count())
    ]


def test_moderator_works_the_queue(page: Page, live_server: LiveServer) -> None:
    server = live_server
    calm = seed(
        server,
        "My name is Rahima Begum, phone 07700 900123. The carer was late.",
        age=timedelta(days=30),
        categories=[],
    )
    urgent = seed(
        server, "Nobody came and mum was neglected", age=timedelta(0), categories=["neglect"]
    )
    sign_in(page, server, moderator_account(server))

    # The queue: the urgent (flagged) item comes before the older one; urgent rows lead.
    page.goto(f"{server.url}/console/moderation")
    assert page.locator("h1").inner_text() == "Moderation queue"
    rows = queue_rows(page)
    flags = [is_urgent for is_urgent, _ in rows]
    assert flags == sorted(flags, reverse=True) and flags[0] is True
    hrefs = [href for _, href in rows]
    assert hrefs.index(f"/console/moderation/{urgent}") < hrefs.index(f"/console/moderation/{calm}")
    assert rows[hrefs.index(f"/console/moderation/{urgent}")][0] is True
    assert_accessible(page)

    # Keyboard alone: from the queue, open the urgent item and clear its flag with a reason.
    page.locator("body").focus()
    tab_until(page, lambda a: a[0] == "a" and a[2] == f"/console/moderation/{urgent}")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".govuk-tag--red").first.is_visible()
    assert_accessible(page)
    tab_until(page, lambda a: a[0] == "input" and a[3] == "cleared")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused(page).startswith("textarea#reason-")
    page.keyboard.type("Mum was visited today and is well")
    page.keyboard.press("Tab")
    assert focused(page).startswith("button:Save decision on flag")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "cleared as a false positive" in page.locator(".govuk-notification-banner").inner_text()
    assert page.locator("text=Open safeguarding flags").count() == 0
    with server.services.database.session() as session:
        person = session.get_one(Feedback, urgent).contact_id
        cleared = session.scalars(
            select(SafeguardingFlag).where(SafeguardingFlag.contact_id == person)
        ).one()
    assert cleared.status == "cleared"
    assert cleared.resolution_note == "Mum was visited today and is well"

    # The older item: the suggested redaction is prefilled; edit it, tag it, flag it, review it.
    page.goto(f"{server.url}/console/moderation/{calm}")
    box = page.locator("#redacted_text")
    assert box.input_value() == "My name is [name], phone [phone number]. The carer was late."
    box.fill("My name is [name], phone [phone number]. The [staff] was late.")
    with page.expect_navigation():
        page.click("button:has-text('Save redaction')")
    assert "Redaction saved" in page.locator(".govuk-notification-banner").inner_text()
    assert "Rahima Begum" in page.locator("#original-text").inner_text()  # the original stays
    page.select_option("#service", "home_care")
    page.select_option("#topic", "timekeeping")
    with page.expect_navigation():
        page.click("button:has-text('Save service and topic')")
    page.check("input[name=categories][value=financial]")
    page.fill("#flag_reason", "Mentions a relative holding her bank card")
    with page.expect_navigation():
        page.click("button:has-text('Raise a safeguarding flag')")
    assert page.locator("h1 .govuk-tag--red").count() == 1  # now urgent itself
    assert_accessible(page)
    with page.expect_navigation():
        page.click("button:has-text('Mark as reviewed')")
    assert page.url.endswith("/console/moderation")
    assert f"/console/moderation/{calm}" not in [href for _, href in queue_rows(page)]
    with server.services.database.session() as session:
        reviewed = session.get_one(Feedback, calm)
        assert (
            reviewed.redacted_text
            == "My name is [name], phone [phone number]. The [staff] was late."
        )
        assert (reviewed.service, reviewed.topic) == ("home_care", "timekeeping")
        assert reviewed.reviewed_at is not None
        message = session.scalars(
            select(Message).where(Message.address_id == reviewed.address_id)
        ).one()
        assert message.redacted_body == reviewed.redacted_text and "Rahima" in (message.body or "")

    # The safeguarding page: the hand-raised flag is open; the cleared one shows who and why.
    page.goto(f"{server.url}/console/safeguarding")
    assert page.locator("h1").inner_text() == "Safeguarding"
    assert "Mum was visited today and is well" in page.locator("#resolved").inner_text()
    assert page.locator(".govuk-summary-card .govuk-tag--red").count() >= 1
    assert_accessible(page)


def test_a_form_with_errors_is_accessible_and_says_what_is_wrong(
    page: Page, live_server: LiveServer
) -> None:
    calm = seed(live_server, "The lunch was cold " + "<b>bold</b>", age=timedelta(0), categories=[])
    sign_in(page, live_server, moderator_account(live_server))
    page.goto(f"{live_server.url}/console/moderation/{calm}")
    assert page.locator("#original-text").inner_text() == "The lunch was cold <b>bold</b>"
    with page.expect_navigation():
        page.click("button:has-text('Raise a safeguarding flag')")
    summary = page.locator(".govuk-error-summary")
    assert "Select at least one kind of harm" in summary.inner_text()
    assert_accessible(page)
