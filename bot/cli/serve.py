"""`kotha run`, `serve`, `worker` and `db upgrade`: the processes that run Kotha."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from bot.cli.common import Commands, WebApp, load_services
from bot.cli.demo import seed_demo
from bot.services import Services


def _consume(services: Services, workers: int) -> None:
    """Run the Huey consumer in this (main) thread: it installs signal handlers."""
    assert services.huey is not None
    consumer = services.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    )
    consumer.run()


def db_upgrade(args: argparse.Namespace) -> int:
    load_services()
    print("database is up to date")
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
