"""Work each queue consumer does beside its jobs: the sweep, and on PostgreSQL the waker.

The sweep steps inbound messages whose job was lost, queues outbound rows again when they
are due, ends conversations left too long and runs the other periodic work given to it.
The waker queues the step of each received message the database announces.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta

from huey import Huey

from bot.logs import new_id, request_id
from bot.pipeline.dispatch import Dispatcher
from bot.pipeline.queue import Queue
from storage.db import Database
from storage.notify import received_messages

# An inbound message whose step job has not run after this long is stepped by the sweep.
STEP_GRACE = timedelta(seconds=30)
# A consumer that is not the listener tries to become it this often; so does a listener
# whose connection failed. The messages of the gap wait at most this long plus a step.
LISTEN_RETRY_SECONDS = 5.0
# How long a listener waits for announcements before checking whether it should stop.
LISTEN_TURN_SECONDS = 1.0

log = logging.getLogger(__name__)


class ConsumerThread:
    """Work a consumer process does beside its worker threads, in one thread of its own.

    Each of the consumer's worker threads calls `start` as it starts; the first one starts
    the thread. It runs `work`, and again `pause` seconds after each return or failure,
    until the consumer shuts down.
    """

    def __init__(self, name: str, pause: float) -> None:
        self.name = name
        self.pause = pause
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def work(self) -> None:
        raise NotImplementedError

    def register(self, huey: Huey) -> None:
        """Run in each consumer of this queue, from its start to its shutdown."""
        huey.on_startup(self.name)(self.start)
        huey.on_shutdown(self.name)(self._stop.set)

    def start(self) -> None:
        """Start the thread unless it runs already."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=self.name.replace(".", "-"), daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                with request_id(f"{self.name.removeprefix('kotha.')}-{new_id()}"):
                    self.work()
            except Exception:
                log.exception("%s failed; trying again in %g s", self.name, self.pause)
            self._stop.wait(self.pause)


class Sweeper(ConsumerThread):
    """The periodic sweep: step lost inbound messages, requeue due rows, end expired chats.

    It sweeps in each consumer, at its start and then every `sweep_seconds`: a thread of the
    consumer, not a Huey periodic task, because crontab cannot run more often than once a
    minute, and a sweep queued as a task waits behind any backlog of sends.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        queue: Queue,
        pending: Callable[[timedelta], list[int]],
        expire: Callable[[], int],
    ) -> None:
        super().__init__("kotha.sweep", dispatcher.settings.sweep_seconds)
        self.dispatcher = dispatcher
        self.queue = queue
        self.pending = pending
        self.expire = expire
        # More periodic work each sweep does (starting scheduled broadcasts, resuming
        # interrupted fan-outs); each returns how much it did.
        self.also: list[Callable[[], object]] = []

    def work(self) -> None:
        self.run()

    def run(self) -> int:
        for address_id in self.pending(STEP_GRACE):
            self.queue.enqueue_step(address_id)
        # A row still queued after QUEUED_GRACE has lost its job only if the queue is empty:
        # while it holds jobs (a broadcast's thousands, paced by the rate limit) they are
        # on their way, and queueing them all again each sweep would flood it.
        due = self.dispatcher.due(lost=self.queue.pending() == 0)
        self.queue.enqueue(due)
        self.expire()
        for work in self.also:
            work()
        if due:
            log.info("sweep queued %d outbound messages again", len(due))
        return len(due)


class Waker(ConsumerThread):
    """On PostgreSQL: queue each received message's step as soon as its row commits.

    The database announces every received message (storage/notify.py), so a webhook makes
    one round trip, to the database, and its worker is free again. One consumer listens at
    a time; the others try to take over every LISTEN_RETRY_SECONDS, and whoever starts
    listening first queues a step for every message already waiting (those announced while
    nobody listened). A step queued twice finds nothing the second time.
    """

    def __init__(
        self, database: Database, queue: Queue, waiting: Callable[[], Iterable[int]]
    ) -> None:
        super().__init__("kotha.waker", LISTEN_RETRY_SECONDS)
        self.database = database
        self.queue = queue
        self.waiting = waiting

    def work(self) -> None:
        self.listen()

    def listen(self) -> bool:
        """Queue the steps of received messages until stopped; False if another listens."""
        with received_messages(self.database) as announced:
            if announced is None:
                return False
            for address_id in self.waiting():
                self.queue.enqueue_step(address_id)
            while not self._stop.is_set():
                for address_id in announced.within(LISTEN_TURN_SECONDS):
                    self.queue.enqueue_step(address_id)
        return True
