"""What time it is: the one clock a process reads, injected everywhere, frozen in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# Returns an aware datetime in UTC. Every part of Kotha is given one (Services.clock)
# rather than asking the system, so that a test can stop or move time for all of them.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The system's time, in UTC: the clock of every deployment."""
    return datetime.now(UTC)
