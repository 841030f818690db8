"""Console sessions end on the server: a copy of the cookie stops working when its account
signs out, gets a new password or role, or is disabled."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot import cli
from bot.casework import accounts
from bot.casework.accounts import AccountError, change_password, create_user, find_user
from bot.cli import users
from bot.services import Services
from kotha import create_app
from storage.models import AuditEvent, User
from tests.console.test_access import (
    PASSWORD,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    sign_in,
    token,
)

NEW_PASSWORD = "a new long passphrase"


@pytest.fixture
def app(services: Services, monkeypatch: pytest.MonkeyPatch) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff"):
            create_user(session, f"{role}@example.org", role, PASSWORD, now=services.clock())
    # `kotha users …` works on these services, as it would on the deployment's.
    monkeypatch.setattr(users, "load_services", lambda **kwargs: services)
    return create_app(services=services)


def copy_of(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of this one's session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/console/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def kotha_users(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["users", *args])


def test_signing_out_ends_every_copy_of_the_session(app: Flask) -> None:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    thief = copy_of(client, app)
    assert signed_in(thief)  # a copy works while the session lasts, as a cookie does
    client.post("/console/logout", data={"csrf_token": token(client, "/console/")})
    assert not signed_in(client)
    assert not signed_in(thief)
    # The copy cannot sign out or post anything either; signing in again works.
    assert thief.post("/console/logout", data={"csrf_token": "x"}).status_code in (302, 400)
    assert sign_in(client, "staff@example.org") == 302
    assert signed_in(client) and not signed_in(thief)


def test_another_accounts_sessions_are_untouched(app: Flask) -> None:
    staff, admin = app.test_client(), app.test_client()
    assert sign_in(staff, "staff@example.org") == 302
    assert sign_in(admin, "admin@example.org") == 302
    admin.post("/console/logout", data={"csrf_token": token(admin, "/console/")})
    assert signed_in(staff) and not signed_in(admin)


@pytest.mark.parametrize(
    "change",
    [
        ("password", "--email", "staff@example.org", "--password-stdin"),
        ("role", "--email", "staff@example.org", "--role", "moderator"),
        ("disable", "--email", "staff@example.org"),
    ],
    ids=["password", "role", "disable"],
)
def test_a_change_to_the_account_ends_its_sessions(
    app: Flask,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    change: tuple[str, ...],
) -> None:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    thief = copy_of(client, app)
    other = app.test_client()
    assert sign_in(other, "admin@example.org") == 302
    assert kotha_users(monkeypatch, *change, stdin=NEW_PASSWORD + "\n") == 0
    assert not signed_in(client) and not signed_in(thief)
    assert signed_in(other)
    with services.database.session() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action.like("user.%")))
        assert event.target_id == str(find_user(session, "staff@example.org").id)
    if change[0] == "password":
        assert sign_in(client, "staff@example.org") == 401
        assert sign_in(client, "staff@example.org", NEW_PASSWORD) == 302
    elif change[0] == "role":
        assert sign_in(client, "staff@example.org") == 302
        assert client.get("/console/cases").status_code == 403  # a moderator now
        assert client.get("/console/moderation").status_code == 200
    else:
        assert sign_in(client, "staff@example.org") == 401
        assert kotha_users(monkeypatch, "enable", "--email", "staff@example.org") == 0
        assert sign_in(client, "staff@example.org") == 302
    assert signed_in(client) and not signed_in(thief)


def test_bad_changes_are_refused_and_change_nothing(
    app: Flask, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    with pytest.raises(SystemExit):
        kotha_users(monkeypatch, "role", "--email", "staff@example.org", "--role", "owner")
    assert kotha_users(monkeypatch, "disable", "--email", "nobody@example.org") == 2
    short = ("password", "--email", "staff@example.org", "--password-stdin")
    assert kotha_users(monkeypatch, *short, stdin="short\n") == 2
    assert signed_in(client)
    with services.database.session() as session:
        user = find_user(session, "staff@example.org")
        assert (user.role, user.active, user.session_epoch) == ("staff", True, 0)
        with pytest.raises(AccountError):
            change_password(session, user, "short", services.clock())


def test_a_session_from_before_sessions_had_epochs_is_signed_out(
    app: Flask, services: Services
) -> None:
    client = app.test_client()
    assert sign_in(client, "staff@example.org") == 302
    with client.session_transaction() as session:
        del session["kotha_epoch"]
    assert not signed_in(client)


def test_the_account_change_functions_end_sessions(services: Services) -> None:
    with services.database.session() as session:
        user = create_user(session, "x@example.org", "staff", PASSWORD, now=services.clock())
        before = user.session_epoch
        accounts.change_role(session, user, "admin", services.clock())
        accounts.set_active(session, user, False, services.clock())
        accounts.change_password(session, user, NEW_PASSWORD, services.clock())
        accounts.end_sessions(user)
        assert user.session_epoch == before + 4
        assert session.get_one(User, user.id).role == "admin"
