"""Access and communication needs: told once, kept as one current set, read by staff.

A person is asked (flows/definitions/access.yaml) after they say yes to an event and after
they register interest in taking part, only if they have never told us; ACCESS changes the
set any time. "None of these" is an answer and is kept (a row with every need False), so it
is not asked again. Staff read the needs on an event's page (counts, and who among those
coming needs each), and other pages (the interests queue) read them with
`needs_for_contacts` and `summary`. Someone who needs an interpreter and says they will come
appears in the event's interpreter requests (`interpreter_requests`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from bot.pipeline.effects import Outputs, StepContext
from flows.effects import Effect, Submit
from flows.library import ACCESS_FLOW
from storage.models import SIMULATED_PREFIX, AccessNeed, Address, Consultation, Rsvp

# Each need as the flow saves it, and as staff read it (in the order the flow asks).
NEEDS: Mapping[str, str] = {
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "interpreter": "Interpreter",
    "large_print": "Large print or Easy Read",
    "companion": "Someone to come with them",
}
# The interpreter languages the flow offers, by the value it saves.
INTERPRETER_LANGUAGES: Mapping[str, str] = {
    "bn": "Bengali",
    "syl": "Sylheti",
    "bsl": "British Sign Language",
}
OTHER_LANGUAGE = "other"
# A language named in the person's own words is kept to this many characters: a name, not
# a story (and staff read it on a list).
MAX_LANGUAGE = 60


@dataclass(frozen=True)
class AccessNeeds:
    """One person's current needs; `needs` are the NEEDS codes that apply, in NEEDS order."""

    contact_id: int
    needs: tuple[str, ...]
    interpreter_language: str | None
    updated_at: datetime

    @property
    def none(self) -> bool:
        return not self.needs

    @property
    def language_name(self) -> str | None:
        """The interpreter's language as staff read it, or None when no interpreter."""
        if "interpreter" not in self.needs:
            return None
        code = self.interpreter_language
        if not code or code == OTHER_LANGUAGE:
            return "language not given"
        return INTERPRETER_LANGUAGES.get(code, code)


def summary(needs: AccessNeeds | None) -> str:
    """One short line for staff: "Step-free access; Interpreter (Bengali)", "None", or "Not
    asked yet"."""
    if needs is None:
        return "Not asked yet"
    if needs.none:
        return "None"
    parts = [
        f"{NEEDS[code]} ({needs.language_name})" if code == "interpreter" else NEEDS[code]
        for code in needs.needs
    ]
    return "; ".join(parts)


def _of(row: AccessNeed) -> AccessNeeds:
    return AccessNeeds(
        contact_id=row.contact_id,
        needs=tuple(code for code in NEEDS if getattr(row, code)),
        interpreter_language=row.interpreter_language,
        updated_at=row.updated_at,
    )


def needs_for_contacts(session: Session, contact_ids: Iterable[int]) -> dict[int, AccessNeeds]:
    """The needs of each of these people who told us theirs, by contact id."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    rows = session.scalars(select(AccessNeed).where(AccessNeed.contact_id.in_(ids)))
    return {row.contact_id: _of(row) for row in rows}


def told_before(connection: Connection, contact_id: int) -> bool:
    """Whether the person has told us their needs (or that they have none)."""
    found = connection.scalar(select(AccessNeed.id).where(AccessNeed.contact_id == contact_id))
    return found is not None


def save(
    session: Session,
    contact_id: int,
    needs: Iterable[str],
    interpreter_language: str | None,
    now: datetime,
) -> AccessNeeds:
    """Keep a person's needs, replacing what they told us before."""
    chosen = set(needs) & set(NEEDS)
    row = session.scalar(select(AccessNeed).where(AccessNeed.contact_id == contact_id))
    if row is None:
        row = AccessNeed(contact_id=contact_id)
        session.add(row)
    for code in NEEDS:
        setattr(row, code, code in chosen)
    language = (interpreter_language or "").strip()[:MAX_LANGUAGE] or None
    row.interpreter_language = language if "interpreter" in chosen else None
    row.updated_at = now
    session.flush()
    return _of(row)


def record(step: StepContext, submit: Submit) -> Outputs:
    """The access flow's record writer: the needs picked, and the interpreter's language."""
    picked = submit.answers.get("needs")
    needs = [str(code) for code in picked] if isinstance(picked, list) else []
    language = submit.answers.get("interpreter_language")
    if language == OTHER_LANGUAGE:
        named = submit.answers.get("interpreter_other")
        language = named if isinstance(named, str) and named.strip() else OTHER_LANGUAGE
    save(
        step.session,
        step.person.contact_id,
        needs,
        language if isinstance(language, str) else None,
        step.now,
    )
    return {}


def _said_yes(effect: Effect) -> bool:
    return (
        isinstance(effect, Submit)
        and effect.complete
        and (
            effect.record == "interest"
            or (effect.record == "rsvp" and effect.answers.get("answer") is True)
        )
    )


def ask_after(connection: Connection, contact_id: int, effects: Iterable[Effect]) -> str | None:
    """The access flow, when a step has just kept a yes to an event or an interest in taking
    part and the person has never told us their needs; else None."""
    if any(_said_yes(effect) for effect in effects) and not told_before(connection, contact_id):
        return ACCESS_FLOW
    return None


# -- what staff see on an event's page ---------------------------------------------------------


def _who(contact_id: int, address: Address) -> str:
    """A person on a staff list, as the event page names those who answered."""
    digits = address.address.removeprefix(SIMULATED_PREFIX)
    masked = f"ending {digits[-3:]}" if len(digits) > 3 else "hidden"
    return f"Contact {contact_id}, {address.channel} {masked}"


def who_is(session: Session, contact_id: int) -> str:
    """A person named as on the event page, by the address they last wrote from."""
    address = session.scalar(
        select(Address)
        .where(Address.contact_id == contact_id)
        .order_by(Address.last_inbound_at.desc().nulls_last(), Address.id.desc())
        .limit(1)
    )
    return _who(contact_id, address) if address is not None else f"Contact {contact_id}"


@dataclass(frozen=True)
class Person:
    """Someone on an event's yes list, as staff see them: never a whole phone number."""

    contact_id: int
    address_id: int
    who: str
    needs: AccessNeeds | None


@dataclass(frozen=True)
class EventNeeds:
    """The needs of those coming to one event: each need's people, and who never said."""

    coming: tuple[Person, ...]
    by_need: Mapping[str, tuple[Person, ...]]
    not_asked: int

    def count(self, code: str) -> int:
        return len(self.by_need.get(code, ()))


def coming(session: Session, event_id: int) -> list[Person]:
    """Everyone who said yes to an event, with their needs, in the order they answered."""
    rows = session.execute(
        select(Rsvp.contact_id, Address)
        .join(Address, Address.id == Rsvp.address_id)
        .where(Rsvp.event_id == event_id, Rsvp.answer == "yes")
        .order_by(Rsvp.answered_at, Rsvp.id)
    ).all()
    needs = needs_for_contacts(session, (contact_id for contact_id, _ in rows))
    return [
        Person(contact_id, address.id, _who(contact_id, address), needs.get(contact_id))
        for contact_id, address in rows
    ]


def event_needs(session: Session, event_id: int) -> EventNeeds:
    """The needs of those coming to an event, for its page."""
    people = coming(session, event_id)
    by_need = {
        code: tuple(p for p in people if p.needs is not None and code in p.needs.needs)
        for code in NEEDS
    }
    return EventNeeds(tuple(people), by_need, sum(1 for p in people if p.needs is None))


@dataclass(frozen=True)
class InterpreterRequest:
    """Someone coming to an event who needs an interpreter: staff book one."""

    contact_id: int
    address_id: int
    who: str
    language: str
    event_id: int
    event_title: str
    event_start: datetime


def interpreter_requests(session: Session, consultation_id: int) -> list[InterpreterRequest]:
    """Who, coming to this event, needs an interpreter, and in which language."""
    event = session.get(Consultation, consultation_id)
    if event is None:
        return []
    title = event.titles.get("en") or next(iter(event.titles.values()), "")
    return [
        InterpreterRequest(
            person.contact_id,
            person.address_id,
            person.who,
            person.needs.language_name or "",
            event.id,
            title,
            event.start_at,
        )
        for person in coming(session, consultation_id)
        if person.needs is not None and "interpreter" in person.needs.needs
    ]


def requests_for_contact(
    session: Session, contact_id: int, now: datetime
) -> list[InterpreterRequest]:
    """The interpreter requests one person makes now: for each event not yet ended that they
    said yes to, if they need an interpreter. What a staff task is opened for when they say
    yes (the rsvp writer, bot/outreach/consultations.py) or tell us their needs (`record`)."""
    needs = needs_for_contacts(session, [contact_id]).get(contact_id)
    if needs is None or "interpreter" not in needs.needs:
        return []
    events = session.scalars(
        select(Consultation.id)
        .join(Rsvp, Rsvp.event_id == Consultation.id)
        .where(
            Rsvp.contact_id == contact_id,
            Rsvp.answer == "yes",
            Consultation.status == "scheduled",
            Consultation.end_at > now,
        )
        .order_by(Consultation.start_at, Consultation.id)
    )
    return [
        found
        for event_id in list(events)
        for found in interpreter_requests(session, event_id)
        if found.contact_id == contact_id
    ]
