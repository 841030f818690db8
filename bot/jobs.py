"""The job queue: Huey tasks that deliver outbound rows, and the periodic sweep.

Embedded, Huey keeps its queue in SQLite under instance/; with KOTHA_REDIS_URL it uses
Redis, so many `kotha worker` processes share one queue. The queue only ever holds row ids:
the rows are the truth, so a lost queue loses nothing (the sweep queues them again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from huey import Huey, RedisHuey, SqliteHuey

from bot.dispatch import Dispatcher
from bot.settings import Settings

log = logging.getLogger(__name__)


class Queue(Protocol):
    """Where the runner hands the ids of outbound rows once their transaction commits."""

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None: ...


class InlineQueue:
    """Delivers at once in the calling thread: for tests, `kotha chat` and the simulator.

    A retry is left to the sweep (`Sweeper.run`), which finds the row when it is due.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        if delay:
            return
        for message_id in ids:
            self.dispatcher.deliver(message_id)


def make_huey(settings: Settings) -> Huey:
    """Build the Huey instance this deployment's settings call for."""
    if settings.redis_url:
        return RedisHuey("kotha", url=settings.redis_url, results=False)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("kotha", filename=str(settings.instance_dir / "queue.db"), results=False)


class HueyQueue:
    """Queues each row id as a Huey task; the consumer calls the dispatcher for it."""

    def __init__(self, huey: Huey, dispatcher: Dispatcher) -> None:
        self.huey = huey
        self.dispatcher = dispatcher
        self._send: Any = huey.task(name="kotha.send")(self._run_send)

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        for message_id in ids:
            if delay:
                self._send.schedule((message_id,), delay=delay)
            else:
                self._send(message_id)

    def _run_send(self, message_id: int) -> None:
        outcome = self.dispatcher.deliver(message_id)
        if outcome.retry_in is not None and outcome.status == "queued":
            self.enqueue([message_id], delay=outcome.retry_in)


class Sweeper:
    """The periodic sweep: requeue due rows and end expired conversations."""

    def __init__(self, dispatcher: Dispatcher, queue: Queue, expire: Any) -> None:
        self.dispatcher = dispatcher
        self.queue = queue
        self.expire = expire
        self.every = dispatcher.settings.sweep_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> int:
        due = self.dispatcher.due()
        self.queue.enqueue(due)
        self.expire()
        if due:
            log.info("sweep queued %d outbound messages again", len(due))
        return len(due)

    def register(self, huey: Huey) -> None:
        """Sweep in each consumer of this queue: at its start, then every `sweep_seconds`.

        A thread of the consumer, not a Huey periodic task: crontab cannot run more often
        than once a minute, and a sweep queued as a task waits behind any backlog of sends.
        """
        huey.on_startup("kotha.sweep")(self.start)
        huey.on_shutdown("kotha.sweep")(self._stop.set)

    def start(self) -> None:
        """Start the sweeping thread unless it runs already (each worker thread calls this)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="kotha-sweep", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run()
            except Exception:
                log.exception("sweep failed; trying again in %g s", self.every)
            self._stop.wait(self.every)
