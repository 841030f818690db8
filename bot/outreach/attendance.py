"""Who came to an event: staff mark them after it, and may thank them by message.

Staff tick those who came among the people who said yes, add people who came anyway (a
contact already known, found by the console) and count those who came without being known
(never named). A thank-you (Kind.THANKS) goes once to each person marked, through the outbox
like every other message, so STOP and a No to contact hold it (bot/pipeline/hold.py).
`attendance` gives the counts over a period, for the impact page and reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.outreach.consultations import event_params
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.types import Kind
from flows.texts import N_
from storage.models import Address, Attendance, Consultation, Contact, Message, Rsvp

THANKS = N_("Thank you for coming to {title}. What you told us helps shape adult social care.")
# More people than any hall in the borough holds (as the event form's capacity).
MAX_EXTRA = 100_000


class AttendanceError(ValueError):
    """What staff asked cannot be recorded; the message says why."""


def _yes_list(session: Session, event_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Rsvp.contact_id).where(Rsvp.event_id == event_id, Rsvp.answer == "yes")
        )
    )


def attended(session: Session, event_id: int) -> dict[int, Attendance]:
    """Those marked as having come to an event, by contact id."""
    rows = session.scalars(select(Attendance).where(Attendance.event_id == event_id))
    return {row.contact_id: row for row in rows}


def save_ticks(
    session: Session,
    event: Consultation,
    shown: Iterable[int],
    ticked: Iterable[int],
    user_id: int | None,
    now: datetime,
) -> int:
    """Save the attendance form: of the people it showed, the ticked ones came (marked) and
    the others did not (unmarked). People not shown (marked meanwhile by a colleague, or an
    id made up) are left as they are. Returns how many are marked now.
    """
    yes = _yes_list(session, event.id)
    marked = attended(session, event.id)
    shown_ids = set(shown) & (yes | set(marked))
    came = set(ticked) & shown_ids
    gone = sorted((shown_ids - came) & set(marked))
    if gone:
        session.execute(
            delete(Attendance).where(
                Attendance.event_id == event.id, Attendance.contact_id.in_(gone)
            )
        )
    for contact_id in sorted(came - set(marked)):
        session.add(
            Attendance(
                event_id=event.id,
                contact_id=contact_id,
                said_yes=contact_id in yes,
                marked_by=user_id,
                marked_at=now,
            )
        )
    session.flush()
    return len(attended(session, event.id))


def add_walk_in(
    session: Session, event: Consultation, contact_id: int, user_id: int | None, now: datetime
) -> bool:
    """Mark a known person who came (said yes or not); False when already marked."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.erased_at is not None or contact.staff:
        raise AttendanceError("That person cannot be marked: they are not someone we hear from")
    if contact_id in attended(session, event.id):
        return False
    session.add(
        Attendance(
            event_id=event.id,
            contact_id=contact_id,
            said_yes=contact_id in _yes_list(session, event.id),
            marked_by=user_id,
            marked_at=now,
        )
    )
    session.flush()
    return True


def set_extra(event: Consultation, count: int) -> None:
    """How many came without being known to us (never named)."""
    if not 0 <= count <= MAX_EXTRA:
        raise AttendanceError(f"Enter a whole number from 0 to {MAX_EXTRA:,}")
    event.extra_attendees = count


def _address_of(session: Session, event_id: int, contact_id: int) -> Address | None:
    """Where to thank someone: the address they said yes from, else the one they last wrote
    from (never an erased or stopped one: the dispatcher would hold it anyway)."""
    said_from = session.scalar(
        select(Address)
        .join(Rsvp, Rsvp.address_id == Address.id)
        .where(Rsvp.event_id == event_id, Rsvp.contact_id == contact_id)
    )
    if said_from is not None:
        return said_from
    return session.scalar(
        select(Address)
        .where(Address.contact_id == contact_id)
        .order_by(Address.last_inbound_at.desc().nulls_last(), Address.id.desc())
        .limit(1)
    )


def thank(session: Session, event: Consultation, now: datetime, zone: ZoneInfo) -> list[Message]:
    """Write a thank-you to everyone marked as having come, once each (its dedupe key);
    returns the rows written (queue them after commit)."""
    key = f"event:{event.id}:thanks"
    rows = []
    for contact_id in sorted(attended(session, event.id)):
        contact = session.get(Contact, contact_id)
        address = _address_of(session, event.id, contact_id)
        if address is None or contact is None or contact.erased_at is not None:
            continue
        sent = session.scalar(
            select(Message.id).where(Message.address_id == address.id, Message.dedupe_key == key)
        )
        if sent is not None:
            continue
        rows.append(
            outbox.add(
                session,
                Outbound(
                    address_id=address.id,
                    channel=address.channel,
                    created_at=now,
                    kind=Kind.THANKS,
                    template=THANKS,
                    params={"title": event_params(event, zone)["title"]},
                    dedupe_key=key,
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class EventAttendance:
    """One event's attendance: known people who came (said yes first, or came anyway),
    those who came unknown, and how many had said yes."""

    event_id: int
    start_at: datetime
    said_yes: int
    came_after_yes: int
    came_anyway: int
    extra: int

    @property
    def came(self) -> int:
        return self.came_after_yes + self.came_anyway + self.extra


@dataclass(frozen=True)
class Attendances:
    """Attendance over a period: each event (not cancelled) and the totals."""

    events: tuple[EventAttendance, ...]

    @property
    def came(self) -> int:
        return sum(event.came for event in self.events)

    @property
    def people(self) -> int:
        """Known people who came (each event counts each once)."""
        return sum(event.came_after_yes + event.came_anyway for event in self.events)

    @property
    def extra(self) -> int:
        return sum(event.extra for event in self.events)

    @property
    def said_yes(self) -> int:
        return sum(event.said_yes for event in self.events)


def attendance(session: Session, start: datetime, end: datetime) -> Attendances:
    """Attendance at the events that started in [start, end), soonest first."""
    events = session.execute(
        select(Consultation.id, Consultation.start_at, Consultation.extra_attendees)
        .where(
            Consultation.start_at >= start,
            Consultation.start_at < end,
            Consultation.status != "cancelled",
        )
        .order_by(Consultation.start_at, Consultation.id)
    ).all()
    ids = [row.id for row in events]
    yes: dict[int, int] = {}
    came: dict[tuple[int, bool], int] = {}
    if ids:
        yes = dict(
            session.execute(
                select(Rsvp.event_id, func.count())
                .where(Rsvp.event_id.in_(ids), Rsvp.answer == "yes")
                .group_by(Rsvp.event_id)
            ).all()
        )
        for event_id, said_yes, number in session.execute(
            select(Attendance.event_id, Attendance.said_yes, func.count())
            .where(Attendance.event_id.in_(ids))
            .group_by(Attendance.event_id, Attendance.said_yes)
        ):
            came[event_id, bool(said_yes)] = number
    return Attendances(
        tuple(
            EventAttendance(
                event_id=row.id,
                start_at=row.start_at,
                said_yes=yes.get(row.id, 0),
                came_after_yes=came.get((row.id, True), 0),
                came_anyway=came.get((row.id, False), 0),
                extra=row.extra_attendees or 0,
            )
            for row in events
        )
    )
