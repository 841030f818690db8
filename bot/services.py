"""Wiring: build the database, flows, runner and dispatcher for one deployment's settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app

from bot.channels.base import Sender
from bot.channels.console import ConsoleSender
from bot.dispatch import Dispatcher
from bot.i18n import I18n
from bot.runner import Runner
from bot.settings import Settings
from bot.types import CHANNELS
from flows.library import Flows, load_flows
from storage.db import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a process needs, built once from its settings."""

    settings: Settings
    database: Database
    i18n: I18n
    flows: Flows
    runner: Runner
    dispatcher: Dispatcher


def build_services(
    settings: Settings,
    *,
    senders: Mapping[str, Sender] | None = None,
    clock: Callable[[], datetime] = utc_now,
    database: Database | None = None,
) -> Services:
    """Build the services; without senders every channel goes to the console sender."""
    database = database or Database(settings.database_url)
    i18n = I18n(settings.locales_dir)
    flows = load_flows(settings.flows_dir, i18n.choices)
    chosen = dict(senders) if senders is not None else {c: ConsoleSender() for c in CHANNELS}
    dispatcher = Dispatcher(database, i18n, chosen, clock)

    def deliver_now(ids: Iterable[int]) -> None:
        for message_id in ids:
            dispatcher.deliver(message_id)

    runner = Runner(
        database,
        flows,
        timezone=settings.timezone,
        expiry=timedelta(hours=settings.conversation_expiry_hours),
        clock=clock,
        after_commit=deliver_now,
    )
    return Services(settings, database, i18n, flows, runner, dispatcher)


def services() -> Services:
    """Return the services of the Flask app handling this request."""
    found: Services = current_app.extensions["kotha"]
    return found
