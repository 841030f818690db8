"""Conversations: the inbox of everyone who wrote to us, one transcript, and staff replies.

The inbox's queries are bot/casework/inbox.py; these are its pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import inbox as inbox_queries
from bot.casework.accounts import record_audit
from bot.casework.cases import KINDS
from bot.casework.inbox import InboxFilters, inbox_page, readable
from bot.casework.replies import (
    SAVED_REPLIES,
    ReplyError,
    ReplyRequest,
    preview_reply,
    queue_reply,
)
from bot.pipeline import consent
from bot.pipeline.dispatch import render_row
from bot.services import services
from bot.staff_text import priced
from bot.types import (
    CHANNEL_NAMES,
    CONTACT,
    LOCATION,
    MESSAGING_CHANNEL_NAMES,
    OTHER,
    STICKER,
    VENUE,
    WEB_APP_DATA,
)
from console.auth import blueprint, can_open, role_required
from console.media_view import FileView, file_views
from console.paging import page_asked, paging
from console.previews import Preview
from console.wording import choices_text, no_contact_text, reason_text, text_lang
from flows.understanding import SURE
from storage.models import Address, Feedback, Message, Preference, SafeguardingFlag, User

VIEW_ROLES = ("staff", "moderator", "admin")
REPLY_ROLES = ("staff", "admin")
# Who writes down what a voice note says (console/media.py).
NOTE_ROLES = ("staff", "admin")
# Moderators and admins see what people wrote before redaction, and contacts hidden for abuse.
SEE_ORIGINAL_ROLES = ("moderator", "admin")


# --- Pages -----------------------------------------------------------------------------------


def _see_original() -> bool:
    return bool(current_user.role in SEE_ORIGINAL_ROLES)


def case_url(reference: str) -> str | None:
    """The case page for a feedback reference, where the console has one this role opens."""
    endpoint = _case_endpoint()
    if endpoint is None or not can_open(endpoint):
        return None
    return url_for(endpoint, reference=reference)


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
    filters = InboxFilters.from_args(request.args, languages, page_asked(request.args))
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
    args: dict[str, Any] = filters.as_args()
    size = inbox_queries.PAGE_SIZE
    if complete:
        count_text = f"{total:,} conversation" + ("" if total == 1 else "s")
        pages = paging("console.inbox", filters.page, args, total=total, size=size)
    else:
        # Not counted: there is a next page while this one is full.
        count_text = f"More than {min(total, inbox_queries.COUNT_CAP):,} conversations"
        pages = paging("console.inbox", filters.page, args, more=len(rows) == size, size=size)
    return render_template(
        "console/conversations.html",
        rows=rows,
        total=total,
        count_text=count_text,
        filters=filters,
        statuses=statuses,
        services=[name for name in service_names if name],
        languages=languages,
        channels=MESSAGING_CHANNEL_NAMES,
        kinds=KINDS,
        paging=pages,
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
    # What the bot understood an inbound message to say (flows/understanding), as staff read it.
    understood: str | None = None
    # What came with the words: "a voice note", "a location (51.5155, -0.0599)".
    attachments: tuple[str, ...] = ()
    # The person edited a message: the edit names the one it corrects, the original its edits.
    corrects: int | None = None
    corrected_by: tuple[int, ...] = ()
    # Their voice notes and photos, played or shown, with staff's transcripts.
    files: tuple[FileView, ...] = ()


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
    corrections: dict[int, list[int]] = {}
    for row in rows:
        if row.corrects_id is not None:
            corrections.setdefault(row.corrects_id, []).append(row.id)
    files = file_views(session, [(row.id, row.media) for row in rows if row.direction == "in"])
    lines = []
    for row in rows:
        shown = {view.index for view in files.get(row.id, ())}
        if row.body is None and row.template is not None:
            # Not rendered yet (queued or held): show it as the person will receive it.
            text = render_row(i18n, row, row.language or language).text
        else:
            text = readable(row.body, row.redacted_body, see_original)
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
                attachments=tuple(
                    attachment_text(item)
                    for index, item in enumerate(row.media or ())
                    if index not in shown and isinstance(item, Mapping)
                ),
                files=tuple(files.get(row.id, ())),
                # The words why are the person's: hidden with the rest where redacted. A
                # number chose an option: what the words mean says nothing of it.
                understood=(
                    understood_text(row.understood)
                    if (see_original or row.redacted_body is None)
                    and not (row.body or "").strip().isdigit()
                    else None
                ),
                corrects=row.corrects_id,
                corrected_by=tuple(corrections.get(row.id, ())),
            )
        )
    return lines


def attachment_text(item: Mapping[str, Any]) -> str:
    """What a person sent besides words, for staff (the file itself stays with the provider)."""
    kind, url = str(item.get("content_type", "")), str(item.get("url", ""))
    if kind == LOCATION:
        return "a location (" + url.removeprefix("geo:").replace(",", ", ") + ")"
    if kind == CONTACT:
        return "a contact card (" + url.removeprefix("tel:") + ")"
    if kind == STICKER:
        return "a sticker"
    if kind == VENUE:
        return "a place (" + url.removeprefix("geo:").replace(",", ", ") + ")"
    if kind == WEB_APP_DATA:
        return "data from a Telegram web app (" + unquote(url.removeprefix("data:,"))[:200] + ")"
    if kind == OTHER:
        return "something the bot cannot read (" + url.removeprefix("telegram:") + ")"
    family = kind.split("/")[0]
    return {"audio": "a voice note", "image": "a photo", "video": "a video"}.get(
        family, "a file (" + kind + ")"
    )


INTENT_NAMES = {
    "complaint": "a complaint",
    "comment": "a comment",
    "compliment": "a compliment",
    "survey": "the survey",
    "involve": "getting involved",
    "events": "events",
    "help": "asking for help",
    "menu": "the menu",
    "language": "a language",
    "stop": "stop messages",
    "start": "start messages again",
}


def understood_text(understood: Mapping[str, Any] | None) -> str | None:
    """One sentence for staff: what the bot took a message to mean, how sure, and why."""
    if not understood:
        return None
    intent = INTENT_NAMES.get(str(understood.get("intent")))
    if intent is None:
        return "The bot found nothing it knows in this message."
    sure = float(understood.get("confidence") or 0)
    words = ", ".join(f"“{word}”" for word in understood.get("why") or ())
    return (
        f"The bot took this as {intent} ({sure:.0%} sure"
        + ("" if sure >= SURE else ", not sure")
        + ")"
        + (f" from the words {words}." if words else ".")
    )


def conversation_page(
    address_id: int,
    errors: dict[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    reply_preview: Preview | None = None,
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
        record_audit(
            db,
            current_user.id,
            "conversation.viewed",
            "address",
            address_id,
            now=services().clock(),
        )
        no_contact = no_contact_text(
            consent.latest(db, contact.id),
            zone,
            {code: lang.name for code, lang in services().i18n.languages.items()},
        )
        chose = db.scalars(select(Preference).where(Preference.contact_id == contact.id)).first()
        person = {
            "no_contact": no_contact,
            "choices": choices_text(chose),
            "channel": CHANNEL_NAMES.get(address.channel, address.channel),
            "channel_code": address.channel,
            "address": address.address,
            "simulated": address.simulated,
            "language": contact.language,
            "stopped": address.stopped_at is not None,
            "follow_up": address.stopped_at is not None and bool(open_flags),
            "hidden_at": contact.hidden_at,
            "erased_at": contact.erased_at,
            "hidden_reason": contact.hidden_reason if see_original else None,
        }
    i18n = services().i18n
    language_names = {code: lang.name for code, lang in i18n.languages.items()}
    previews = {key: i18n.render(language, msgid).text for key, msgid in SAVED_REPLIES.items()}
    price = services().settings.sms_segment_price
    channel = str(person["channel_code"])
    saved_costs = {key: priced(text, channel, price).describe() for key, text in previews.items()}
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
        saved_costs=saved_costs,
        reply_preview=reply_preview,
        can_reply=current_user.role in REPLY_ROLES and person["erased_at"] is None,
        can_note=current_user.role in NOTE_ROLES and person["erased_at"] is None,
        # A person's data rights (console/people.py): admins only.
        can_manage_data=current_user.role == "admin",
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
    return conversation_page(address_id)


@blueprint.post("/conversations/<int:address_id>/reply")
@role_required(*REPLY_ROLES)
def conversation_reply(address_id: int) -> Any:
    """Send a saved reply (in the person's language) or staff's own words to the person,
    shown first as they will read it with its cost (console/previews.py)."""
    choice = request.form.get("reply", "")
    text = request.form.get("text", "")
    reply = ReplyRequest(saved=None if choice in ("", "own") else choice, text=text)
    try:
        with services().database.session() as db:
            address = db.get(Address, address_id)
            if address is None or (address.contact.hidden_at is not None and not _see_original()):
                abort(404)
            shown = Preview(
                [
                    preview_reply(
                        services().i18n, address, reply, services().settings.sms_segment_price
                    )
                ]
            )
            if shown.must_show(request.form):
                db.rollback()
                return conversation_page(address_id, form=request.form, reply_preview=shown)
            row = queue_reply(db, address, reply, current_user.id, services().clock())
            record_audit(
                db,
                current_user.id,
                "conversation.replied",
                "address",
                address_id,
                {"message_id": row.id, "saved_reply": reply.saved},
                now=services().clock(),
            )
            row_id = row.id
    except ReplyError as error:
        field_name = "text" if choice == "own" else "reply"
        return conversation_page(address_id, {field_name: str(error)}, request.form)
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
    if status == "unknown":
        return f"Your reply may not have arrived: {reason_text(reason)}."
    if status == "queued":
        return "Your reply is queued to send."
    return f"Your reply is {status}."
