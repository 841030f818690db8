"""Safeguarding: spot words that suggest a risk of harm, flag them, alert the on-call moderators.

The word lists are data (bot/casework/safeguarding.yaml). Detection is pure and runs on every
inbound message, so it is one regular expression per category over the message's match
key; only a message that matches costs a query. A flag and the alerts it raises are
written in the runner's step transaction, so an alert row exists exactly when its flag does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.pipeline import outbox
from bot.pipeline.effects import StepContext
from bot.pipeline.outbox import Outbound
from flows.textnorm import match_key
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag

CATEGORIES = ("suicide", "self_harm", "abuse", "neglect", "violence", "exploitation")
CATEGORY_LABELS = {
    "suicide": "Suicide",
    "self_harm": "Self-harm",
    "abuse": "Abuse",
    "neglect": "Neglect",
    "violence": "Violence",
    "exploitation": "Exploitation",
}
LANGUAGES = ("en", "bn", "syl", "syl-Latn")
WORD_LISTS = Path(__file__).with_name("safeguarding.yaml")
# One person writing several worrying messages in a row raises a flag for each, but the
# on-call phone rings once: no new alert while an open flag for them was alerted this recently.
ALERT_QUIET_FOR = timedelta(minutes=30)
# English, GSM-7 and one SMS segment: it goes to staff, and never carries what the person
# wrote or their number (a phone's lock screen shows it to anyone nearby).
ALERT_TEXT = "Kotha safeguarding alert: a message needs review now. Open the console: {link}"
ALERT_TEXT_NO_LINK = (
    "Kotha safeguarding alert: a message needs review now. Open Moderation in the Kotha console."
)
MODERATION_PATH = "/console/moderation"


def _phrase_pattern(phrase: str) -> str:
    """Write one phrase as a regular expression over match keys; `word*` matches its endings."""
    parts = []
    for word in phrase.split():
        stem = word.endswith("*")
        key = match_key(word.rstrip("*"))
        if key:
            parts.append(re.escape(key) + (r"\S*" if stem else ""))
    return " ".join(parts)


def _alternation(phrases: Iterable[str]) -> re.Pattern[str] | None:
    patterns = sorted({p for p in map(_phrase_pattern, phrases) if p}, key=len, reverse=True)
    if not patterns:
        return None
    # Whole words only: a match starts and ends at a space or the ends of the key.
    return re.compile(r"(?<!\S)(?:" + "|".join(patterns) + r")(?!\S)")


@dataclass(frozen=True)
class Lexicon:
    """The compiled word lists: one pattern per category, and the phrases to ignore first."""

    patterns: Mapping[str, re.Pattern[str]]
    ignore: re.Pattern[str] | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Lexicon:
        categories = data.get("categories") or {}
        unknown = set(categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown safeguarding categories: {sorted(unknown)}")
        patterns: dict[str, re.Pattern[str]] = {}
        for category in CATEGORIES:
            by_language = categories.get(category) or {}
            bad = set(by_language) - set(LANGUAGES)
            if bad:
                raise ValueError(f"{category}: unknown languages {sorted(bad)}")
            compiled = _alternation(p for phrases in by_language.values() for p in phrases)
            if compiled is not None:
                patterns[category] = compiled
        ignored = (data.get("ignore") or {}).values()
        return cls(patterns, _alternation(p for phrases in ignored for p in phrases))

    @classmethod
    def load(cls, path: Path = WORD_LISTS) -> Lexicon:
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")))

    def detect(self, text: str) -> tuple[str, ...]:
        """Return the categories of harm the text's words suggest, in CATEGORIES order."""
        key = match_key(text)
        if not key:
            return ()
        if self.ignore is not None:
            key = self.ignore.sub(" ", key)
        return tuple(c for c, pattern in self.patterns.items() if pattern.search(key))


def alert_text(public_url: str | None) -> str:
    if not public_url:
        return ALERT_TEXT_NO_LINK
    return ALERT_TEXT.format(link=public_url.rstrip("/") + MODERATION_PATH)


def staff_address(session: Session, recipient: str, now: datetime) -> Address:
    """Return the address of a council colleague ("channel:address"), creating it on demand.

    An address already known (a moderator who once tried the bot from their phone) becomes
    a staff contact: the setting says it is a colleague's, so it leaves the inbox.
    """
    channel, _, value = recipient.partition(":")
    address = session.scalar(
        select(Address).where(Address.channel == channel, Address.address == value)
    )
    if address is None:
        contact = Contact(created_at=now, language="en", staff=True)
        address = Address(contact=contact, channel=channel, address=value, created_at=now)
        session.add(address)
        # Two people flagged at once may both create it: the loser's step fails here and
        # the runner steps it again, finding the address the winner created.
        session.flush()
    elif not address.contact.staff:
        address.contact.staff = True
    return address


def urgent_staff_message(address: Address, text: str, now: datetime) -> Outbound:
    """A message to a colleague that quiet hours never hold."""
    return Outbound(
        address_id=address.id,
        channel=address.channel,
        created_at=now,
        body=text,
        language="en",
        urgent=True,
    )


@dataclass(frozen=True)
class Safeguarding:
    """Flags risky inbound messages and alerts the on-call moderators, inside a step."""

    lexicon: Lexicon
    alert_to: tuple[str, ...] = ()
    public_url: str | None = None

    def watch(self, step: StepContext, message_id: int, text: str) -> list[int]:
        """The step's watcher: flag the message if its words suggest harm; return alert ids.

        Only a message whose words match costs the queries that load these rows.
        """
        if not self.lexicon.detect(text):
            return []
        session = step.session
        alerts = self.flag_inbound(
            session, step.address(), session.get_one(Message, message_id), step.now
        )
        session.flush()
        return [row.id for row in alerts]

    def flag_inbound(
        self, session: Session, address: Address, inbound: Message, now: datetime
    ) -> list[Message]:
        """Flag this inbound message if its words suggest harm; return the alert rows written."""
        categories = self.lexicon.detect(inbound.body or "")
        if not categories:
            return []
        flag = SafeguardingFlag(
            contact_id=address.contact_id,
            message_id=inbound.id,
            feedback_id=_feedback_with_text(session, address.id, inbound.body or ""),
            categories=list(categories),
            source="automatic",
            raised_at=now,
            status="open",
        )
        if not self.alert_to or _alerted_lately(session, address.contact_id, now):
            session.add(flag)
            return []
        flag.alerted_at = now
        session.add(flag)
        return [
            outbox.add(
                session,
                urgent_staff_message(staff_address(session, recipient, now), self.text, now),
            )
            for recipient in self.alert_to
        ]

    @property
    def text(self) -> str:
        return alert_text(self.public_url)


def _feedback_with_text(session: Session, address_id: int, body: str) -> int | None:
    """The feedback record holding these words, when it exists already (else None)."""
    if not body:
        return None
    found: int | None = session.scalar(
        select(Feedback.id)
        .where(
            Feedback.address_id == address_id,
            or_(Feedback.text == body, Feedback.desired_outcome == body),
        )
        .order_by(Feedback.id.desc())
        .limit(1)
    )
    return found


def _alerted_lately(session: Session, contact_id: int, now: datetime) -> bool:
    return (
        session.scalar(
            select(SafeguardingFlag.id)
            .where(
                SafeguardingFlag.contact_id == contact_id,
                SafeguardingFlag.status == "open",
                SafeguardingFlag.alerted_at > now - ALERT_QUIET_FOR,
            )
            .limit(1)
        )
        is not None
    )
