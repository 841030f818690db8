"""The `kotha` command line: run, serve, migrate, chat, export and inspect messages."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from sqlalchemy import select

from bot import settings as settings_module
from bot.channels.console import ConsoleSender
from bot.services import Services, build_services
from bot.types import CHANNELS, InboundMessage, OutboundMessage
from storage.exports import EXPORTS
from storage.migrate import upgrade
from storage.models import Message

DEFAULT_FROM = {"sms": "+447700900001", "whatsapp": "+447700900002", "telegram": "700900003"}


def _services(**kwargs: Any) -> Services:
    services = build_services(settings_module.load(), **kwargs)
    upgrade(services.database)
    return services


def _consume(services: Services, workers: int) -> None:
    """Run the Huey consumer in this (main) thread: it installs signal handlers."""
    assert services.huey is not None
    consumer = services.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )
    consumer.run()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _services()
    print("database is up to date")
    return 0


def _server(services: Services, host: str, port: int) -> Any:
    from werkzeug.serving import make_server

    from bot.app import create_app

    server = make_server(host, port, create_app(services=services), threaded=True)
    base = f"http://{host}:{port}"
    print(f"Kotha is running.\n  simulator: {base}/simulator\n  console:   {base}/console/")
    print("Press Ctrl+C to stop.", flush=True)
    return server


def cmd_run(args: argparse.Namespace) -> int:
    """One process: web app in a thread, queue consumer and its periodic sweep in this one."""
    services = _services(queue="huey")
    from bot.cli.demo import seed_demo

    if seed_demo(services):
        print("First start: added demo conversations (see the simulator and exports).")
    server = _server(services, args.host, args.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _consume(services, workers=4)
    finally:
        server.shutdown()
        services.close()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    services = _services(queue="huey")
    try:
        _server(services, args.host, args.port).serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    services = _services(queue="huey")
    try:
        _consume(services, workers=args.workers)
    finally:
        services.close()
    return 0


def cmd_feedback_update(args: argparse.Namespace) -> int:
    """Change a case's status as no signed-in user, and tell the person (bot/casework/cases.py)."""
    from bot.casework.cases import CaseError, UnknownFeedback, update_status

    services = _services(queue="huey" if args.queue else "inline")
    try:
        with services.database.session() as session:
            row = update_status(
                session, args.reference, args.status, args.note, services.runner.clock()
            )
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


def cmd_cases_digest(args: argparse.Namespace) -> int:
    """Print today's digest of overdue and due-soon cases; with --send, send it to staff too."""
    from bot.casework.digest import CaseDigest

    services = _services()
    try:
        digest = CaseDigest(services.database, services.settings, services.runner.clock)
        today = digest.today()
        print(digest.text(today))
        if args.send:
            if not services.settings.digest_to:
                print("set KOTHA_DIGEST_TO first", file=sys.stderr)
                return 2
            sent = digest.send(services.queue.enqueue, today)
            print(f"sent to {len(sent)} of {len(services.settings.digest_to)} (once a day each)")
    finally:
        services.close()
    return 0


def cmd_messages_update(args: argparse.Namespace) -> int:
    from bot.cli.messages import compile_catalogs, update_catalogs

    for path in update_catalogs(settings_module.REPO_ROOT):
        print(f"updated {path}")
    compile_catalogs(settings_module.LOCALES_DIR)
    return 0


def cmd_messages_failed(args: argparse.Namespace) -> int:
    services = _services()
    with services.database.session() as session:
        rows = session.scalars(
            select(Message)
            .where(Message.direction == "out", Message.status.in_(("failed", "held")))
            .order_by(Message.id)
        ).all()
        print(f"{'id':>8}  {'channel':<9} {'status':<7} {'attempts':>8}  {'reason':<28} created")
        for row in rows:
            print(
                f"{row.id:>8}  {row.channel:<9} {row.status:<7} {row.attempts:>8}  "
                f"{(row.reason or ''):<28} {row.created_at.isoformat(timespec='seconds')}"
            )
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.channels.telegram import poll, set_webhook

    settings = settings_module.load()
    if not settings.telegram_bot_token:
        print("set TELEGRAM_BOT_TOKEN first", file=sys.stderr)
        return 2
    if args.telegram == "set-webhook":
        if not settings.public_url or not settings.telegram_secret:
            print("set KOTHA_PUBLIC_URL and KOTHA_TELEGRAM_SECRET first", file=sys.stderr)
            return 2
        set_webhook(
            settings.telegram_bot_token,
            settings.telegram_api_url,
            f"{settings.public_url}/webhooks/telegram",
            settings.telegram_secret,
        )
        print("webhook registered")
        return 0
    # For development: replies are sent at once from this process, no worker needed.
    services = _services()
    stop = threading.Event()

    def handle(message: InboundMessage) -> None:
        services.runner.receive(message)

    print("Polling Telegram for updates. Ctrl+C to stop.", file=sys.stderr)
    try:
        poll(
            settings.telegram_bot_token,
            settings.telegram_api_url,
            handle,
            stop=stop,
        )
    except KeyboardInterrupt:
        stop.set()
    finally:
        services.close()
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
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    out.write(buffer.getvalue().encode("utf-8", "backslashreplace").decode("utf-8"))


def cmd_export(args: argparse.Namespace) -> int:
    services = _services()
    with services.database.session() as session:
        rows = list(EXPORTS[args.records](session))
    (_write_json if args.format == "json" else _write_csv)(rows, sys.stdout)
    return 0


def cmd_messages_cost(args: argparse.Namespace) -> int:
    from bot.cli.messages import print_cost

    services = build_services(settings_module.load())
    return print_cost(services.i18n, sys.stdout)


def cmd_users_create(args: argparse.Namespace) -> int:
    from bot.casework.accounts import AccountError, create_user

    password = sys.stdin.readline().rstrip("\r\n")
    services = _services()
    try:
        with services.database.session() as session:
            user = create_user(session, args.email, args.role, password)
            email, role = user.email, user.role
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        services.close()
    print(f"created {email} ({role})")
    return 0


def cmd_broadcast(args: argparse.Namespace) -> int:
    from bot.cli.broadcast import run

    # Sent from here, the rows go to the queue for `kotha worker` (or `kotha run`) to send.
    services = _services(queue="huey")
    try:
        return run(services, args)
    finally:
        services.close()


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

    worker = commands.add_parser("worker", help="queue consumer only")
    worker.add_argument("--workers", type=int, default=4)
    worker.set_defaults(handler=cmd_worker)

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
    update.set_defaults(handler=cmd_feedback_update)

    cases = commands.add_parser("cases", help="complaints and other cases").add_subparsers(
        dest="cases", required=True
    )
    digest = cases.add_parser("digest", help="today's overdue and due-soon cases, for staff")
    digest.add_argument(
        "--send", action="store_true", help="also send it to KOTHA_DIGEST_TO now (once a day)"
    )
    digest.set_defaults(handler=cmd_cases_digest)

    telegram = commands.add_parser("telegram", help="Telegram set-up").add_subparsers(
        dest="telegram", required=True
    )
    telegram.add_parser("set-webhook").set_defaults(handler=cmd_telegram)
    telegram.add_parser("poll").set_defaults(handler=cmd_telegram)

    db = commands.add_parser("db", help="database commands").add_subparsers(
        dest="db", required=True
    )
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
    messages.add_parser(
        "cost", help="every bot text per language with its SMS segments"
    ).set_defaults(handler=cmd_messages_cost)
    messages.add_parser(
        "update", help="extract texts into the catalogs (then translate)"
    ).set_defaults(handler=cmd_messages_update)
    messages.add_parser("failed", help="failed and held messages with their reasons").set_defaults(
        handler=cmd_messages_failed
    )

    from bot.cli.broadcast import add_parser as add_broadcast_parser

    add_broadcast_parser(commands).set_defaults(handler=cmd_broadcast)

    users = commands.add_parser("users", help="console accounts").add_subparsers(
        dest="users", required=True
    )
    create = users.add_parser("create", help="add an account; the password is read from stdin")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=("admin", "staff", "moderator"))
    create.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    create.set_defaults(handler=cmd_users_create)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
