"""Following up the people who asked to take part: the interests queue staff work.

An interest moves through STATUSES, assigned to a member of staff; every change (and every
message sent from the queue) is a row of `interest_events`. An interest still "new" after
KOTHA_INTEREST_FOLLOW_UP_WORKING_DAYS working days has waited too long: it comes first in
the queue, is flagged, and is counted in the daily digest (bot/casework/digest.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from bot.casework.replies import (
    SAVED_REPLIES,
    ReplyRequest,
    preview_reply,
    queue_reply,
)
from bot.casework.working_days import add_working_days
from bot.i18n import I18n
from bot.staff_text import WordsPreview
from flows.texts import N_
from storage.models import Address, Interest, InterestEvent, Message, User

STATUSES = {
    "new": "New",
    "contacted": "Contacted",
    "joined": "Joined",
    "declined": "Declined",
    "unreachable": "Unreachable",
}
# How the person asked to be reached, and when (flows/definitions/involve.yaml), for staff.
CONTACT_HOW = {
    "phone": "Phone call",
    "sms": "Text message",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "letter": "Letter",
}
CONTACT_WHEN = {
    "weekday_mornings": "Weekday mornings",
    "weekday_afternoons": "Weekday afternoons",
    "evenings": "Evenings",
    "weekends": "Weekends",
    "any_time": "Any time",
}
# Replies staff send from the queue, in the person's language (as the conversation page's
# saved replies are); the conversation page's own saved replies may be sent from here too.
INTEREST_REPLIES: dict[str, str] = {
    "will_call": N_("Thank you for wanting to take part. We will call you soon to talk about it."),
    "details_soon": N_(
        "Thank you for wanting to take part. We will send you the details of the next meeting."
    ),
    **SAVED_REPLIES,
}
MAX_NOTE = 2_000
# The columns a query of interests reads: ordering keeps them.
Columns = TypeVarTuple("Columns")


class InterestError(ValueError):
    """A change staff asked for cannot be made; the message says why, for staff to read,
    and `field` names the part of the form it is about."""

    def __init__(self, message: str, field: str = "status") -> None:
        super().__init__(message)
        self.field = field


class InterestNotFound(LookupError):
    """No interest has that id."""


def get(session: Session, interest_id: int, *, lock: bool = False) -> Interest:
    query = select(Interest).where(Interest.id == interest_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise InterestNotFound(interest_id)
    return found


# --- Waiting too long -----------------------------------------------------------------------


def follow_up_by(created_at: datetime, zone: ZoneInfo, working_days: int) -> date:
    """The last day an interest may stay uncontacted: `working_days` after it came."""
    return add_working_days(created_at.astimezone(zone).date(), working_days)


def waiting_since(today: date, zone: ZoneInfo, working_days: int) -> datetime:
    """Interests that came before this moment and are still new have waited too long today.

    The latest day whose follow-up date is already past, walked back from today (follow-up
    dates only grow with the day an interest came); its next midnight, local time.
    """
    day = today - timedelta(days=1)
    while add_working_days(day, working_days) >= today:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(), zone)


def is_waiting(cutoff: datetime) -> ColumnElement[bool]:
    """Whether an interest is still new and came before `cutoff` (in SQL)."""
    return and_(Interest.status == "new", Interest.created_at < cutoff)


def waiting_count(session: Session, cutoff: datetime) -> int:
    """How many interests wait too long: simulated ones are nobody's work."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Interest)
            .where(is_waiting(cutoff), ~Interest.simulated)
        )
        or 0
    )


def ordered(query: Select[*Columns], cutoff: datetime) -> Select[*Columns]:
    """Waiting too long first, then the other new ones, then the rest; oldest first."""
    rank = case(
        (is_waiting(cutoff), 0),
        (Interest.status == "new", 1),
        (Interest.status == "contacted", 2),
        else_=3,
    )
    return query.order_by(rank, Interest.created_at, Interest.id)


# --- What staff do --------------------------------------------------------------------------


@dataclass(frozen=True)
class Update:
    """A change staff asked for: a new status, a new assignee (None: nobody), a note."""

    status: str
    assigned_to: int | None
    note: str = ""


def change(
    session: Session, interest: Interest, update: Update, user_id: int, now: datetime
) -> InterestEvent:
    """Move an interest on and (re)assign it, keeping the change as history."""
    if update.status not in STATUSES:
        raise InterestError("Choose a status")
    note = update.note.strip()
    if len(note) > MAX_NOTE:
        raise InterestError(f"The note must be {MAX_NOTE:,} characters or fewer", "note")
    if update.assigned_to is not None:
        assignee = session.get(User, update.assigned_to)
        if assignee is None or not assignee.active or assignee.role not in ("staff", "admin"):
            raise InterestError("Choose someone from the list to assign it to", "assigned_to")
    moved = update.status != interest.status
    reassigned = update.assigned_to != interest.assigned_to
    if not (moved or reassigned or note):
        raise InterestError("Change the status or who it is assigned to, or write a note")
    event = InterestEvent(
        interest_id=interest.id,
        at=now,
        user_id=user_id,
        from_status=interest.status,
        to_status=update.status,
        assigned_to=update.assigned_to,
        note=note or None,
    )
    if moved and interest.status == "new":
        interest.contacted_at = interest.contacted_at or now
    interest.status = update.status
    interest.assigned_to = update.assigned_to
    session.add(event)
    session.flush()
    return event


def _reachable(session: Session, interest: Interest) -> Address:
    """The address to write to about this interest; InterestError if the person was erased."""
    address = session.get_one(Address, interest.address_id)
    if address.contact.erased_at is not None:
        raise InterestError(
            "This person's details were erased: they cannot be sent anything", "reply"
        )
    return address


def preview(
    session: Session, i18n: I18n, interest: Interest, request: ReplyRequest, price: Decimal
) -> WordsPreview:
    """The message `reply` would send, as the person will read it, priced; raises like it."""
    address = _reachable(session, interest)
    return preview_reply(i18n, address, request, price, saved_replies=INTEREST_REPLIES)


def reply(
    session: Session,
    interest: Interest,
    request: ReplyRequest,
    user_id: int,
    now: datetime,
) -> Message:
    """Send the person a message from the queue through the outbox, like any staff reply
    (held for STOP, a No to contact, quiet hours, the WhatsApp window), and keep it in the
    interest's history. Raises ReplyError for a reply that cannot be sent."""
    address = _reachable(session, interest)
    message = queue_reply(session, address, request, user_id, now, saved_replies=INTEREST_REPLIES)
    session.add(
        InterestEvent(
            interest_id=interest.id,
            at=now,
            user_id=user_id,
            from_status=interest.status,
            to_status=interest.status,
            assigned_to=interest.assigned_to,
            message_id=message.id,
        )
    )
    session.flush()
    return message


def mark_contacted(session: Session, interest_id: int, user_id: int, now: datetime) -> bool:
    """After a reply from the queue went (not held): a new interest is now contacted."""
    interest = get(session, interest_id, lock=True)
    if interest.status != "new":
        return False
    change(
        session,
        interest,
        Update("contacted", interest.assigned_to, "Sent a message from the queue"),
        user_id,
        now,
    )
    return True


def history(
    session: Session, interest_id: int
) -> list[tuple[InterestEvent, str | None, str | None]]:
    """The interest's changes, oldest first, with who made each and who it was assigned to."""
    made_by = User.__table__.alias("made_by")
    assignee = User.__table__.alias("assignee")
    rows = session.execute(
        select(InterestEvent, made_by.c.email, assignee.c.email)
        .outerjoin(made_by, made_by.c.id == InterestEvent.user_id)
        .outerjoin(assignee, assignee.c.id == InterestEvent.assigned_to)
        .where(InterestEvent.interest_id == interest_id)
        .order_by(InterestEvent.at, InterestEvent.id)
    ).all()
    return [(event, who, to) for event, who, to in rows]


def assignable(session: Session) -> Mapping[int, str]:
    """The accounts an interest may be assigned to: active staff and admins, by email."""
    return {
        user_id: email
        for user_id, email in session.execute(
            select(User.id, User.email)
            .where(User.active, User.role.in_(("staff", "admin")))
            .order_by(User.email)
        )
    }
