"""`kotha report --from DATE --to DATE --format html|csv|json`: the impact indicators for a
period, for the Quality Board, the senior team or THINk, printed to stdout.

The HTML is one printable file with its charts; CSV has one figure a line; JSON one object.
Counts of equality monitoring answers under 5 read "fewer than 5" in all three.
"""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import Commands, load_services
from bot.outreach.impact import PeriodError, indicators, load_census, parse_period
from bot.outreach.report import FORMATS, csv_text, html_document, json_text


def report(args: argparse.Namespace) -> int:
    try:
        period = parse_period(args.start, args.end)
    except PeriodError as error:
        print(f"kotha report: {error}", file=sys.stderr)
        return 2
    services = load_services()
    try:
        zone = services.settings.zone
        now = services.clock()
        with services.database.session() as session:
            found = indicators(session, period, zone, now.astimezone(zone).date(), load_census())
    finally:
        services.close()
    if args.format == "html":
        sys.stdout.write(html_document(found, now.astimezone(zone)))
    elif args.format == "csv":
        sys.stdout.write(csv_text(found))
    else:
        sys.stdout.write(json_text(found))
    return 0


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser(
        "report", help="indicators and reach for a period (HTML printable with charts)"
    )
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("--format", choices=FORMATS, default="html", help="html, csv or json")
    parser.set_defaults(handler=report)
