"""`kotha feedback update` and `kotha cases digest`: working cases from a terminal."""

from __future__ import annotations

import argparse
import sys

from bot.casework.cases import CaseError, UnknownFeedback, update_status
from bot.casework.digest import CaseDigest
from bot.cli.common import Commands, load_services
from storage.models import Message


def feedback_update(args: argparse.Namespace) -> int:
    """Change a case's status as no signed-in user, and tell the person (bot/casework/cases.py)."""
    services = load_services(queue="huey" if args.queue else "inline")
    try:
        with services.database.session() as session:
            row = update_status(session, args.reference, args.status, args.note, services.clock())
            row_id = row.id if row is not None else None
    except UnknownFeedback:
        print(f"no feedback with reference {args.reference}", file=sys.stderr)
        return 1
    except CaseError as error:
        print(error, file=sys.stderr)
        return 2
    if row_id is not None:
        services.queue.enqueue([row_id])
        with services.database.session() as session:
            sent = session.get_one(Message, row_id)
            print(
                f"{args.reference}: {args.status}; update {sent.status}"
                + (f" ({sent.reason})" if sent.reason else "")
            )
    else:
        print(f"{args.reference}: {args.status}")
    services.close()
    return 0


def cases_digest(args: argparse.Namespace) -> int:
    """Print today's digest of overdue and due-soon cases; with --send, send it to staff too."""
    services = load_services()
    try:
        digest = CaseDigest(services.database, services.settings, services.clock)
        today = digest.today()
        print(digest.text(today))
        if args.send:
            if not services.settings.digest_to:
                print("set KOTHA_DIGEST_TO first", file=sys.stderr)
                return 2
            sent = digest.write(services.queue.enqueue, today)
            print(f"sent to {len(sent)} of {len(services.settings.digest_to)} (once a day each)")
    finally:
        services.close()
    return 0


def add_parsers(commands: Commands) -> None:
    feedback = commands.add_parser("feedback", help="feedback records").add_subparsers(
        dest="feedback", required=True
    )
    update = feedback.add_parser("update", help="change a status and tell the person")
    update.add_argument("reference")
    update.add_argument("--status", required=True)
    update.add_argument("--note")
    update.add_argument(
        "--queue", action="store_true", help="hand the update to the worker instead of sending now"
    )
    update.set_defaults(handler=feedback_update)

    cases = commands.add_parser("cases", help="complaints and other cases").add_subparsers(
        dest="cases", required=True
    )
    digest = cases.add_parser("digest", help="today's overdue and due-soon cases, for staff")
    digest.add_argument(
        "--send", action="store_true", help="also send it to KOTHA_DIGEST_TO now (once a day)"
    )
    digest.set_defaults(handler=cases_digest)
