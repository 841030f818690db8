"""`kotha broadcast ...`: preview, send or schedule, watch and cancel broadcasts from a terminal."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.cli.common import Commands, confirmed, load_services
from bot.outreach.broadcasts import (
    LEFT_OUT,
    BroadcastError,
    Broadcasts,
    Preview,
    Progress,
    describe_segment,
    parse_segment,
    preview,
    progress,
)
from bot.services import Services
from bot.staff_text import CONFIRM_OVER
from bot.types import CHANNEL_NAMES
from storage.models import Broadcast

BAR_WIDTH = 30
WATCH_SECONDS = 2.0


def parse_texts(pairs: Sequence[str]) -> dict[str, str]:
    """Turn `en=Hello` arguments into {"en": "Hello"}; the text may hold '=' itself."""
    texts: dict[str, str] = {}
    for pair in pairs:
        code, sep, text = pair.partition("=")
        if not sep or not code.strip():
            raise BroadcastError(f"a text is language=words, like en=Hello, not {pair!r}")
        texts[code.strip()] = text
    return texts


def parse_at(text: str | None, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time; one without an offset is local time (KOTHA_TIMEZONE)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise BroadcastError(
            f"--at wants an ISO 8601 time like 2026-11-25T09:30, not {text!r}"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def print_preview(shown: Preview, out: TextIO) -> None:
    out.write(
        f"{'language':<16} {'reads':<9} {'encoding':<8} {'segs':>4} {'per SMS':>8}  recipients\n"
    )
    for line in shown.lines:
        reads = line.text.source + (" (fallback)" if line.text.fallback else "")
        who = ", ".join(
            f"{count} {CHANNEL_NAMES.get(channel, channel)}"
            for channel, count in sorted(line.recipients.items())
        )
        out.write(
            f"{line.text.name:<16} {reads:<9} {line.text.cost.encoding:<8} "
            f"{line.text.cost.segments:>4} {line.price_per_sms:>8.2f}  {who or 'nobody'}\n"
        )
    out.write(
        f"{shown.recipients} recipients; estimated SMS cost £{shown.cost:.2f} "
        f"at £{shown.segment_price:.2f} a segment\n"
    )
    for reason, count in sorted(shown.left_out.items()):
        out.write(f"left out: {count}: {LEFT_OUT.get(reason, reason)}\n")
    for line in shown.lines:
        if line.text.replaced and not line.text.fallback:
            out.write(f"{line.text.name}: {line.text.replaced} (to stay a plain text message)\n")


def progress_line(state: Progress) -> str:
    """One line: a bar of what has left us, then every count."""
    filled = BAR_WIDTH * state.percent // 100
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    counts = state.as_json()
    parts = " ".join(
        f"{key} {counts[key]}"
        for key in ("queued", "sent", "delivered", "failed", "held", "cancelled", "unknown")
    )
    return f"[{bar}] {state.percent:>3}% of {state.recipients}  {parts}  ({state.status})"


def _service(services: Services) -> Broadcasts:
    return services.broadcasts


def send(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    zone = services.settings.zone
    texts = parse_texts(args.text)
    segment = parse_segment(args.segment)
    at = parse_at(args.at, zone)
    if at is not None and at <= services.clock():
        raise BroadcastError("--at must be in the future")
    service = _service(services)
    with services.database.session() as session:
        shown = preview(
            session,
            services.i18n,
            services.flows,
            services.settings,
            texts,
            segment,
            args.survey,
            now=services.clock(),
        )
    print_preview(shown, out)
    if args.dry_run:
        return 0
    if shown.long_by_sms and not confirmed(args.yes):
        raise BroadcastError(
            f"not sent: some people get it as more than {CONFIRM_OVER} text messages; "
            "shorten it or add --yes"
        )
    with services.database.session() as session:
        created = service.create(
            session, title=args.title, texts=texts, segment=segment, survey=args.survey
        )
        broadcast_id = created.id
    if at is not None:
        service.schedule(broadcast_id, at)
        out.write(
            f"broadcast {broadcast_id} scheduled for {at.astimezone(zone):%Y-%m-%d %H:%M %Z}\n"
        )
        return 0
    written = service.launch(broadcast_id)
    out.write(f"broadcast {broadcast_id}: {written} messages queued\n")
    return 0


def status(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    while True:
        with services.database.session() as session:
            found = session.get(Broadcast, args.id)
            if found is None:
                raise BroadcastError(f"there is no broadcast {args.id}")
            state = progress(session, found)
            title, segment = found.title, describe_segment(found.segment)
        line = progress_line(state)
        if not args.watch or state.finished:
            out.write(f"{args.id} {title}: {segment}\n{line}\n")
            return 0
        # Redrawn in place on a terminal; a line each time when piped.
        out.write(f"\r{line}" if out.isatty() else f"{line}\n")
        out.flush()
        time.sleep(WATCH_SECONDS)


def cancel(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    stopped = _service(services).cancel(args.id)
    out.write(f"broadcast {args.id} cancelled; {stopped} messages not yet sent were stopped\n")
    return 0


def listing(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    with services.database.session() as session:
        rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(50)).all()
        for row in rows:
            due = row.send_at.isoformat(timespec="minutes") if row.send_at else "-"
            out.write(f"{row.id:>6}  {row.status:<10} {row.recipients:>8}  {due:<25} {row.title}\n")
    return 0


COMMANDS = {"send": send, "status": status, "cancel": cancel, "list": listing}


def run(services: Services, args: argparse.Namespace) -> int:
    """Run one `kotha broadcast` command; a refused one says why on stderr and exits 2."""
    try:
        return COMMANDS[args.broadcast](services, args, sys.stdout)
    except BroadcastError as error:
        print(error, file=sys.stderr)
        return 2


def broadcast(args: argparse.Namespace) -> int:
    # Sent from here, the rows go to the queue for `kotha worker` (or `kotha run`) to send.
    services = load_services(queue="huey")
    try:
        return run(services, args)
    finally:
        services.close()


def add_parsers(commands: Commands) -> None:
    """The `kotha broadcast` subcommands."""
    parser = commands.add_parser("broadcast", help="send a message to many people")
    parser.set_defaults(handler=broadcast)
    actions = parser.add_subparsers(dest="broadcast", required=True)
    send_parser = actions.add_parser("send", help="preview, then send now or schedule (--at)")
    send_parser.add_argument("--title", required=True, help="a label only staff see")
    send_parser.add_argument(
        "--text", action="append", required=True, metavar="LANG=TEXT", help="repeat per language"
    )
    send_parser.add_argument(
        "--segment",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="language, channel, service, topic or opportunity (repeat to narrow); default all",
    )
    send_parser.add_argument("--survey", help="walk recipients through this survey flow")
    send_parser.add_argument("--at", help="ISO 8601 time to send at (local time without offset)")
    send_parser.add_argument("--dry-run", action="store_true", help="print the preview only")
    send_parser.add_argument(
        "--yes", action="store_true", help="send even where it is over 3 text messages"
    )
    status_parser = actions.add_parser("status", help="progress of one broadcast")
    status_parser.add_argument("id", type=int)
    status_parser.add_argument("--watch", action="store_true", help="redraw until it finishes")
    cancel_parser = actions.add_parser("cancel", help="stop a broadcast part-way")
    cancel_parser.add_argument("id", type=int)
    actions.add_parser("list", help="the latest broadcasts")
