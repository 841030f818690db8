"""Provider rate limits, counted in the provider's unit and shared through Redis when set.

A moving window (the `limits` library) means no one-second window ever holds more than the
limit, unlike a fixed window, which lets twice the limit through across a boundary.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.settings import Settings

# Requests reach the provider a few milliseconds after we count them, and not always in
# the order counted; keeping this share of the limit in hand stops that jitter from
# putting one extra message into a second at the provider's end.
HEADROOM = 0.97
POLL_SECONDS = 0.005


def _per_second(amount: int) -> RateLimitItem:
    return RateLimitItemPerSecond(max(1, int(amount * HEADROOM)) if amount > 3 else amount)


class SendLimits:
    """Blocks a sender until its channel (and, for Telegram, the chat) may take one more send."""

    def __init__(
        self,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        uri = settings.redis_url or "memory://"
        self.limiter = MovingWindowRateLimiter(storage_from_string(uri))
        self.sleep = sleep
        self.channel_limits = {
            "sms": _per_second(settings.sms_per_second),
            "whatsapp": _per_second(settings.whatsapp_per_second),
            "telegram": _per_second(settings.telegram_per_second),
        }
        self.per_chat = RateLimitItemPerSecond(settings.telegram_per_chat_per_second)

    def acquire(self, channel: str, address: str, cost: int = 1) -> float:
        """Wait until a send of `cost` units may go; return the seconds waited."""
        waited = 0.0
        limit = self.channel_limits[channel]
        cost = min(cost, limit.amount)
        # Telegram's per-chat limit is taken first: it is rarely contended, and a token
        # taken from it while the overall limit is full only slows that one chat.
        if channel == "telegram":
            waited += self._take(self.per_chat, f"kotha:telegram-chat:{address}", 1)
        waited += self._take(limit, f"kotha:{channel}", cost)
        return waited

    def _take(self, item: RateLimitItem, key: str, cost: int) -> float:
        if self.limiter.hit(item, key, cost=cost):
            return 0.0
        started = time.monotonic()
        while not self.limiter.hit(item, key, cost=cost):
            self.sleep(POLL_SECONDS)
        return time.monotonic() - started
