"""Senders that stay on this machine: the console sender for the simulator and `kotha chat`."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.types import OutboundMessage, SendReceipt


class ConsoleSender:
    """Accepts every message at once; the simulator and `kotha chat` read the stored row."""

    def __init__(self, show: Callable[[OutboundMessage], None] | None = None) -> None:
        self.show = show

    def send(self, message: OutboundMessage) -> SendReceipt:
        if self.show is not None:
            self.show(message)
        return SendReceipt(provider_id=f"local-{message.id}", status="delivered")


class RecordingSender:
    """Keeps every message it is given, for tests to read."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendReceipt:
        with self._lock:
            self.sent.append(message)
        return SendReceipt(provider_id=f"rec-{message.id}", status="delivered")
