"""The life of a case: status changes, outcomes, the statutory clock and telling the person.

There is one way to change a case's status, `change_status` (the console and `kotha feedback
update` both use it): it checks the move is allowed, writes a CaseEvent, stamps the first
time the case reached that step, and can write the outbound message that tells the person,
in the same transaction. The caller queues that message after the commit.

The lifecycle moves forward:

    received -> acknowledged -> in_progress -> resolved | not_upheld -> closed

A move forward may skip steps (a compliment is acknowledged, then closed), and any step past
"received" counts as the acknowledgement, because the person hears from us. Any other move is
a correction: a step back, or one decision changed for the other. A correction must say why
(its note), so the history explains itself. The first-time columns keep the first time each
step was reached, because that is what the statutory clock and the annual report measure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.casework import callers, tasks
from bot.casework.working_days import add_working_days
from bot.i18n import I18n
from bot.pipeline import outbox
from bot.pipeline.consent import refuses_contact
from bot.pipeline.outbox import Outbound
from bot.pipeline.templates import TemplateKind, formatted
from bot.settings import Settings
from bot.staff_text import Priced, StaffTextError, checked, language_problem, priced
from bot.types import OFFLINE_CHANNELS, VOICE, Kind
from flows.texts import N_
from storage.models import (
    Address,
    CaseEvent,
    Contact,
    Feedback,
    Message,
    StaffTask,
    TakenOnBehalf,
)

# Working days to acknowledge a complaint (LASSNHSC (England) Regulations 2009, reg. 13(2)).
ACKNOWLEDGE_WORKING_DAYS = 3
# A deadline this many working days away, or nearer, is "due soon".
DUE_SOON_WORKING_DAYS = 2

# What each step tells the person when staff choose to tell them: a complaint's words. A
# comment and a compliment are not faults to find, so they have words of their own
# (KIND_STATUS_TEXT): a compliment is passed on to the team, never "closed".
STATUS_TEXT = {
    "acknowledged": N_("we have received it and are looking into it."),
    "in_progress": N_("we are working on it."),
    "resolved": N_("we have finished looking into it and put things right."),
    "not_upheld": N_("we have finished looking into it and did not find a fault."),
    "closed": N_("it is now closed."),
}
COMMENT_READ = N_("thank you, we have read it and are thinking about it.")
COMMENT_ACTED = N_("thank you, we have acted on it.")
COMMENT_NOTED = N_("thank you, we have noted it.")
PASSED_ON = N_("thank you, we have passed it on to the team.")
KIND_STATUS_TEXT = {
    "complaint": STATUS_TEXT,
    "comment": {
        "acknowledged": COMMENT_READ,
        "in_progress": COMMENT_READ,
        "resolved": COMMENT_ACTED,
        "not_upheld": COMMENT_NOTED,
        "closed": COMMENT_NOTED,
    },
    "compliment": dict.fromkeys(STATUS_TEXT, PASSED_ON),
}
# A complaint decided (put right, or no fault found) is followed by how to take it further:
# the Local Government and Social Care Ombudsman looks at adult social care complaints once
# the council has answered (Local Government Act 1974, Part 3A). Its contact is a setting
# (KOTHA_OMBUDSMAN_CONTACT); it goes as a message of its own, so each fits its budget.
TAKE_IT_FURTHER = N_(
    "Not happy with our answer? You can ask the Local Government and Social Care Ombudsman. "
    "It is free and not part of the council: {ombudsman}"
)
FURTHER_AFTER = frozenset({"resolved", "not_upheld"})
DEFAULT_OMBUDSMAN = Settings.ombudsman_contact
# The reason a message waits for staff's words in the person's language.
AWAITING_TRANSLATION = "awaiting-translation"


def status_text(kind: str, status: str) -> str:
    """What the person reads about this step of their feedback, by its kind."""
    return KIND_STATUS_TEXT.get(kind, STATUS_TEXT)[status]


STATUSES = ("received", *STATUS_TEXT)
# Where each status stands in the lifecycle: a move to a higher rank is forward, any other
# move corrects the record.
RANK = {
    "incomplete": 0,
    "received": 0,
    "acknowledged": 1,
    "in_progress": 2,
    "resolved": 3,
    "not_upheld": 3,
    "closed": 4,
}
# The first-time column each step stamps.
STAMPS = {
    "acknowledged": "acknowledged_at",
    "in_progress": "in_progress_at",
    "resolved": "decided_at",
    "not_upheld": "decided_at",
    "closed": "closed_at",
}
STATUS_LABELS = {
    "incomplete": "Incomplete",
    "received": "Received",
    "acknowledged": "Acknowledged",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "not_upheld": "Not upheld",
    "closed": "Closed",
}

KINDS = ("complaint", "comment", "compliment")
KIND_TEXT = {
    "complaint": N_("complaint"),
    "comment": N_("comment"),
    "compliment": N_("compliment"),
}
UPDATE = N_("Update on your {kind} {reference}: {status}")
UPDATE_WITH_NOTE = N_("Update on your {kind} {reference}: {status} {note}")

# What changed because the person spoke up, as the person reads it.
OUTCOME_TEXT = {
    "change_made": N_("we have made a change."),
    "change_planned": N_("we plan to make a change."),
    "no_change": N_("we are not making a change this time."),
}
OUTCOMES = tuple(OUTCOME_TEXT)
OUTCOME_LABELS = {
    "change_made": "Change made",
    "change_planned": "Change planned",
    "no_change": "No change",
}
OUTCOME_UPDATE = N_("What changed after your {kind} {reference}: {outcome}")
OUTCOME_UPDATE_WITH_CHANGE = N_("What changed after your {kind} {reference}: {outcome} {change}")


def _case_update_variables(
    i18n: I18n, language: str, params: Mapping[str, Any], text: str
) -> dict[str, str]:
    """A case update's variables: its kind, its reference, and what became of it (the new
    status or the outcome, with staff's note or the change after it)."""
    status = params.get("status") or params.get("outcome")
    said = [formatted(i18n, language, status)] if status else []
    if "ombudsman" in params:  # how to take it further: the whole message, as written
        said = [text]
    said += [str(params[extra]) for extra in ("note", "change") if params.get(extra)]
    return {
        "kind": formatted(i18n, language, params.get("kind", "")),
        "reference": str(params.get("reference", "")),
        "status": " ".join(said),
    }


# Outside WhatsApp's window a case update goes as this template: "Update on your {{kind}}
# {{reference}}: {{status}}" in the reader's language (bot/pipeline/templates.py).
CASE_UPDATE_TEMPLATE = TemplateKind(
    "case_update",
    UPDATE,
    _case_update_variables,
    (UPDATE, UPDATE_WITH_NOTE, OUTCOME_UPDATE, OUTCOME_UPDATE_WITH_CHANGE, TAKE_IT_FURTHER),
)


class UnknownFeedback(LookupError):
    """No feedback has that reference."""


class CaseError(ValueError):
    """A change a case cannot take; the message says why, in words staff can act on."""


@dataclass(frozen=True)
class Change:
    """What one change did: its history entry and the messages telling the person, if any
    (the update, then for a decided complaint how to take it further), or, for someone to
    call or write to (feedback taken on their behalf), the staff task to do it."""

    event: CaseEvent
    message: Message | None
    further: Message | None = None
    task: StaffTask | None = None

    @property
    def messages(self) -> list[Message]:
        return [message for message in (self.message, self.further) if message is not None]


@dataclass(frozen=True)
class Telling:
    """One message to the person about their case, before it is written: its template, its
    parameters (staff's words SMS-safe), and why it must wait for a translation, if it must."""

    template: str
    params: dict[str, object]
    awaiting: str | None = None  # why staff's words are not in the person's language
    replaced: str = ""  # what bot/smssafe.py replaced in staff's words, for staff


def find(session: Session, reference: str, *, lock: bool = False) -> Feedback:
    """Return the feedback with this reference (locked for a change when asked)."""
    query = select(Feedback).where(Feedback.reference == reference.strip())
    if lock:
        # Two staff changing one case at once: the second waits and sees the first's status
        # (PostgreSQL; SQLite serialises writers anyway).
        query = query.with_for_update()
    feedback = session.scalar(query)
    if feedback is None:
        raise UnknownFeedback(reference)
    return feedback


def is_correction(current: str, status: str) -> bool:
    """Say whether moving from `current` to `status` corrects the record rather than advances it."""
    return RANK[status] <= RANK.get(current, 0)


def allowed_statuses(feedback: Feedback) -> list[tuple[str, bool]]:
    """Every status this case may move to, each with whether the move is a correction."""
    return [
        (status, is_correction(feedback.status, status))
        for status in STATUSES
        if status != feedback.status
    ]


def reader_language(session: Session, feedback: Feedback) -> str:
    """The language the person reads: the one they chose, else the one they wrote in."""
    chosen = session.scalar(select(Contact.language).where(Contact.id == feedback.contact_id))
    return chosen or feedback.language or "en"


def _about(feedback: Feedback, params: dict[str, object]) -> dict[str, object]:
    """Every message about a case names it: its kind (in the reader's language) and reference."""
    return {"kind": {"msgid": KIND_TEXT[feedback.kind]}, "reference": feedback.reference, **params}


def _with_words(
    session: Session, feedback: Feedback, template: str, params: dict[str, object], name: str
) -> Telling:
    """A telling carrying staff's words as `params[name]`: checked, SMS-safe, and read for
    whether they are in the person's language (bot/staff_text.py)."""
    words = params.get(name)
    if not isinstance(words, str):
        return Telling(template, _about(feedback, params))
    try:
        safe = checked(words, "note" if name == "note" else "change")
    except StaffTextError as error:
        raise CaseError(str(error)) from error
    awaiting = language_problem(safe.text, reader_language(session, feedback))
    params = {**params, name: safe.text}
    return Telling(template, _about(feedback, params), awaiting, safe.summary())


def status_tellings(
    session: Session, feedback: Feedback, status: str, note: str | None, ombudsman: str
) -> list[Telling]:
    """What moving to `status` tells the person, in the words for their kind of feedback."""
    if status not in STATUS_TEXT:
        return []
    note = (note or "").strip() or None
    params: dict[str, object] = {"status": {"msgid": status_text(feedback.kind, status)}}
    if note:
        params["note"] = note
    told = [_with_words(session, feedback, UPDATE_WITH_NOTE if note else UPDATE, params, "note")]
    if feedback.kind == "complaint" and status in FURTHER_AFTER:
        told.append(Telling(TAKE_IT_FURTHER, _about(feedback, {"ombudsman": ombudsman})))
    return told


def outcome_tellings(
    session: Session, feedback: Feedback, outcome: str, change: str | None
) -> list[Telling]:
    """What recording `outcome` tells the person, with the change in staff's words."""
    change = (change or "").strip() or None
    params: dict[str, object] = {"outcome": {"msgid": OUTCOME_TEXT[outcome]}}
    if change:
        params["change"] = change
    template = OUTCOME_UPDATE_WITH_CHANGE if change else OUTCOME_UPDATE
    return [_with_words(session, feedback, template, params, "change")]


def checked_move(feedback: Feedback, status: str, note: str | None) -> str | None:
    """The note for moving `feedback` to `status`, trimmed (None when empty); CaseError
    when the move is refused: an unknown status, no move, or a correction with no note."""
    if status not in STATUSES:
        raise CaseError(f"status must be one of {', '.join(STATUSES)}")
    if status == feedback.status:
        raise CaseError(f"{feedback.reference} is already {status}")
    note = (note or "").strip() or None
    if is_correction(feedback.status, status) and note is None:
        raise CaseError(
            f"moving {feedback.reference} from {feedback.status} to {status} corrects the "
            "record: give a note saying why"
        )
    return note


def change_status(
    session: Session,
    feedback: Feedback,
    status: str,
    *,
    user_id: int | None,
    note: str | None,
    tell: bool,
    now: datetime,
    ombudsman: str = DEFAULT_OMBUDSMAN,
) -> Change:
    """Move a case to `status`, record who did it, and write the update to the person if asked.

    `user_id` is None for the command line. Nothing is told for a move back to "received".
    Staff's note, told to the person, is checked first (bot/staff_text.py): a refused note
    changes nothing; a note not in the person's language is written held, awaiting
    translation (bot/casework/translations.py).
    """
    current = feedback.status
    note = checked_move(feedback, status, note)
    told = status_tellings(session, feedback, status, note, ombudsman) if tell else []
    feedback.status = status
    stamps = [STAMPS.get(status)]
    if RANK[status] >= RANK["acknowledged"]:
        stamps.append("acknowledged_at")
    for stamp in filter(None, stamps):
        if getattr(feedback, stamp) is None:
            setattr(feedback, stamp, now)
    message, further, task = _tell(session, feedback, told, now, user_id)
    event = CaseEvent(
        feedback_id=feedback.id,
        at=now,
        user_id=user_id,
        from_status=current,
        to_status=status,
        note=note,
        message_id=message.id if message else None,
    )
    session.add(event)
    session.flush()
    return Change(event, message, further, task)


def update_status(
    session: Session,
    reference: str,
    status: str,
    note: str | None,
    now: datetime,
    ombudsman: str = DEFAULT_OMBUDSMAN,
) -> Message | None:
    """Change a case's status as no signed-in user, telling the person.

    Returns the update's outbound row to queue after commit, or None when there is nothing
    to tell (a decided complaint's second message, how to take it further, is left for the
    sweep to queue: `kotha feedback update` uses `change_status` and queues both).
    """
    if status not in STATUSES:
        raise CaseError(f"status must be one of {', '.join(STATUSES)}")
    feedback = find(session, reference, lock=True)
    return change_status(
        session,
        feedback,
        status,
        user_id=None,
        note=note,
        tell=True,
        now=now,
        ombudsman=ombudsman,
    ).message


def record_outcome(
    session: Session,
    feedback: Feedback,
    outcome: str,
    change: str | None,
    *,
    user_id: int | None,
    tell: bool,
    now: datetime,
) -> Change:
    """Record what changed because of this feedback, in the history too; tell the person if asked.

    A change made or planned must say what the change is; "no change" may say why. Told to
    the person, the change is checked like a note (bot/staff_text.py).
    """
    if outcome not in OUTCOMES:
        raise CaseError(f"outcome must be one of {', '.join(OUTCOMES)}")
    change = (change or "").strip() or None
    if outcome != "no_change" and change is None:
        raise CaseError("say what the change is")
    told = outcome_tellings(session, feedback, outcome, change) if tell else []
    feedback.outcome, feedback.outcome_change = outcome, change
    message, _, task = _tell(session, feedback, told, now, user_id)
    label = f"Outcome: {OUTCOME_LABELS[outcome]}"
    event = CaseEvent(
        feedback_id=feedback.id,
        at=now,
        user_id=user_id,
        from_status=feedback.status,
        to_status=feedback.status,
        note=f"{label}: {change}" if change else label,
        message_id=message.id if message else None,
    )
    session.add(event)
    session.flush()
    return Change(event, message, task=task)


@dataclass(frozen=True)
class TellingPreview:
    """One message to the person as they will receive it, priced, before it is written."""

    telling: Telling
    priced: Priced

    @property
    def replaced(self) -> str:
        return self.telling.replaced

    @property
    def awaiting(self) -> str | None:
        return self.telling.awaiting


def preview_tellings(
    session: Session, i18n: I18n, feedback: Feedback, tellings: list[Telling], price: Decimal
) -> list[TellingPreview]:
    """Render each message in the person's language on the channel it will go by, and price
    it; none when the update reaches them as a staff task or not at all (update_route)."""
    route, channel = update_route(session, feedback)
    if route != "message":
        return []
    language = i18n.on_channel(reader_language(session, feedback), channel)
    return [
        TellingPreview(
            telling,
            priced(i18n.render(language, telling.template, telling.params).text, channel, price),
        )
        for telling in tellings
    ]


def _tell(
    session: Session,
    feedback: Feedback,
    told: list[Telling],
    now: datetime,
    user_id: int | None,
) -> tuple[Message | None, Message | None, StaffTask | None]:
    """Write the messages telling the person (the update, and how to take it further), on
    their address's channel, rendered at send, held awaiting translation when staff's words
    are not in the person's language; or, for someone staff took feedback from who wants a
    call or a letter, open the task to do that (no message). Someone who said No to contact
    gets neither."""
    if not told:
        return None, None, None
    route, how = update_route(session, feedback)
    if route == "none":
        return None, None, None
    if route == "task":
        return None, None, _task_to_tell(session, feedback, how, told, now, user_id)
    address_id = feedback.address_id
    if feedback.channel == VOICE and how == "sms":
        # Given in a call from a mobile: the update goes to that mobile by SMS.
        mobile = callers.sms_address(session, session.get_one(Address, address_id), now)
        assert mobile is not None  # update_route said it is a mobile
        address_id = mobile.id
    written = [_write(session, feedback, address_id, how, telling, now) for telling in told]
    return written[0], (written[1] if len(written) > 1 else None), None


def update_route(session: Session, feedback: Feedback) -> tuple[str, str]:
    """How an update reaches this person: ("message", channel) on their address's channel
    (for a voice line caller, "sms" to the mobile they called from); for someone staff took
    feedback from or who called from a landline, ("task", "call" or "letter") when they want a call
    or a letter (or gave no mobile), and ("none", "") when they want no updates or said No
    to contact."""
    channel = session.scalar(select(Address.channel).where(Address.id == feedback.address_id))
    if feedback.channel == VOICE:
        # Given in a call: by SMS to the UK mobile they called from, else a staff call.
        if refuses_contact(session, feedback.contact_id):
            return "none", ""
        number = session.scalar(select(Address.address).where(Address.id == feedback.address_id))
        return ("message", "sms") if callers.is_uk_mobile(number or "") else ("task", "call")
    if feedback.channel not in OFFLINE_CHANNELS:
        return "message", channel or feedback.channel
    how = session.scalar(
        select(TakenOnBehalf.updates_by).where(TakenOnBehalf.feedback_id == feedback.id)
    )
    if how in (None, "none") or refuses_contact(session, feedback.contact_id):
        return "none", ""
    if how != "sms" or channel != "sms":
        return "task", "call" if how == "call" else "letter"
    return "message", channel


def _write(
    session: Session,
    feedback: Feedback,
    address_id: int,
    channel: str,
    telling: Telling,
    now: datetime,
) -> Message:
    return outbox.add(
        session,
        # Not a reply to someone who just wrote: it waits for morning in quiet hours.
        Outbound(
            address_id=address_id,
            channel=channel,
            created_at=now,
            kind=Kind.CASE_UPDATE,
            template=telling.template,
            params=telling.params,
            feedback_id=feedback.id,
            held=AWAITING_TRANSLATION if telling.awaiting else None,
        ),
    )


def _task_to_tell(
    session: Session,
    feedback: Feedback,
    how: str,
    told: list[Telling],
    now: datetime,
    user_id: int | None,
) -> StaffTask:
    """The task to call or write to the person with this update, in the words of the case
    (English: staff translate as they call or write, in the language on the case), and how
    to take a decided complaint further when that is told too."""
    first = told[0]
    said = [
        str(value["msgid"]) if isinstance(value, Mapping) else str(value)
        for key in ("status", "outcome", "note", "change")
        if (value := first.params.get(key))
    ]
    what = (
        "What changed after"
        if first.template in (OUTCOME_UPDATE, OUTCOME_UPDATE_WITH_CHANGE)
        else ("Update on")
    )
    further = "".join(
        f" Tell them they can take it further with the Local Government and Social Care"
        f" Ombudsman ({telling.params.get('ombudsman')})."
        for telling in told[1:]
        if telling.template == TAKE_IT_FURTHER
    )
    verb = "Call them" if how == "call" else "Write to them"
    return tasks.open_task(
        session,
        "call-with-update" if how == "call" else "write-with-update",
        f"{verb}: {what} their {feedback.kind} {feedback.reference}: {' '.join(said)}{further}",
        now=now,
        contact_id=feedback.contact_id,
        feedback_id=feedback.id,
        created_by=user_id,
    )


# --- The statutory clock ---------------------------------------------------------------------


def complaint_deadlines(now: datetime, zone: ZoneInfo, response_days: int) -> tuple[date, date]:
    """Return (acknowledge by, respond by) for a complaint arriving at `now`.

    Counted in working days in England and Wales from the local date it arrived: the day
    itself does not count, weekends and bank holidays do not count.
    """
    today = now.astimezone(zone).date()
    return (
        add_working_days(today, ACKNOWLEDGE_WORKING_DAYS),
        add_working_days(today, response_days),
    )


def due_soon_limit(today: date) -> date:
    """The last day a deadline can fall on and count as due soon, seen from `today`."""
    return add_working_days(today, DUE_SOON_WORKING_DAYS)


def deadline_state(deadline: date | None, done: bool, today: date) -> str | None:
    """Return "overdue", "due_soon" or None for one deadline seen from `today`."""
    if deadline is None or done:
        return None
    if today > deadline:
        return "overdue"
    if deadline <= due_soon_limit(today):
        return "due_soon"
    return None


@dataclass(frozen=True)
class Clock:
    """Where a case stands against its two deadlines today."""

    acknowledge: str | None
    respond: str | None

    @property
    def urgency(self) -> str | None:
        """The more urgent of the two: "overdue", "due_soon" or None."""
        states = {self.acknowledge, self.respond}
        if "overdue" in states:
            return "overdue"
        return "due_soon" if "due_soon" in states else None


def clock_of(feedback: Feedback, today: date) -> Clock:
    """Acknowledgement is pending until acknowledged; the response until decided (or closed).

    A correction back from a decision does not restart the clock: the response was given
    when the case was first decided.
    """
    responded = feedback.decided_at is not None or feedback.closed_at is not None
    return Clock(
        acknowledge=deadline_state(
            feedback.acknowledge_by, feedback.acknowledged_at is not None, today
        ),
        respond=deadline_state(feedback.respond_by, responded, today),
    )


def _pending() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Whether the acknowledgement, and the response, are still owed."""
    acknowledgement = and_(Feedback.acknowledge_by.is_not(None), Feedback.acknowledged_at.is_(None))
    response = and_(
        Feedback.respond_by.is_not(None),
        Feedback.decided_at.is_(None),
        Feedback.closed_at.is_(None),
    )
    return acknowledgement, response


def _due_by(day: date) -> ColumnElement[bool]:
    """Whether a case still owes its acknowledgement or its response on or before `day`.

    Written as plain conditions on the columns (no CASE), so PostgreSQL can answer it from
    the indexes on the deadlines rather than by reading every case.
    """
    acknowledgement, response = _pending()
    return or_(
        and_(acknowledgement, Feedback.acknowledge_by <= day),
        and_(response, Feedback.respond_by <= day),
    )


def is_urgent(today: date) -> ColumnElement[bool]:
    """Whether a case is overdue or due soon on `today` (in SQL)."""
    return _due_by(due_soon_limit(today))


def urgency(today: date) -> ColumnElement[int]:
    """0 for a case overdue today, 1 for one due soon, 2 for the rest (in SQL)."""
    return case((_due_by(today - timedelta(days=1)), 0), (is_urgent(today), 1), else_=2)


def ordered(query: Select[Any], today: date) -> Select[Any]:
    """Order cases overdue first, then due soon (each nearest deadline first), then newest.

    For a whole table this sorts every case; `ordered_page` reads a page of it faster.
    """
    acknowledgement, response = _pending()
    rank = urgency(today)
    # The acknowledgement always falls before the response, so it is the nearer one owed.
    next_due = case(
        (acknowledgement, Feedback.acknowledge_by), (response, Feedback.respond_by), else_=None
    )
    return query.order_by(
        rank,
        case((rank < 2, next_due), else_=None),
        Feedback.created_at.desc(),
        Feedback.id.desc(),
    )


def ordered_page(
    session: Session, query: Select[Any], today: date, offset: int, limit: int
) -> list[Feedback]:
    """Read `limit` cases from `offset` in the order of `ordered`, without sorting them all.

    The urgent cases (overdue or due soon: few, in a service that keeps up) are sorted by
    themselves; the rest follow newest first, which the index on created_at answers.
    """
    urgent = query.where(is_urgent(today))
    found = list(session.scalars(ordered(urgent, today).offset(offset).limit(limit)))
    if len(found) == limit:
        return found
    urgent_count = (
        offset + len(found)
        if found
        else session.scalar(select(func.count()).select_from(urgent.subquery())) or 0
    )
    rest = (
        query.where(~is_urgent(today))
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .offset(max(offset - urgent_count, 0))
        .limit(limit - len(found))
    )
    return found + list(session.scalars(rest))
