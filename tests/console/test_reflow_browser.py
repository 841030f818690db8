"""Every console and public page at 320 CSS pixels wide: nothing makes the page scroll
sideways (WCAG 2.2, 1.4.10 Reflow). A wide table may scroll inside its own frame, which a
keyboard can reach; words are not broken in the middle where they fit a line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach import opportunities
from bot.outreach.consultations import EventDetails, create_event
from storage.models import (
    Address,
    Broadcast,
    Contact,
    Feedback,
    Message,
    Opportunity,
    SafeguardingFlag,
    YouSaidItem,
)
from storage.records import create_feedback, create_interest
from tests.console.conftest import LiveServer
from tests.console.test_calendar_browser import PASSWORD

pytestmark = pytest.mark.browser

ADMIN = "reflow-admin@example.org"
WIDTH = 320
LONG_WORD = "https://example.org/a-very-long-address-with-no-spaces-at-all/" + "x" * 40


@pytest.fixture(scope="module")
def paths(live_server: LiveServer) -> list[str]:
    """An admin, and one of everything a page shows, written long; every page's path."""
    now = datetime.now(UTC)
    with live_server.services.database.session() as session:
        create_user(session, ADMIN, "admin", PASSWORD, now=now)
        address = Address(
            contact=Contact(language="bn", created_at=now),
            channel="whatsapp",
            address="+447700900321",
            created_at=now,
            last_inbound_at=now,
        )
        session.add(address)
        session.flush()
        feedback = create_feedback(
            session,
            address,
            "bn",
            "complaint",
            {"text": f"কেয়ারার দেরিতে এসেছে {LONG_WORD}", "service": "home_care"},
            True,
            now,
            None,
        )
        session.flush()
        for direction, body in (("in", f"The carer was late again {LONG_WORD}"), ("out", "OK")):
            session.add(
                Message(
                    address_id=address.id,
                    channel="whatsapp",
                    direction=direction,
                    body=body,
                    status="processed" if direction == "in" else "delivered",
                    feedback_id=feedback.id,
                    created_at=now,
                )
            )
        session.add(
            SafeguardingFlag(
                contact_id=address.contact_id,
                feedback_id=feedback.id,
                categories=["neglect"],
                source="automatic",
                raised_at=now,
                status="open",
            )
        )
        start = (now + timedelta(days=12)).replace(hour=10, minute=0, second=0, microsecond=0)
        event = create_event(
            session,
            EventDetails(
                titles={"en": "Carers forum about respite and day centres", "bn": "কেয়ারার ফোরাম"},
                start_at=start,
                end_at=start + timedelta(hours=2),
                place=f"Town Hall, Mulberry Place, 5 Clove Crescent {LONG_WORD}",
                step_free=True,
                interpreters=["bsl", "bn"],
                descriptions={"en": f"Tea and a talk {LONG_WORD}"},
            ),
            None,
            now,
        )
        broadcast = Broadcast(
            title="Winter fuel payments and warm spaces",
            texts={"en": f"Warm spaces are open {LONG_WORD}"},
            segment={"kind": "all"},
            status="draft",
            fanout_after=0,
            recipients=0,
            created_at=now,
        )
        item = YouSaidItem(
            theme="Transport to the day centre",
            texts={"en": {"said": f"Late {LONG_WORD}", "did": "A second minibus runs."}},
            change="change_made",
            quote=f"It was always late {LONG_WORD}",
            status="published",
            published_at=now,
            created_at=now,
        )
        session.add(broadcast)
        session.flush()
        item.broadcast_id = broadcast.id  # published items went out as a broadcast
        session.add(item)
        session.flush()
        reference = feedback.reference
        feedback_id = session.scalars(select(Feedback.id).where(Feedback.id == feedback.id)).one()
        # The ways to take part (the session's live server may have them already), and the
        # person's interest in one.
        opportunities.seed(session, now)
        interest = create_interest(
            session, address, "bn", {"opportunity": "carers_forum", "contact_how": "phone"}, now
        )
        session.flush()
        opportunity_id = session.scalars(
            select(Opportunity.id).where(Opportunity.key == "carers_forum")
        ).one()
        ids = {
            "address": address.id,
            "event": event.id,
            "broadcast": broadcast.id,
            "item": item.id,
        }
    console = [
        "/console/",
        "/console/conversations",
        f"/console/conversations/{ids['address']}",
        f"/console/conversations/{ids['address']}/person",
        f"/console/conversations/{ids['address']}/erase",
        "/console/cases",
        f"/console/cases/{reference}",
        "/console/calendar",
        f"/console/calendar/events/{ids['event']}",
        "/console/calendar/events/new",
        f"/console/calendar/events/{ids['event']}/edit",
        "/console/moderation",
        f"/console/moderation/{feedback_id}",
        "/console/safeguarding",
        "/console/safeguarding/detector",
        "/console/broadcasts",
        "/console/broadcasts/new",
        f"/console/broadcasts/{ids['broadcast']}",
        "/console/you-said",
        "/console/you-said/new",
        f"/console/you-said/{ids['item']}",
        "/console/you-said/quotes",
        "/console/impact",
        "/console/impact/report",
        "/console/audit",
        "/console/users",
        "/console/involvement",
        f"/console/involvement/{interest.id}",
        "/console/opportunities",
        "/console/opportunities/new",
        f"/console/opportunities/{opportunity_id}/edit",
        "/console/no-such-page",
    ]
    public = [
        f"{path}?lang={language}"
        for path in ("/events", "/you-said-we-did", "/privacy")
        for language in ("en", "bn", "syl-Sylo")
    ] + ["/simulator?channel=whatsapp&lang=bn"]
    return console + public


@pytest.fixture
def narrow(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": WIDTH, "height": 640}, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def sideways(page: Page) -> list[str]:
    """What sticks out past the viewport's right edge, outside frames that scroll."""
    found: list[str] = page.evaluate(
        """(width) => {
          const out = [];
          if (document.documentElement.scrollWidth > width) {
            out.push(`page is ${document.documentElement.scrollWidth}px wide`);
          }
          for (const el of document.body.querySelectorAll("*")) {
            let scroller = el.parentElement, inFrame = false;
            // The page itself (GOV.UK's html scrolls vertically, so computes overflow-x
            // auto) is not a frame of its own.
            for (; scroller && scroller !== document.body; scroller = scroller.parentElement) {
              const style = getComputedStyle(scroller);
              if (["auto", "scroll"].includes(style.overflowX)) { inFrame = true; break; }
            }
            const box = el.getBoundingClientRect();
            if (!inFrame && box.width > 0 && box.right > width + 1) {
              out.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${box.right}`);
            }
          }
          return out.slice(0, 4);
        }""",
        WIDTH,
    )
    return found


def frames_not_focusable(page: Page) -> list[str]:
    """Frames that scroll but that a keyboard cannot reach to scroll them."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("*")]
          .filter(el => el !== document.documentElement && el !== document.body
                        && ["auto", "scroll"].includes(getComputedStyle(el).overflowX)
                        && el.scrollWidth > el.clientWidth
                        && el.tabIndex < 0
                        && !el.querySelector("a, button, input, select, textarea"))
          .map(el => `${el.tagName.toLowerCase()}.${el.className}`)"""
    )
    return found


def words_broken(page: Page) -> list[str]:
    """Words that would fit a line but are broken across two ("Decemb" / "er")."""
    found: list[str] = page.evaluate(
        r"""() => {
          const out = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.parentElement || !node.parentElement.offsetParent) continue;
            // Whole words of letters only (a web address may break anywhere: it must).
            for (const match of node.data.matchAll(/(?<!\S)[\p{L}\p{M}]{2,14}[.,:;]?(?!\S)/gu)) {
              const range = document.createRange();
              range.setStart(node, match.index);
              range.setEnd(node, match.index + match[0].length);
              const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              if (lines.size > 1) {
                const where = node.parentElement.closest("td, th, dd, dt, p, li, h1, h2, label");
                const name = where ? `${where.tagName.toLowerCase()}.${where.className}` : "?";
                out.push(`${match[0]} in ${name}`);
              }
            }
          }
          return out.slice(0, 5);
        }"""
    )
    return found


def test_every_page_reflows_at_320_pixels(
    narrow: Page, live_server: LiveServer, paths: list[str]
) -> None:
    problems = {}
    narrow.goto(f"{live_server.url}/console/login")  # before signing in, where it shows
    found = sideways(narrow) + words_broken(narrow)
    if found:
        problems["/console/login"] = found
    narrow.fill("#email", ADMIN)
    narrow.fill("#password", PASSWORD)
    with narrow.expect_navigation():
        narrow.keyboard.press("Enter")
    for path in paths:
        response = narrow.goto(f"{live_server.url}{path}")
        assert response is not None and response.status in (200, 404), path
        found = sideways(narrow) + frames_not_focusable(narrow) + words_broken(narrow)
        if found:
            problems[path] = found
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())
