"""The `kotha` command line: run, serve, migrate, chat, export and inspect messages."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from bot import settings as settings_module
from bot.channels.console import ConsoleSender
from bot.services import Services, build_services
from bot.types import CHANNELS, InboundMessage, OutboundMessage
from storage.exports import EXPORTS
from storage.migrate import upgrade

DEFAULT_FROM = {"sms": "+447700900001", "whatsapp": "+447700900002", "telegram": "700900003"}
EXPIRY_SWEEP_SECONDS = 600


def _services(**kwargs: Any) -> Services:
    services = build_services(settings_module.load(), **kwargs)
    upgrade(services.database)
    return services


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _services()
    print("database is up to date")
    return 0


def _serve(services: Services, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    from bot.app import create_app

    server = make_server(host, port, create_app(services=services), threaded=True)
    base = f"http://{host}:{port}"
    print(f"Kotha is running.\n  simulator: {base}/simulator\n  console:   {base}/console/")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def _sweep_forever(services: Services) -> None:
    while True:
        time.sleep(EXPIRY_SWEEP_SECONDS)
        services.runner.expire_stale()


def cmd_run(args: argparse.Namespace) -> int:
    services = _services()
    threading.Thread(target=_sweep_forever, args=(services,), daemon=True).start()
    _serve(services, args.host, args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _serve(_services(), args.host, args.port)
    return 0


def _read_lines(stream: Any) -> Any:
    """Yield input lines exactly as typed, without their line ending; bad bytes survive."""
    for raw in stream.buffer if hasattr(stream, "buffer") else stream:
        line = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        yield line.rstrip("\n").removesuffix("\r")


def cmd_chat(args: argparse.Namespace) -> int:
    out: TextIO = sys.stdout

    def show(message: OutboundMessage) -> None:
        out.write(message.text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n\n")
        out.flush()

    services = _services(senders={c: ConsoleSender(show) for c in CHANNELS})
    address = args.sender or DEFAULT_FROM[args.channel]
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"Talking to Kotha on {args.channel} as {address}. Ctrl+D to end.\n", file=sys.stderr)
    for line in _read_lines(sys.stdin):
        services.runner.receive(InboundMessage(channel=args.channel, address=address, text=line))
    return 0


def _write_json(rows: list[dict[str, Any]], out: TextIO) -> None:
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
            {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
             for k, v in row.items()}
        )
    out.write(buffer.getvalue().encode("utf-8", "backslashreplace").decode("utf-8"))


def cmd_export(args: argparse.Namespace) -> int:
    services = _services()
    with services.database.session() as session:
        rows = list(EXPORTS[args.records](session))
    (_write_json if args.format == "json" else _write_csv)(rows, sys.stdout)
    return 0


def cmd_messages_cost(args: argparse.Namespace) -> int:
    from bot.messages_cli import print_cost

    services = build_services(settings_module.load())
    return print_cost(services.i18n, sys.stdout)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="kotha", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    for name, handler, help_text in (
        ("run", cmd_run, "migrate, then serve the web app with the sweeps in one process"),
        ("serve", cmd_serve, "the web app only"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=5000)
        command.set_defaults(handler=handler)

    db = commands.add_parser("db", help="database commands").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    chat = commands.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--channel", choices=CHANNELS, default="sms")
    chat.add_argument("--from", dest="sender", help="the address to write from")
    chat.set_defaults(handler=cmd_chat)

    export = commands.add_parser("export", help="print records")
    export.add_argument("records", choices=sorted(EXPORTS))
    export.add_argument("--format", choices=("csv", "json"), default="json")
    export.set_defaults(handler=cmd_export)

    messages = commands.add_parser("messages", help="bot texts").add_subparsers(
        dest="messages", required=True
    )
    messages.add_parser("cost", help="every bot text per language with its SMS segments")\
        .set_defaults(handler=cmd_messages_cost)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
