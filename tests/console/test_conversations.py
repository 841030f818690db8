"""The conversations pages: the inbox's search and filters, the transcript, and staff replies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import accounts, inbox
from bot.casework.accounts import ROLES, create_user
from bot.casework.inbox import normalise_phone, understand
from bot.casework.replies import REPLY_WINDOW, SAVED_REPLIES, ReplyError, ReplyRequest
from bot.services import Services
from console.wording import text_lang
from flows.understanding import understand as understand_message
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
from tests.conftest import FrozenClock
from tests.console.sending import post_seen
from tests.console.test_access import PASSWORD, sign_in, token

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ROW = re.compile(r'href="/console/conversations/(\d+)"')


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", quick)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", quick.hash("not a password anyone has"))


@pytest.fixture
def app(services: Services) -> Flask:
    with services.database.session() as session:
        for role in ROLES:
            create_user(
                session,
                f"{role}@example.org",
                role,
                PASSWORD,
                now=NOW,
            )
    return create_app(services=services)


def client_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{role}@example.org") == 302
    return client


@dataclass
class Seeded:
    """The ids of the people the tests talk about."""

    ids: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def person(
    session: Session,
    channel: str,
    address: str,
    language: str | None,
    texts: list[str],
    at: datetime,
    *,
    staff: bool = False,
) -> Address:
    """A contact with one address and messages from them, each a minute apart from `at`."""
    contact = Contact(language=language, created_at=at, staff=staff)
    row = Address(contact=contact, channel=channel, address=address, created_at=at)
    if channel == "whatsapp":  # the runner keeps this, for WhatsApp's 24-hour window
        row.last_inbound_at = at + timedelta(minutes=len(texts) - 1)
    session.add(row)
    session.flush()
    for index, text in enumerate(texts):
        session.add(
            Message(
                address_id=row.id,
                channel=channel,
                direction="in",
                body=text,
                status="processed",
                created_at=at + timedelta(minutes=index),
            )
        )
    session.flush()
    return row


def feedback(
    session: Session, address: Address, reference: str, kind: str, status: str, service: str
) -> None:
    session.add(
        Feedback(
            reference=reference,
            kind=kind,
            status=status,
            service=service,
            text="seeded",
            language=address.contact.language or "en",
            channel=address.channel,
            contact_id=address.contact_id,
            address_id=address.id,
            created_at=NOW,
        )
    )


@pytest.fixture
def seeded(services: Services) -> Seeded:
    """Five people: an SMS complainant, a Bengali WhatsApp writer, a Telegram user with a
    safeguarding flag, a hidden contact, and an on-call colleague (never in the inbox)."""
    ids: dict[str, int] = {}
    with services.database.session() as s:
        sms = person(s, "sms", "+447700900123", "en", ["Hello", "The carer was late"], NOW)
        feedback(s, sms, "C-482173", "complaint", "received", "home_care")
        whatsapp = person(
            s, "whatsapp", "+447700900456", "bn", ["আমার মায়ের যত্ন ভালো"], NOW + timedelta(hours=1)
        )
        feedback(s, whatsapp, "P-100200", "compliment", "acknowledged", "day_centres")
        telegram = person(
            s, "telegram", "5551234", "syl-Latn", ["amar shorir bala na"], NOW + timedelta(hours=2)
        )
        s.add(
            SafeguardingFlag(
                contact_id=telegram.contact_id,
                categories=["self_harm"],
                source="automatic",
                raised_at=NOW,
                status="open",
            )
        )
        hidden = person(
            s, "sms", "+447700900999", "en", ["abusive words"], NOW + timedelta(hours=3)
        )
        hidden.contact.hidden_at = NOW
        hidden.contact.hidden_reason = "abusive"
        colleague = person(
            s, "sms", "+447700900000", "en", ["on call here"], NOW + timedelta(hours=4), staff=True
        )
        ids = {
            "sms": sms.id,
            "whatsapp": whatsapp.id,
            "telegram": telegram.id,
            "hidden": hidden.id,
            "colleague": colleague.id,
        }
    return Seeded(ids)


def listed(client: FlaskClient, query: str = "") -> list[int]:
    page = client.get(f"/console/conversations{query}")
    assert page.status_code == 200, page.text
    return [int(found) for found in ROW.findall(page.text)]


def test_the_inbox_lists_everyone_newest_first_without_colleagues(
    app: Flask, seeded: Seeded
) -> None:
    staff = client_as(app, "staff")
    assert listed(staff) == [seeded["telegram"], seeded["whatsapp"], seeded["sms"]]
    assert "3 conversations, newest first" in staff.get("/console/conversations").text
    moderator = client_as(app, "moderator")
    shown = moderator.get("/console/conversations").text
    assert listed(moderator) == [
        seeded["hidden"],
        seeded["telegram"],
        seeded["whatsapp"],
        seeded["sms"],
    ]
    assert "Hidden" in shown and "4 conversations" in shown


def test_a_reply_moves_a_conversation_to_the_top(
    app: Flask, seeded: Seeded, services: Services, clock: FrozenClock
) -> None:
    clock.now = NOW + timedelta(hours=5)
    staff = client_as(app, "staff")
    form = {"reply": "thank_you", "csrf_token": token(staff, "/console/conversations")}
    url = f"/console/conversations/{seeded['sms']}/reply"
    assert post_seen(staff, url, form).status_code == 302
    assert listed(staff)[0] == seeded["sms"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("C-482173", ["sms"]),
        ("c482173", ["sms"]),
        ("P-100200", ["whatsapp"]),
        ("07700 900123", ["sms"]),
        ("+44 7700 900456", ["whatsapp"]),
        ("whatsapp:+447700900456", ["whatsapp"]),
        ("(07700) 900-456", ["whatsapp"]),
        ("carer", ["sms"]),
        ("CARER WAS", ["sms"]),
        ("মায়ের", ["whatsapp"]),
        ("shorir", ["telegram"]),
        ("%", []),
        ("_", []),
        ("on call", []),  # a colleague, not a member of the public
        ("C-999999", []),
    ],
)
def test_search_by_reference_phone_number_or_words(
    app: Flask, seeded: Seeded, typed: str, expected: list[str]
) -> None:
    staff = client_as(app, "staff")
    assert listed(staff, "?" + _query(q=typed)) == [seeded[name] for name in expected]


def _query(**args: str) -> str:
    from urllib.parse import urlencode

    return urlencode(args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"kind": "complaint"}, ["sms"]),
        ({"kind": "compliment", "status": "acknowledged"}, ["whatsapp"]),
        ({"kind": "compliment", "status": "received"}, []),
        ({"service": "home_care"}, ["sms"]),
        ({"language": "bn"}, ["whatsapp"]),
        ({"channel": "telegram"}, ["telegram"]),
        ({"channel": "sms", "language": "en"}, ["sms"]),
        ({"flag": "open"}, ["telegram"]),
        ({"channel": "nonsense"}, ["telegram", "whatsapp", "sms"]),
    ],
)
def test_filters(app: Flask, seeded: Seeded, args: dict[str, str], expected: list[str]) -> None:
    staff = client_as(app, "staff")
    assert listed(staff, "?" + _query(**args)) == [seeded[name] for name in expected]


def test_the_inbox_is_fifty_a_page(app: Flask, services: Services) -> None:
    with services.database.session() as session:
        for number in range(60):
            person(
                session,
                "sms",
                f"+4477009{number:05d}",
                "en",
                ["hi"],
                NOW + timedelta(minutes=number),
            )
    staff = client_as(app, "staff")
    first, second = listed(staff), listed(staff, "?page=2")
    assert len(first) == 50 and len(second) == 10 and not set(first) & set(second)
    assert first == sorted(first, reverse=True)
    assert "page 1 of 2" in staff.get("/console/conversations").text


def test_many_matches_are_walked_newest_first_and_not_all_counted(
    app: Flask, seeded: Seeded, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the count's cap the inbox finds conversations by walking messages newest first:
    # the same order and filters, without a total.
    monkeypatch.setattr(inbox, "COUNT_CAP", 1)
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    with services.database.session() as session:
        session.add(
            Message(
                address_id=seeded["sms"],
                channel="sms",
                direction="out",
                body="Thank you",
                status="delivered",
                created_at=NOW + timedelta(hours=6),
            )
        )
    staff = client_as(app, "staff")
    page = staff.get("/console/conversations")
    assert "More than 1 conversations, newest first (page 1)" in page.text
    assert "page=2" in page.text
    assert listed(staff) == [seeded["sms"], seeded["telegram"]]
    assert listed(staff, "?page=2") == [seeded["whatsapp"]]
    assert "page=3" not in staff.get("/console/conversations?page=2").text
    assert listed(staff, "?channel=sms") == [seeded["sms"]]
    assert listed(staff, "?kind=complaint&channel=sms") == [seeded["sms"]]
    moderator = client_as(app, "moderator")
    assert listed(moderator) == [seeded["sms"], seeded["hidden"]]


def test_a_word_search_reads_the_newest_matching_messages(
    app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    with services.database.session() as session:
        first = person(session, "sms", "+447700900601", "en", ["late again", "fine"], NOW)
        second = person(session, "sms", "+447700900602", "en", ["Late"], NOW + timedelta(hours=1))
        ids = [second.id, first.id]
    staff = client_as(app, "staff")
    # Ordered by the newest matching message, which the row shows.
    assert listed(staff, "?q=late") == ids
    page = staff.get("/console/conversations?q=late").text
    assert "Message found" in page and "late again" in page and "fine" not in page
    assert "2 conversations found" in page
    monkeypatch.setattr(inbox, "WORD_HITS", 1)
    page = staff.get("/console/conversations?q=late").text
    assert "More than 1 conversations found" in page
    assert listed(staff, "?q=late") == [second.id]
    # Looked for among the newest message first: enough there, or everywhere after.
    monkeypatch.setattr(inbox, "RECENT_MESSAGES", 1)
    assert listed(staff, "?q=late") == [second.id]
    monkeypatch.setattr(inbox, "WORD_HITS", 5)
    assert listed(staff, "?q=late") == ids


def test_a_conversation_shows_the_whole_transcript_and_is_audited(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    with services.database.session() as session:
        session.add(
            Message(
                address_id=seeded["sms"],
                channel="sms",
                direction="out",
                body="Sorry to hear that",
                status="held",
                reason="quiet-hours",
                next_attempt_at=NOW + timedelta(hours=8),
                created_at=NOW + timedelta(minutes=5),
            )
        )
    staff = client_as(app, "staff")
    page = staff.get(f"/console/conversations/{seeded['sms']}")
    assert page.status_code == 200
    text = page.text
    assert text.index("Hello") < text.index("The carer was late") < text.index("Sorry to hear")
    assert "quiet hours: it goes in the morning" in text
    assert "C-482173" in text and "complaint" in text
    with services.database.session() as session:
        staff_id = session.scalars(select(User.id).where(User.email == "staff@example.org")).one()
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "conversation.viewed")
        ).all()
        assert [(e.user_id, e.target_type, e.target_id) for e in viewed] == [
            (staff_id, "address", str(seeded["sms"]))
        ]


def test_text_carries_its_language_and_flags_show_at_the_top(app: Flask, seeded: Seeded) -> None:
    staff = client_as(app, "staff")
    bengali = staff.get(f"/console/conversations/{seeded['whatsapp']}").text
    assert 'lang="bn">আমার মায়ের যত্ন ভালো</p>' in bengali
    flagged = staff.get(f"/console/conversations/{seeded['telegram']}").text
    assert flagged.index("Open safeguarding flag") < flagged.index("They wrote")
    assert "self harm" in flagged
    assert 'lang="syl-Latn">amar shorir bala na</p>' in flagged


def test_staff_read_redacted_text_and_moderators_both(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    with services.database.session() as session:
        message = session.scalars(select(Message).where(Message.body == "The carer was late")).one()
        message.redacted_body = "The [name] was late"
    staff = client_as(app, "staff")
    for path in ("/console/conversations", f"/console/conversations/{seeded['sms']}"):
        shown = staff.get(path).text
        assert "The [name] was late" in shown and "carer" not in shown, path
    # Staff cannot find a conversation by what a moderator took out.
    assert listed(staff, "?q=carer") == []
    assert listed(staff, "?q=%5Bname%5D") == [seeded["sms"]]
    moderator = client_as(app, "moderator")
    shown = moderator.get(f"/console/conversations/{seeded['sms']}").text
    assert "The [name] was late" in shown and "The carer was late" in shown
    assert listed(moderator, "?q=carer") == [seeded["sms"]]


def test_hidden_contacts_are_not_shown_to_staff(app: Flask, seeded: Seeded) -> None:
    staff = client_as(app, "staff")
    assert staff.get(f"/console/conversations/{seeded['hidden']}").status_code == 404
    assert listed(staff, "?q=abusive") == []
    admin = client_as(app, "admin")
    shown = admin.get(f"/console/conversations/{seeded['hidden']}")
    assert shown.status_code == 200 and "A moderator hid this person" in shown.text
    assert "abusive words" in shown.text
    assert client_as(app, "staff").get("/console/conversations/99999").status_code == 404


def test_everything_people_wrote_is_escaped(app: Flask, services: Services) -> None:
    script = "<script>alert(1)</script>"
    with services.database.session() as session:
        address = person(session, "sms", "+447700900321", "en", [script], NOW)
    staff = client_as(app, "staff")
    for path in ("/console/conversations", f"/console/conversations/{address.id}"):
        shown = staff.get(path).text
        assert script not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown, path


def reply(client: FlaskClient, address_id: int, **form: str) -> tuple[int, str]:
    data = {"csrf_token": token(client, f"/console/conversations/{address_id}"), **form}
    response = post_seen(client, f"/console/conversations/{address_id}/reply", data)
    if response.status_code == 302:
        return 302, client.get(response.location).text
    return response.status_code, response.text


def test_a_saved_reply_goes_in_the_persons_language(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    staff = client_as(app, "staff")
    status, page = reply(staff, seeded["whatsapp"], reply="thank_you")
    assert status == 302
    bengali = services.i18n.render("bn", SAVED_REPLIES["thank_you"]).text
    assert bengali != SAVED_REPLIES["thank_you"]
    sent = services.sender.sent  # type: ignore[attr-defined]
    assert [(m.channel, m.address, m.text) for m in sent] == [
        ("whatsapp", "+447700900456", bengali)
    ]
    assert (
        "Your reply is delivered" in page
        and bengali in page
        and "staff@example.org replied" in page
    )
    with services.database.session() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        staff_id = session.scalars(select(User.id).where(User.email == "staff@example.org")).one()
        assert (row.sent_by, row.language, row.template) == (
            staff_id,
            "bn",
            SAVED_REPLIES["thank_you"],
        )
        replied = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "conversation.replied")
        ).one()
        assert replied.detail == {"message_id": row.id, "saved_reply": "thank_you"}


def test_free_text_goes_as_written(app: Flask, seeded: Seeded, services: Services) -> None:
    admin = client_as(app, "admin")
    words = "Hello, I'm Sam <b>from</b> the council."
    status, page = reply(admin, seeded["sms"], reply="own", text=words)
    assert status == 302
    assert [m.text for m in services.sender.sent] == [words]  # type: ignore[attr-defined]
    assert "&lt;b&gt;from&lt;/b&gt;" in page and "<b>from</b>" not in page


def test_a_reply_held_says_why(
    app: Flask, seeded: Seeded, services: Services, clock: FrozenClock
) -> None:
    # 22:30 in London: quiet hours. The person last wrote hours ago, so this is no answer
    # to someone waiting: it waits for the morning.
    clock.now = datetime(2026, 11, 18, 22, 30, tzinfo=UTC)
    staff = client_as(app, "staff")
    status, page = reply(staff, seeded["sms"], reply="looking_into_it")
    assert status == 302
    assert "Your reply is held: quiet hours: it goes in the morning." in page
    assert "(until 19 Nov 08:00)" in page
    assert services.sender.sent == []  # type: ignore[attr-defined]


def test_a_reply_to_someone_writing_now_goes_even_in_quiet_hours(
    app: Flask, services: Services, clock: FrozenClock
) -> None:
    clock.now = datetime(2026, 11, 18, 22, 30, tzinfo=UTC)
    with services.database.session() as session:
        address = person(session, "sms", "+447700900777", "en", ["Are you there?"], clock.now)
        address_id = address.id
    clock.advance(REPLY_WINDOW - timedelta(seconds=1))
    status, page = reply(client_as(app, "staff"), address_id, reply="looking_into_it")
    assert status == 302 and "Your reply is delivered" in page
    with services.database.session() as session:
        assert session.scalars(select(Message.is_reply).where(Message.direction == "out")).one()


def test_a_reply_to_someone_who_stopped_is_held(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    with services.database.session() as session:
        session.get_one(Address, seeded["sms"]).stopped_at = NOW
    status, page = reply(client_as(app, "staff"), seeded["sms"], reply="own", text="Hi")
    assert status == 302
    assert "Your reply is held: the person asked for no more messages" in page


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "Choose a saved reply or write your reply"),
        ({"reply": "own", "text": "  "}, "Choose a saved reply or write your reply"),
        ({"reply": "thank_you", "text": "and more"}, "not both"),
        ({"reply": "nonsense"}, "Choose one of the saved replies"),
        ({"reply": "own", "text": "x" * 1601}, "1,600 characters or fewer"),
    ],
)
def test_a_reply_form_with_a_mistake_says_what(
    app: Flask, seeded: Seeded, services: Services, form: dict[str, str], error: str
) -> None:
    status, page = reply(client_as(app, "staff"), seeded["sms"], **form)
    assert status == 400 and error in page and "There is a problem" in page
    with services.database.session() as session:
        assert session.scalars(select(Message).where(Message.direction == "out")).all() == []


def test_moderators_read_but_do_not_reply(app: Flask, seeded: Seeded) -> None:
    moderator = client_as(app, "moderator")
    page = moderator.get(f"/console/conversations/{seeded['sms']}").text
    assert 'id="send-reply"' not in page
    status, _ = reply(moderator, seeded["sms"], reply="thank_you")
    assert status == 403


def test_a_reply_needs_the_csrf_token(app: Flask, seeded: Seeded) -> None:
    staff = client_as(app, "staff")
    response = staff.post(
        f"/console/conversations/{seeded['sms']}/reply", data={"reply": "thank_you"}
    )
    assert response.status_code == 400


def test_console_pages_carry_a_strict_content_security_policy(app: Flask) -> None:
    staff = client_as(app, "staff")
    first = staff.get("/console/conversations")
    second = staff.get("/console/conversations")
    policy = first.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    # Every inline script carries this response's nonce, and each response has its own.
    scripts = re.findall(r"<script([^>]*)>", first.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in attrs for attrs in scripts)
    assert second.headers["Content-Security-Policy"] != policy
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    login = app.test_client().get("/console/login")
    assert "Content-Security-Policy" in login.headers


def test_behind_a_load_balancer_urls_and_cookies_are_https(services: Services) -> None:
    settings = services.settings.with_overrides(proxy_count=1)
    services.settings = settings
    app = create_app(services=services)

    @app.get("/probe")
    def probe() -> str:
        return url_for("console.inbox", _external=True)

    client = app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kotha.example.org"}
    assert client.get("/probe", headers=headers).text == (
        "https://kotha.example.org/console/conversations"
    )
    page = client.get("/console/login", headers=headers)
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_without_a_proxy_forwarded_headers_are_ignored(app: Flask) -> None:
    @app.get("/probe")
    def probe() -> str:
        return url_for("console.inbox", _external=True)

    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.org"}
    assert app.test_client().get("/probe", headers=headers).text == (
        "http://localhost/console/conversations"
    )
    cookie = app.test_client().get("/console/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("C-482173", "reference", "C-482173"),
        (" m 123456 ", "words", "m 123456"),
        ("c482173", "reference", "C-482173"),
        ("07700 900123", "phone", "+447700900123"),
        ("+1 (202) 555-0143", "phone", "+12025550143"),
        ("whatsapp:+447700900123", "phone", "+447700900123"),
        ("123", "words", "123"),
        ("home care", "words", "home care"),
    ],
)
def test_the_search_box_understands_what_was_typed(typed: str, kind: str, value: str) -> None:
    found = understand(typed)
    assert found is not None and (found.kind, found.value) == (kind, value)
    assert understand("   ") is None


def test_phone_numbers_that_are_not_numbers() -> None:
    assert normalise_phone("0") is None
    assert normalise_phone("abc 7700 900123") is None


@pytest.mark.parametrize(
    ("text", "language", "lang"),
    [
        ("Hello", "en", "en"),
        ("আমার", "bn", "bn"),
        ("আমার", "syl", "syl"),
        ("আমার", "en", "bn"),
        ("ꠀꠝꠣꠞ", "syl", "syl-Sylo"),
        ("amar", "syl", "syl-Latn"),
        ("amar", "syl-Latn", "syl-Latn"),
        ("1", "bn", "bn"),
        ("Hello", None, "en"),
    ],
)
def test_each_text_gets_its_language_tag(text: str, language: str | None, lang: str) -> None:
    assert text_lang(text, language) == lang


def test_a_reply_request_is_one_or_the_other() -> None:
    assert ReplyRequest(saved="thank_you").checked() == ReplyRequest("thank_you", None)
    assert ReplyRequest(text="  hi ").checked() == ReplyRequest(None, "hi")
    with pytest.raises(ReplyError):
        ReplyRequest().checked()


def test_staff_see_why_the_bot_took_a_message_as_it_did(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    with services.database.session() as session:
        late = session.scalars(select(Message).where(Message.body == "The carer was late")).one()
        late.understood = understand_message("I want to complain, the carer was late").as_json()
        hello = session.scalars(select(Message).where(Message.body == "Hello")).one()
        hello.understood = understand_message("Hello").as_json()
    staff = client_as(app, "staff")
    shown = staff.get(f"/console/conversations/{seeded['sms']}").text
    took = r"The bot took this as a complaint \(\d+% sure\) from the words “complain"
    assert re.search(took, shown)
    assert "The bot found nothing it knows in this message." in shown
    # The words why are the person's own: redacted, staff no longer see them; moderators do.
    with services.database.session() as session:
        late = session.scalars(select(Message).where(Message.body == "The carer was late")).one()
        late.redacted_body = "The [name] was late"
    assert (
        "The bot took this as a complaint"
        not in staff.get(f"/console/conversations/{seeded['sms']}").text
    )
    moderator = client_as(app, "moderator")
    assert (
        "The bot took this as a complaint"
        in moderator.get(f"/console/conversations/{seeded['sms']}").text
    )
    # A number is the answer to a numbered question, not words to read (a new user saw
    # every "1" labelled a complaint, 21% sure).
    with services.database.session() as session:
        hello = session.scalars(select(Message).where(Message.body == "Hello")).one()
        hello.body = "1"
    assert "found nothing it knows" not in staff.get(f"/console/conversations/{seeded['sms']}").text


def test_what_came_with_the_words_is_shown(app: Flask, services: Services) -> None:
    sent = [
        {"url": "https://api.twilio.com/Media/ME1", "content_type": "audio/ogg"},
        {"url": "geo:51.5155,-0.0599", "content_type": "location"},
        {"url": "telegram-file:CAAC", "content_type": "sticker"},
        {"url": "tel:+447700900999", "content_type": "contact"},
        {"url": "telegram-file:BQAC", "content_type": "application/pdf"},
    ]
    with services.database.session() as session:
        address = person(session, "telegram", "5550001", "en", [""], NOW)
        message = session.scalars(select(Message).where(Message.address_id == address.id)).one()
        message.media = sent
    shown = client_as(app, "staff").get(f"/console/conversations/{address.id}").text
    # The voice note is played (console/media.py); the rest are said in words.
    assert f'src="/console/media/{message.id}/0"' in shown
    assert "They sent a voice note." not in shown
    for attachment in (
        "a location (51.5155, -0.0599)",
        "a sticker",
        "a contact card (+447700900999)",
        "a file (application/pdf)",
    ):
        assert f"They sent {attachment}." in shown


def test_a_message_of_unknown_outcome_is_shown_to_staff(
    app: Flask, seeded: Seeded, services: Services
) -> None:
    with services.database.session() as session:
        session.add(
            Message(
                address_id=seeded["telegram"],
                channel="telegram",
                direction="out",
                body="Thank you for telling us",
                status="unknown",
                reason="outcome-unknown",
                attempts=1,
                created_at=NOW + timedelta(hours=2, minutes=5),
            )
        )
    staff = client_as(app, "staff")
    page = staff.get(f"/console/conversations/{seeded['telegram']}").text
    tag = re.search(r'<strong class="govuk-tag govuk-tag--orange">\s*Unknown\s*</strong>', page)
    assert tag is not None
    assert "Telegram cannot be asked, so read the conversation before sending it again" in page
    home = staff.get("/console/").text
    assert re.search(r"Messages failed, held or of unknown outcome\s*</dt>\s*<dd[^>]*>\s*1", home)
