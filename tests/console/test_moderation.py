"""The moderation queue, review, redaction, tags, hiding and safeguarding flags over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework import accounts
from bot.casework.accounts import create_user
from bot.services import Services
from console import detector
from flows.understanding import Understanding
from kotha import create_app
from storage.models import (
    Address,
    AuditEvent,
    Contact,
    Feedback,
    Message,
    SafeguardingFlag,
    User,
)
from storage.records import create_feedback
from tests.conftest import Bot, FrozenClock

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SCRIPT = "<script>alert(1)</script>"
WORDS = "My name is Rahima Begum, call 07700 900123. The carer came late " + SCRIPT


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", quick)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", quick.hash("not a password anyone has"))


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff", "moderator"):
            create_user(
                session,
                f"{role}@example.org",
                role,
                PASSWORD,
                now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
            )
    return create_app(services=services)


def sign_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    form = {"email": f"{role}@example.org", "password": PASSWORD, "csrf_token": token(client)}
    assert client.post("/console/login", data=form).status_code == 302
    return client


def token(client: FlaskClient, path: str = "/console/login") -> str:
    found = TOKEN.search(client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def moderator(app: Flask) -> FlaskClient:
    return sign_in(app, "moderator")


def person(services: Services, number: str, language: str = "en") -> int:
    """Store a person with an SMS address; return the address id."""
    now = services.clock()
    with services.database.session() as session:
        address = Address(
            contact=Contact(language=language, created_at=now),
            channel="sms",
            address=number,
            created_at=now,
        )
        session.add(address)
        session.flush()
        return address.id


def feedback(
    services: Services, address_id: int, text: str | None, outcome: str | None = None
) -> int:
    """Store a complaint with these words, and the inbound messages that carried them."""
    now = services.clock()
    with services.database.session() as session:
        address = session.get_one(Address, address_id)
        for body in filter(None, (text, outcome)):
            session.add(
                Message(
                    address_id=address_id,
                    channel="sms",
                    direction="in",
                    body=body,
                    status="processed",
                    created_at=now,
                )
            )
        answers = {"text": text, "desired_outcome": outcome, "service": "home_care"}
        record = create_feedback(session, address, "en", "complaint", answers, True, now, None)
        session.flush()
        return record.id


def flag(services: Services, address_id: int, categories: list[str]) -> int:
    now = services.clock()
    with services.database.session() as session:
        address = session.get_one(Address, address_id)
        raised = SafeguardingFlag(
            contact_id=address.contact_id,
            categories=categories,
            source="automatic",
            raised_at=now,
            status="open",
        )
        session.add(raised)
        session.flush()
        return raised.id


def post(client: FlaskClient, path: str, **form: str | list[str]) -> tuple[int, str]:
    data: dict[str, str | list[str]] = {"csrf_token": token(client, "/console/"), **form}
    response = client.post(path, data=data)
    return response.status_code, response.text


def audit(services: Services) -> list[tuple[str, str | None, str | None]]:
    with services.database.session() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.target_id, e.reason) for e in events if e.action != "login.succeeded"]


def test_the_queue_puts_urgent_first_then_the_oldest(
    services: Services, moderator: FlaskClient, clock: FrozenClock
) -> None:
    first = person(services, "+447700900001")
    old = feedback(services, first, "The day centre closed early")
    clock.advance(timedelta(hours=1))
    second = person(services, "+447700900002")
    worrying = feedback(services, second, "Nobody came and mum was left on the floor")
    flag(services, second, ["neglect"])
    clock.advance(timedelta(hours=1))
    third = person(services, "+447700900003")
    loose = flag(services, third, ["self_harm"])  # a message outside any feedback
    fourth = person(services, "+447700900004")
    feedback(services, fourth, None)  # no free text: nothing to review
    done = feedback(services, fourth, "Already reviewed")
    with services.database.session() as session:
        session.get_one(Feedback, done).reviewed_at = clock.now

    page = moderator.get("/console/moderation")
    assert page.status_code == 200
    start = page.text.index('id="queue"')
    table = page.text[start : page.text.index("</table>", start)]
    positions = [
        table.index(f"/console/moderation/{worrying}"),
        table.index(f"/console/safeguarding#flag-{loose}"),
        table.index(f"/console/moderation/{old}"),
    ]
    assert positions == sorted(positions)
    assert table.count("govuk-tag--red") == 2 and "2 urgent" in page.text
    assert "Safeguarding: Neglect or missed care" in table
    assert "Safeguarding: Self-harm or suicide" in table
    assert "Already reviewed" not in table


def test_the_review_page_escapes_the_words_and_suggests_redactions(
    services: Services, moderator: FlaskClient
) -> None:
    record = feedback(services, person(services, "+447700900001"), WORDS, "Say sorry " + SCRIPT)
    page = moderator.get(f"/console/moderation/{record}")
    assert page.status_code == 200
    assert SCRIPT not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    suggested = "My name is [name], call [phone number]. The carer came late"
    assert f">{suggested} &lt;script&gt;" in page.text  # prefilled in the textarea
    assert "Rahima Begum" in page.text  # the original, for moderators
    with services.database.session() as session:
        reference = session.get_one(Feedback, record).reference
    assert audit(services) == [("moderation.viewed", reference, None)]
    assert moderator.get("/console/moderation/999").status_code == 404


def test_saving_a_redaction_keeps_the_original(services: Services, moderator: FlaskClient) -> None:
    address = person(services, "+447700900001")
    record = feedback(services, address, WORDS, "Call Rahima")
    redacted = "My name is [name], call [phone number]. The carer came late"
    status, _ = post(
        moderator,
        f"/console/moderation/{record}/redaction",
        redacted_text=redacted,
        redacted_desired_outcome="Call [name]",
    )
    assert status == 302
    with services.database.session() as session:
        saved = session.get_one(Feedback, record)
        assert (saved.text, saved.redacted_text) == (WORDS, redacted)
        assert saved.redacted_desired_outcome == "Call [name]"
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        assert [(m.body, m.redacted_body) for m in messages] == [
            (WORDS, redacted),
            ("Call Rahima", "Call [name]"),
        ]
        ids = [m.id for m in messages]
    [event] = [e for e in audit(services) if e[0] == "moderation.redacted"]
    assert event[1] == saved.reference
    with services.database.session() as session:
        detail = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "moderation.redacted")
        ).one()
    assert detail == {"messages": ids}
    # Saved once, the page shows the saved redaction rather than a new suggestion.
    assert "Call [name]</textarea>" in moderator.get(f"/console/moderation/{record}").text
    status, text = post(moderator, f"/console/moderation/{record}/redaction", redacted_text=" ")
    assert status == 400 and "Enter the text with personal details removed" in text


def test_tagging_the_service_and_topic(services: Services, moderator: FlaskClient) -> None:
    record = feedback(services, person(services, "+447700900001"), "Late again")
    status, _ = post(
        moderator, f"/console/moderation/{record}/tags", service="day_centre", topic="timekeeping"
    )
    assert status == 302
    with services.database.session() as session:
        saved = session.get_one(Feedback, record)
        assert (saved.service, saved.topic) == ("day_centre", "timekeeping")
    page = moderator.get(f"/console/moderation/{record}").text
    assert "Carers late or missed visits" in page and "Day centre" in page
    status, text = post(moderator, f"/console/moderation/{record}/tags", service="x", topic="y")
    assert status == 400
    assert "Select a service from the list" in text and "Select a topic from the list" in text


def test_marking_reviewed_takes_it_out_of_the_queue(
    services: Services, moderator: FlaskClient
) -> None:
    record = feedback(services, person(services, "+447700900001"), "Late again")
    assert f"/console/moderation/{record}" in moderator.get("/console/moderation").text
    status, _ = post(moderator, f"/console/moderation/{record}/reviewed")
    assert status == 302
    assert f"/console/moderation/{record}" not in moderator.get("/console/moderation").text
    with services.database.session() as session:
        saved = session.get_one(Feedback, record)
        user = session.scalars(select(User).where(User.email == "moderator@example.org")).one()
        assert saved.reviewed_at is not None and saved.reviewed_by == user.id


def test_hiding_a_contact_needs_a_reason_and_can_be_undone(
    services: Services, moderator: FlaskClient
) -> None:
    address = person(services, "+447700900001")
    record = feedback(services, address, "You are all useless idiots")
    status, text = post(moderator, f"/console/moderation/{record}/hide", hide_reason="")
    assert status == 400 and "Enter why you are doing this" in text
    status, _ = post(moderator, f"/console/moderation/{record}/hide", hide_reason="Abusive")
    assert status == 302
    with services.database.session() as session:
        contact = session.get_one(Address, address).contact
        assert (contact.hidden_reason, contact.hidden_at is not None) == ("Abusive", True)
        contact_id = contact.id
    assert "Contact hidden" in moderator.get("/console/moderation").text
    status, _ = post(moderator, f"/console/moderation/{record}/hide", hide_reason="Apologised")
    with services.database.session() as session:
        contact = session.get_one(Contact, contact_id)
        assert contact.hidden_at is None and contact.hidden_reason is None
    hides = [e for e in audit(services) if e[0].startswith("contact.")]
    assert hides == [
        ("contact.hidden", str(contact_id), "Abusive"),
        ("contact.unhidden", str(contact_id), "Apologised"),
    ]


def test_raising_a_flag_by_hand(services: Services, moderator: FlaskClient) -> None:
    address = person(services, "+447700900001")
    record = feedback(services, address, "My son keeps my bank card")
    status, text = post(moderator, f"/console/moderation/{record}/flag", flag_reason="")
    assert status == 400
    assert "Select at least one kind of harm" in text and "Enter why you are raising" in text
    status, _ = post(
        moderator,
        f"/console/moderation/{record}/flag",
        categories=["financial", "abuse", "nonsense"],
        flag_reason="Financial abuse by a relative",
    )
    assert status == 302
    with services.database.session() as session:
        raised = session.scalars(select(SafeguardingFlag)).one()
        moderator_id = session.scalars(
            select(User.id).where(User.email == "moderator@example.org")
        ).one()
    assert raised.categories == ["abuse", "financial"]
    assert (raised.source, raised.raised_by, raised.feedback_id) == (
        "moderator",
        moderator_id,
        record,
    )
    assert raised.alerted_at is None  # a moderator raised it: they are already on it
    assert ("safeguarding.raised", str(raised.id), "Financial abuse by a relative") in audit(
        services
    )
    queue = moderator.get("/console/moderation").text
    assert "Urgent" in queue
    assert "Safeguarding: Abuse by a carer, staff or family, Financial abuse" in queue


def test_clearing_a_flag_needs_a_reason_and_is_shown_with_who_and_why(
    services: Services, moderator: FlaskClient
) -> None:
    address = person(services, "+447700900001")
    record = feedback(services, address, "Killing time is hard")
    raised = flag(services, address, ["self_harm"])
    status, text = post(moderator, f"/console/safeguarding/{raised}", decision="cleared")
    assert status == 400 and "Enter the reason for your decision" in text
    status, text = post(moderator, f"/console/safeguarding/{raised}", **{f"reason-{raised}": "x"})
    assert status == 400 and "Select whether to clear, confirm or escalate" in text
    status, _ = post(
        moderator,
        f"/console/safeguarding/{raised}",
        decision="cleared",
        back=str(record),
        **{f"reason-{raised}": "Talks about being bored " + SCRIPT},
    )
    assert status == 302
    with services.database.session() as session:
        cleared = session.get_one(SafeguardingFlag, raised)
        assert cleared.status == "cleared" and cleared.resolved_at is not None
        assert cleared.correct is False  # the detector was wrong: its record says so
        assert cleared.resolution_note == "Talks about being bored " + SCRIPT
    page = moderator.get("/console/safeguarding").text
    assert "There are no open safeguarding flags" in page
    assert "Cleared as a false positive" in page and "moderator@example.org" in page
    assert SCRIPT not in page and "Talks about being bored &lt;script&gt;" in page
    # Someone else deciding at the same moment is told, not silently overruled.
    status, text = post(
        moderator,
        f"/console/safeguarding/{raised}",
        decision="escalated",
        **{f"reason-{raised}": "Called the MASH"},
    )
    assert status == 400 and "already resolved" in text
    assert (
        moderator.post(
            "/console/safeguarding/999", data={"csrf_token": token(moderator, "/console/")}
        ).status_code
        == 404
    )


def test_escalating_from_the_safeguarding_page(
    services: Services, moderator: FlaskClient, bot: Bot
) -> None:
    bot.receive("+447700900001", "My carer hits me")
    with services.database.session() as session:
        raised = session.scalars(select(SafeguardingFlag)).one()
    page = moderator.get("/console/safeguarding").text
    assert "Open flags (1)" in page and "My carer hits me" in page
    assert "Abuse by a carer" in page
    with services.database.session() as session:
        address_id = session.get_one(Message, raised.message_id).address_id
    assert f'href="/console/conversations/{address_id}"' in page
    status, _ = post(
        moderator,
        f"/console/safeguarding/{raised.id}",
        decision="escalated",
        **{f"reason-{raised.id}": "Referred to adult safeguarding team"},
    )
    assert status == 302
    page = moderator.get("/console/safeguarding").text
    assert "Escalated" in page and "Referred to adult safeguarding team" in page
    assert ("safeguarding.escalated", str(raised.id), "Referred to adult safeguarding team") in (
        audit(services)
    )


def test_staff_cannot_see_the_queue_or_originals(app: Flask, services: Services) -> None:
    record = feedback(services, person(services, "+447700900001"), WORDS)
    staff = sign_in(app, "staff")
    for path in ("/console/moderation", f"/console/moderation/{record}", "/console/safeguarding"):
        assert staff.get(path).status_code == 403, path
    status, _ = post(staff, f"/console/moderation/{record}/reviewed")
    assert status == 403
    home = staff.get("/console/").text
    assert "/console/moderation" not in home


def test_moderators_teach_the_detector(
    services: Services, moderator: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A flag the detector raised, confirmed right; another cleared as wrong.
    for text, decision in (("My carer hits me", "confirmed"), ("Killing time", "cleared")):
        address = person(services, f"+44770090{len(text):04d}")
        raised = flag(services, address, ["abuse"])
        status, _ = post(
            moderator,
            f"/console/safeguarding/{raised}",
            decision=decision,
            **{f"reason-{raised}": "Checked with the person"},
        )
        assert status == 302
    with services.database.session() as session:
        verdicts = session.scalars(
            select(SafeguardingFlag.correct).order_by(SafeguardingFlag.id)
        ).all()
    assert verdicts == [True, False]
    # A disclosure the detector does not flag, which a moderator flagged by hand.
    quiet = "the man next door visits dad late at night and dad is quiet after"
    record = feedback(services, person(services, "+447700900099", "en"), quiet)
    post(
        moderator,
        f"/console/moderation/{record}/flag",
        categories=["abuse"],
        flag_reason="Possible sedation by a relative",
    )
    caught = feedback(services, person(services, "+447700900098"), "my son hits me")
    # Missed means missed by the detector as it is now: here, one that reads only the second.
    real = detector.understand

    def reads(text: str) -> Understanding:
        found = real(text)
        return replace(found, safeguarding=None) if text == quiet else found

    monkeypatch.setattr(detector, "understand", reads)
    post(moderator, f"/console/moderation/{caught}/flag", categories=["abuse"], flag_reason="x")

    page = moderator.get("/console/safeguarding/detector").text
    record_table = page[page.index('id="record"') :]
    assert "Abuse by a carer, staff or family" in record_table and "50%" in record_table
    missed = page[page.index('id="missed"') :]
    assert quiet in missed and "my son hits me" not in missed  # the detector flags that one
    download = moderator.get("/console/safeguarding/detector/missed.yaml")
    assert download.mimetype == "text/yaml"
    assert yaml.safe_load(download.text) == [{"text": quiet, "language": "en", "category": "abuse"}]
    assert "safeguarding.missed_downloaded" in [action for action, _, _ in audit(services)]
