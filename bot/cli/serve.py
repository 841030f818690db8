"""`kotha run`, `serve`, `worker` and `db …`: the processes that run Kotha, and its schema."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from bot import settings as settings_module
from bot.cli.common import Commands, WebApp, load_services
from bot.cli.demo import seed_demo
from bot.services import Services
from storage import migrate
from storage.db import Database


def _consume(services: Services, workers: int) -> None:
    """Run the Huey consumer in this (main) thread: it installs signal handlers."""
    assert services.huey is not None
    consumer = services.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )
    consumer.run()


def _database() -> Database:
    """The deployment's database as it is: `db current` and `history` change nothing."""
    return Database(settings_module.load().database_url)


def db_upgrade(args: argparse.Namespace) -> int:
    database = _database()
    try:
        before = migrate.current(database)
        migrate.upgrade(database)
        after = migrate.current(database)
    finally:
        database.dispose()
    if before == after:
        print(f"database is up to date ({after})")
    else:
        print(f"database upgraded from {before or 'empty'} to {after}")
    return 0


def _revision() -> str | None:
    """The migration the configured database is at (None: empty)."""
    database = _database()
    try:
        return migrate.current(database)
    finally:
        database.dispose()


def db_current(args: argparse.Namespace) -> int:
    revision = _revision()
    head = migrate.head()
    state = "up to date" if revision == head else f"behind: `kotha db upgrade` brings it to {head}"
    print(f"{revision or 'empty'} ({state})")
    return 0


def db_history(args: argparse.Namespace) -> int:
    revision = _revision()
    for step, before, what in migrate.history():
        mark = "*" if step == revision else " "
        print(f"{mark} {step} <- {before or 'base'}  {what}")
    return 0


def db_downgrade(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            "kotha: a downgrade drops the columns and tables newer migrations added, with"
            " what they hold; back the database up, then run again with --yes",
            file=sys.stderr,
        )
        return 2
    database = _database()
    try:
        migrate.downgrade(database, args.revision)
        print(f"database downgraded to {migrate.current(database) or 'empty'}")
    finally:
        database.dispose()
    return 0


def _server(services: Services, web_app: WebApp, host: str, port: int) -> Any:
    from werkzeug.serving import make_server

    server = make_server(host, port, web_app(services), threaded=True)
    base = f"http://{host}:{port}"
    simulator = {
        "on": f"{base}/simulator",
        "staff": f"{base}/simulator (sign in first)",
        "off": "off (KOTHA_SIMULATOR=staff puts it behind sign-in)",
    }[services.settings.simulator_access]
    print(f"Kotha is running.\n  simulator: {simulator}\n  console:   {base}/console/")
    print("Press Ctrl+C to stop.", flush=True)
    return server


def run(args: argparse.Namespace) -> int:
    """One process: web app in a thread, queue consumer and its periodic sweep in this one."""
    services = load_services(queue="huey")
    if seed_demo(services):
        print("First start: added demo conversations (see the simulator and exports).")
    server = _server(services, args.web_app, args.host, args.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _consume(services, workers=4)
    finally:
        server.shutdown()
        services.close()
    return 0


def serve(args: argparse.Namespace) -> int:
    services = load_services(queue="huey")
    try:
        _server(services, args.web_app, args.host, args.port).serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


def worker(args: argparse.Namespace) -> int:
    services = load_services(queue="huey")
    try:
        _consume(services, workers=args.workers)
    finally:
        services.close()
    return 0


def add_parsers(commands: Commands, web_app: WebApp) -> None:
    for name, handler, help_text in (
        ("run", run, "migrate, then serve the web app with the sweeps in one process"),
        ("serve", serve, "the web app only"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=5000)
        command.set_defaults(handler=handler, web_app=web_app)

    worker_parser = commands.add_parser("worker", help="queue consumer only")
    worker_parser.add_argument("--workers", type=int, default=4)
    worker_parser.set_defaults(handler=worker)

    db = commands.add_parser("db", help="database commands").add_subparsers(
        dest="db", required=True
    )
    db.add_parser("upgrade", help="apply migrations").set_defaults(handler=db_upgrade)
    db.add_parser("current", help="the revision the database is at").set_defaults(
        handler=db_current
    )
    db.add_parser("history", help="every migration, newest first").set_defaults(handler=db_history)
    down = db.add_parser("downgrade", help="undo migrations down to a revision")
    down.add_argument("revision", help="a revision from `kotha db history`, or base")
    down.add_argument("--yes", action="store_true", help="yes, drop what newer ones added")
    down.set_defaults(handler=db_downgrade)
