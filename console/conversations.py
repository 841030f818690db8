"""Conversations: the inbox of everyone who wrote to us, one transcript, and staff replies.

A conversation is everything said on one address (a phone number on SMS or WhatsApp, a
Telegram chat). The inbox lists them newest activity first: a conversation's place is its
newest message, found by walking messages newest first and keeping each address's newest
one, which an index on (address_id, id) answers without reading whole conversations.
Feedback is linked by person (contact), so a complaint made by SMS shows beside the same
person's WhatsApp conversation too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.casework.accounts import record_audit
from bot.casework.replies import SAVED_REPLIES, ReplyError, ReplyRequest, queue_reply
from bot.pipeline.dispatch import render_row
from bot.services import services
from console.auth import blueprint, role_required
from console.wording import text_lang
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag, User

PAGE_SIZE = 50
# Counting stops here: "more than 1,000 conversations" is as useful as the exact figure.
COUNT_CAP = 5_000
# A word search reads at most this many of the newest matching messages.
WORD_HITS = 2_000
# ... looking first among this many of the newest messages (a trigram match and an id
# range combine in one bitmap, so only the matches there are read from the table).
RECENT_MESSAGES = 100_000
VIEW_ROLES = ("staff", "moderator", "admin")
REPLY_ROLES = ("staff", "admin")
# Moderators and admins see what people wrote before redaction, and contacts hidden for abuse.
SEE_ORIGINAL_ROLES = ("moderator", "admin")
CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp", "telegram": "Telegram"}
KINDS = ("complaint", "comment", "compliment")
REFERENCE = re.compile(r"([A-Z])-?(\d{6})")
PHONE_CHARACTERS = re.compile(r"\+?[\d\s().-]{7,20}")
WHATSAPP_PREFIX = "whatsapp:"
# Why an outbound message did not go, in words staff can act on.
REASONS = {
    "opted-out": "the person asked for no more messages (they sent STOP or blocked us)",
    "quiet-hours": "quiet hours: it goes in the morning",
    "outside-whatsapp-window": (
        "it is over 24 hours since they last wrote on WhatsApp and there is no approved "
        "template for their language"
    ),
    "no-sender": "this channel is not set up",
    "requeued-after-lease": "sent again after a worker stopped",
}


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
    def from_args(cls, args: Mapping[str, str], languages: Iterable[str]) -> InboxFilters:
        q = args.get("q", "").strip()[:200]
        page_text = args.get("page", "")
        return cls(
            q=q,
            kind=_choice(args.get("kind", ""), KINDS),
            status=args.get("status", "").strip()[:24],
            service=args.get("service", "").strip()[:32],
            language=_choice(args.get("language", ""), languages),
            channel=_choice(args.get("channel", ""), CHANNELS),
            flagged=args.get("flag", "") == "open",
            page=max(int(page_text), 1) if page_text.isdigit() and len(page_text) < 7 else 1,
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


def _conditions(filters: InboxFilters, see_hidden: bool) -> list[ColumnElement[bool]]:
    """The WHERE clauses on Address and Contact that pick the conversations asked for."""
    conditions: list[ColumnElement[bool]] = [Contact.staff.is_(False)]
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
        return [(row.id, row.address_id) for row in session.execute(query)]

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
            last_text=_readable(row.body, row.redacted_body, see_original)
            or ("(saved reply, not yet sent)" if row.template else ""),
            references=tuple(references.get(row.contact_id, ())),
            open_flags=flags.get(row.contact_id, 0),
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


def _readable(body: str | None, redacted: str | None, see_original: bool) -> str:
    """What this role reads of a message: staff get the redacted text where there is one."""
    if redacted is not None and not see_original:
        return redacted
    return body or ""


# --- Pages -----------------------------------------------------------------------------------


def _see_original() -> bool:
    return bool(current_user.role in SEE_ORIGINAL_ROLES)


def case_url(reference: str) -> str | None:
    """The case page for a feedback reference, where the console has one."""
    endpoint = _case_endpoint()
    return url_for(endpoint, reference=reference) if endpoint else None


def _case_endpoint() -> str | None:
    # Looked up once per app (the cases pages are a module of their own), not once per row.
    known: dict[str, str | None] = current_app.extensions.setdefault("kotha_case_endpoint", {})
    if "endpoint" not in known:
        known["endpoint"] = next(
            (
                rule.endpoint
                for rule in current_app.url_map.iter_rules()
                if rule.rule == "/console/cases/<reference>"
            ),
            None,
        )
    return known["endpoint"]


@blueprint.get("/conversations")
@role_required(*VIEW_ROLES)
def inbox() -> Any:
    """Every conversation, newest activity first; search and filters; 50 a page."""
    languages = services().i18n.languages
    filters = InboxFilters.from_args(request.args, languages)
    see_original = _see_original()
    with services().database.session() as db:
        rows, total, complete = inbox_page(db, filters, see_original)
        statuses = list(db.scalars(select(Feedback.status).distinct().order_by(Feedback.status)))
        service_names = list(
            db.scalars(
                select(Feedback.service)
                .where(Feedback.service.is_not(None))
                .distinct()
                .order_by(Feedback.service)
            )
        )
    page = filters.page
    if not complete:
        pages = None  # not counted: there is a next page while this one is full
        count_text = f"More than {min(total, COUNT_CAP):,} conversations"
        more = len(rows) == PAGE_SIZE
    else:
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        count_text = f"{total:,} conversation" + ("" if total == 1 else "s")
        more = page < pages
    args: dict[str, Any] = filters.as_args()
    return render_template(
        "console/conversations.html",
        rows=rows,
        total=total,
        count_text=count_text,
        filters=filters,
        statuses=statuses,
        services=[name for name in service_names if name],
        languages=languages,
        channels=CHANNELS,
        kinds=KINDS,
        page=page,
        pages=pages,
        previous=url_for("console.inbox", page=page - 1, **args) if page > 1 else None,
        next=url_for("console.inbox", page=page + 1, **args) if more else None,
        zone=services().settings.zone,
        case_url=case_url,
        see_original=see_original,
    )


@dataclass(frozen=True)
class Line:
    """One message in a transcript, as the signed-in role may read it."""

    id: int
    direction: str
    at: datetime
    text: str
    lang: str
    original: str | None  # the words before redaction, for moderators and admins
    status: str
    reason: str | None
    until: datetime | None
    sent_by: str | None
    saved_reply: bool


def _transcript(
    session: Session, address: Address, see_original: bool, language: str | None
) -> list[Line]:
    rows = session.scalars(
        select(Message).where(Message.address_id == address.id).order_by(Message.id)
    ).all()
    senders = {row.sent_by for row in rows if row.sent_by is not None}
    emails = {
        row.id: row.email
        for row in session.execute(select(User.id, User.email).where(User.id.in_(senders)))
    }
    i18n = services().i18n
    lines = []
    for row in rows:
        if row.body is None and row.template is not None:
            # Not rendered yet (queued or held): show it as the person will receive it.
            text = render_row(i18n, row, row.language or language).text
        else:
            text = _readable(row.body, row.redacted_body, see_original)
        redacted = see_original and row.redacted_body is not None
        lines.append(
            Line(
                id=row.id,
                direction=row.direction,
                at=row.created_at,
                text=row.redacted_body if redacted and row.redacted_body else text,
                lang=text_lang(text, row.language if row.direction == "out" else language),
                original=row.body if redacted else None,
                status=row.status,
                reason=row.reason,
                until=row.next_attempt_at if row.status == "held" else None,
                sent_by=emails.get(row.sent_by) if row.sent_by else None,
                saved_reply=row.sent_by is not None and row.template is not None,
            )
        )
    return lines


def reason_text(reason: str | None) -> str:
    if reason is None:
        return ""
    if reason.startswith("provider-error"):
        code = reason.removeprefix("provider-error").lstrip("-")
        return "the provider could not deliver it" + (f" (error {code})" if code else "")
    return REASONS.get(reason, reason)


def _conversation_page(
    address_id: int, errors: dict[str, str] | None = None, form: Mapping[str, str] | None = None
) -> Any:
    see_original = _see_original()
    zone = services().settings.zone
    with services().database.session() as db:
        address = db.get(Address, address_id)
        if address is None:
            abort(404)
        contact = address.contact
        if contact.hidden_at is not None and not see_original:
            abort(404)
        language = contact.language
        lines = _transcript(db, address, see_original, language)
        feedback = db.scalars(
            select(Feedback).where(Feedback.contact_id == contact.id).order_by(Feedback.id)
        ).all()
        linked = [(f.reference, f.kind, f.status, f.service) for f in feedback]
        flags = db.scalars(
            select(SafeguardingFlag)
            .where(SafeguardingFlag.contact_id == contact.id, SafeguardingFlag.status == "open")
            .order_by(SafeguardingFlag.raised_at)
        ).all()
        open_flags = [(flag.raised_at, tuple(flag.categories or ())) for flag in flags]
        record_audit(db, current_user.id, "conversation.viewed", "address", address_id)
        person = {
            "channel": CHANNELS.get(address.channel, address.channel),
            "address": address.address,
            "language": contact.language,
            "stopped": address.stopped_at is not None,
            "hidden_at": contact.hidden_at,
            "hidden_reason": contact.hidden_reason if see_original else None,
        }
    i18n = services().i18n
    language_names = {code: lang.name for code, lang in i18n.languages.items()}
    previews = {key: i18n.render(language, msgid).text for key, msgid in SAVED_REPLIES.items()}
    return render_template(
        "console/conversation.html",
        address_id=address_id,
        person=person,
        language_names=language_names,
        lines=lines,
        linked=linked,
        open_flags=open_flags,
        saved_replies=SAVED_REPLIES,
        previews=previews,
        can_reply=current_user.role in REPLY_ROLES,
        errors=errors or {},
        form=form or {},
        zone=zone,
        reason_text=reason_text,
        case_url=case_url,
    ), (400 if errors else 200)


@blueprint.get("/conversations/<int:address_id>")
@role_required(*VIEW_ROLES)
def conversation(address_id: int) -> Any:
    """One conversation's whole transcript, oldest first, with the reply form for staff."""
    return _conversation_page(address_id)


@blueprint.post("/conversations/<int:address_id>/reply")
@role_required(*REPLY_ROLES)
def conversation_reply(address_id: int) -> Any:
    """Send a saved reply (in the person's language) or staff's own words to the person."""
    choice = request.form.get("reply", "")
    text = request.form.get("text", "")
    reply = ReplyRequest(saved=None if choice in ("", "own") else choice, text=text)
    runner = services().runner
    try:
        with services().database.session() as db:
            address = db.get(Address, address_id)
            if address is None or (address.contact.hidden_at is not None and not _see_original()):
                abort(404)
            row = queue_reply(db, address, reply, current_user.id, runner.clock())
            record_audit(
                db,
                current_user.id,
                "conversation.replied",
                "address",
                address_id,
                {"message_id": row.id, "saved_reply": reply.saved},
            )
            row_id = row.id
    except ReplyError as error:
        field_name = "text" if choice == "own" else "reply"
        return _conversation_page(address_id, {field_name: str(error)}, request.form)
    # Queued after commit, like every outbound row: the dispatcher decides whether it goes.
    services().queue.enqueue([row_id])
    with services().database.session() as db:
        sent = db.get_one(Message, row_id)
        status, reason = sent.status, sent.reason
    flash(_sent_message(status, reason))
    return redirect(url_for("console.conversation", address_id=address_id, _anchor=f"m{row_id}"))


def _sent_message(status: str, reason: str | None) -> str:
    if status == "held":
        return f"Your reply is held: {reason_text(reason)}."
    if status == "failed":
        return f"Your reply could not be sent: {reason_text(reason)}."
    if status == "queued":
        return "Your reply is queued to send."
    return f"Your reply is {status}."
