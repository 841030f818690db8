"""The interests queue: people who asked to take part, as staff follow them up.

Interests not contacted within KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS come first, flagged;
each opens on a page with how, when and in which language to reach the person, its history,
the form that moves it on and assigns it, and a reply sent through the outbox like every
staff reply (bot/casework/interests.py). The list shows a person's address only in part;
their page shows it whole, as staff need it to call, and the viewing is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVarTuple

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, func, select

from bot.casework import interests
from bot.casework.accounts import record_audit
from bot.casework.interests import (
    CONTACT_HOW,
    CONTACT_WHEN,
    INTEREST_REPLIES,
    STATUSES,
    InterestError,
    InterestNotFound,
    Update,
)
from bot.casework.replies import ReplyError, ReplyRequest
from bot.outreach import access
from bot.outreach.consultations import mask
from bot.outreach.opportunities import titles_by_key
from bot.services import services
from bot.types import CHANNEL_NAMES
from console.auth import blueprint, can_open, role_required
from console.paging import PAGE_SIZE, number_in, offset, page_asked, paging
from console.previews import Preview
from console.wording import reason_text
from storage.models import Address, Interest, Message

ROLES = ("staff", "admin")
# The columns a query of the queue reads, whatever they are: its filters keep them.
Columns = TypeVarTuple("Columns")
ASSIGNED = {"": "Anyone", "me": "Assigned to me", "nobody": "Assigned to nobody"}


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters as the query string gives them; unknown values are ignored."""

    status: str
    assigned: str
    page: int

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilters:
        status = args.get("status", "")
        assigned = args.get("assigned", "")
        return cls(
            status if status in STATUSES else "",
            assigned if assigned in ASSIGNED else "",
            page_asked(args),
        )

    def apply(self, query: Select[*Columns], user_id: int) -> Select[*Columns]:
        if self.status:
            query = query.where(Interest.status == self.status)
        if self.assigned == "me":
            query = query.where(Interest.assigned_to == user_id)
        elif self.assigned == "nobody":
            query = query.where(Interest.assigned_to.is_(None))
        return query

    def as_args(self) -> dict[str, str]:
        shown = {"status": self.status, "assigned": self.assigned}
        return {key: value for key, value in shown.items() if value}


@dataclass(frozen=True)
class QueueRow:
    """One interest in the queue."""

    id: int
    opportunity: str
    how: str
    when: str
    language: str
    reach: str
    status: str
    assignee: str | None
    created_at: datetime
    follow_up_by: date
    waiting: bool
    simulated: bool
    needs: str  # their access and communication needs, told once (bot/outreach/access.py)


def _today() -> date:
    return services().clock().astimezone(services().settings.zone).date()


def _title(titles: Mapping[str, Mapping[str, str]], key: str) -> str:
    named = titles.get(key) or {}
    return named.get("en") or next(iter(named.values()), key.replace("_", " ").capitalize())


@blueprint.get("/involvement")
@role_required(*ROLES)
def interests_queue() -> Any:
    """Everyone who asked to take part: waiting too long first, then new, then the rest."""
    filters = QueueFilters.from_args(request.args)
    settings = services().settings
    zone, days = settings.zone, settings.interest_follow_up_working_days
    cutoff = interests.waiting_since(_today(), zone, days)
    languages = {code: language.name for code, language in services().i18n.languages.items()}
    with services().database.session() as db:
        total = (
            db.scalar(filters.apply(select(func.count()).select_from(Interest), current_user.id))
            or 0
        )
        waiting = interests.waiting_count(db, cutoff)
        query = select(Interest, Address.address).join(Address, Address.id == Interest.address_id)
        found = db.execute(
            interests.ordered(filters.apply(query, current_user.id), cutoff)
            .limit(PAGE_SIZE)
            .offset(offset(filters.page))
        ).all()
        titles = titles_by_key(db)
        staff = interests.assignable(db)
        needs = access.needs_for_contacts(db, [interest.contact_id for interest, _ in found])
        rows = [
            QueueRow(
                id=interest.id,
                opportunity=_title(titles, interest.opportunity),
                how=CONTACT_HOW.get(interest.contact_how or "", "Not said"),
                when=CONTACT_WHEN.get(interest.contact_when or "", "Not said"),
                language=languages.get(interest.language, interest.language),
                reach=f"{CHANNEL_NAMES.get(interest.channel, interest.channel)} {mask(address)}",
                status=interest.status,
                assignee=staff.get(interest.assigned_to) if interest.assigned_to else None,
                created_at=interest.created_at,
                follow_up_by=interests.follow_up_by(interest.created_at, zone, days),
                waiting=interest.status == "new" and interest.created_at < cutoff,
                simulated=interest.simulated,
                needs=access.summary(needs.get(interest.contact_id)),
            )
            for interest, address in found
        ]
    args: dict[str, Any] = filters.as_args()
    return render_template(
        "console/involvement.html",
        rows=rows,
        total=total,
        waiting=waiting,
        days=days,
        filters=filters,
        statuses=STATUSES,
        assigned=ASSIGNED,
        paging=paging("console.interests_queue", filters.page, args, total=total),
        zone=zone,
    )


def _interest_page(
    interest_id: int,
    errors: dict[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    reply_preview: Preview | None = None,
) -> Any:
    settings = services().settings
    zone, days = settings.zone, settings.interest_follow_up_working_days
    i18n = services().i18n
    languages = {code: language.name for code, language in i18n.languages.items()}
    with services().database.session() as db:
        try:
            interest = interests.get(db, interest_id)
        except InterestNotFound:
            abort(404)
        address = db.get_one(Address, interest.address_id)
        contact = address.contact
        titles = titles_by_key(db)
        staff = interests.assignable(db)
        history = [
            {
                "at": event.at,
                "who": who or ("Command line" if event.user_id is None else "Deleted account"),
                "from_status": event.from_status,
                "to_status": event.to_status,
                "assignee": to,
                "note": event.note,
                "message_id": event.message_id,
            }
            for event, who, to in interests.history(db, interest.id)
        ]
        record_audit(
            db, current_user.id, "interest.viewed", "interest", interest.id, now=services().clock()
        )
        cutoff = interests.waiting_since(_today(), zone, days)
        details = {
            "id": interest.id,
            "opportunity": _title(titles, interest.opportunity),
            "how": CONTACT_HOW.get(interest.contact_how or "", "Not said"),
            "when": CONTACT_WHEN.get(interest.contact_when or "", "Not said"),
            "language": languages.get(interest.language, interest.language),
            "channel": CHANNEL_NAMES.get(address.channel, address.channel),
            "address": address.address,
            "address_id": address.id,
            "simulated": address.simulated,
            "stopped": address.stopped_at is not None,
            "erased": contact.erased_at is not None,
            "hidden": contact.hidden_at is not None,
            "status": interest.status,
            "assigned_to": interest.assigned_to,
            "created_at": interest.created_at,
            "follow_up_by": interests.follow_up_by(interest.created_at, zone, days),
            "waiting": interest.status == "new" and interest.created_at < cutoff,
            "needs": access.summary(access.needs_for_contacts(db, [contact.id]).get(contact.id)),
        }
        language = contact.language or interest.language
    previews = {key: i18n.render(language, msgid).text for key, msgid in INTEREST_REPLIES.items()}
    see_conversation = can_open("console.conversation") and not (
        details["hidden"] and current_user.role not in ("moderator", "admin")
    )
    return render_template(
        "console/interest.html",
        interest=details,
        history=history,
        statuses=STATUSES,
        staff=staff,
        replies=INTEREST_REPLIES,
        previews=previews,
        reply_preview=reply_preview,
        reader=language,
        conversation_url=(
            url_for("console.conversation", address_id=details["address_id"])
            if see_conversation
            else None
        ),
        days=days,
        errors=errors or {},
        form=form or {},
        zone=zone,
    ), (400 if errors else 200)


@blueprint.get("/involvement/<int:interest_id>")
@role_required(*ROLES)
def interest(interest_id: int) -> Any:
    """One interest: how to reach the person, its history, and the forms to follow it up."""
    return _interest_page(interest_id)


@blueprint.post("/involvement/<int:interest_id>")
@role_required(*ROLES)
def interest_update(interest_id: int) -> Any:
    """Move an interest on, (re)assign it, note what happened."""
    assigned_text = request.form.get("assigned_to", "")
    assigned = number_in(assigned_text) if assigned_text else None
    if assigned_text and assigned is None:
        return _interest_page(
            interest_id, {"assigned_to": "Choose someone from the list"}, request.form
        )
    update = Update(
        status=request.form.get("status", ""),
        assigned_to=assigned,
        note=request.form.get("note", ""),
    )
    now = services().clock()
    try:
        with services().database.session() as db:
            found = interests.get(db, interest_id, lock=True)
            event = interests.change(db, found, update, current_user.id, now)
            record_audit(
                db,
                current_user.id,
                "interest.updated",
                "interest",
                interest_id,
                {
                    "from": event.from_status,
                    "to": event.to_status,
                    "assigned_to": event.assigned_to,
                },
                reason=event.note,
                now=now,
            )
    except InterestNotFound:
        abort(404)
    except InterestError as error:
        return _interest_page(interest_id, {error.field: str(error)}, request.form)
    flash(f"Saved: {STATUSES[update.status].lower()}.")
    return redirect(url_for("console.interest", interest_id=interest_id))


@blueprint.post("/involvement/<int:interest_id>/reply")
@role_required(*ROLES)
def interest_reply(interest_id: int) -> Any:
    """Send the person a saved reply (in their language) or staff's own words, shown first as
    they will read it with its cost (console/previews.py)."""
    choice = request.form.get("reply", "")
    reply = ReplyRequest(
        saved=None if choice in ("", "own") else choice, text=request.form.get("text", "")
    )
    now = services().clock()
    try:
        with services().database.session() as db:
            found = interests.get(db, interest_id, lock=True)
            price = services().settings.sms_segment_price
            shown = Preview([interests.preview(db, services().i18n, found, reply, price)])
            if shown.must_show(request.form):
                db.rollback()
                return _interest_page(interest_id, form=request.form, reply_preview=shown)
            row = interests.reply(db, found, reply, current_user.id, now)
            record_audit(
                db,
                current_user.id,
                "interest.replied",
                "interest",
                interest_id,
                {"message_id": row.id, "saved_reply": reply.saved},
                now=now,
            )
            row_id = row.id
    except InterestNotFound:
        abort(404)
    except (ReplyError, InterestError) as error:
        field = "text" if choice == "own" else "reply"
        return _interest_page(interest_id, {field: str(error)}, request.form)
    # Queued after the commit, like every outbound row: the dispatcher decides if it goes.
    services().queue.enqueue([row_id])
    with services().database.session() as db:
        sent = db.get_one(Message, row_id)
        status, reason = sent.status, sent.reason
        moved = False
        if status not in ("held", "failed", "cancelled"):
            moved = interests.mark_contacted(db, interest_id, current_user.id, services().clock())
    flash(_sent_message(status, reason) + (" Marked as contacted." if moved else ""))
    return redirect(url_for("console.interest", interest_id=interest_id))


def _sent_message(status: str, reason: str | None) -> str:
    if status == "held":
        return f"Your message is held: {reason_text(reason)}."
    if status == "failed":
        return f"Your message could not be sent: {reason_text(reason)}."
    if status == "unknown":
        return f"Your message may not have arrived: {reason_text(reason)}."
    if status == "queued":
        return "Your message is queued to send."
    return f"Your message is {status}."
