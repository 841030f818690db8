"""A person's data rights in the console: everything held (to read, or as JSON) and erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from bot.casework import accounts
from bot.casework.accounts import ROLES, create_user
from bot.casework.people import SECTIONS
from kotha import create_app
from storage.models import AuditEvent, Contact, Message, User
from tests.bot.casework.person_rows import NUMBER, TEXT, Person, a_person_everywhere
from tests.conftest import Bot
from tests.console.test_access import PASSWORD, SCRIPT, sign_in, token

LONG_AGO = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", quick)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", quick.hash("not a password anyone has"))


@pytest.fixture
def app(bot: Bot) -> Flask:
    with bot.services.database.session() as session:
        for role in ROLES:
            create_user(session, f"{role}@example.org", role, PASSWORD, bot.services.clock())
    return create_app(services=bot.services)


@pytest.fixture
def someone(bot: Bot) -> Person:
    return a_person_everywhere(bot, complaint_closed_at=LONG_AGO)


def signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, f"{role}@example.org") == 302
    return client


def audit(bot: Bot, action: str) -> list[AuditEvent]:
    with bot.services.database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def admin_id(bot: Bot) -> int:
    with bot.services.database.session() as session:
        return session.scalars(select(User.id).where(User.email == "admin@example.org")).one()


def test_an_admin_reads_everything_held_and_downloads_it(
    app: Flask, bot: Bot, someone: Person
) -> None:
    admin = signed_in(app, "admin")
    address_id = someone.address_ids[0]
    conversation = admin.get(f"/console/conversations/{address_id}").text
    assert f'href="/console/conversations/{address_id}/person"' in conversation
    assert f'href="/console/conversations/{address_id}/erase"' in conversation

    page = admin.get(f"/console/conversations/{address_id}/person")
    assert page.status_code == 200
    for _name, title in SECTIONS:
        assert str(escape(title)) in page.text
    assert NUMBER in page.text and str(escape(TEXT)) in page.text
    assert "worker@example.org" in page.text  # who on the staff touched their records

    download = admin.get(f"/console/conversations/{address_id}/person.json")
    assert download.status_code == 200
    assert download.mimetype == "application/json"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    export = json.loads(download.text)
    assert {row["address"] for row in export["addresses"]} == {NUMBER}
    assert any(TEXT in (row["body"] or "") for row in export["messages"])
    # Looking is audited, as every look at a person's records is.
    assert [event.target_id for event in audit(bot, "person.exported")] == [
        str(someone.contact_id)
    ] * 2


def test_only_admins_see_the_buttons(app: Flask, someone: Person) -> None:
    for role in ("staff", "moderator"):
        page = signed_in(app, role).get(f"/console/conversations/{someone.address_ids[0]}")
        assert "/person" not in page.text and "/erase" not in page.text, role


def test_erasing_asks_for_a_reason_and_a_confirmation(app: Flask, someone: Person) -> None:
    admin = signed_in(app, "admin")
    path = f"/console/conversations/{someone.address_ids[0]}/erase"
    refused = admin.post(path, data={"csrf_token": token(admin, path)})
    assert refused.status_code == 400
    assert "Enter why they are erased" in refused.text
    assert "Confirm that you want to erase this person" in refused.text
    without_token = admin.post(path, data={"reason": "asked", "confirm": "yes"})
    assert without_token.status_code == 400
    assert NUMBER in admin.get(f"/console/conversations/{someone.address_ids[0]}").text


def test_an_admin_erases_with_a_reason_audited_without_the_data(
    app: Flask, bot: Bot, someone: Person
) -> None:
    admin = signed_in(app, "admin")
    address_id = someone.address_ids[0]
    path = f"/console/conversations/{address_id}/erase"
    form = {"reason": f"Asked by letter {SCRIPT}", "confirm": "yes"}

    done = admin.post(path, data={**form, "csrf_token": token(admin, path)})

    assert done.status_code == 302
    page = admin.get(done.location).text
    assert "Erased." in page and "was erased on" in page
    assert NUMBER not in page and str(escape(TEXT)) not in page
    assert 'id="erase-person"' not in page and 'id="send-reply"' not in page
    (event,) = audit(bot, "person.erased")
    assert (event.user_id, event.reason) == (admin_id(bot), form["reason"])
    assert NUMBER not in json.dumps(event.detail) and TEXT not in json.dumps(event.detail)
    # The audit log shows the reason escaped, as everything typed.
    log = admin.get("/console/audit?action=person.erased").text
    assert SCRIPT not in log and str(escape(SCRIPT)) in log
    # They no longer appear among the conversations.
    assert f'/console/conversations/{address_id}"' not in admin.get("/console/conversations").text
    with bot.services.database.session() as session:
        assert session.get_one(Contact, someone.contact_id).erased_at is not None


def test_a_complaint_kept_by_law_is_named_before_and_after(app: Flask, bot: Bot) -> None:
    kept = a_person_everywhere(bot, complaint_closed_at=None)
    admin = signed_in(app, "admin")
    path = f"/console/conversations/{kept.address_ids[0]}/erase"
    asked = admin.get(path).text
    assert f"Complaint {kept.complaint_reference} is kept while it is open" in asked
    done = admin.post(
        path, data={"reason": "asked", "confirm": "yes", "csrf_token": token(admin, path)}
    )
    assert f"Complaint {kept.complaint_reference} is kept" in admin.get(done.location).text


def test_an_erasure_refused_says_why_and_changes_nothing(
    app: Flask, bot: Bot, someone: Person
) -> None:
    with bot.services.database.session() as session:
        session.get_one(Message, someone.queued_id).status = "sending"
    admin = signed_in(app, "admin")
    path = f"/console/conversations/{someone.address_ids[0]}/erase"
    refused = admin.post(
        path, data={"reason": "asked", "confirm": "yes", "csrf_token": token(admin, path)}
    )
    assert refused.status_code == 400
    assert "Not erased:" in refused.text and "being sent to them" in refused.text
    with bot.services.database.session() as session:
        assert session.get_one(Contact, someone.contact_id).erased_at is None
    assert audit(bot, "person.erased") == []
