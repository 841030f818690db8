"""The job queue: Huey tasks that step conversations and deliver outbound rows.

Embedded, Huey keeps its queue in SQLite under instance/; with KOTHA_REDIS_URL it uses
Redis, so many `kotha worker` processes share one queue. The queue only ever holds row ids:
the rows are the truth, so a lost queue loses nothing (the sweep queues them again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from huey import Huey, RedisHuey, SqliteHuey

from bot.pipeline.dispatch import Outcome
from bot.settings import Settings


class Queue(Protocol):
    """Where work goes once its transaction commits: outbound row ids, addresses to step."""

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None: ...

    def enqueue_step(self, address_id: int) -> None: ...

    def pending(self) -> int:
        """How many jobs wait in the queue (0 when work is done at once)."""
        ...


class InlineQueue:
    """Does the work at once in the calling thread: for tests, `kotha chat`, the simulator.

    A retry is left to the sweep (`Sweeper.run`), which finds the row when it is due.
    """

    def __init__(self, deliver: Callable[[int], Outcome], process: Callable[[int], Any]) -> None:
        self.deliver = deliver
        self.process = process

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        if delay:
            return
        for message_id in ids:
            self.deliver(message_id)

    def enqueue_step(self, address_id: int) -> None:
        self.process(address_id)

    def pending(self) -> int:
        return 0


def make_huey(settings: Settings) -> Huey:
    """Build the Huey instance this deployment's settings call for."""
    if settings.redis_url:
        return RedisHuey("kotha", url=settings.redis_url, results=False)
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("kotha", filename=str(settings.instance_dir / "queue.db"), results=False)


class HueyQueue:
    """Queues row ids and addresses as Huey tasks; a consumer sends and steps them."""

    def __init__(
        self, huey: Huey, deliver: Callable[[int], Outcome], process: Callable[[int], Any]
    ) -> None:
        self.huey = huey
        self.deliver = deliver
        self._send: Any = huey.task(name="kotha.send")(self._run_send)
        self._step: Any = huey.task(name="kotha.step")(lambda address_id: process(address_id))

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        for message_id in ids:
            if delay:
                self._send.schedule((message_id,), delay=delay)
            else:
                self._send(message_id)

    def enqueue_step(self, address_id: int) -> None:
        self._step(address_id)

    def pending(self) -> int:
        count: int = self.huey.pending_count()
        return count

    def _run_send(self, message_id: int) -> None:
        outcome = self.deliver(message_id)
        if outcome.retry_in is not None and outcome.status == "queued":
            self.enqueue([message_id], delay=outcome.retry_in)
