"""The impact page, its printable report and draft broadcast, and the home page's honest
count: real requests through the app, bad periods refused with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.services import Services
from storage.models import (
    Address,
    AuditEvent,
    Broadcast,
    Conversation,
    Message,
)
from tests.console import test_access
from tests.console.test_access import sign_in, token
from tests.storage.rows import answered_equality, someone_who_wrote

_quick_hashes = test_access._quick_hashes
app = test_access.app
client = test_access.client


@pytest.fixture
def staff(client: FlaskClient) -> FlaskClient:
    assert sign_in(client, "staff@example.org") == 302
    return client


def someone(services: Services, number: str, *, ethnicity: str | None = None) -> int:
    """A person who wrote today; with `ethnicity`, one who answered the equality questions."""
    now = services.clock()
    with services.database.session() as session:
        address = someone_who_wrote(session, number, "en", now)
        if ethnicity is not None:
            answered_equality(session, address, now, ethnicity)
        return address.id


def test_the_page_shows_counts_never_a_person(staff: FlaskClient, services: Services) -> None:
    for index in range(5):
        someone(services, f"+44770090095{index}", ethnicity="bangladeshi")
    someone(services, "+447700900960", ethnicity="roma")
    page = staff.get("/console/impact")
    assert page.status_code == 200
    text = page.text
    assert '<h1 class="govuk-heading-l">Impact</h1>' in text
    assert "People who took part" in text and text.count("<svg") >= 10
    assert "Bangladeshi</th>" in text
    # The one Roma person is "fewer than 5", never a 1 that names them.
    roma = text[text.index("White: Roma</th>") :][:400]
    assert "fewer than 5" in roma and ">1<" not in roma
    assert "+44770090096" not in text
    assert "No events were held in this period." in text


def test_a_chosen_period_and_the_printable_report(staff: FlaskClient, services: Services) -> None:
    someone(services, "+447700900970")
    page = staff.get("/console/impact?from=2026-11-01&to=2026-11-30")
    assert page.status_code == 200 and "1 November 2026 to 30 November 2026" in page.text
    printable = staff.get("/console/impact/report?from=2026-11-01&to=2026-11-30")
    assert printable.status_code == 200
    assert "Kotha impact report" in printable.text and "report.css" in printable.text
    styles = staff.get("/console/impact/report.css")
    assert styles.mimetype == "text/css" and "@media print" in styles.text
    # A bad period on the report goes back to the page, which says what is wrong.
    bad = staff.get("/console/impact/report?from=2026-13-01&to=2026-11-30")
    assert bad.status_code == 302 and bad.location.startswith("/console/impact?")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-11-31&to=2026-12-01", "The start date must be a real date"),
        ("from=2026-12-01&to=2026-11-01", "The end date must be the same as or after"),
        ("from=2026-12-01&to=", "Enter the end date"),
        ("from=" + "9" * 5000 + "&to=2026-12-01", "The start date must be a real date"),
        ("from=%E0%A7%A8%E0%A7%A6&to=2026-12-01", "The start date must be a real date"),
        ("from=2000-01-01&to=2026-12-01", "at most 36 months"),
        ("from=9999-12-01&to=9999-12-31", "Choose dates between 2000 and 2099"),
    ],
)
def test_a_bad_period_is_refused_with_a_clear_message(
    staff: FlaskClient, query: str, message: str
) -> None:
    page = staff.get(f"/console/impact?{query}")
    assert page.status_code == 400
    assert "There is a problem" in page.text and message in page.text
    assert "9" * 41 not in page.text  # what was typed is shown back, cut short


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=60), st.text(max_size=60))
def test_any_text_as_a_period_gets_a_page(staff: FlaskClient, start: str, end: str) -> None:
    page = staff.get("/console/impact", query_string={"from": start, "to": end})
    assert page.status_code in (200, 400)
    # A NUL is refused by the app's guard for every request (bot/web_guards.py), saying so.
    assert "Impact" in page.text or "NUL character" in page.text


def test_the_draft_broadcast_is_written_not_sent(staff: FlaskClient, services: Services) -> None:
    someone(services, "+447700900980")
    form = {"from": "2026-11-01", "to": "2026-11-30", "csrf_token": token(staff, "/console/impact")}
    made = staff.post("/console/impact/broadcast", data=form)
    assert made.status_code == 302 and made.location.startswith("/console/broadcasts/")
    with services.database.session() as session:
        draft = session.scalars(
            select(Broadcast).where(Broadcast.title.startswith("Impact summary"))
        ).one()
        assert draft.status == "draft" and draft.segment == {"kind": "all"}
        # Our person, and whoever else of the app's records wrote that month.
        wrote = session.scalar(
            select(func.count(func.distinct(Address.contact_id)))
            .join(Message, Message.address_id == Address.id)
            .where(
                Message.direction == "in",
                Message.created_at >= datetime(2026, 11, 1, tzinfo=UTC),
                Message.created_at < datetime(2026, 12, 1, tzinfo=UTC),
            )
        )
        assert wrote is not None and wrote >= 1
        assert draft.texts["en"] == (
            f"From 1 November 2026 to 30 November 2026, {wrote} people had their say and we "
            "made 0 changes you asked for. Thank you."
        )
        assert set(draft.texts) >= {"en", "bn", "syl", "syl-Latn"}
        assert "১ নভেম্বর ২০২৬" in draft.texts["bn"]
        sent = select(func.count()).where(Message.broadcast_id == draft.id)
        assert session.scalar(sent) == 0
        assert "broadcast.drafted" in session.scalars(select(AuditEvent.action)).all()


def test_a_draft_without_a_period_or_a_token_is_refused(
    staff: FlaskClient, services: Services
) -> None:
    empty = staff.post("/console/impact/broadcast", data={"csrf_token": token(staff, "/console/")})
    assert empty.status_code == 400 and "Enter the start date" in empty.text
    forged = staff.post(
        "/console/impact/broadcast", data={"from": "2026-11-01", "to": "2026-11-30"}
    )
    assert forged.status_code == 400
    with services.database.session() as session:
        drafted = select(func.count()).where(Broadcast.title.startswith("Impact summary"))
        assert session.scalar(drafted) == 0


def test_moderators_cannot_see_it(client: FlaskClient) -> None:
    assert sign_in(client, "moderator@example.org") == 302
    assert client.get("/console/impact").status_code == 403
    home = client.get("/console/")
    assert home.status_code == 200 and "/console/impact" not in home.text


def in_progress(client: FlaskClient) -> int:
    home = client.get("/console/")
    assert home.status_code == 200
    assert "People who wrote to us, each of the last 14 days" in home.text
    assert "In progress: half-way through a question, with a message in the last 72 hours" in (
        home.text
    )
    return test_access.waiting(home.text, "Conversations in progress")


def test_the_home_page_counts_only_conversations_in_progress(
    staff: FlaskClient, services: Services
) -> None:
    before = in_progress(staff)
    now = services.clock()
    numbers = ("+447700900991", "+447700900992", "+447700900993")
    ids = [someone(services, number) for number in numbers]
    with services.database.session() as session:
        for address_id, (flow, node, updated) in zip(
            ids,
            (
                ("complaint", "service", now - timedelta(hours=1)),  # half-way: in progress
                ("menu", "main", now - timedelta(hours=1)),  # at rest
                ("complaint", "service", now - timedelta(days=4)),  # left past the expiry (72 h)
            ),
            strict=True,
        ):
            session.add(
                Conversation(
                    address_id=address_id,
                    flow=flow,
                    node=node,
                    answers={},
                    version=1,
                    started_at=updated,
                    updated_at=updated,
                )
            )
    assert in_progress(staff) == before + 1
