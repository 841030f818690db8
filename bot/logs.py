"""Logging for every Kotha process: level and format from the settings, a request id per line.

Web requests and queue jobs each carry an id (`request_id`), written on every line logged
while they run, so one message's way through a busy process can be followed. Lines never
hold what people wrote or their numbers: modules log row ids, provider ids and reasons, and
the libraries that would log more (Twilio's HTTP client logs each request's form, phone
numbers and text included; httpx logs Telegram URLs, which carry the bot token) are kept
at WARNING.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, TypeVar

from bot.settings import Settings

REQUEST_ID: ContextVar[str] = ContextVar("kotha_request_id", default="-")
# An id a proxy in front sent (X-Request-Id) is kept when it looks like one.
GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# Alembic says at INFO what it does on every start; `kotha db` commands say it themselves.
QUIET_LIBRARIES = ("twilio.http_client", "httpx", "httpcore", "urllib3", "telegram", "alembic")

T = TypeVar("T")


def new_id() -> str:
    return secrets.token_hex(8)


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, request_id, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Handler(logging.Handler):
    """Writes to `stream`, or to whatever sys.stderr is when a line is written.

    Its own class, so that `configure` called again replaces it rather than adds another.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = self.stream or sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never take the process down
            self.handleError(record)


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every process's log lines to standard error (or `stream`) as the settings say."""
    root = logging.getLogger()
    for old in [handler for handler in root.handlers if isinstance(handler, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream)
    handler.addFilter(_WithRequestId())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return handler


@contextmanager
def request_id(value: str | None = None) -> Iterator[str]:
    """Run the block under a request id: the one given, or a new one."""
    chosen = value or new_id()
    token = REQUEST_ID.set(chosen)
    try:
        yield chosen
    finally:
        REQUEST_ID.reset(token)


def as_job(name: str, work: Callable[..., T]) -> Callable[..., T]:
    """Wrap a queue job so every line it logs carries an id of its own (`send-3f2a…`)."""

    # wraps keeps the work's module and name, which Huey files its task under.
    @functools.wraps(work)
    def job(*args: Any) -> T:
        with request_id(f"{name}-{new_id()}"):
            return work(*args)

    return job


def clip(value: object, limit: int = 40) -> str:
    """A value from a request, cut short for a log line (never a body or a number)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
