"""`kotha users`: console accounts; passwords are read from standard input.

Changing an account's password or role, or disabling it, ends its sessions at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.casework.accounts import (
    AccountError,
    change_password,
    change_role,
    create_user,
    find_user,
    set_active,
)
from bot.cli.common import Commands, load_services
from storage.models import User


def users_create(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    services = load_services()
    try:
        with services.database.session() as session:
            user = create_user(session, args.email, args.role, password, services.clock())
            email, role = user.email, user.role
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"created {email} ({role})")
    return 0


def _change(args: argparse.Namespace, change: Callable[[Session, User, datetime], str]) -> int:
    """Apply one change to the account named by --email; print what was done."""
    services = load_services()
    try:
        with services.database.session() as session:
            done = change(session, find_user(session, args.email), services.clock())
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        services.close()
    print(done)
    return 0


def users_password(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")

    def change(session: Session, user: User, now: datetime) -> str:
        change_password(session, user, password, now)
        return f"new password for {user.email}; its sessions have ended"

    return _change(args, change)


def users_role(args: argparse.Namespace) -> int:
    def change(session: Session, user: User, now: datetime) -> str:
        change_role(session, user, args.role, now)
        return f"{user.email} is now {args.role}; its sessions have ended"

    return _change(args, change)


def users_active(args: argparse.Namespace) -> int:
    active = args.users == "enable"

    def change(session: Session, user: User, now: datetime) -> str:
        set_active(session, user, active, now)
        return f"{user.email} {'enabled' if active else 'disabled; its sessions have ended'}"

    return _change(args, change)


def add_parsers(commands: Commands) -> None:
    users = commands.add_parser("users", help="console accounts").add_subparsers(
        dest="users", required=True
    )
    create = users.add_parser("create", help="add an account; the password is read from stdin")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=("admin", "staff", "moderator"))
    create.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    create.set_defaults(handler=users_create)
    password = users.add_parser("password", help="set a new password, read from stdin")
    password.add_argument("--email", required=True)
    password.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    password.set_defaults(handler=users_password)
    role = users.add_parser("role", help="give an account another role")
    role.add_argument("--email", required=True)
    role.add_argument("--role", required=True, choices=("admin", "staff", "moderator"))
    role.set_defaults(handler=users_role)
    for name, what in (("disable", "stop an account signing in"), ("enable", "let it again")):
        toggle = users.add_parser(name, help=what)
        toggle.add_argument("--email", required=True)
        toggle.set_defaults(handler=users_active)
