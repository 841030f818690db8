"""Logging: configured by the settings, a request id on every line, never a number or words.

The end-to-end conversation runs through the real app and the fake providers with logging
at DEBUG, every library's records included, and no line may hold the sentinel phone
number, Telegram chat or text.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot import logs
from bot.services import Services
from bot.settings import Settings
from tests.fakes.twilio_api import FakeTwilio, Fault
from tests.test_end_to_end import Provider
from tests.test_end_to_end import provider as provider  # noqa: F401 - the fixture

SENTINEL_NUMBER = "+447700900486"
SENTINEL_CHAT = 918273645
SENTINEL_WORDS = "Quokkafish zebracorn lamplighter"


class _Everything(logging.Handler):
    """Keeps every record that reaches the root logger, whatever its level."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def _forbidden(line: str) -> list[str]:
    national = SENTINEL_NUMBER.removeprefix("+44")
    needles = (SENTINEL_NUMBER, national, str(SENTINEL_CHAT), *SENTINEL_WORDS.split())
    return [needle for needle in needles if needle.lower() in line.lower()]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_log_line_holds_a_number_or_what_a_person_wrote(
    wired: Services,
    provider: Provider,  # noqa: F811
    twilio: FakeTwilio,
    restore_logging: None,
    log_format: str,
) -> None:
    stream = io.StringIO()
    logs.configure(wired.settings.with_overrides(log_level="DEBUG", log_format=log_format), stream)
    everything = _Everything()
    logging.getLogger().addHandler(everything)

    provider.twilio_conversation(
        SENTINEL_NUMBER, "Hello", "English", "1", "1", SENTINEL_WORDS, "skip", "2", "1"
    )
    replies = provider.twilio_conversation("whatsapp:" + SENTINEL_NUMBER, "hi", SENTINEL_WORDS)
    provider.status_callback(replies[0].sid, "delivered")
    provider.telegram_text(SENTINEL_CHAT, SENTINEL_WORDS)
    # A send Twilio refuses for now: retried, and the retry logged with its reason.
    twilio.script(Fault.server_error())
    provider.twilio_message(SENTINEL_NUMBER, SENTINEL_WORDS)
    # A request with a wrong signature, carrying the number and the words: refused, logged.
    refused = provider.client.post(
        "/webhooks/twilio/messages",
        data={"From": SENTINEL_NUMBER, "Body": SENTINEL_WORDS, "MessageSid": "SM" + "0" * 32},
        headers={"X-Twilio-Signature": "wrong"},
    )
    assert refused.status_code == 403
    assert refused.headers["X-Request-Id"]

    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3, lines
    assert any("refused with 403: bad signature" in line for line in lines), lines
    assert any("retrying in" in line for line in lines), lines
    for line in lines:
        assert not _forbidden(line), line
    for record in everything.records:
        text = logs.JsonFormatter().format(record) + repr(record.args)
        assert not _forbidden(text), text
    if log_format == "json":
        entries = [json.loads(line) for line in lines]
        assert all(
            {"time", "level", "logger", "request_id", "message"} <= entry.keys()
            for entry in entries
        )
        # Lines logged while a request was answered carry its id.
        refusal = next(entry for entry in entries if "refused with 403" in entry["message"])
        assert refusal["request_id"] == refused.headers["X-Request-Id"]
    else:
        shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ \[[\w.:-]+\] ")
        assert all(shape.match(line) for line in lines), lines


def test_a_request_id_a_proxy_gave_is_kept_and_a_strange_one_replaced(
    wired: Services,
    provider: Provider,  # noqa: F811
) -> None:
    given = provider.client.get("/healthz", headers={"X-Request-Id": "lb-4f2a.9"})
    assert given.headers["X-Request-Id"] == "lb-4f2a.9"
    strange = provider.client.get("/healthz", headers={"X-Request-Id": "a b\x7f" + "x" * 80})
    assert len(strange.headers["X-Request-Id"]) == 16
    assert (
        provider.client.get("/healthz").headers["X-Request-Id"] != strange.headers["X-Request-Id"]
    )


def test_a_job_logs_under_an_id_of_its_own(restore_logging: None) -> None:
    stream = io.StringIO()
    logs.configure(Settings(log_level="INFO", log_format="text"), stream)
    seen: list[str] = []
    job = logs.as_job("send", lambda: seen.append(logs.REQUEST_ID.get()))
    job()
    job()
    assert seen[0].startswith("send-") and seen[0] != seen[1]
    assert logs.REQUEST_ID.get() == "-"
