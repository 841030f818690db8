"""The one small protocol every outbound channel sender follows, and its typed errors."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from bot.types import OutboundMessage, SendReceipt


class SendError(Exception):
    """A send that did not succeed; subclasses say whether to try again."""

    reason = "error"


class TransientError(SendError):
    """The provider failed in a way that may pass (5xx, timeout, network): retry with backoff."""

    reason = "transient"


class OutcomeUnknownError(TransientError):
    """The request may have reached the provider, but no answer came (a read timeout, the
    connection lost after the request was written): the message may or may not have gone.

    The dispatcher asks the provider before trying again (`find_sent`), no sooner than
    `look_after` seconds, while the provider may still be working on the request; a provider
    that cannot be asked (Telegram) is not sent it again.
    """

    reason = "outcome-unknown"

    def __init__(self, message: str, look_after: float | None = None) -> None:
        super().__init__(message)
        self.look_after = look_after


class ThrottledError(SendError):
    """The provider asked us to slow down (429, RetryAfter): retry after `retry_after` seconds."""

    reason = "throttled"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecipientStoppedError(SendError):
    """The person has blocked or unsubscribed (Twilio 21610, Telegram Forbidden): never retry."""

    reason = "recipient-stopped"


class MisconfiguredError(SendError):
    """Our credentials or sender settings are wrong (401, bad From): no retry will help."""

    reason = "misconfigured"


class RejectedError(SendError):
    """The provider refused this one message (invalid number, too long): do not retry it."""

    reason = "rejected"


class ClosingSender:
    """A sender holding connections: usable in `with`, which closes them at the end."""

    def close(self) -> None:
        """Release the sender's connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Sender(Protocol):
    """Sends one rendered message and returns the provider's receipt, or raises a SendError."""

    def send(self, message: OutboundMessage) -> SendReceipt: ...
