"""`kotha telegram set-webhook` and `kotha telegram poll`: Telegram's set-up, and long polling."""

from __future__ import annotations

import argparse
import sys
import threading

from bot import settings as settings_module
from bot.channels.telegram import poll, set_webhook
from bot.cli.common import Commands, load_services
from bot.types import InboundMessage


def telegram(args: argparse.Namespace) -> int:
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
    services = load_services()
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


def add_parsers(commands: Commands) -> None:
    parser = commands.add_parser("telegram", help="Telegram set-up").add_subparsers(
        dest="telegram", required=True
    )
    parser.add_parser("set-webhook").set_defaults(handler=telegram)
    parser.add_parser("poll").set_defaults(handler=telegram)
