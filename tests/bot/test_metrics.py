"""GET /metrics: off without a token, bearer-only with one, counts read from the database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.services import Services
from bot.settings import Settings
from kotha import create_app
from storage.db import Database
from tests.conftest import FrozenClock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio, Fault
from tests.fakes.wiring import wire
from tests.test_end_to_end import Provider

TOKEN = "metrics-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def measured(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
) -> Iterator[Services]:
    services = wire(
        settings,
        clock,
        database,
        twilio,
        telegram,
        metrics_token=TOKEN,
        sms_per_second=100,
        telegram_per_chat_per_second=100,
    )
    yield services
    services.close()


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_without_a_token(wired: Services) -> None:
    client = create_app(services=wired).test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", f"bearer {TOKEN[:-1]}", "Bearer \u00e9"],
)
def test_metrics_need_the_bearer_token(measured: Services, header: str | None) -> None:
    client = create_app(services=measured).test_client()
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "kotha_" not in response.get_data(as_text=True)


def test_metrics_count_a_conversation(
    measured: Services, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    client = create_app(services=measured).test_client()
    provider = Provider(client, twilio, telegram)
    before = scrape(client)
    assert value(before, "kotha_inbound_messages", channel="sms") == 0

    replies = provider.twilio_conversation("+447700900301", "Hello", "English", "1")
    provider.telegram_text(5000000301, "Hello")
    twilio.script(Fault.server_error())
    provider.twilio_message("+447700900301", "0")  # its reply waits for a retry
    provider.client.post("/webhooks/twilio/messages", data={"From": "x"})  # no signature
    after = scrape(client)

    assert value(after, "kotha_inbound_messages", channel="sms") == 4
    assert value(after, "kotha_inbound_messages", channel="telegram") == 1
    assert value(after, "kotha_inbound_waiting") == 0
    sent_sms = value(after, "kotha_outbound_messages", channel="sms", status="sent", reason="")
    assert sent_sms == len(replies)
    assert (
        value(after, "kotha_outbound_messages", channel="sms", status="queued", reason="transient")
        == 1
    )
    assert value(after, "kotha_send_seconds_count", channel="sms") - value(
        before, "kotha_send_seconds_count", channel="sms"
    ) == len(replies)
    retries = (
        "kotha_send_attempts_total",
        {"channel": "sms", "outcome": "retry", "reason": "transient"},
    )
    assert value(after, retries[0], **retries[1]) - value(before, retries[0], **retries[1]) == 1
    assert value(after, "kotha_rate_limit_wait_seconds_count", channel="sms") > 0
    refusal = {"route": "/webhooks/twilio/messages", "status": "403", "reason": "missing signature"}
    assert (
        value(after, "kotha_webhook_refusals_total", **refusal)
        - value(before, "kotha_webhook_refusals_total", **refusal)
        == 1
    )
    answered = value(after, "kotha_webhook_seconds_count", route="/webhooks/twilio/messages")
    assert (
        answered - value(before, "kotha_webhook_seconds_count", route="/webhooks/twilio/messages")
        == 5
    )


def test_a_multiprocess_directory_adds_up_every_process(measured: Services, tmp_path: Path) -> None:
    """gunicorn's workers and `kotha worker` write to one directory; a scrape sums them."""
    count = """
from bot import metrics
metrics.WEBHOOK_REFUSALS.labels("/webhooks/telegram", "403", "wrong secret token").inc()
metrics.SEND_SECONDS.labels("telegram").observe(0.2)
"""
    directory = tmp_path / "metrics"  # its own: every *.db file in it is read as counts
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True, timeout=60)
    text = metrics.exposition(
        measured.settings.with_overrides(metrics_dir=directory),
        metrics.StoredCounts(measured.database, lambda: 7),
    ).decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    refusal = {"route": "/webhooks/telegram", "status": "403", "reason": "wrong secret token"}
    assert value(samples, "kotha_webhook_refusals_total", **refusal) == 2
    assert value(samples, "kotha_send_seconds_count", channel="telegram") == 2
    assert value(samples, "kotha_queue_jobs") == 7


def test_bearer_token_comparison() -> None:
    assert metrics.bearer_matches(f"Bearer {TOKEN}", TOKEN)
    assert metrics.bearer_matches(f"bearer  {TOKEN} ", TOKEN)
    assert not metrics.bearer_matches(None, TOKEN)
    assert not metrics.bearer_matches(f"Bearer {TOKEN.upper()}", TOKEN)
