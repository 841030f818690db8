"""Sending one outbound row: render it in the recipient's language, decide, send, record."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from bot.channels.base import Sender, SendError
from bot.i18n import I18n, Rendered
from bot.sms import sms_cost
from bot.types import OutboundMessage
from storage.db import Database
from storage.models import Address, Message

log = logging.getLogger(__name__)

DONE = ("sent", "delivered", "read", "failed")


def render_row(i18n: I18n, row: Message, language: str | None) -> Rendered:
    """Render an outbound row's message id and parameters in `language`."""
    params = dict(row.params or {})
    lead = params.pop("_lead", None)
    raw_choices = bool(params.pop("_raw_choices", False))
    params.pop("_even_if_stopped", None)
    return i18n.render(
        language, row.template or "", params, lead, tuple(row.choices or ()), raw_choices
    )


def hold_reason(row: Message, address: Address) -> str | None:
    """Return why this message must not be sent now, or None to send it."""
    if address.stopped_at is not None and not (row.params or {}).get("_even_if_stopped"):
        return "opted-out"
    return None


class Dispatcher:
    """Delivers outbound rows by id through the sender chosen for each address."""

    def __init__(
        self,
        database: Database,
        i18n: I18n,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
    ) -> None:
        self.database = database
        self.i18n = i18n
        self.senders = senders
        self.clock = clock

    def deliver(self, message_id: int) -> str:
        """Send one row if it still needs sending; return its status afterwards."""
        with self.database.session() as session:
            row = session.get(Message, message_id)
            if row is None or row.direction != "out":
                return "missing"
            if row.status in DONE:
                return row.status
            address = session.get_one(Address, row.address_id)
            rendered = self._prepare(row, address)
            reason = hold_reason(row, address)
            if reason is not None:
                row.status, row.reason, row.updated_at = "held", reason, self.clock()
                return row.status
            outbound = OutboundMessage(
                id=row.id,
                channel=row.channel,  # type: ignore[arg-type]
                address=address.address,
                text=row.body or "",
                choices=tuple(f"{n} {c}" for n, c in enumerate(rendered.choices, 1)),
            )
            sender = self.senders[row.channel]
            row.attempts += 1
            try:
                receipt = sender.send(outbound)
            except SendError as error:
                row.status, row.reason = "failed", error.reason
                row.updated_at = self.clock()
                log.warning("send of message %d failed: %s", row.id, error.reason)
                return row.status
            row.status, row.provider_id = receipt.status, receipt.provider_id
            row.sent_at = row.updated_at = self.clock()
            return row.status

    def _prepare(self, row: Message, address: Address) -> Rendered:
        """Render a row in the recipient's language; the first rendering is the one kept."""
        if row.template is None:  # written by staff, in the language they chose
            return Rendered(row.body or "", (), row.language or self.i18n.default)
        rendered = render_row(self.i18n, row, row.language or address.contact.language)
        if row.body is None:
            cost = sms_cost(rendered.text)
            row.body, row.language = rendered.text, rendered.language
            row.encoding, row.segments = cost.encoding, cost.segments
        return rendered
