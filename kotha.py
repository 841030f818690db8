"""Kotha put together: the web app from its parts, and the `kotha` command.

bot/ builds everything that runs; webhooks/ and console/ are the parts of the web app, and
they use bot/. Only this module knows all three, so that every other import points one way
(ARCHITECTURE.md). gunicorn serves `kotha:create_app()`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from flask import Flask

from bot import app, cli
from bot.services import Services
from bot.settings import Settings
from console.web import PARTS as CONSOLE
from webhooks import PARTS as WEBHOOKS

PARTS = (*WEBHOOKS, *CONSOLE)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """The whole web app: webhooks, console, public pages and simulator."""
    return app.create_app(settings, services, parts=PARTS)


def main(argv: Sequence[str] | None = None) -> int:
    """The `kotha` command."""
    return cli.main(argv, web_app=lambda services: create_app(services=services))


if __name__ == "__main__":
    sys.exit(main())
