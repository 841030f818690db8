"""Prometheus metrics: what the database holds, read at each scrape, and what this process timed.

Read from the database at each scrape, so every process of a deployment agrees whatever
serves /metrics: inbound messages by channel (and how many wait to be stepped), outbound
messages by channel, status and reason, and the jobs waiting in the queue.

Counted in the process that saw them: send latency and each attempt's outcome and the
rate-limit waits (in the process that sends: `kotha worker`, or `kotha run`), webhook
latency and refusals (in the web process that answered). Without prometheus-client's
multi-process directory (PROMETHEUS_MULTIPROC_DIR, the same for gunicorn's workers and the
worker on one host) a scrape sees only the counts of the process that answers it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.settings import Settings
from storage.db import Database
from storage.models import Message

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# A provider answers a send in tens to hundreds of milliseconds; a webhook in milliseconds.
SEND_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

SEND_SECONDS = Histogram(
    "kotha_send_seconds",
    "Seconds a provider took to accept one send (rate-limit wait excluded)",
    ["channel"],
    buckets=SEND_BUCKETS,
)
SEND_ATTEMPTS = Counter(
    "kotha_send_attempts",
    "Delivery attempts by what became of them: sent, held, retry, failed, unknown",
    ["channel", "outcome", "reason"],
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "kotha_rate_limit_wait_seconds",
    "Seconds a send waited for its provider's rate limit",
    ["channel"],
    buckets=WAIT_BUCKETS,
)
WEBHOOK_SECONDS = Histogram(
    "kotha_webhook_seconds",
    "Seconds to answer a provider's webhook",
    ["route"],
    buckets=WEBHOOK_BUCKETS,
)
WEBHOOK_REFUSALS = Counter(
    "kotha_webhook_refusals",
    "Webhook requests refused (4xx) or failed (5xx), by route, status and reason",
    ["route", "status", "reason"],
)


class StoredCounts(Collector):
    """Gauges read from the database (and the queue) at each scrape."""

    def __init__(self, database: Database, queue_jobs: Callable[[], int | None]) -> None:
        self.database = database
        self.queue_jobs = queue_jobs

    def collect(self) -> Iterator[Metric]:
        inbound = GaugeMetricFamily(
            "kotha_inbound_messages", "Inbound messages stored, by channel", labels=["channel"]
        )
        waiting = GaugeMetricFamily(
            "kotha_inbound_waiting", "Inbound messages stored and not yet stepped"
        )
        outbound = GaugeMetricFamily(
            "kotha_outbound_messages",
            "Outbound messages stored, by channel, status and reason",
            labels=["channel", "status", "reason"],
        )
        with self.database.session() as session:
            rows = session.execute(
                select(
                    Message.direction,
                    Message.channel,
                    Message.status,
                    Message.reason,
                    func.count(),
                ).group_by(Message.direction, Message.channel, Message.status, Message.reason)
            ).all()
        by_channel: dict[str, int] = {}
        not_stepped = 0
        for direction, channel, status, reason, count in rows:
            if direction == "in":
                by_channel[channel] = by_channel.get(channel, 0) + count
                not_stepped += count if status == "received" else 0
            else:
                outbound.add_metric([channel, status, reason or ""], count)
        for channel, count in sorted(by_channel.items()):
            inbound.add_metric([channel], count)
        waiting.add_metric([], not_stepped)
        yield inbound
        yield waiting
        yield outbound
        jobs = self.queue_jobs()
        if jobs is not None:
            queue = GaugeMetricFamily("kotha_queue_jobs", "Jobs waiting in the queue")
            queue.add_metric([], jobs)
            yield queue


class _ThisProcess(Collector):
    """The metrics this process registered by default (prometheus-client's REGISTRY)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(settings: Settings, stored: StoredCounts) -> bytes:
    """The text a scrape reads: the database's counts and the processes' own."""
    registry = CollectorRegistry(auto_describe=False)
    if settings.metrics_dir is not None:
        multiprocess.MultiProcessCollector(registry, path=str(settings.metrics_dir))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(stored)
    return generate_latest(registry)


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` as its bearer token (constant time)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )
