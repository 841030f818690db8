"""Console accounts: argon2 password hashes, account creation and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, User

ROLES = ("admin", "staff", "moderator")
# NCSC guidance favours length over composition rules; 12 characters is the floor we ask.
MIN_PASSWORD_LENGTH = 12
MAX_EMAIL_LENGTH = 254

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Say whether the password matches the hash, never raising for a wrong one."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Say whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, email: str, role: str, password: str, now: datetime) -> User:
    """Add an active account, refusing a bad role, a taken email or a short password."""
    address = normalise_email(email)
    _check_role(role)
    if "@" not in address.strip("@") or len(address) > MAX_EMAIL_LENGTH or " " in address:
        raise AccountError(f"{email!r} is not an email address")
    _check_password(password)
    if session.scalar(select(func.count()).select_from(User).where(User.email == address)):
        raise AccountError(f"an account for {address} already exists")
    user = User(
        email=address,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> User:
    """The account with this email address; AccountError when there is none."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise AccountError(f"no account for {normalise_email(email)}")
    return user


def end_sessions(user: User) -> None:
    """End every console session of this account, wherever it is signed in (copies too)."""
    user.session_epoch = (user.session_epoch or 0) + 1


def change_password(session: Session, user: User, password: str, now: datetime) -> None:
    """Give the account a new password; every session signed in with the old one ends."""
    _check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    record_audit(session, None, "user.password_changed", "user", user.id, now=now)


def change_role(session: Session, user: User, role: str, now: datetime) -> None:
    """Give the account another role; its sessions end, so it signs in afresh to use it."""
    _check_role(role)
    before = user.role
    user.role = role
    end_sessions(user)
    detail = {"from": before, "to": role}
    record_audit(session, None, "user.role_changed", "user", user.id, detail, now=now)


def set_active(session: Session, user: User, active: bool, now: datetime) -> None:
    """Disable (or enable again) the account; disabling ends its sessions at once."""
    user.active = active
    end_sessions(user)
    action = "user.enabled" if active else "user.disabled"
    record_audit(session, None, action, "user", user.id, now=now)


def authenticate(session: Session, email: str, password: str, now: datetime) -> User | None:
    """Return the active account these credentials open, upgrading an old hash on the way."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        # Hash anyway, so an unknown email takes as long to refuse as a wrong password.
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    return user


def record_audit(
    session: Session,
    user_id: int | None,
    action: str,
    target_type: str | None,
    target_id: str | int | None,
    detail: dict[str, Any] | None = None,
    reason: str | None = None,
    *,
    now: datetime,
) -> AuditEvent:
    """Add one audit event to the session's transaction."""
    event = AuditEvent(
        at=now,
        user_id=user_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
        reason=reason,
    )
    session.add(event)
    return event


_DUMMY_HASH = hash_password("not a password anyone has")
