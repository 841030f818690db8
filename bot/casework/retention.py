"""Storage limitation: erase what has been kept as long as its retention period allows.

Two periods, as settings (bot/settings.py): a person none of whose addresses has had a
message (either way), and for whom staff took nothing down (bot/casework/onbehalf.py), for
`retention_conversations_months` is erased as at their request
(bot/casework/erasure.py: counts kept, a complaint inside its own retention kept); a
complaint's words, media and notes are erased `retention_complaints_months` after it
closes. `kotha retention --dry-run` lists what would go; `kotha retention` and the daily
job each queue consumer runs (bot/services.py) apply it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, case, false, func, select

from bot.casework.accounts import record_audit
from bot.casework.erasure import (
    Erasure,
    ErasureError,
    SurveyAnswers,
    add_months,
    complaint_closed_on,
    erase_feedback,
    erase_people,
    scrub_files,
)
from bot.casework.media import MediaCache
from bot.clock import Clock
from bot.settings import Settings
from storage.db import Database
from storage.models import Address, Contact, Feedback, Message, TakenOnBehalf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """One thing whose retention has run out: a person, or a complaint's words."""

    kind: str  # person | complaint
    id: int  # the contact's id, or the feedback record's
    label: str
    since: date  # their last message, or the day the complaint closed
    why: str


@dataclass(frozen=True)
class Done:
    """What applying one Due did: erased, or refused with the reason."""

    due: Due
    erased: bool
    note: str


def months_before(moment: datetime, months: int) -> datetime:
    day = add_months(moment.date(), -months)
    return datetime.combine(day, moment.timetz()).astimezone(UTC)


class Retention:
    """Finds and erases what is past its retention."""

    def __init__(
        self, database: Database, settings: Settings, clock: Clock, survey_answers: SurveyAnswers
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self.survey_answers = survey_answers

    def due(self) -> list[Due]:
        """Everything whose retention has run out, people first, oldest first."""
        now = self.clock()
        people_months = self.settings.retention_conversations_months
        complaint_months = self.settings.retention_complaints_months
        person_cutoff = months_before(now, people_months)
        complaint_cutoff = months_before(now, complaint_months)
        last_message = (
            select(Address.contact_id, func.max(Message.created_at).label("last"))
            .join(Message, Message.address_id == Address.id)
            .group_by(Address.contact_id)
            .subquery()
        )
        # Feedback staff took down for them counts as hearing from them (they phoned, called
        # in or wrote), so someone who texted long ago and phoned yesterday is kept.
        last_taken = (
            select(TakenOnBehalf.contact_id, func.max(TakenOnBehalf.created_at).label("last"))
            .group_by(TakenOnBehalf.contact_id)
            .subquery()
        )
        heard = func.coalesce(last_message.c.last, Contact.created_at)
        last = case(
            (
                and_(last_taken.c.last.is_not(None), last_taken.c.last > heard),
                last_taken.c.last,
            ),
            else_=heard,
        )
        closed = func.coalesce(Feedback.closed_at, Feedback.decided_at)
        not_staff: ColumnElement[bool] = Contact.staff == false()
        with self.database.session() as session:
            people = session.execute(
                select(Contact.id, last)
                .outerjoin(last_message, last_message.c.contact_id == Contact.id)
                .outerjoin(last_taken, last_taken.c.contact_id == Contact.id)
                .where(not_staff, Contact.erased_at.is_(None), last < person_cutoff)
                .order_by(last, Contact.id)
            ).all()
            complaints = session.scalars(
                select(Feedback)
                .where(
                    Feedback.kind == "complaint",
                    Feedback.erased_at.is_(None),
                    closed < complaint_cutoff,
                )
                .order_by(closed, Feedback.id)
            ).all()
            found = [
                Due(
                    "person",
                    contact_id,
                    f"person {contact_id}",
                    _as_date(at),
                    f"no message for {people_months} months",
                )
                for contact_id, at in people
            ]
            found += [
                Due(
                    "complaint",
                    record.id,
                    f"complaint {record.reference}",
                    complaint_closed_on(record) or now.date(),
                    f"closed more than {complaint_months} months ago",
                )
                for record in complaints
            ]
        return found

    def apply(self) -> list[Done]:
        """Erase everything due, each in its own transaction; say what was done."""
        done = []
        for item in self.due():
            done.append(self._erase(item))
        if any(item.erased for item in done):
            scrub_files(self.database)
        return done

    def run(self) -> int:
        """The daily job: apply, and log counts only (never who)."""
        done = self.apply()
        erased = sum(item.erased for item in done)
        if done:
            log.info("retention erased %d of %d records due", erased, len(done))
        return erased

    def _erase(self, item: Due) -> Done:
        now = self.clock()
        result: Erasure | None = None
        try:
            with self.database.session() as session:
                if item.kind == "person":
                    result = erase_people(
                        session,
                        [item.id],
                        now=now,
                        complaint_months=self.settings.retention_complaints_months,
                        survey_answers=self.survey_answers,
                        user_id=None,
                        reason=None,
                        why=f"retention: {item.why}",
                    )
                else:
                    record = session.get_one(Feedback, item.id)
                    erase_feedback(session, [record], now)
                    record_audit(
                        session,
                        None,
                        "complaint.erased",
                        "feedback",
                        record.reference,
                        {"why": f"retention: {item.why}"},
                        now=now,
                    )
        except ErasureError as error:
            return Done(item, False, str(error))
        if result is None:
            return Done(item, True, "erased")
        # Committed: the copies of their files kept for the console go too.
        MediaCache.of(self.settings).forget(result.media_urls)
        note = "; ".join(kept.sentence() for kept in result.kept) or "erased"
        return Done(item, True, note)


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
