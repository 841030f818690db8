"""Staff see what a person will receive, and what it costs, before it is sent.

Every console form that sends staff's words to one person (a case's status and outcome, a
reply, a message from the interests queue, a translation) shows on its first submit each
message as the person will read it, with its encoding, SMS segments and cost, and sends
nothing. The preview carries a digest of exactly those messages; a later submit sends only
if what it would send has the same digest, so anything changed meanwhile is shown again,
and a message over CONFIRM_OVER segments goes only with the confirming tick. Broadcasts do
the same over their whole form (console/broadcasts.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from bot.staff_text import CONFIRM_OVER, Priced


class Previewed(Protocol):
    """One message as the person will read it, priced, with what staff should know."""

    @property
    def priced(self) -> Priced: ...

    @property
    def replaced(self) -> str: ...  # what was made plain, for staff ("" when nothing)

    @property
    def awaiting(self) -> str | None: ...  # why it will be held for a translation


def digest(parts: Iterable[str]) -> str:
    """A digest of what a preview showed, which the form carries to the send."""
    encoded = json.dumps(list(parts), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True)
class Preview:
    """The messages a form would send, as the page shows them before they go."""

    items: Sequence[Previewed]
    confirm_over: ClassVar[int] = CONFIRM_OVER

    @property
    def digest(self) -> str:
        return digest(item.priced.text for item in self.items)

    @property
    def total(self) -> str:
        """What they cost together, when there are several by SMS: "7 text messages, £0.28"."""
        by_sms = [item.priced for item in self.items if item.priced.channel == "sms"]
        if len(by_sms) < 2:
            return ""
        segments = sum(priced.cost.segments for priced in by_sms)
        return f"{segments} text messages, £{sum(priced.price for priced in by_sms):.2f}"

    @property
    def long(self) -> bool:
        """Whether any of them is over CONFIRM_OVER SMS segments."""
        return any(item.priced.needs_confirming for item in self.items)

    def must_show(self, form: Mapping[str, str]) -> bool:
        """Whether to show the messages rather than send them: staff have not seen exactly
        these yet, or must confirm a long one and have not."""
        if form.get("previewed") != self.digest:
            return True
        return self.long and form.get("confirm_long") != "yes"
