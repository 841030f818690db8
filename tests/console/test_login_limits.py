"""Sign-in limits stop guessing without letting anyone lock a person out.

Wrong passwords are counted by the address they come from (and by address and email), so
only that address is refused; guesses at one account from many addresses slow every
attempt at it down, and the right password still signs in.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.casework.accounts import create_user
from bot.services import Services
from console import auth
from console.auth import LoginLimiter
from kotha import create_app
from tests.console.test_access import (
    PASSWORD,
    _quick_hashes,  # noqa: F401 - quick argon2 here too
    sign_in,
)

VICTIM = "staff@example.org"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def app(services: Services, slept: list[float]) -> Flask:
    with services.database.session() as session:
        for role in ("admin", "staff"):
            create_user(session, f"{role}@example.org", role, PASSWORD, now=services.clock())
    app = create_app(services=services)
    # The limiter's waits are recorded rather than slept.
    app.extensions["kotha_login_limiter"] = LoginLimiter(None, sleep=slept.append)
    return app


def client_from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_guessing_from_one_address_cannot_lock_out_the_person(app: Flask) -> None:
    attacker = client_from(app, "198.51.100.1")
    for _ in range(5):
        assert sign_in(attacker, VICTIM, "not the password") == 401
    assert sign_in(attacker, VICTIM, "not the password") == 429
    assert sign_in(attacker, VICTIM) == 429  # the attacker's address waits, whatever it sends
    # The person, at their own address, signs in as always.
    assert sign_in(client_from(app, "192.0.2.10"), VICTIM) == 302


def test_one_address_guessing_many_accounts_is_refused(app: Flask) -> None:
    attacker = client_from(app, "198.51.100.2")
    for number in range(20):
        assert sign_in(attacker, f"guess{number}@example.org", "x") == 401
    assert sign_in(attacker, "admin@example.org") == 429
    assert sign_in(client_from(app, "192.0.2.11"), "admin@example.org") == 302


def test_signing_in_rightly_is_never_counted(app: Flask) -> None:
    # A whole office behind one address, signing in all morning.
    for _ in range(30):
        assert sign_in(client_from(app, "192.0.2.12"), VICTIM) == 302


def test_guesses_from_many_addresses_slow_the_account_down_but_never_refuse(
    app: Flask, slept: list[float]
) -> None:
    # Fifty addresses, one wrong guess each: no address is over its own limit.
    for number in range(auth.FAILURES_PER_EMAIL_BEFORE_SLOWING.amount):
        assert sign_in(client_from(app, f"10.0.{number // 250}.{number % 250}"), VICTIM, "x") == 401
    assert slept == []
    # Now every attempt at this account waits before its answer; the right one signs in.
    assert sign_in(client_from(app, "10.1.0.1"), VICTIM, "x") == 401
    assert sign_in(client_from(app, "192.0.2.13"), VICTIM) == 302
    assert slept == [auth.SLOW_DOWN_SECONDS, auth.SLOW_DOWN_SECONDS]
    # Other accounts are not slowed.
    assert sign_in(client_from(app, "192.0.2.14"), "admin@example.org") == 302
    assert len(slept) == 2


def test_the_real_limiter_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[float] = []
    monkeypatch.setattr(auth.time, "sleep", waited.append)
    limiter = LoginLimiter(None)
    for number in range(auth.FAILURES_PER_EMAIL_BEFORE_SLOWING.amount):
        assert limiter.allow(VICTIM, f"10.2.0.{number}")
        limiter.failed(VICTIM, f"10.2.0.{number}")
    assert waited == []
    assert limiter.allow(VICTIM, "10.3.0.1")
    assert waited == [auth.SLOW_DOWN_SECONDS]
