"""Browser fixtures: the real app served on 127.0.0.1, and Debian's chromium driven by Playwright.

Browser tests carry the `browser` marker. Without chromium they are deselected at collection,
with the reason in the report header, except under CI=true, where they run and fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from bot.services import Services, build_services
from bot.settings import Settings
from kotha import create_app
from storage.db import Database
from storage.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing_browser_reason() -> str | None:
    """Say why browser tests cannot run here, or None when they must run."""
    if os.environ.get("CI", "").lower() == "true" or Path(CHROMIUM).exists():
        return None
    return f"{CHROMIUM} not found (make browser installs it)"


def pytest_report_header(config: pytest.Config) -> str | None:
    reason = _missing_browser_reason()
    return None if reason is None else f"browser tests deselected: {reason}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing_browser_reason()
    if reason is None:
        return
    deselected = [item for item in items if item.get_closest_marker("browser")]
    if not deselected:
        return
    config.hook.pytest_deselected(items=deselected)
    items[:] = [item for item in items if not item.get_closest_marker("browser")]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # absent in pytest-xdist workers, whose count still shows
        reporter.write_line(f"{len(deselected)} browser tests deselected: {reason}")


@dataclass(frozen=True)
class LiveServer:
    """The app listening on 127.0.0.1, with the services behind it."""

    url: str
    services: Services


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Serve the real app on a free port in a thread, on a SQLite database of its own."""
    instance = tmp_path_factory.mktemp("live")
    settings = Settings(
        database_url=f"sqlite:///{instance / 'kotha.db'}",
        secret_key="live-test-secret",
        instance_dir=instance,
        testing=True,
    )
    with serve(settings) as server:
        yield server


@contextmanager
def serve(settings: Settings) -> Iterator[LiveServer]:
    """Serve the real app for `settings` on a free port in a thread, its database migrated."""
    database = Database(settings.database_url)
    upgrade(database)
    services = build_services(settings, database=database)
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, create_app(services=services), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", services)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        services.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab in a context of its own, with a phone-sized screen."""
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    try:
        yield opened
    finally:
        context.close()
