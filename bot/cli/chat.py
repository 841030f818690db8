"""`kotha chat`: talk to the bot in a terminal, one input line one message."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from bot.casework.inbox import normalise_phone
from bot.channels.console import ConsoleSender
from bot.cli.common import Commands, load_services
from bot.types import CHANNELS, InboundMessage, OutboundMessage

DEFAULT_FROM = {"sms": "+447700900001", "whatsapp": "+447700900002", "telegram": "700900003"}


def _read_lines(stream: Any) -> Iterator[str]:
    """Yield input lines exactly as typed, without their line ending; bad bytes survive."""
    for raw in stream.buffer if hasattr(stream, "buffer") else stream:
        line = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        yield line.rstrip("\n").removesuffix("\r")


def chat(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout

    def show(message: OutboundMessage) -> None:
        out.write(message.text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n\n")
        out.flush()

    address = args.sender or DEFAULT_FROM[args.channel]
    if args.channel != "telegram":
        # Written as people say their number (07700 900123); stored as providers send it.
        number = normalise_phone(address)
        if number is None:
            print(f"kotha chat: --from {address!r} is not a phone number", file=sys.stderr)
            return 2
        address = number
    services = load_services(senders={c: ConsoleSender(show) for c in CHANNELS})
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"Talking to Kotha on {args.channel} as {address}. Ctrl+D to end.\n", file=sys.stderr)
    for line in _read_lines(sys.stdin):
        services.runner.receive(InboundMessage(channel=args.channel, address=address, text=line))
    return 0


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser("chat", help="talk to the bot in the terminal")
    parser.add_argument("--channel", choices=CHANNELS, default="sms")
    parser.add_argument("--from", dest="sender", help="the address to write from")
    parser.set_defaults(handler=chat)
