"""The cases pages through the real app: order, filters, one case, changes, outcomes, the CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework.cases import STATUS_TEXT, complaint_deadlines
from bot.services import Services
from console import cases as console_cases
from storage.models import Address, AuditEvent, CaseEvent, Contact, Feedback, Message
from storage.records import create_feedback
from tests.conftest import FrozenClock
from tests.console import test_access as access
from tests.console.sending import NOT_SENT, post_seen, previewed
from tests.console.test_access import EXAMPLE_REFERENCE, SCRIPT, sign_in, token

# The access tests' fixtures: quick password hashes, and the app with an account per role.
_quick_hashes = access._quick_hashes
app = access.app
client = access.client

PERSON = "+447700900200"
REFERENCES = re.compile(r'href="/console/cases/([A-Z]-\d{6})"')


def add(
    services: Services,
    reference: str,
    created: datetime,
    kind: str = "complaint",
    **fields: object,
) -> None:
    """A feedback record with its statutory clock, as the runner writes one at `created`."""
    with services.database.session() as session:
        address = session.scalar(select(Address).where(Address.address == PERSON))
        if address is None:
            address = Address(
                contact=Contact(language="bn", created_at=created),
                channel="sms",
                address=PERSON,
                created_at=created,
            )
            session.add(address)
            session.flush()
        deadlines = complaint_deadlines(created, ZoneInfo("Europe/London"), 20)
        ack, respond = deadlines if kind == "complaint" else (None, None)
        feedback = create_feedback(
            session, address, "bn", kind, {"text": "Late again"}, True, created, ack, respond
        )
        feedback.reference = reference
        for name, value in fields.items():
            setattr(feedback, name, value)


def listed(client: FlaskClient, query: str = "") -> list[str]:
    page = client.get(f"/console/cases{query}")
    assert page.status_code == 200
    return REFERENCES.findall(page.text)


def test_overdue_first_then_due_soon_then_newest(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    # Today is Wednesday 18 November 2026.
    today = clock.now
    add(services, "C-200001", today - timedelta(days=40))  # both overdue (14 Oct, 6 Nov)
    add(services, "C-200002", today - timedelta(days=7))  # acknowledgement overdue (16 Nov)
    add(services, "C-200003", today - timedelta(days=2))  # acknowledge by Friday: due soon
    add(services, "C-200004", today - timedelta(days=3), acknowledged_at=today)  # not due yet
    add(  # decided: the clock has stopped
        services,
        "C-200005",
        today - timedelta(days=40),
        acknowledged_at=today - timedelta(days=39),
        decided_at=today,
    )
    add(services, "M-200006", today - timedelta(hours=1), kind="comment")  # newest, no clock
    assert sign_in(client, "staff@example.org") == 302

    order = listed(client)

    assert order[:3] == ["C-200001", "C-200002", "C-200003"]
    # The rest newest first (the example complaint from the fixture was made just now).
    assert order[3:] == [EXAMPLE_REFERENCE, "M-200006", "C-200004", "C-200005"]
    page = client.get("/console/cases").text
    assert len(re.findall(r"govuk-tag--red\">\s*Overdue", page)) == 3
    assert len(re.findall(r"govuk-tag--yellow\">\s*Due soon", page)) == 1
    assert "Acknowledge by 14 Oct 2026" in page and "Respond by 6 Nov 2026" in page
    assert "Acknowledge by 19 Nov 2026" in page


def test_filters_and_pages(client: FlaskClient, services: Services, clock: FrozenClock) -> None:
    for number in range(55):
        add(
            services,
            f"C-3{number:05d}",
            clock.now - timedelta(minutes=number),
            service="home_care" if number % 2 else "day_centre",
        )
    add(services, "P-399999", clock.now, kind="compliment", status="closed")
    assert sign_in(client, "admin@example.org") == 302

    assert len(listed(client)) == 50
    second = client.get("/console/cases?page=2").text
    assert len(REFERENCES.findall(second)) == 7 and "govuk-pagination__prev" in second
    assert listed(client, "?kind=compliment") == ["P-399999"]
    assert listed(client, "?status=closed") == ["P-399999"]
    home_care = listed(client, "?service=home_care&page=1")
    assert len(home_care) == 27 and all(int(ref[-1]) % 2 for ref in home_care)
    # Unknown filter values are ignored rather than failing.
    assert len(listed(client, "?kind=%3Cscript%3E&status=nope")) == 50


def test_staff_read_the_redacted_words_and_admins_the_original_too(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(
        services,
        "C-400001",
        clock.now,
        text=f"Call me on 07700 900123 {SCRIPT}",
        redacted_text=f"Call me on [phone number] {SCRIPT}",
    )
    assert sign_in(client, "staff@example.org") == 302
    staff_page = client.get("/console/cases/C-400001").text
    assert "Call me on [phone number]" in staff_page
    assert "07700 900123" not in staff_page
    assert SCRIPT not in staff_page and "&lt;script&gt;alert(1)&lt;/script&gt;" in staff_page

    admin = client.application.test_client()
    assert sign_in(admin, "admin@example.org") == 302
    admin_page = admin.get("/console/cases/C-400001").text
    assert "Call me on [phone number]" in admin_page and "07700 900123" in admin_page
    assert SCRIPT not in admin_page

    assert client.get("/console/cases/C-999999").status_code == 404
    with services.database.session() as session:
        viewed = session.scalars(
            select(AuditEvent.target_id).where(AuditEvent.action == "case.viewed")
        ).all()
    assert viewed == ["C-400001", "C-400001"]


def test_a_hidden_persons_case_stays_listed_without_their_conversation(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-400002", clock.now)
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == PERSON)).one()
        address.contact.hidden_at, address.contact.hidden_reason = clock.now, "Abusive"
        address_id = address.id
    conversation = f'href="/console/conversations/{address_id}"'
    assert sign_in(client, "staff@example.org") == 302
    assert "C-400002" in listed(client)  # the complaint is still answered on time
    staff_page = client.get("/console/cases/C-400002").text
    assert "Hidden by a moderator" in staff_page and conversation not in staff_page
    assert client.get(f"/console/conversations/{address_id}").status_code == 404

    admin = client.application.test_client()
    assert sign_in(admin, "admin@example.org") == 302
    admin_page = admin.get("/console/cases/C-400002").text
    assert conversation in admin_page and "Hidden by a moderator" not in admin_page


def test_changing_the_status_tells_the_person_and_is_audited(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-500001", clock.now)
    assert sign_in(client, "staff@example.org") == 302
    form = {
        "status": "acknowledged",
        "tell": "yes",
        "note": "",
        "csrf_token": token(client, "/console/"),
    }

    url = "/console/cases/C-500001/status"
    # The first submit shows the message as the person will read it, and what it costs.
    shown = client.post(url, data=form)
    assert shown.status_code == 200 and NOT_SENT in shown.text
    assert services.i18n.gettext("bn", STATUS_TEXT["acknowledged"]) in shown.text
    assert re.search(r"1 text message \(UCS-2\), £0\.\d\d", shown.text)
    assert services.sender.sent == []  # type: ignore[attr-defined]

    changed = client.post(url, data={**form, "previewed": previewed(shown.text)})

    assert (changed.status_code, changed.location) == (302, "/console/cases/C-500001")
    page = client.get("/console/cases/C-500001").text
    assert "Status changed to acknowledged. The message to the person is delivered." in page
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert (sent.channel, sent.address) == ("sms", PERSON)
    assert services.i18n.gettext("bn", STATUS_TEXT["acknowledged"]) in sent.text
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.reference == "C-500001")).one()
        assert feedback.status == "acknowledged" and feedback.acknowledged_at == clock.now
        event = session.scalars(select(CaseEvent)).one()
        assert event.user_id is not None and event.message_id is not None
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.status_changed")
        ).one()
        assert (audit.user_id, audit.target_id) == (event.user_id, "C-500001")
        assert audit.detail == {"from": "received", "to": "acknowledged", "told": True}
    assert "staff@example.org" in page and "Received to Acknowledged" in page


def test_a_correction_without_a_reason_is_refused_with_the_form_kept(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-600001", clock.now, status="resolved", decided_at=clock.now)
    assert sign_in(client, "staff@example.org") == 302
    before = len(services.sender.sent)  # type: ignore[attr-defined]

    refused = client.post(
        "/console/cases/C-600001/status",
        data={"status": "in_progress", "tell": "yes", "csrf_token": token(client, "/console/")},
    )

    assert refused.status_code == 400
    assert "There is a problem" in refused.text and 'href="#note"' in refused.text
    assert "give a note saying why" in refused.text
    assert re.search(r'value="in_progress"\s+checked', refused.text)
    nothing = client.post(
        "/console/cases/C-600001/status", data={"csrf_token": token(client, "/console/")}
    )
    assert nothing.status_code == 400 and "Choose the new status" in nothing.text
    assert len(services.sender.sent) == before  # type: ignore[attr-defined]

    reopened = client.post(
        "/console/cases/C-600001/status",
        data={
            "status": "in_progress",
            "note": "New evidence",
            "csrf_token": token(client, "/console/"),
        },
    )
    assert reopened.status_code == 302
    assert len(services.sender.sent) == before  # type: ignore[attr-defined]  # not told
    with services.database.session() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.status_changed")
        ).one()
        assert audit.reason == "New evidence" and audit.detail is not None
        assert audit.detail["told"] is False


def test_recording_an_outcome(client: FlaskClient, services: Services, clock: FrozenClock) -> None:
    add(services, "C-700001", clock.now, status="resolved", decided_at=clock.now)
    assert sign_in(client, "admin@example.org") == 302
    missing = client.post(
        "/console/cases/C-700001/outcome",
        data={"outcome": "change_made", "change": " ", "csrf_token": token(client, "/console/")},
    )
    assert missing.status_code == 400 and "Say what the change is" in missing.text

    recorded = post_seen(
        client,
        "/console/cases/C-700001/outcome",
        {
            "outcome": "change_made",
            # The person reads Bengali: the change is written in Bengali for them.
            "change": "কেয়ারাররা এখন আগে ফোন করেন।",
            "tell_outcome": "yes",
            "csrf_token": token(client, "/console/"),
        },
    )

    assert recorded.status_code == 302
    page = client.get("/console/cases/C-700001").text
    assert "Outcome recorded: change made." in page
    assert "Change made: কেয়ারাররা এখন আগে ফোন করেন।" in page
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert sent.text.endswith("কেয়ারাররা এখন আগে ফোন করেন।")
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.reference == "C-700001")).one()
        assert (feedback.outcome, feedback.outcome_change) == (
            "change_made",
            "কেয়ারাররা এখন আগে ফোন করেন।",
        )
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.outcome_recorded")
        ).one()
        assert (audit.target_id, audit.reason) == ("C-700001", "কেয়ারাররা এখন আগে ফোন করেন।")
        assert audit.detail == {"outcome": "change_made", "told": True}
        told = session.scalars(select(Message).where(Message.feedback_id == feedback.id)).one()
        assert told.status == "delivered"


def test_the_csv_has_every_deadline_and_time_and_defuses_formulas(
    client: FlaskClient, services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_cases, "CSV_BATCH", 1)  # each case read in a batch of its own
    start = datetime(2026, 11, 2, 10, tzinfo=UTC)  # a Monday: acknowledge by Thursday 5th
    add(
        services,
        "C-800001",
        start,
        status="closed",
        acknowledged_at=start + timedelta(days=1),
        decided_at=start + timedelta(days=40),
        closed_at=start + timedelta(days=41),
        outcome="change_planned",
        outcome_change='=HYPERLINK("http://evil.example","x")',
        service="home_care",
    )
    add(services, "P-800002", start, kind="compliment", outcome_change="@SUM(A1)")
    assert sign_in(client, "staff@example.org") == 302

    response = client.get("/console/cases.csv?kind=complaint")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [row["reference"] for row in rows] == [EXAMPLE_REFERENCE, "C-800001"]
    row = rows[1]
    assert row["acknowledge_by"] == "2026-11-05"
    assert row["respond_by"] == "2026-11-30"
    assert row["acknowledged_at"] == "2026-11-03T10:00:00+00:00"
    assert row["decided_at"] == "2026-12-12T10:00:00+00:00"
    assert row["closed_at"] == "2026-12-13T10:00:00+00:00"
    assert (row["acknowledged_in_time"], row["responded_in_time"]) == ("yes", "no")
    assert row["outcome"] == "change_planned"
    assert row["outcome_change"] == '\'=HYPERLINK("http://evil.example","x")'
    assert "text" not in row and "Late again" not in response.text
    everything = client.get("/console/cases.csv").text
    assert "'@SUM(A1)" in everything
    empty = client.get("/console/cases.csv?status=not_upheld").text
    assert empty.splitlines() == [response.text.splitlines()[0]]


def test_the_csv_is_written_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_cases, "CSV_CHUNK", 20)
    rows = [{"reference": f"C-{n}", "note": "-1" if n == 2 else "ok"} for n in range(5)]
    pieces = list(console_cases.csv_chunks(rows, ["reference", "note"]))
    assert len(pieces) >= 3
    assert "".join(pieces).splitlines() == [
        "reference,note",
        "C-0,ok",
        "C-1,ok",
        "C-2,'-1",
        "C-3,ok",
        "C-4,ok",
    ]
