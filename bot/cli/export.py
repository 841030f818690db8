"""`kotha export`: records to standard output as JSON or CSV, with no phone numbers."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any, TextIO

from bot.cli.common import Commands, load_services
from storage.exports import EXPORTS, csv_safe


def write_json(rows: Any, out: TextIO) -> None:
    """Write JSON as UTF-8 text, escaped to ASCII only where it holds a lone surrogate."""
    text = json.dumps(rows, ensure_ascii=False, indent=2)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Someone sent a lone surrogate (possible over JSON webhooks): escape everything
        # so the output is valid UTF-8 and the text still reads back exactly.
        text = json.dumps(rows, ensure_ascii=True, indent=2)
    out.write(text + "\n")


def _write_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: csv_safe(json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v)
                for k, v in row.items()
            }
        )
    out.write(buffer.getvalue().encode("utf-8", "backslashreplace").decode("utf-8"))


def export(args: argparse.Namespace) -> int:
    services = load_services()
    with services.database.session() as session:
        rows = list(EXPORTS[args.records](session))
    (write_json if args.format == "json" else _write_csv)(rows, sys.stdout)
    return 0


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser("export", help="print records")
    parser.add_argument("records", choices=sorted(EXPORTS))
    parser.add_argument("--format", choices=("csv", "json"), default="json")
    parser.set_defaults(handler=export)
