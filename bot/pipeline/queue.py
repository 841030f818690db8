"""The job queue: Huey tasks that step conversations and deliver outbound rows.

Embedded, Huey keeps its queue in SQLite under instance/; with KOTHA_REDIS_URL it uses
Redis, so many `kotha worker` processes share one queue. The queue only ever holds row ids:
the rows are the truth, so a lost queue loses nothing (the sweep queues them again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from huey import Huey, RedisHuey, SqliteHuey

from bot.logs import as_job
from bot.pipeline.dispatch import Claimed, Dispatcher, Outcome
from bot.settings import Settings


class Queue(Protocol):
    """Where work goes once its transaction commits: outbound rows, addresses to step."""

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        """Have these outbound rows delivered (after `delay` seconds: a retry)."""
        ...

    def send_now(self, claimed: Sequence[Claimed]) -> None:
        """Send rows this thread claimed as it wrote them, here and now, in order."""
        ...

    def enqueue_step(self, address_id: int) -> None:
        """Have this address's waiting messages stepped."""
        ...

    def step_with(self, process: Callable[[int], object]) -> None:
        """Give the queue the runner's `process`, which its step jobs call."""
        ...

    def pending(self) -> int:
        """How many jobs wait in the queue (0 when work is done at once)."""
        ...


class InlineQueue:
    """Does the work at once in the calling thread: for tests, `kotha chat`, the simulator.

    A retry is left to the sweep (`Sweeper.run`), which finds the row when it is due.
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.process: Callable[[int], object] = _no_runner

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        if delay:
            return
        for message_id in ids:
            self.dispatcher.deliver(message_id)

    def send_now(self, claimed: Sequence[Claimed]) -> None:
        for claim in claimed:
            self.dispatcher.send_claimed(claim)

    def enqueue_step(self, address_id: int) -> None:
        self.process(address_id)

    def step_with(self, process: Callable[[int], object]) -> None:
        self.process = process

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

    def __init__(self, huey: Huey, dispatcher: Dispatcher) -> None:
        self.huey = huey
        self.dispatcher = dispatcher
        self.process: Callable[[int], object] = _no_runner
        # Each job logs under an id of its own (bot/logs.py), so its lines can be followed.
        self._send: Any = huey.task(name="kotha.send")(as_job("send", self._run_send))
        self._step: Any = huey.task(name="kotha.step")(
            as_job("step", lambda address_id: self.process(address_id))
        )

    def enqueue(self, ids: Iterable[int], delay: float | None = None) -> None:
        for message_id in ids:
            if delay:
                self._send.schedule((message_id,), delay=delay)
            else:
                self._send(message_id)

    def send_now(self, claimed: Sequence[Claimed]) -> None:
        # The worker that stepped the conversation sends its replies itself: no job, no
        # second claim, and they leave in the order the step wrote them.
        for claim in claimed:
            self._retry_if_asked(claim.id, self.dispatcher.send_claimed(claim))

    def enqueue_step(self, address_id: int) -> None:
        self._step(address_id)

    def step_with(self, process: Callable[[int], object]) -> None:
        self.process = process

    def pending(self) -> int:
        count: int = self.huey.pending_count()
        return count

    def _run_send(self, message_id: int) -> None:
        self._retry_if_asked(message_id, self.dispatcher.deliver(message_id))

    def _retry_if_asked(self, message_id: int, outcome: Outcome) -> None:
        if outcome.retry_in is not None and outcome.status == "queued":
            self.enqueue([message_id], delay=outcome.retry_in)


def _no_runner(address_id: int) -> object:
    raise RuntimeError("the queue was given no runner to step conversations with")
