"""Staff's words awaiting translation: held, listed, and sent once given in the person's language.

A case note, the words saying what changed, or a reply that is not in the language the
person reads (bot/staff_text.py `language_problem`) is written as its outbound row, held
with the reason "awaiting-translation" (bot/pipeline/outbox.py), rather than sent mixed.
The dispatcher never sends a held row; here staff see each one and give the words in the
person's language, which replace staff's first words in the row and queue it. The first
words stay in the case history (the case event's note) for staff; the person receives only
the translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.cases import AWAITING_TRANSLATION
from bot.i18n import I18n
from bot.pipeline.dispatch import render_row
from bot.smssafe import sms_safe
from bot.staff_text import StaffTextError, WordsPreview, checked, language_problem, priced
from storage.models import Address, Contact, Feedback, Message

# The parameters of a case update that hold staff's words (bot/casework/cases.py).
WORDS_PARAMS = ("note", "change")
LIMIT = 200


class TranslationError(ValueError):
    """The translation cannot be used as given; the message says why, for staff."""


@dataclass(frozen=True)
class Waiting:
    """One message held for a translation, as staff see it in the list."""

    message_id: int
    created_at: datetime
    kind: str
    address_id: int
    channel: str
    language: str  # what the person reads
    reference: str | None
    words: str  # staff's words as they wrote them (made SMS-safe)


def _words(row: Message) -> tuple[str | None, str]:
    """Which part of the row holds staff's words (a parameter's name, or None for the
    body), and the words."""
    if row.template is None:
        return None, row.body or ""
    params = dict(row.params or {})
    for name in WORDS_PARAMS:
        if isinstance(params.get(name), str):
            return name, params[name]
    return None, ""


def awaiting(session: Session, limit: int = LIMIT) -> list[Waiting]:
    """Every message held for a translation, oldest first (the first to be owed one)."""
    rows = session.execute(
        select(Message, Contact.language, Feedback.reference)
        .join(Address, Address.id == Message.address_id)
        .join(Contact, Contact.id == Address.contact_id)
        .outerjoin(Feedback, Feedback.id == Message.feedback_id)
        .where(
            Message.direction == "out",
            Message.status == "held",
            Message.reason == AWAITING_TRANSLATION,
        )
        .order_by(Message.id)
        .limit(limit)
    ).all()
    return [
        Waiting(
            row.id,
            row.created_at,
            row.kind or "",
            row.address_id,
            row.channel,
            language or "en",
            reference,
            _words(row)[1],
        )
        for row, language, reference in rows
    ]


def preview(session: Session, i18n: I18n, row: Message, typed: str, price: Decimal) -> WordsPreview:
    """The row as the person will read it, priced, after give_translation put in the words
    staff `typed` (before the commit, which the caller may roll back instead)."""
    reader = session.scalar(
        select(Contact.language)
        .join(Address, Address.contact_id == Contact.id)
        .where(Address.id == row.address_id)
    )
    language = i18n.on_channel(reader or i18n.default, row.channel)
    text = render_row(i18n, row, language).text
    return WordsPreview(priced(text, row.channel, price), sms_safe(typed.strip()).summary())


def give_translation(session: Session, message_id: int, text: str) -> Message:
    """Put staff's words in the person's language into the held row and queue it.

    The caller queues the row's id after the commit. Refused, with nothing changed, when the
    row is not awaiting a translation (sent already, or given by someone else a moment ago),
    or when the words are empty, too long, hold emoji, or are still not in the person's
    language.
    """
    row = session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    if row is None or row.status != "held" or row.reason != AWAITING_TRANSLATION:
        raise TranslationError("This message is no longer awaiting a translation")
    try:
        safe = checked(text, "translation")
    except StaffTextError as error:
        raise TranslationError(str(error)) from error
    reader = session.scalar(
        select(Contact.language)
        .join(Address, Address.contact_id == Contact.id)
        .where(Address.id == row.address_id)
    )
    problem = language_problem(safe.text, reader or "en")
    if problem is not None:
        raise TranslationError(f"The translation is not in their language: {problem}")
    name, _ = _words(row)
    if name is None:
        row.body = safe.text
    else:
        row.params = {**dict(row.params or {}), name: safe.text}
    row.status, row.reason = "queued", None
    session.flush()
    return row
