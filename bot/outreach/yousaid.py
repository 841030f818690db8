"""'You said, we did': what people raised, what the council did, told back to them.

Staff write an item in each language (what people said, what was done or is planned),
link the feedback records it answers, and publish it: a broadcast then goes to every
address that sent linked feedback (and, if staff choose, to a segment besides), each in
the person's language on the channel they used. Published items are listed on a public
page with no personal data; a quote appears there only once a moderator approved it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.i18n import I18n
from bot.outreach.broadcasts import BroadcastError, Broadcasts
from bot.smssafe import sms_safe
from flows.texts import N_
from storage.models import Broadcast, Feedback, YouSaidItem, YouSaidLink

# TRANSLATORS: starts a "you said, we did" message; what people told us follows.
YOU_SAID = N_("You said:")
# TRANSLATORS: what the council changed because people spoke up follows.
WE_DID = N_("We did:")
# TRANSLATORS: a change the council has planned, but not yet made, follows.
WE_PLAN = N_("We plan to:")
CHANGES = {"change_made": WE_DID, "change_planned": WE_PLAN}
# Marked for the catalogs: the public page shows them in the reader's language.
CHANGE_NAMES = {"change_made": N_("Change made"), "change_planned": N_("Change planned")}
REFERENCE = re.compile(r"[A-Za-z0-9-]+")


class YouSaidError(ValueError):
    """An item that cannot be saved or published as asked; the message says why."""


@dataclass(frozen=True)
class ItemFields:
    """What staff write for an item, checked before it is stored."""

    theme: str
    texts: Mapping[str, Mapping[str, str]]  # language -> {"said": ..., "did": ...}
    change: str
    change_date: date | None
    quote: str | None

    def errors(self, i18n: I18n) -> dict[str, str]:
        found: dict[str, str] = {}
        if not self.theme.strip():
            found["theme"] = "Enter the theme people raised"
        if self.change not in CHANGES:
            found["change"] = "Choose whether the change is planned or made"
        default = self.texts.get(i18n.default, {})
        if not (default.get("said") and default.get("did")):
            name = i18n.language(i18n.default).name
            found[f"said-{i18n.default}"] = (
                f"Write what people said and what was done in {name}: "
                "every other language falls back to it"
            )
        for code, text in self.texts.items():
            if bool(text.get("said")) != bool(text.get("did")):
                name = i18n.language(code).name
                found[f"said-{code}"] = f"Write both parts in {name}, or neither"
        return found


def clean_texts(raw: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Keep the languages with something written, each part trimmed and SMS-safe
    (bot/smssafe.py): the item is broadcast as written here."""
    texts = {}
    for code, parts in raw.items():
        said = sms_safe((parts.get("said") or "").strip()).text
        did = sms_safe((parts.get("did") or "").strip()).text
        if said or did:
            texts[code] = {"said": said, "did": did}
    return texts


def save_item(
    session: Session,
    i18n: I18n,
    item: YouSaidItem | None,
    fields: ItemFields,
    user_id: int | None,
    now: datetime,
) -> YouSaidItem:
    """Create or update an item; a changed quote needs a moderator's approval again."""
    errors = fields.errors(i18n)
    if errors:
        raise YouSaidError("; ".join(errors.values()))
    if item is None:
        item = YouSaidItem(status="draft", created_by=user_id, created_at=now)
        session.add(item)
    quote = (fields.quote or "").strip() or None
    if quote != item.quote:
        item.quote, item.quote_approved_by = quote, None
    item.theme = fields.theme.strip()
    item.texts = clean_texts(fields.texts)
    item.change, item.change_date = fields.change, fields.change_date
    session.flush()
    return item


def parse_references(text: str) -> list[str]:
    """Feedback references typed by staff: separated by commas, spaces or lines."""
    return [match.upper() for match in REFERENCE.findall(text)]


def link(session: Session, item: YouSaidItem, references: Iterable[str]) -> list[str]:
    """Link exactly these feedback records to the item; return the references not found."""
    wanted = list(dict.fromkeys(references))
    found = dict(
        session.execute(
            select(Feedback.reference, Feedback.id).where(Feedback.reference.in_(wanted))
        ).all()
    )
    missing = [reference for reference in wanted if reference not in found]
    if missing:
        return missing
    session.execute(delete(YouSaidLink).where(YouSaidLink.item_id == item.id))
    session.add_all(YouSaidLink(item_id=item.id, feedback_id=found[ref]) for ref in wanted)
    session.flush()
    return []


def linked_references(session: Session, item_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Feedback.reference)
            .join(YouSaidLink, YouSaidLink.feedback_id == Feedback.id)
            .where(YouSaidLink.item_id == item_id)
            .order_by(Feedback.reference)
        )
    )


def approve_quote(item: YouSaidItem, user_id: int) -> None:
    """A moderator confirms the quote is anonymised: the public page may show it."""
    if not item.quote:
        raise YouSaidError("there is no quote to approve")
    item.quote_approved_by = user_id


def message_texts(i18n: I18n, item: YouSaidItem) -> dict[str, str]:
    """The message each written language's readers get, with its labels in that language."""
    label = CHANGES[item.change]
    return {
        code: (
            f"{i18n.gettext(code, YOU_SAID)} {parts['said']}\n"
            f"{i18n.gettext(code, label)} {parts['did']}"
        )
        for code, parts in item.texts.items()
        if parts.get("said") and parts.get("did")
    }


def missing_languages(i18n: I18n, item: YouSaidItem) -> list[str]:
    return [code for code in i18n.written if code not in message_texts(i18n, item)]


def segment_of(item_id: int, also: Mapping[str, Any] | None) -> dict[str, Any]:
    """Everyone whose linked feedback the item answers, and optionally a segment besides."""
    segment: dict[str, Any] = {"you_said": item_id}
    if also:
        segment["also"] = dict(also)
    return segment


def publish(
    session: Session,
    broadcasts: Broadcasts,
    item: YouSaidItem,
    also: Mapping[str, Any] | None,
    user_id: int | None,
    now: datetime,
) -> Broadcast:
    """Mark the item published and write its broadcast (a draft: the caller sends it)."""
    if item.status == "published":
        raise YouSaidError("this item is already published")
    try:
        broadcast = broadcasts.create(
            session,
            title=f"You said, we did: {item.theme}",
            texts=message_texts(broadcasts.i18n, item),
            segment=segment_of(item.id, also),
            created_by=user_id,
        )
    except BroadcastError as error:
        raise YouSaidError(str(error)) from error
    item.status, item.published_at, item.broadcast_id = "published", now, broadcast.id
    return broadcast


def published(session: Session) -> list[YouSaidItem]:
    """Published items, newest first, for the public page."""
    return list(
        session.scalars(
            select(YouSaidItem)
            .where(YouSaidItem.status == "published")
            .order_by(YouSaidItem.published_at.desc(), YouSaidItem.id.desc())
        )
    )
