"""Provider rate limits, counted in the provider's unit and shared through Redis when set.

Two layers. A pacer spaces sends evenly at a little under the limit: each send reserves the
next free slot and waits for it. A moving window (the `limits` library) then caps every
one-second window a little under the limit too, for sends that leave late and bunched.
The pacer is our own because `limits` counts whole seconds: it would let each second's
sends out in one burst, and a request that reaches the provider a few milliseconds late
then lands in the next second beside the next burst.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import redis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.settings import Settings

# How late a request may reach the provider, relative to the one before it, and still not
# crowd a second there (measured limiter-to-provider p99: 2.5 ms quiet, 23 ms on a busy
# 2-core machine).
JITTER_SECONDS = 0.03
POLL_SECONDS = 0.005

# Reserve the next slot atomically, by Redis's own clock so every process agrees.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local after = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.6f', after), 'PX',
           math.ceil((after - now) * 1000) + 1000)
return string.format('%.6f', slot - now)
"""


def pace_spacing(rate: int) -> float:
    """Seconds between sends so no one-second window at the provider holds more than `rate`.

    Evenly spaced sends put up to (1 + jitter) / spacing + 1 into a window that late
    arrivals shrink by the jitter; keeping that at `rate` gives this spacing (96% of a
    limit of 100 a second, 92% of 20, and a little over a second for one a second).
    """
    return (1 + JITTER_SECONDS) / max(rate - 1, 1)


def window_cap(rate: int) -> int:
    """The most sends any one second may let go: the limit, less what lateness can add.

    Sent on time, paced sends never put more than `rate` into a second at the provider.
    A thread that wakes late for its slot lets sends leave bunched, though; capping each
    second this far under the limit leaves room for the JITTER_SECONDS' worth of sends that
    uneven arrival can then still push into a second there (97 of a limit of 100, which
    paced sends on time never reach).
    """
    return max(1, rate - math.ceil(rate * JITTER_SECONDS))


class Pacer:
    """Hands out evenly spaced send slots per key: in this process, or shared through Redis."""

    def __init__(self, redis_url: str | None) -> None:
        self._client = redis.Redis.from_url(redis_url) if redis_url else None
        self._script = self._client.register_script(_RESERVE) if self._client else None
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, spacing: float) -> float:
        """Take the next slot for `key`, `spacing` seconds after the last; return the wait."""
        if self._script is not None:
            return float(self._script(keys=[key], args=[f"{spacing:.6f}"]))
        with self._lock:
            now = time.monotonic()
            slot = max(self._next.get(key, now), now)
            self._next[key] = slot + spacing
            return slot - now

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


class SendLimits:
    """Blocks a sender until its channel (and, for Telegram, the chat) may take one more send."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.limiter = MovingWindowRateLimiter(
            storage_from_string(settings.redis_url or "memory://")
        )
        self.pacer = Pacer(settings.redis_url)
        self.sleep = sleep
        self.rates = {
            "sms": settings.sms_per_second,
            "whatsapp": settings.whatsapp_per_second,
            "telegram": settings.telegram_per_second,
        }
        self.caps = {
            channel: RateLimitItemPerSecond(window_cap(rate))
            for channel, rate in self.rates.items()
        }
        self.per_chat_rate = settings.telegram_per_chat_per_second
        self.per_chat = RateLimitItemPerSecond(self.per_chat_rate)

    def acquire(self, channel: str, address: str, cost: int = 1) -> float:
        """Wait until a send of `cost` units may go; return the seconds waited."""
        started = time.monotonic()
        cost = min(cost, self.caps[channel].amount)
        if channel == "telegram":
            self._pace(f"kotha:pace:telegram-chat:{address}", 1, self.per_chat_rate)
            self._cap(self.per_chat, f"kotha:telegram-chat:{address}", 1)
        self._pace(f"kotha:pace:{channel}", cost, self.rates[channel])
        self._cap(self.caps[channel], f"kotha:{channel}", cost)
        return time.monotonic() - started

    def close(self) -> None:
        self.pacer.close()

    def _pace(self, key: str, cost: int, rate: int) -> None:
        wait = self.pacer.reserve(key, cost * pace_spacing(rate))
        if wait > 0:
            self.sleep(wait)

    def _cap(self, item: RateLimitItem, key: str, cost: int) -> None:
        while not self.limiter.hit(item, key, cost=cost):
            self.sleep(POLL_SECONDS)
