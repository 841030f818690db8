"""The inbox: everyone who wrote to us, found by reference, phone number, words or filters.

A conversation is everything said on one address (a phone number on SMS or WhatsApp, a
Telegram chat). The inbox lists them newest activity first: a conversation's place is its
newest message, found by walking messages newest first and keeping each address's newest
one, which an index on (address_id, id) answers without reading whole conversations.
Feedback is linked by person (contact), so a complaint made by SMS shows beside the same
person's WhatsApp conversation too. These are the console's queries, kept here so that
they can be read and tested without a web request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.casework.cases import KINDS
from bot.types import CHANNELS, VOICE
from storage.models import (
    Address,
    Contact,
    Feedback,
    MediaNote,
    Message,
    SafeguardingFlag,
    is_simulated,
)

PAGE_SIZE = 50
# Counting stops here: "more than 1,000 conversations" is as useful as the exact figure.
COUNT_CAP = 5_000
# A word search reads at most this many of the newest matching messages.
WORD_HITS = 2_000
# ... looking first among this many of the newest messages (a trigram match and an id
# range combine in one bitmap, so only the matches there are read from the table).
RECENT_MESSAGES = 100_000
REFERENCE = re.compile(r"([A-Z])-?(\d{6})")
PHONE_CHARACTERS = re.compile(r"\+?[\d\s().-]{7,20}")
WHATSAPP_PREFIX = "whatsapp:"


# --- Search and filters ----------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """What staff typed, understood as a reference, a phone number or words."""

    kind: str  # reference | phone | words
    value: str
    words: tuple[str, ...] = ()


def normalise_phone(text: str) -> str | None:
    """Return the E.164 form of a phone number typed any usual way (UK by default), or None."""
    typed = text.strip()
    if typed.lower().startswith(WHATSAPP_PREFIX):
        typed = typed[len(WHATSAPP_PREFIX) :].strip()
    if not PHONE_CHARACTERS.fullmatch(typed):
        return None
    try:
        number = phonenumbers.parse(typed, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def understand(text: str) -> Search | None:
    """Read the search box: a feedback reference, else a phone number, else words."""
    typed = " ".join(text.split())
    if not typed:
        return None
    reference = REFERENCE.fullmatch(typed.upper())
    if reference:
        return Search("reference", f"{reference.group(1)}-{reference.group(2)}")
    phone = normalise_phone(typed)
    if phone:
        return Search("phone", phone)
    return Search("words", typed, tuple(typed.split()))


def _choice(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else ""


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's search and filters as given in the query string."""

    q: str = ""
    kind: str = ""
    status: str = ""
    service: str = ""
    language: str = ""
    channel: str = ""
    flagged: bool = False
    page: int = 1
    search: Search | None = field(default=None, compare=False)

    @classmethod
    def from_args(
        cls, args: Mapping[str, str], languages: Iterable[str], page: int = 1
    ) -> InboxFilters:
        """The filters in a query string (`page`, the page asked for, the console reads)."""
        q = args.get("q", "").strip()[:200]
        return cls(
            q=q,
            kind=_choice(args.get("kind", ""), KINDS),
            status=args.get("status", "").strip()[:24],
            service=args.get("service", "").strip()[:32],
            language=_choice(args.get("language", ""), languages),
            channel=_choice(args.get("channel", ""), (*CHANNELS, VOICE)),
            flagged=args.get("flag", "") == "open",
            page=page,
            search=understand(q),
        )

    def as_args(self) -> dict[str, str]:
        shown = {
            "q": self.q,
            "kind": self.kind,
            "status": self.status,
            "service": self.service,
            "language": self.language,
            "channel": self.channel,
            "flag": "open" if self.flagged else "",
        }
        return {key: value for key, value in shown.items() if value}

    @property
    def any(self) -> bool:
        return bool(self.as_args())


def _like(column: Any, word: str) -> ColumnElement[bool]:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")  # type: ignore[no-any-return]


def _wrote(words: Sequence[str], see_original: bool) -> ColumnElement[bool]:
    """Messages a person wrote containing every word, as this role may read them.

    Staff read the redacted text where a moderator redacted one, so they cannot find a
    conversation by the personal details a moderator took out.
    """
    in_body = and_(*(_like(Message.body, word) for word in words))
    in_redacted = and_(*(_like(Message.redacted_body, word) for word in words))
    if see_original:
        readable = in_body
    else:
        readable = or_(and_(Message.redacted_body.is_(None), in_body), in_redacted)
    return and_(Message.direction == "in", readable)


def _noted(words: Sequence[str]) -> ColumnElement[bool]:
    """Staff's transcripts or translations of the files people sent containing every word."""
    return and_(
        *(
            or_(_like(MediaNote.transcript, word), _like(MediaNote.translation, word))
            for word in words
        )
    )


def _conditions(filters: InboxFilters, see_hidden: bool) -> list[ColumnElement[bool]]:
    """The WHERE clauses on Address and Contact that pick the conversations asked for."""
    # Nobody erased: what is left of them is anonymous counts, not a conversation.
    conditions: list[ColumnElement[bool]] = [
        Contact.staff.is_(False),
        Contact.erased_at.is_(None),
        # Someone staff took feedback from without a mobile has an address on the channel it
        # came by (bot/casework/onbehalf.py): no conversation, nothing to reply to. Their
        # cases are on the cases page, and what to do for them under Tasks. A voice line
        # caller's call is a conversation: what they pressed and said, and what was said.
        Address.channel.in_((*CHANNELS, VOICE)),
    ]
    if not see_hidden:
        conditions.append(Contact.hidden_at.is_(None))
    if filters.channel:
        conditions.append(Address.channel == filters.channel)
    if filters.language:
        conditions.append(Contact.language == filters.language)
    feedback: list[ColumnElement[bool]] = []
    if filters.kind:
        feedback.append(Feedback.kind == filters.kind)
    if filters.status:
        feedback.append(Feedback.status == filters.status)
    if filters.service:
        feedback.append(Feedback.service == filters.service)
    if feedback:
        conditions.append(exists().where(Feedback.contact_id == Address.contact_id, *feedback))
    if filters.flagged:
        conditions.append(
            exists().where(
                SafeguardingFlag.contact_id == Address.contact_id,
                SafeguardingFlag.status == "open",
            )
        )
    search = filters.search
    if search is not None and search.kind == "reference":
        conditions.append(
            Address.contact_id.in_(
                select(Feedback.contact_id).where(Feedback.reference == search.value)
            )
        )
    elif search is not None and search.kind == "phone":
        forms = (search.value, WHATSAPP_PREFIX + search.value)
        conditions.append(Address.channel.in_(("sms", "whatsapp")))
        conditions.append(Address.address.in_(forms))
    return conditions


@dataclass(frozen=True)
class InboxRow:
    """One conversation in the inbox."""

    address_id: int
    channel: str
    address: str
    language: str | None
    hidden: bool
    last_at: datetime
    last_direction: str
    last_text: str
    references: tuple[tuple[str, str, str], ...]  # (reference, kind, status)
    open_flags: int
    # Someone trying the simulator, not a person who wrote to the council.
    simulated: bool = False


def inbox_page(
    session: Session, filters: InboxFilters, see_original: bool
) -> tuple[list[InboxRow], int, bool]:
    """Return one page of conversations, newest activity first, how many match, and
    whether that count is complete.

    The count stops at COUNT_CAP (shown as "more than"): counting every conversation of a
    broad filter would cost more than the page itself. The count also picks the plan: a
    few matching conversations are each looked up for their newest message; many are
    found by walking messages newest first, where one in fifty or more of them matches.
    """
    conditions = _conditions(filters, see_hidden=see_original)
    search = filters.search
    if search is not None and search.kind == "words":
        return _word_page(session, filters, search.words, conditions, see_original)
    matching = select(Address.id).join(Contact, Contact.id == Address.contact_id).where(*conditions)
    total = (
        session.scalar(select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery()))
        or 0
    )
    offset = (filters.page - 1) * PAGE_SIZE
    if total <= COUNT_CAP:
        newest_id = (
            select(func.max(Message.id)).where(Message.address_id == Address.id).scalar_subquery()
        )
        found = session.execute(
            matching.add_columns(newest_id.label("last_id"))
            .order_by(func.coalesce(newest_id, 0).desc(), Address.id.desc())
            .limit(PAGE_SIZE)
            .offset(offset)
        ).all()
        last_ids = [row.last_id for row in found if row.last_id is not None]
    else:
        newest = aliased(Message)
        later = aliased(Message)
        last_ids = list(
            session.scalars(
                select(newest.id)
                .join(Address, Address.id == newest.address_id)
                .join(Contact, Contact.id == Address.contact_id)
                .where(
                    ~exists().where(later.address_id == newest.address_id, later.id > newest.id),
                    *conditions,
                )
                .order_by(newest.id.desc())
                .limit(PAGE_SIZE)
                .offset(offset)
            )
        )
    return _rows(session, last_ids, see_original), total, total <= COUNT_CAP


def _word_page(
    session: Session,
    filters: InboxFilters,
    words: Sequence[str],
    conditions: list[ColumnElement[bool]],
    see_original: bool,
) -> tuple[list[InboxRow], int, bool]:
    """Conversations with the newest messages people wrote containing every word.

    Ordered by their newest matching message, which the row shows. Only the WORD_HITS
    newest matching messages are read; past that many the count says "more than" (more
    words narrow the search). They are looked for among the RECENT_MESSAGES newest
    messages first, where a common word has them all, then, for a rarer word, everywhere.
    """
    newest_id = session.scalar(select(func.max(Message.id))) or 0

    def newest_hits(after: int) -> list[tuple[int, int]]:
        query = (
            select(Message.id, Message.address_id)
            .join(Address, Address.id == Message.address_id)
            .join(Contact, Contact.id == Address.contact_id)
            .where(Message.id > after, _wrote(words, see_original), *conditions)
            # "id + 0": not the primary key's order, so PostgreSQL reads the matches through
            # the trigram index and sorts them, rather than walking every message newest
            # first in search of a rare word (measured: 1.7 s against 40 ms for a word in
            # 1,200 of a million messages).
            .order_by((Message.id + 0).desc())
            .limit(WORD_HITS)
        )
        hits = [(row.id, row.address_id) for row in session.execute(query)]
        # What staff wrote down of voice notes and photos is found too: a query of its
        # own, so the messages' search keeps its plan (the notes are few beside them).
        noted = (
            select(Message.id, Message.address_id)
            .join(MediaNote, MediaNote.message_id == Message.id)
            .join(Address, Address.id == Message.address_id)
            .join(Contact, Contact.id == Address.contact_id)
            .where(Message.id > after, _noted(words), *conditions)
            .order_by(Message.id.desc())
            .limit(WORD_HITS)
        )
        hits += [(row.id, row.address_id) for row in session.execute(noted)]
        return sorted(set(hits), reverse=True)[:WORD_HITS]

    recent = newest_id - RECENT_MESSAGES
    for after in (recent, 0) if recent > 0 else (0,):
        hits = newest_hits(after)
        if len(hits) >= WORD_HITS:
            break  # the newest WORD_HITS matches overall are all among these
    found = len(hits)
    # Newest first, so each conversation's first hit is its newest.
    newest_hit: dict[int, int] = {}
    for message_id, address_id in hits:
        newest_hit.setdefault(address_id, message_id)
    total = len(newest_hit)
    start = (filters.page - 1) * PAGE_SIZE
    last_ids = list(newest_hit.values())[start : start + PAGE_SIZE]
    return _rows(session, last_ids, see_original), total, found < WORD_HITS


def _rows(session: Session, message_ids: Sequence[int], see_original: bool) -> list[InboxRow]:
    """The inbox rows showing these messages, in the order of their ids, newest first."""
    rows = session.execute(
        select(
            Message.id,
            Message.address_id,
            Message.created_at,
            Message.direction,
            Message.body,
            Message.redacted_body,
            Message.template,
            Address.channel,
            Address.address,
            Address.contact_id,
            Contact.language,
            Contact.hidden_at,
        )
        .join(Address, Address.id == Message.address_id)
        .join(Contact, Contact.id == Address.contact_id)
        .where(Message.id.in_(message_ids))
        .order_by(Message.id.desc())
    ).all()
    contacts = {row.contact_id for row in rows}
    references = _references(session, contacts)
    flags = _open_flag_counts(session, contacts)
    page = [
        InboxRow(
            address_id=row.address_id,
            channel=row.channel,
            address=row.address,
            language=row.language,
            hidden=row.hidden_at is not None,
            last_at=row.created_at,
            last_direction=row.direction,
            last_text=readable(row.body, row.redacted_body, see_original)
            or ("(saved reply, not yet sent)" if row.template else ""),
            references=tuple(references.get(row.contact_id, ())),
            open_flags=flags.get(row.contact_id, 0),
            simulated=is_simulated(row.address),
        )
        for row in rows
    ]
    return page


def _references(session: Session, contacts: set[int]) -> dict[int, list[tuple[str, str, str]]]:
    found: dict[int, list[tuple[str, str, str]]] = {}
    if not contacts:
        return found
    for row in session.execute(
        select(Feedback.contact_id, Feedback.reference, Feedback.kind, Feedback.status)
        .where(Feedback.contact_id.in_(contacts))
        .order_by(Feedback.id)
    ):
        found.setdefault(row.contact_id, []).append((row.reference, row.kind, row.status))
    return found


def _open_flag_counts(session: Session, contacts: set[int]) -> dict[int, int]:
    if not contacts:
        return {}
    rows = session.execute(
        select(SafeguardingFlag.contact_id, func.count())
        .where(SafeguardingFlag.contact_id.in_(contacts), SafeguardingFlag.status == "open")
        .group_by(SafeguardingFlag.contact_id)
    )
    return {contact_id: count for contact_id, count in rows}


def readable(body: str | None, redacted: str | None, see_original: bool) -> str:
    """What this role reads of a message: staff get the redacted text where there is one."""
    if redacted is not None and not see_original:
        return redacted
    return body or ""
