"""The `kotha` command line: one module per command group, put together here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from flask import Flask

from bot import logs
from bot import settings as settings_module
from bot.cli import (
    broadcast,
    cases,
    chat,
    check,
    export,
    messages,
    people,
    report,
    serve,
    telegram,
    understand,
    users,
)
from bot.cli.common import WebApp
from bot.services import Services


def _no_web_app(services: Services) -> Flask:
    raise SystemExit("this command line has no web app: run it as `kotha` (kotha.py)")


def parser(web_app: WebApp | None = None) -> argparse.ArgumentParser:
    """Every command; `web_app` makes the web app for `kotha run` and `kotha serve`."""
    root = argparse.ArgumentParser(
        prog="kotha",
        description=("Kotha: run, serve, migrate, chat, export, inspect and understand messages."),
    )
    root.add_argument("--version", action="version", version=f"kotha {_version()}")
    commands = root.add_subparsers(dest="command", required=True)
    serve.add_parsers(commands, web_app or _no_web_app)
    cases.add_parsers(commands)
    telegram.add_parsers(commands)
    chat.add_parsers(commands)
    export.add_parsers(commands)
    messages.add_parsers(commands)
    broadcast.add_parsers(commands)
    users.add_parsers(commands)
    people.add_parsers(commands)
    report.add_parsers(commands)
    understand.add_parsers(commands)
    check.add_parsers(commands)
    return root


def _version() -> str:
    try:
        return version("kotha")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None, web_app: WebApp | None = None) -> int:
    """Run one command; a setting that cannot be used ends it with one line naming it."""
    args = parser(web_app).parse_args(argv)
    try:
        logs.configure(settings_module.load())
    except settings_module.SettingError as error:
        print(f"kotha: {error}", file=sys.stderr)
        return 2
    code: int = args.handler(args)
    return code
