"""Console accounts: argon2 hashes, account creation's refusals, the CLI and the audit log."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.casework.accounts import (
    AccountError,
    authenticate,
    create_user,
    hash_password,
    needs_rehash,
    record_audit,
    verify_password,
)
from bot.settings import REPO_ROOT
from storage.db import Database
from storage.models import AuditEvent, User
from tests.bot.cli.test_cli import TIMEOUT, kotha_command, kotha_env

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def test_a_hash_is_argon2id_and_verifies_only_its_password() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != hashed  # salted


def test_create_user_lower_cases_the_email_and_hashes_the_password(database: Database) -> None:
    with database.session() as session:
        create_user(session, "  Ruma.Begum@Example.ORG ", "staff", PASSWORD, now=NOW)
    with database.session() as session:
        user = session.scalars(select(User)).one()
        assert (user.email, user.role, user.active, user.created_at) == (
            "ruma.begum@example.org",
            "staff",
            True,
            NOW,
        )
        assert verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("email", "role", "password", "says"),
    [
        ("a@example.org", "owner", PASSWORD, "role must be one of admin, staff, moderator"),
        ("a@example.org", "staff", "short pass", "at least 12 characters"),
        ("not-an-email", "staff", PASSWORD, "is not an email address"),
        ("TAKEN@example.org", "moderator", PASSWORD, "already exists"),
    ],
)
def test_create_user_refuses_bad_input_clearly(
    database: Database, email: str, role: str, password: str, says: str
) -> None:
    with database.session() as session:
        create_user(
            session,
            "taken@example.org",
            "admin",
            PASSWORD,
            now=NOW,
        )
    with pytest.raises(AccountError, match=says), database.session() as session:
        create_user(session, email, role, password, now=NOW)


def test_authenticate_upgrades_a_weak_hash_and_refuses_deactivated_accounts(
    database: Database,
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert needs_rehash(weak)
    with database.session() as session:
        user = create_user(
            session,
            "a@example.org",
            "staff",
            PASSWORD,
            now=NOW,
        )
        user.password_hash = weak
    with database.session() as session:
        signed_in = authenticate(session, "A@example.org", PASSWORD, NOW)
        assert signed_in is not None and signed_in.last_login_at == NOW
        assert not needs_rehash(signed_in.password_hash)
        assert authenticate(session, "a@example.org", "wrong password!", NOW) is None
        assert authenticate(session, "nobody@example.org", PASSWORD, NOW) is None
        signed_in.active = False
        assert authenticate(session, "a@example.org", PASSWORD, NOW) is None


def test_record_audit_stores_who_what_and_why(database: Database) -> None:
    with database.session() as session:
        user = create_user(
            session,
            "a@example.org",
            "moderator",
            PASSWORD,
            now=NOW,
        )
        record_audit(
            session,
            user.id,
            "conversation.viewed",
            "conversation",
            42,
            {"from": "queue"},
            reason="safeguarding check",
            now=NOW,
        )
    with database.session() as session:
        event = session.scalars(select(AuditEvent)).one()
        assert (event.at, event.user_id, event.action, event.target_type, event.target_id) == (
            NOW,
            user.id,
            "conversation.viewed",
            "conversation",
            "42",
        )
        assert (event.detail, event.reason) == ({"from": "queue"}, "safeguarding check")


def users_create(instance: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*kotha_command(), "users", "create", *args, "--password-stdin"],
        input=f"{password}\n",
        capture_output=True,
        text=True,
        env=kotha_env(instance),
        cwd=REPO_ROOT,
        timeout=TIMEOUT,
        check=False,
    )


def test_kotha_users_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    done = users_create(
        tmp_path, "--email", "Admin@Example.org", "--role", "admin", password=PASSWORD
    )
    assert (done.returncode, done.stdout) == (0, "created admin@example.org (admin)\n")
    assert PASSWORD not in done.stdout + done.stderr
    database = Database(kotha_env(tmp_path)["KOTHA_DATABASE_URL"])
    try:
        with database.session() as session:
            user = session.scalars(select(User)).one()
            assert (user.email, user.role) == ("admin@example.org", "admin")
            assert verify_password(user.password_hash, PASSWORD)
    finally:
        database.dispose()

    again = users_create(
        tmp_path, "--email", "admin@example.org", "--role", "staff", password=PASSWORD
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    role = users_create(tmp_path, "--email", "c@example.org", "--role", "owner", password=PASSWORD)
    assert role.returncode == 2 and "invalid choice" in role.stderr
