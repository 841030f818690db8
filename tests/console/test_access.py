"""The console's doors: sign-in, rate limits, CSRF, a role check on every route, the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework import accounts, tasks
from bot.casework.accounts import ROLES, create_user, record_audit
from bot.casework.media import MediaCache
from bot.channels.media import Fetched
from bot.outreach import opportunities
from bot.outreach.consultations import EventDetails, create_event
from bot.services import Services, build_services
from kotha import create_app
from storage.models import (
    Address,
    AuditEvent,
    Broadcast,
    Contact,
    Message,
    SafeguardingFlag,
    User,
    VoicePrompt,
    YouSaidItem,
)
from storage.records import create_feedback, create_interest
from tests.conftest import Bot

PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NONCE = re.compile(r' nonce="[^"]+"')
SCRIPT = "<script>alert(1)</script>"

# Who may open each console page: a route missing here, or open to a role not listed,
# fails the walk below. The login page and the static files are open to everyone.
ALLOWED: dict[str, tuple[str, frozenset[str]]] = {
    "console.home": ("GET", frozenset(ROLES)),
    "console.audit": ("GET", frozenset({"admin"})),
    "console.users": ("GET", frozenset({"admin"})),
    "console.logout": ("POST", frozenset(ROLES)),
    "console.inbox": ("GET", frozenset(ROLES)),
    "console.conversation": ("GET", frozenset(ROLES)),
    "console.conversation_reply": ("POST", frozenset({"staff", "admin"})),
    "console.media_file": ("GET", frozenset(ROLES)),
    "console.media_note": ("POST", frozenset({"staff", "admin"})),
    "console.person_data": ("GET", frozenset({"admin"})),
    "console.person_data_json": ("GET", frozenset({"admin"})),
    "console.erase_person": ("GET", frozenset({"admin"})),
    "console.erase_person_confirmed": ("POST", frozenset({"admin"})),
    "console.cases": ("GET", frozenset({"staff", "admin"})),
    "console.cases_csv": ("GET", frozenset({"staff", "admin"})),
    "console.case": ("GET", frozenset({"staff", "admin"})),
    "console.case_status": ("POST", frozenset({"staff", "admin"})),
    "console.case_outcome": ("POST", frozenset({"staff", "admin"})),
    "console.feedback_new": ("GET", frozenset({"staff", "admin"})),
    "console.feedback_take": ("POST", frozenset({"staff", "admin"})),
    "console.task_list": ("GET", frozenset({"staff", "admin"})),
    "console.task_done": ("POST", frozenset({"staff", "admin"})),
    "console.voice_prompts": ("GET", frozenset({"staff", "admin"})),
    "console.voice_prompt_upload": ("POST", frozenset({"staff", "admin"})),
    "console.voice_prompt_audio": ("GET", frozenset({"staff", "admin"})),
    "console.translations": ("GET", frozenset({"staff", "admin"})),
    "console.translation_give": ("POST", frozenset({"staff", "admin"})),
    "console.calendar": ("GET", frozenset({"staff", "admin"})),
    "console.event": ("GET", frozenset({"staff", "admin"})),
    "console.event_new": ("GET", frozenset({"staff", "admin"})),
    "console.event_edit": ("GET", frozenset({"staff", "admin"})),
    "console.event_cancel": ("POST", frozenset({"staff", "admin"})),
    "console.attendance_save": ("POST", frozenset({"staff", "admin"})),
    "console.attendance_add": ("POST", frozenset({"staff", "admin"})),
    "console.attendance_thanks": ("POST", frozenset({"staff", "admin"})),
    "console.moderation": ("GET", frozenset({"moderator", "admin"})),
    "console.review": ("GET", frozenset({"moderator", "admin"})),
    "console.redact": ("POST", frozenset({"moderator", "admin"})),
    "console.tag": ("POST", frozenset({"moderator", "admin"})),
    "console.mark_reviewed": ("POST", frozenset({"moderator", "admin"})),
    "console.hide_contact": ("POST", frozenset({"moderator", "admin"})),
    "console.raise_flag": ("POST", frozenset({"moderator", "admin"})),
    "console.safeguarding": ("GET", frozenset({"moderator", "admin"})),
    "console.resolve_flag": ("POST", frozenset({"moderator", "admin"})),
    "console.detector": ("GET", frozenset({"moderator", "admin"})),
    "console.missed_examples": ("GET", frozenset({"moderator", "admin"})),
    "console.broadcasts": ("GET", frozenset({"staff", "admin"})),
    "console.broadcast_new": ("GET", frozenset({"staff", "admin"})),
    "console.broadcast": ("GET", frozenset({"staff", "admin"})),
    "console.broadcast_progress": ("GET", frozenset({"staff", "admin"})),
    "console.broadcast_cancel": ("POST", frozenset({"staff", "admin"})),
    "console.you_said": ("GET", frozenset({"staff", "admin"})),
    "console.impact": ("GET", frozenset({"staff", "admin"})),
    "console.impact_report": ("GET", frozenset({"staff", "admin"})),
    "console.impact_stylesheet": ("GET", frozenset({"staff", "admin"})),
    "console.impact_broadcast": ("POST", frozenset({"staff", "admin"})),
    "console.you_said_new": ("GET", frozenset({"staff", "admin"})),
    "console.you_said_item": ("GET", frozenset({"staff", "admin"})),
    "console.you_said_publish": ("POST", frozenset({"staff", "admin"})),
    "console.you_said_quotes": ("GET", frozenset({"moderator", "admin"})),
    "console.you_said_approve": ("POST", frozenset({"moderator", "admin"})),
    "console.interests_queue": ("GET", frozenset({"staff", "admin"})),
    "console.interest": ("GET", frozenset({"staff", "admin"})),
    "console.interest_update": ("POST", frozenset({"staff", "admin"})),
    "console.interest_reply": ("POST", frozenset({"staff", "admin"})),
    "console.opportunities_list": ("GET", frozenset({"staff", "admin"})),
    "console.opportunity_new": ("GET", frozenset({"staff", "admin"})),
    "console.opportunity_edit": ("GET", frozenset({"staff", "admin"})),
    "console.opportunity_open": ("POST", frozenset({"staff", "admin"})),
}
OPEN = {"console.login", "console.static"}
# Routes with arguments are walked at these paths, which the `app` fixture's records answer.
EXAMPLE_REFERENCE = "C-100001"
EXAMPLE_PATHS = {
    "console.conversation": "/console/conversations/1",
    "console.conversation_reply": "/console/conversations/1/reply",
    "console.media_file": "/console/media/1/0",
    "console.media_note": "/console/media/1/0/note",
    "console.person_data": "/console/conversations/1/person",
    "console.person_data_json": "/console/conversations/1/person.json",
    "console.erase_person": "/console/conversations/1/erase",
    "console.erase_person_confirmed": "/console/conversations/1/erase",
    "console.case": f"/console/cases/{EXAMPLE_REFERENCE}",
    "console.case_status": f"/console/cases/{EXAMPLE_REFERENCE}/status",
    "console.case_outcome": f"/console/cases/{EXAMPLE_REFERENCE}/outcome",
    "console.task_done": "/console/tasks/1/done",
    "console.voice_prompt_audio": "/console/voice-prompts/1/audio",
    "console.translation_give": "/console/translations/1",
    "console.event": "/console/calendar/events/1",
    "console.event_edit": "/console/calendar/events/1/edit",
    "console.event_cancel": "/console/calendar/events/1/cancel",
    "console.attendance_save": "/console/calendar/events/1/attendance",
    "console.attendance_add": "/console/calendar/events/1/attendance/add",
    "console.attendance_thanks": "/console/calendar/events/1/thanks",
    "console.review": "/console/moderation/1",
    "console.redact": "/console/moderation/1/redaction",
    "console.tag": "/console/moderation/1/tags",
    "console.mark_reviewed": "/console/moderation/1/reviewed",
    "console.hide_contact": "/console/moderation/1/hide",
    "console.raise_flag": "/console/moderation/1/flag",
    "console.resolve_flag": "/console/safeguarding/1",
    "console.broadcast": "/console/broadcasts/1",
    "console.broadcast_progress": "/console/broadcasts/1/progress",
    "console.broadcast_cancel": "/console/broadcasts/1/cancel",
    "console.you_said_item": "/console/you-said/1",
    "console.you_said_publish": "/console/you-said/1/publish",
    "console.you_said_approve": "/console/you-said/1/approve-quote",
    "console.interest": "/console/involvement/1",
    "console.interest_update": "/console/involvement/1",
    "console.interest_reply": "/console/involvement/1/reply",
    "console.opportunity_edit": "/console/opportunities/1/edit",
    "console.opportunity_open": "/console/opportunities/1/open",
}


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real argon2 parameters take 0.1 s a hash; tests/bot/casework/test_accounts.py checks those.
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", quick)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", quick.hash("not a password anyone has"))


def same_page(first: str, second: str) -> bool:
    """Say whether two pages are the same but for their CSRF tokens and script nonces.

    Tokens are signed with the time; each response's Content-Security-Policy has a new nonce.
    """
    return _unique_parts_removed(first) == _unique_parts_removed(second)


def _unique_parts_removed(page: str) -> str:
    return NONCE.sub("", TOKEN.sub("", page))


@pytest.fixture
def app(services: Services) -> Flask:
    return app_with_records(services)


def app_with_records(services: Services) -> Flask:
    """The app, with an account of each role and one record of each kind its pages show."""
    now = services.clock()
    with services.database.session() as session:
        for role in ROLES:
            create_user(
                session,
                f"{role}@example.org",
                role,
                PASSWORD,
                now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
            )
        # One person with one complaint, for the pages about one record.
        address = Address(
            contact=Contact(language="en", created_at=now),
            channel="sms",
            address="+447700900100",
            created_at=now,
        )
        session.add(address)
        session.flush()
        # A voice note they sent, kept already (no provider is asked), for the media route.
        voice_note = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        session.add(
            Message(
                address_id=address.id,
                channel="sms",
                direction="in",
                body="",
                media=[{"url": voice_note, "content_type": "audio/ogg"}],
                status="processed",
                created_at=now,
            )
        )
        MediaCache.of(services.settings).put(voice_note, Fetched(b"OggS" + bytes(60), "audio/ogg"))
        complaint = create_feedback(session, address, "en", "complaint", {}, True, now, None)
        complaint.reference = EXAMPLE_REFERENCE
        session.flush()
        # The ways to take part, and that person's interest in one, for the queue's pages.
        opportunities.seed(session, now)
        session.add(create_interest(session, address, "en", {"opportunity": "carers_forum"}, now))
        # One open safeguarding flag on that person, for the page that resolves flags.
        session.add(
            SafeguardingFlag(
                contact_id=address.contact_id,
                feedback_id=complaint.id,
                categories=["neglect"],
                source="automatic",
                raised_at=now,
                status="open",
            )
        )
        # One open staff task about that complaint, for the page that marks a task done.
        tasks.open_task(
            session,
            "call-with-update",
            f"Call them: Update on their complaint {EXAMPLE_REFERENCE}",
            now=now,
            contact_id=address.contact_id,
            feedback_id=complaint.id,
        )
        # One event on the calendar, for the pages about one event.
        start = now + timedelta(days=10)
        create_event(
            session,
            EventDetails({"en": "Forum"}, start, start + timedelta(hours=1), "Hall"),
            None,
            now,
        )
        # A draft broadcast and a "you said, we did" item with no text yet (so publishing
        # it is refused, and sends nothing), for the pages about one of each.
        session.add(
            Broadcast(
                title="Draft",
                texts={"en": "Hello"},
                segment={"kind": "all"},
                status="draft",
                fanout_after=0,
                recipients=0,
                created_at=now,
            )
        )
        session.add(
            YouSaidItem(
                theme="Theme", texts={}, change="change_made", status="draft", created_at=now
            )
        )
        # A recording of one of the voice line's prompts, for the page that plays it.
        session.add(
            VoicePrompt(
                prompt="Thank you for calling. Goodbye.",
                language="en",
                content=b"ID3" + bytes(64),
                content_type="audio/mpeg",
                uploaded_at=now,
            )
        )
    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def token(client: FlaskClient, path: str = "/console/login") -> str:
    """The CSRF token a page gives this client's session."""
    page = client.get(path)
    found = TOKEN.search(page.text)
    assert found is not None, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    form = {"email": email, "password": password, "csrf_token": token(client)}
    status: int = client.post("/console/login", data=form).status_code
    return status


def audit_actions(services: Services) -> list[tuple[str, int | None, object]]:
    with services.database.session() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(event.action, event.user_id, event.detail) for event in events]


def user_id(services: Services, email: str) -> int:
    with services.database.session() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_every_console_route_checks_the_role(app: Flask) -> None:
    endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")
    }
    assert set(ALLOWED) == endpoints - OPEN, "add each new console route to ALLOWED"
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for role in (None, *ROLES):
        client = app.test_client()
        if role is not None:
            assert sign_in(client, f"{role}@example.org") == 302
        for endpoint, (method, allowed) in ALLOWED.items():
            path = EXAMPLE_PATHS.get(endpoint, rules[endpoint].rule)
            if method == "GET":
                response = client.get(path)
            else:
                form_page = "/console/login" if role is None else "/console/"
                response = client.post(path, data={"csrf_token": token(client, form_page)})
            where = f"{method} {path} as {role or 'nobody'}"
            if role is None:
                assert response.status_code == 302, where
                assert response.location.startswith("/console/login?next="), where
            elif role not in allowed:
                assert response.status_code == 403, where
                assert "You do not have access to this page" in response.text, where
            elif method == "GET":
                assert response.status_code == 200, where
            elif endpoint == "console.logout":
                assert response.status_code == 302, where
                assert sign_in(client, f"{role}@example.org") == 302  # after signing out
            else:
                # A form sent empty is refused for what it lacks, never for who sent it.
                assert response.status_code in (302, 400), where
                assert "You do not have access" not in response.text, where


def test_signing_in_goes_to_the_page_asked_for_and_is_audited(
    client: FlaskClient, services: Services
) -> None:
    asked = client.get("/console/audit?action=login.failed")
    assert asked.status_code == 302
    form = {"email": "Admin@Example.org", "password": PASSWORD, "csrf_token": token(client)}
    response = client.post(asked.location, data=form)
    assert (response.status_code, response.location) == (302, "/console/audit?action=login.failed")
    assert client.get("/console/").status_code == 200
    admin = user_id(services, "admin@example.org")
    assert audit_actions(services) == [("login.succeeded", admin, None)]
    with services.database.session() as session:
        assert session.get_one(User, admin).last_login_at is not None


def test_never_sends_anyone_to_another_site_after_signing_in(client: FlaskClient) -> None:
    form = {"email": "staff@example.org", "password": PASSWORD, "csrf_token": token(client)}
    for target in ("https://evil.example/", "//evil.example/console/", "/events"):
        response = client.post(f"/console/login?next={target}", data=form)
        assert (response.status_code, response.location) == (302, "/console/"), target
        client.post("/console/logout", data={"csrf_token": token(client, "/console/")})
        form["csrf_token"] = token(client)


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    client: FlaskClient, services: Services
) -> None:
    wrong = client.post(
        "/console/login",
        data={
            "email": "staff@example.org",
            "password": "not the password",
            "csrf_token": token(client),
        },
    )
    unknown = client.post(
        "/console/login",
        data={"email": "nobody@example.org", "password": PASSWORD, "csrf_token": token(client)},
    )
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "There is a problem" in response.text
        assert 'href="#email"' in response.text  # the error summary links to the field
        assert "Enter a correct email address and password" in response.text
    assert same_page(wrong.text.replace("staff@", "X@"), unknown.text.replace("nobody@", "X@"))
    assert client.get("/console/").status_code == 302
    assert audit_actions(services) == [
        ("login.failed", None, {"email": "staff@example.org"}),
        ("login.failed", None, {"email": "nobody@example.org"}),
    ]
    assert not any(PASSWORD in repr(event) for event in audit_actions(services))


def test_an_empty_form_says_what_to_enter(client: FlaskClient) -> None:
    response = client.post("/console/login", data={"csrf_token": token(client)})
    assert response.status_code == 400
    assert "Enter your email address" in response.text
    assert "Enter your password" in response.text
    assert response.text.count("govuk-error-message") == 2


def test_too_many_attempts_are_refused_with_429(client: FlaskClient, services: Services) -> None:
    form = {"email": "staff@example.org", "password": "not the password"}
    for _ in range(5):
        assert (
            client.post("/console/login", data={**form, "csrf_token": token(client)}).status_code
            == 401
        )
    # Even the right password waits now: the limit is what stops the guessing.
    limited = client.post(
        "/console/login",
        data={"email": "staff@example.org", "password": PASSWORD, "csrf_token": token(client)},
    )
    assert limited.status_code == 429
    assert "Too many attempts to sign in" in limited.text
    assert audit_actions(services)[-1] == (
        "login.rate_limited",
        None,
        {"email": "staff@example.org"},
    )
    # Another account from another address is not held up.
    other = app_client_from(client, "192.0.2.7")
    assert sign_in(other, "admin@example.org") == 302


def app_client_from(client: FlaskClient, address: str) -> FlaskClient:
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = address
    return other


def test_the_address_limit_stops_guessing_across_accounts(client: FlaskClient) -> None:
    for number in range(20):
        form = {"email": f"guess{number}@example.org", "password": "x", "csrf_token": token(client)}
        assert client.post("/console/login", data=form).status_code == 401
    assert sign_in(client, "admin@example.org") == 429


def test_a_post_without_the_csrf_token_is_refused(client: FlaskClient, services: Services) -> None:
    refused = client.post(
        "/console/login", data={"email": "admin@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 400
    assert "Sorry, there is a problem with the page" in refused.text
    assert client.get("/console/").status_code == 302
    assert audit_actions(services) == []

    assert sign_in(client, "admin@example.org") == 302
    # Signing out needs a POST carrying the token: a link or another site's form cannot.
    assert client.get("/console/logout").status_code == 405
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/").status_code == 200
    signed_out = client.post("/console/logout", data={"csrf_token": token(client, "/console/")})
    assert (signed_out.status_code, signed_out.location) == (302, "/console/login")
    assert client.get("/console/").status_code == 302


def test_webhooks_need_no_csrf_token(client: FlaskClient) -> None:
    # Providers sign their requests instead: without a signature they are refused, not 400'd.
    assert client.post("/webhooks/twilio/messages", data={"Body": "hi"}).status_code == 403


def test_the_session_cookie_is_httponly_and_samesite(client: FlaskClient) -> None:
    client.get("/console/login")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # served over http here; Secure when KOTHA_PUBLIC_URL is https


def test_webhooks_never_open_or_set_a_session(client: FlaskClient) -> None:
    client.get("/console/login")
    browser_cookie = client.get_cookie("session")
    assert browser_cookie is not None
    # A cookie sent to a webhook is not read: the request has Flask's null session.
    webhook = client.post("/webhooks/twilio/messages", data={"Body": "hi"})
    assert webhook.status_code == 403
    assert "Set-Cookie" not in webhook.headers
    assert "Cookie" not in webhook.headers.get("Vary", "")
    # The browser's own session is left exactly as it was.
    assert client.get_cookie("session") == browser_cookie
    assert client.get("/console/login").status_code == 200


def test_the_cookie_is_secure_behind_https(services: Services) -> None:
    settings = services.settings.with_overrides(public_url="https://kotha.example")
    app = create_app(services=build_services(settings, database=services.database))
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_admins_filter_the_audit_log(client: FlaskClient, services: Services) -> None:
    staff = user_id(services, "staff@example.org")
    with services.database.session() as session:
        record_audit(
            session,
            staff,
            "conversation.viewed",
            "conversation",
            7,
            now=datetime(2026, 11, 1, 12, tzinfo=UTC),
        )
        record_audit(
            session,
            staff,
            "feedback.updated",
            "feedback",
            "KF-ABC",
            reason="called back",
            now=datetime(2026, 11, 10, 12, tzinfo=UTC),
        )
        record_audit(
            session,
            None,
            "conversation.viewed",
            "conversation",
            8,
            now=datetime(2026, 11, 20, 12, tzinfo=UTC),
        )
    assert sign_in(client, "admin@example.org") == 302
    everything = client.get("/console/audit").text
    assert "4 events, newest first" in everything  # three above and the admin's sign-in
    assert everything.index("conversation 8") < everything.index("conversation 7")

    by_user = client.get(f"/console/audit?user={staff}").text
    assert "2 events" in by_user and "KF-ABC" in by_user and "conversation 8" not in by_user
    by_action = client.get("/console/audit?action=conversation.viewed").text
    assert "2 events" in by_action and "KF-ABC" not in by_action
    dated = client.get("/console/audit?from=2026-11-05&to=2026-11-10").text
    assert "1 events" in dated and "called back" in dated
    bad = client.get("/console/audit?from=2026-13-01&to=2026-11-10")
    assert bad.status_code == 200
    assert "The start date must be a real date" in bad.text and "There is a problem" in bad.text


def test_the_audit_log_is_paginated(client: FlaskClient, services: Services) -> None:
    with services.database.session() as session:
        for number in range(60):
            record_audit(
                session,
                None,
                "conversation.viewed",
                "conversation",
                number,
                now=datetime(2026, 11, 1, tzinfo=UTC).replace(minute=number % 60),
            )
    assert sign_in(client, "admin@example.org") == 302
    first = client.get("/console/audit?action=conversation.viewed")
    assert "govuk-pagination__next" in first.text and "govuk-pagination__prev" not in first.text
    assert first.text.count("conversation.viewed</td>") == 50
    second = client.get("/console/audit?action=conversation.viewed&page=2")
    assert second.text.count("conversation.viewed</td>") == 10
    assert "govuk-pagination__prev" in second.text and "govuk-pagination__next" not in second.text


def test_text_people_wrote_is_escaped(client: FlaskClient, services: Services) -> None:
    with services.database.session() as session:
        create_user(
            session,
            f"x{SCRIPT}@example.org",
            "staff",
            PASSWORD,
            now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
        )
        record_audit(
            session,
            None,
            "feedback.updated",
            "feedback",
            SCRIPT,
            {"note": SCRIPT},
            reason=SCRIPT,
            now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
        )
    failed = client.post(
        "/console/login", data={"email": SCRIPT, "password": "x", "csrf_token": token(client)}
    )
    assert SCRIPT not in failed.text and "&lt;script&gt;" in failed.text
    assert sign_in(client, "admin@example.org") == 302
    for path in ("/console/audit", "/console/users"):
        page = client.get(path)
        assert page.status_code == 200
        assert SCRIPT not in page.text and "&lt;script&gt;" in page.text, path


def waiting(page: str, what: str) -> int:
    found = re.search(rf"{what}\s*</dt>\s*<dd[^>]*>\s*(\d+)\s*<", page)
    assert found is not None, what
    return int(found.group(1))


def test_the_home_page_counts_the_work_waiting(client: FlaskClient, bot: Bot) -> None:
    assert sign_in(client, "moderator@example.org") == 302
    home = client.get("/console/").text
    assert "Review the conversation queue" in home
    assert "Manage accounts" not in home and "Audit log" not in home
    assert waiting(home, "Conversations in progress") == 0
    bot.receive("+447700900123", "hello")
    assert waiting(client.get("/console/").text, "Conversations in progress") == 1


# Links to console pages (the stylesheets' links are files, not pages).
LINK = re.compile(r'href="(/console/(?!static/)[^"#]*)')


def test_every_link_a_role_is_shown_opens_for_that_role(app: Flask, services: Services) -> None:
    """From every page a role may open, every console link shown answers that role."""
    with services.database.session() as session:
        # The complainant wrote, so the conversation page lists their case's reference.
        session.add(
            Message(
                address_id=1,
                channel="sms",
                direction="in",
                body="The carer was late",
                status="processed",
                created_at=services.clock(),
            )
        )
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    for role in ROLES:
        client = app.test_client()
        assert sign_in(client, f"{role}@example.org") == 302
        pages = [
            EXAMPLE_PATHS.get(endpoint, rules[endpoint].rule)
            for endpoint, (method, allowed) in ALLOWED.items()
            if method == "GET" and role in allowed and "progress" not in endpoint
        ]
        links: dict[str, str] = {}
        for path in pages:
            page = client.get(path)
            assert page.status_code == 200, f"{path} as {role}"
            for link in LINK.findall(page.text):
                links.setdefault(link.replace("&amp;", "&"), path)
        assert links, role
        for link, shown_on in links.items():
            answer = client.get(link)
            where = f"{link} shown to {role} on {shown_on}"
            assert answer.status_code in (200, 302), where
        if role == "moderator":
            assert not any(link.startswith("/console/cases") for link in links)
            assert "/console/conversations/1" in links


@pytest.mark.parametrize(
    "path",
    [
        "/console/no-such-page",
        "/console/cases/C-100001/no-such-part",
        "/console/conversations/not-a-number",
        "/console/static/no-such-file.css",
    ],
)
@pytest.mark.parametrize("role", [None, "moderator"])
def test_an_unknown_console_address_gets_the_consoles_own_page(
    app: Flask, path: str, role: str | None
) -> None:
    client = app.test_client()
    if role is not None:
        assert sign_in(client, f"{role}@example.org") == 302
    page = client.get(path)
    assert page.status_code == 404
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in page.text
    assert "Kotha console" in page.text and "Not Found" not in page.text
    # Signed in, the page keeps the menu of what this role may open.
    assert ('href="/console/moderation"' in page.text) == (role == "moderator")
    assert 'href="/console/cases"' not in page.text


def test_a_wrong_method_on_a_console_address_gets_the_consoles_page(app: Flask) -> None:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/logout")
    assert page.status_code == 405
    assert "POST" in page.headers["Allow"]
    assert "Kotha console" in page.text


def test_addresses_outside_the_console_keep_the_frameworks_answer(app: Flask) -> None:
    page = app.test_client().get("/no-such-page")
    assert page.status_code == 404
    assert "Kotha console" not in page.text


def test_a_console_page_that_fails_gets_the_consoles_500(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("a bug with +447700900100 in it")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.view_functions["console.users"] = broken
    client = app.test_client()
    assert sign_in(client, "admin@example.org") == 302
    page = client.get("/console/users")
    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in page.text
    assert 'href="/console/audit"' in page.text  # the console's own page, menu and all
    assert "+447700900100" not in page.text and "RuntimeError" not in page.text


def test_when_even_the_error_page_fails_a_plain_500_is_said(
    app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> str:
        raise RuntimeError("the database is gone")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.view_functions["console.home"] = broken
    client = app.test_client()
    assert sign_in(client, "admin@example.org") == 302
    monkeypatch.setattr("console.auth.render_template", _raise)
    page = client.get("/console/")
    assert page.status_code == 500
    assert "Sorry, there is a problem with the service" in page.text


def _raise(*args: object, **kwargs: object) -> str:
    raise RuntimeError("no templates either")
