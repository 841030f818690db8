"""What every `kotha` command shares: the services, built from the environment and migrated."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TypeAlias

from flask import Flask

from bot import settings as settings_module
from bot.outreach import opportunities
from bot.services import Services, build_services
from storage.migrate import upgrade

# argparse's type for `commands.add_parser`, the object each command group adds itself to
# (subscripted for the type checker only: argparse's class is not generic at run time).
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# Makes the web app for some services: given to the command line by kotha.py, which alone
# knows the webhooks' and the console's parts.
WebApp = Callable[[Services], Flask]


def load_services(**kwargs: Any) -> Services:
    """Build the services from the environment's settings and bring the database up to date."""
    services = build_services(settings_module.load(), **kwargs)
    upgrade(services.database)
    # The ways to take part the policy names, on first start (staff edit them after).
    opportunities.seed_once(services.database, services.clock())
    return services


def confirmed(yes: bool, question: str = "Send it anyway?") -> bool:
    """--yes, or a yes typed at the prompt when a person is at the terminal (never when the
    input is piped: a script must say --yes)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
