"""`kotha understand [TEXT]`: what the bot takes a message to say, as JSON.

With TEXT, one JSON object; without, one object per line of standard input, so reviewers can
run a whole file of messages through it. Nothing is stored and no database is needed: it is
the same pure understanding the runner gives the conversation engine (flows/understanding).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from bot.cli.common import Commands
from flows.understanding import understand


def described(text: str) -> dict[str, Any]:
    """The JSON object for one message: intent, language, confidence and the words why."""
    return understand(text).as_json()


def _print(found: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(found, ensure_ascii=False) + "\n")


def run(args: argparse.Namespace) -> int:
    if args.text is not None:
        _print(described(args.text), sys.stdout)
        return 0
    for line in sys.stdin:
        _print(described(line.rstrip("\r\n")), sys.stdout)
    return 0


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser(
        "understand",
        help="show what the bot understands a message to say (JSON)",
        description=(
            "Print what Kotha understands a message to say: intent, language, confidence "
            "and the words that decided. With TEXT, one JSON object; without, one per line "
            "of standard input."
        ),
    )
    parser.add_argument("text", nargs="?", help="the message; omit to read lines from stdin")
    parser.set_defaults(handler=run)
