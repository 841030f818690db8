"""`kotha feedback update|record` and `kotha cases digest`: working cases from a terminal."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from bot.casework import onbehalf
from bot.casework.accounts import AccountError, find_user
from bot.casework.cases import (
    CaseError,
    TellingPreview,
    UnknownFeedback,
    change_status,
    checked_move,
    find,
    preview_tellings,
    status_tellings,
)
from bot.casework.digest import CaseDigest
from bot.cli.common import Commands, confirmed, load_services
from bot.services import Services
from bot.staff_text import CONFIRM_OVER
from bot.types import OFFLINE_CHANNELS
from storage.models import Message


def feedback_update(args: argparse.Namespace) -> int:
    """Change a case's status as no signed-in user, and tell the person (bot/casework/cases.py).

    Each message to the person is printed first as they will read it, with its cost; one of
    more than CONFIRM_OVER segments needs --yes (or a yes at the prompt) before anything
    changes. With --dry-run only the preview is printed.
    """
    services = load_services(queue="huey" if args.queue else "inline")
    try:
        return _update(services, args)
    finally:
        services.close()


def _update(services: Services, args: argparse.Namespace) -> int:
    ombudsman = services.settings.ombudsman_contact
    try:
        with services.database.session() as session:
            feedback = find(session, args.reference)
            note = checked_move(feedback, args.status, args.note)
            tellings = status_tellings(session, feedback, args.status, note, ombudsman)
            shown = preview_tellings(
                session, services.i18n, feedback, tellings, services.settings.sms_segment_price
            )
        for number, item in enumerate(shown, 1):
            print_preview(number, item, sys.stdout)
        if args.dry_run:
            return 0
        if any(item.priced.needs_confirming for item in shown) and not confirmed(args.yes):
            print(
                f"not changed: a message is over {CONFIRM_OVER} text messages; "
                "shorten the note or add --yes",
                file=sys.stderr,
            )
            return 2
        with services.database.session() as session:
            feedback = find(session, args.reference, lock=True)
            change = change_status(
                session,
                feedback,
                args.status,
                user_id=None,
                note=args.note,
                tell=True,
                now=services.clock(),
                ombudsman=ombudsman,
            )
            row_ids = [message.id for message in change.messages]
            task_id = change.task.id if change.task is not None else None
    except UnknownFeedback:
        print(f"no feedback with reference {args.reference}", file=sys.stderr)
        return 1
    except CaseError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{args.reference}: {args.status}", end="")
    if row_ids:
        services.queue.enqueue(row_ids)
        with services.database.session() as session:
            for label, row_id in zip(("update", "how to take it further"), row_ids, strict=False):
                sent = session.get_one(Message, row_id)
                said = f"; {label} {sent.status}" + (f" ({sent.reason})" if sent.reason else "")
                print(said, end="")
    elif task_id is not None:
        print(f"; staff task {task_id} opened to tell them", end="")
    print()
    return 0


def print_preview(number: int, item: TellingPreview, out: TextIO) -> None:
    """One message to the person as they will read it, its cost, and what was changed."""
    print(f"message {number}: {item.priced.describe()}", file=out)
    if item.telling.replaced:
        print(f"  {item.telling.replaced} (to stay a plain text message)", file=out)
    if item.telling.awaiting:
        print(f"  held awaiting translation: {item.telling.awaiting}", file=out)
    for line in item.priced.text.splitlines():
        print(f"  | {line}", file=out)


# The command's options, by the field of bot/casework/onbehalf.py each one fills.
RECORD_OPTIONS = {
    "kind": "--kind",
    "channel": "--channel",
    "language": "--language",
    "words": "--text",
    "service": "--service",
    "name": "--name",
    "phone": "--phone",
    "postal_address": "--postal-address",
    "updates_by": "--updates",
    "consent": "--consent",
}


def feedback_record(args: argparse.Namespace) -> int:
    """Keep feedback taken on someone's behalf, as the staff account `--by` (audited)."""
    words = sys.stdin.read() if args.text == "-" else args.text
    given = onbehalf.Given(
        kind=args.kind,
        channel=args.channel,
        language=args.language,
        words=words or "",
        service=args.service or "",
        name=args.name or "",
        phone=args.phone or "",
        postal_address=args.postal_address or "",
        updates_by=args.updates,
        consent=args.consent,
    )
    services = load_services()
    try:
        with services.database.session() as session:
            user = find_user(session, args.by)
            if not user.active or user.role not in ("staff", "admin"):
                raise AccountError(f"{user.email} is not an active staff or admin account")
            taken = onbehalf.record(
                session,
                given,
                user_id=user.id,
                now=services.clock(),
                i18n=services.i18n,
                flows=services.flows,
                settings=services.settings,
            )
    except AccountError as error:
        print(f"--by: {error}", file=sys.stderr)
        return 2
    except onbehalf.TakeError as error:
        for field, message in error.errors.items():
            print(f"{RECORD_OPTIONS.get(field, field)}: {message}", file=sys.stderr)
        print("nothing was saved", file=sys.stderr)
        return 2
    finally:
        services.close()
    what = taken.reference or onbehalf.KIND_LABELS[taken.kind].lower()
    how = {
        "sms": "updates by SMS to their mobile",
        "call": "updates as staff tasks to call them",
        "letter": "updates as staff tasks to write to them",
        "none": "no updates",
    }[args.updates]
    print(f"{what}: kept for contact {taken.contact_id}; {how}")
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
    update.add_argument("--note", help="told to the person: write it in the language they read")
    update.add_argument(
        "--yes", action="store_true", help="send a message of more than 3 text messages"
    )
    update.add_argument(
        "--dry-run", action="store_true", help="print the messages and their cost only"
    )
    update.add_argument(
        "--queue", action="store_true", help="hand the update to the worker instead of sending now"
    )
    update.set_defaults(handler=feedback_update)

    taken = feedback.add_parser(
        "record",
        help="keep feedback taken on someone's behalf (a phone call, a drop-in, a letter)",
    )
    taken.add_argument("--kind", required=True, choices=onbehalf.KINDS)
    taken.add_argument("--channel", required=True, choices=OFFLINE_CHANNELS)
    taken.add_argument("--language", required=True, help="their language: en, bn, syl, ...")
    taken.add_argument(
        "--text", help="what they said, in their words (- reads it from standard input)"
    )
    taken.add_argument(
        "--service", help="the service; for a survey its name; for an interest the opportunity"
    )
    taken.add_argument("--name", help="their name, as given")
    taken.add_argument("--phone", help="their phone number; a mobile takes updates by SMS")
    taken.add_argument("--postal-address", help="their postal address, as given")
    taken.add_argument("--updates", required=True, choices=tuple(onbehalf.UPDATES_BY))
    taken.add_argument(
        "--consent", required=True, choices=("yes", "no"), help="may we contact them, as they said"
    )
    taken.add_argument("--by", required=True, help="the email of the staff account taking it")
    taken.set_defaults(handler=feedback_record)

    cases = commands.add_parser("cases", help="complaints and other cases").add_subparsers(
        dest="cases", required=True
    )
    digest = cases.add_parser("digest", help="today's overdue and due-soon cases, for staff")
    digest.add_argument(
        "--send", action="store_true", help="also send it to KOTHA_DIGEST_TO now (once a day)"
    )
    digest.set_defaults(handler=cases_digest)
