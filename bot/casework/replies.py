"""Staff replies to a person: saved replies in every language, or staff's own words as written.

A saved reply is a catalog message, so it exists in every supported language and is
rendered in the person's language when it is sent. Free text is checked and made SMS-safe
(bot/staff_text.py): curly quotes and dashes made plain, emoji refused, and words not in the
language the person reads held awaiting translation (bot/casework/translations.py) rather
than sent. Either way the reply is an outbound row like any other, so the dispatcher
decides whether it may go now (quiet hours, opt-out, the WhatsApp window) and records why
it is held; only a safeguarding follow-up goes to someone who opted out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.cases import AWAITING_TRANSLATION
from bot.i18n import I18n
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.pipeline.templates import TemplateKind, whole_text
from bot.smssafe import sms_safe
from bot.staff_text import (
    StaffTextError,
    WordsPreview,
    checked,
    language_problem,
    priced,
)
from bot.types import OFFLINE_CHANNELS, VOICE, Kind
from flows.texts import N_
from storage.models import Address, Message, SafeguardingFlag

# Key -> catalog message id. Keys are what the console's form posts; the texts are what
# the person reads (reworded in the English catalog, translated in the others).
SAVED_REPLIES: dict[str, str] = {
    "looking_into_it": N_("Thank you. We are looking into this and will tell you what happens."),
    # Tower Hamlets Adult Social Care's contact line. The digits stay Latin in every
    # language: they are dialled on a keypad.
    "call_us": N_("Please call us on 020 7364 5005, Monday to Friday, 9am to 5pm."),
    "thank_you": N_("Thank you for telling us. What you say helps us improve care."),
}
# Outside WhatsApp's window staff's reply goes as this template, their words as its one
# variable (bot/pipeline/templates.py).
REPLY_WORDING = N_("Tower Hamlets Council replied to you: {text}")
STAFF_REPLY_TEMPLATE = TemplateKind("staff_reply", REPLY_WORDING, whole_text)
# A reply counts as an answer to someone who is talking to us now when they wrote within
# this long. Such a reply goes even in quiet hours (they are awake and waiting); any later
# reply is a message out of the blue and waits for the morning like other updates.
REPLY_WINDOW = timedelta(minutes=10)


class ReplyError(ValueError):
    """A reply cannot be sent as asked; the message says why, for staff to read."""


@dataclass(frozen=True)
class ReplyRequest:
    """What staff asked to send: a saved reply's key or their own words (exactly one)."""

    saved: str | None = None
    text: str | None = None

    def checked(self, saved_replies: Mapping[str, str] = SAVED_REPLIES) -> ReplyRequest:
        """Return the request with text trimmed, or raise ReplyError saying what is wrong.

        `saved_replies` are those the page offered (the interests queue has its own too).
        """
        text = (self.text or "").strip()
        saved = (self.saved or "").strip() or None
        if saved and text:
            raise ReplyError("Choose a saved reply or write your own, not both")
        if saved is None and not text:
            raise ReplyError("Choose a saved reply or write your reply")
        if saved is not None and saved not in saved_replies:
            raise ReplyError("Choose one of the saved replies")
        if saved is not None:
            return ReplyRequest(saved, None)
        try:
            safe = checked(text, "reply")
        except StaffTextError as error:
            raise ReplyError(str(error)) from error
        return ReplyRequest(None, safe.text)


def reply_text(
    i18n: I18n,
    address: Address,
    request: ReplyRequest,
    saved_replies: Mapping[str, str] = SAVED_REPLIES,
) -> str:
    """The reply as the person will read it: the saved reply in their language, or staff's
    words (checked first)."""
    if request.saved is not None:
        language = i18n.on_channel(address.contact.language or i18n.default, address.channel)
        return i18n.render(language, saved_replies[request.saved]).text
    return request.text or ""


def preview_reply(
    i18n: I18n,
    address: Address,
    request: ReplyRequest,
    price: Decimal,
    saved_replies: Mapping[str, str] = SAVED_REPLIES,
) -> WordsPreview:
    """The reply as the person will read it, priced, before anything is written. Raises
    ReplyError for a reply queue_reply would refuse."""
    _writable(address)
    asked = request.checked(saved_replies)
    replaced = sms_safe((request.text or "").strip()).summary() if asked.text is not None else ""
    return WordsPreview(
        priced(reply_text(i18n, address, asked, saved_replies), address.channel, price),
        replaced,
        awaiting_translation(address, asked),
    )


def awaiting_translation(address: Address, request: ReplyRequest) -> str | None:
    """Why staff's own words are not in the language the person reads, or None."""
    if request.text is None:
        return None
    return language_problem(request.text, address.contact.language or "en")


def last_inbound_at(session: Session, address_id: int) -> datetime | None:
    """When the person last wrote on this address, from their newest inbound message."""
    return session.scalar(
        select(Message.created_at)
        .where(Message.address_id == address_id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(1)
    )


def safeguarding_open(session: Session, contact_id: int) -> bool:
    """Whether a safeguarding flag about this person is open."""
    return (
        session.scalar(
            select(SafeguardingFlag.id)
            .where(SafeguardingFlag.contact_id == contact_id, SafeguardingFlag.status == "open")
            .limit(1)
        )
        is not None
    )


def _writable(address: Address) -> None:
    """Raise ReplyError when nothing can be written to this address."""
    if address.channel in OFFLINE_CHANNELS:
        raise ReplyError(
            "This person gave their feedback to staff and has no phone or chat here to write"
            " to: call or write to them (their open tasks are under Tasks)"
        )
    if address.channel == VOICE:
        raise ReplyError(
            "This person called the voice line: nothing can be written to a call. Their case"
            " updates go by text to the mobile they called from, or as a task to call them"
        )


def queue_reply(
    session: Session,
    address: Address,
    request: ReplyRequest,
    user_id: int,
    now: datetime,
    saved_replies: Mapping[str, str] = SAVED_REPLIES,
) -> Message:
    """Write the reply as a queued outbound row (the caller queues it after commit)."""
    request = request.checked(saved_replies)
    _writable(address)
    wrote = last_inbound_at(session, address.id)
    reply = Outbound(
        # Someone who asked for no more messages still hears from a person following up a
        # safeguarding concern: harm outranks the opt-out, which goes on holding the rest.
        even_if_stopped=safeguarding_open(session, address.contact_id),
        address_id=address.id,
        channel=address.channel,
        created_at=now,
        kind=Kind.STAFF_REPLY,
        is_reply=wrote is not None and now - wrote <= REPLY_WINDOW,
        sent_by=user_id,
        # A saved reply is rendered when sent, in the person's language then (they may
        # change it meanwhile); staff's own words go as they wrote them.
        template=saved_replies[request.saved] if request.saved is not None else None,
        body=None if request.saved is not None else request.text or "",
        held=AWAITING_TRANSLATION if awaiting_translation(address, request) else None,
    )
    return outbox.add(session, reply)
