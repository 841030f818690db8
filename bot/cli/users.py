"""`kotha users create`: console accounts, the password read from standard input."""

from __future__ import annotations

import argparse
import sys

from bot.casework.accounts import AccountError, create_user
from bot.cli.common import Commands, load_services


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
