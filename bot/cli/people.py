"""`kotha people export|erase` and `kotha retention`: people's data rights from the shell.

Numbers and words are never printed except in an export, which is the point of it.
"""

from __future__ import annotations

import argparse
import sys

from bot.casework.accounts import record_audit
from bot.casework.erasure import (
    MAX_REASON,
    ErasureError,
    SurveyAnswers,
    erase_people,
    scrub_files,
)
from bot.casework.media import MediaCache
from bot.casework.people import PersonError, export_people, find_people
from bot.cli.common import Commands, load_services
from bot.cli.export import write_json

NOBODY = (
    "nobody is held with the address {address!r}: they never wrote, or were erased "
    "already (an erased number is not kept, so it cannot be told apart). Nothing changed."
)


def people_export(args: argparse.Namespace) -> int:
    services = load_services()
    try:
        with services.database.session() as session:
            contact_ids = find_people(session, args.address)
            if not contact_ids:
                print(NOBODY.format(address=args.address), file=sys.stderr)
                return 1
            export = export_people(session, contact_ids, services.clock())
            for contact_id in contact_ids:
                # Looked at from the shell: no account, but in the audit log all the same.
                record_audit(
                    session,
                    None,
                    "person.exported",
                    "contact",
                    contact_id,
                    {"by": "command line"},
                    now=services.clock(),
                )
    except PersonError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        services.close()
    write_json(export, sys.stdout)
    return 0


def people_erase(args: argparse.Namespace) -> int:
    reason = (args.reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        print(
            f"say why they are erased, for the audit log: --reason, up to {MAX_REASON} "
            "characters and no personal details (for example: asked by letter on 3 May)",
            file=sys.stderr,
        )
        return 2
    if not args.yes:
        print("erasing cannot be undone: add --yes to erase", file=sys.stderr)
        return 2
    services = load_services()
    try:
        with services.database.session() as session:
            contact_ids = find_people(session, args.address)
            if not contact_ids:
                print(NOBODY.format(address=args.address), file=sys.stderr)
                return 1
            erasure = erase_people(
                session,
                contact_ids,
                now=services.clock(),
                complaint_months=services.settings.retention_complaints_months,
                survey_answers=SurveyAnswers.of(services.flows),
                user_id=None,
                reason=reason,
            )
        scrub_files(services.database)
        MediaCache.of(services.settings).forget(erasure.media_urls)
    except (PersonError, ErasureError) as error:
        print(f"not erased: {error}", file=sys.stderr)
        return 2
    finally:
        services.close()
    people = ", ".join(str(contact_id) for contact_id in erasure.contact_ids)
    print(f"erased person {people}; {erasure.cancelled} message(s) not yet sent were cancelled")
    for kept in erasure.kept:
        print(f"kept: {kept.sentence()}")
    return 0


def retention(args: argparse.Namespace) -> int:
    services = load_services()
    try:
        keeper = services.retention
        if args.dry_run:
            due = keeper.due()
            for found in due:
                print(f"would erase {found.label} (since {found.since.isoformat()}): {found.why}")
            print(f"{len(due)} to erase")
            return 0
        done = keeper.apply()
    finally:
        services.close()
    for item in done:
        verb = "erased" if item.erased else "not erased"
        print(f"{verb} {item.due.label} ({item.due.why}): {item.note}")
    print(f"{sum(item.erased for item in done)} erased, {sum(not i.erased for i in done)} not")
    return 0 if all(item.erased for item in done) else 1


def add_parsers(commands: Commands) -> None:
    people = commands.add_parser(
        "people", help="a person's data: everything held (export), or erase them"
    ).add_subparsers(dest="people", required=True)
    export = people.add_parser("export", help="everything held about a person, as JSON")
    export.add_argument("address", help="a phone number, channel:address, or as stored")
    export.set_defaults(handler=people_export)
    erase = people.add_parser("erase", help="erase a person, keeping anonymous counts")
    erase.add_argument("address", help="a phone number, channel:address, or as stored")
    erase.add_argument("--yes", action="store_true", help="really erase (cannot be undone)")
    erase.add_argument("--reason", help="why, for the audit log (needed; no personal details)")
    erase.set_defaults(handler=people_erase)
    keep = commands.add_parser("retention", help="erase what is past its retention period")
    keep.add_argument("--dry-run", action="store_true", help="list what would be erased")
    keep.set_defaults(handler=retention)
