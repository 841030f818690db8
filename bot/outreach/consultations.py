"""Consultation events: scheduling, change notices, reminders, answers and chat requests.

Staff schedule, change and cancel events in the console. Everyone who said they will come
hears of a change or a cancellation; subscribers of an event's topic (or of every topic) get
a reminder at each offset before it (KOTHA_REMINDER_OFFSETS), asking "will you come?". Every
message is an outbound row with a dedupe key ("event:5:reminder:P7D", "event:5:change:3"),
so it reaches each address once however often the job that writes it runs, and it goes
through the pipeline like any other: in the person's language, on their channel, held in
quiet hours.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from bot.pipeline import outbox
from bot.pipeline.effects import Outputs, RecordWriter, StepContext
from bot.pipeline.outbox import Outbound
from bot.smssafe import sms_safe
from bot.types import Kind
from flows.effects import Submit
from flows.texts import N_
from storage.models import (
    SIMULATED_PREFIX,
    Address,
    Consultation,
    Contact,
    EventSubscription,
    Message,
    Rsvp,
)

log = logging.getLogger(__name__)

CHANGED = N_("Change to an event: {title} is now {when}, at {place}.")
CANCELLED = N_("Sorry, {title} on {when} is cancelled.")
NO_EVENTS = N_("There are no events planned yet.")
# A venue's access, as staff tick it on the event form and people read it (the public
# calendar, reminders): each an event's column, with its words for the catalogs.
VENUE_ACCESS = {
    "step_free": N_("Step-free access"),
    "hearing_loop": N_("Hearing loop"),
    "accessible_toilet": N_("Accessible toilet"),
    "parking": N_("Parking"),
}
# How many events "next events" lists: two fit one text in every language.
UPCOMING = 2
# Where links in chat point when KOTHA_PUBLIC_URL is unset: `kotha run`'s own address.
LOCAL_URL = "http://127.0.0.1:5000"
# The topic of a subscription to every event.
ALL_TOPICS = "all"


class EventNotFound(LookupError):
    """No event has that id."""


@dataclass(frozen=True)
class EventDetails:
    """What staff write about an event; times are UTC."""

    titles: Mapping[str, str]
    start_at: datetime
    end_at: datetime
    place: str
    descriptions: Mapping[str, str] = field(default_factory=dict)
    step_free: bool = False
    hearing_loop: bool = False
    parking: bool = False
    accessible_toilet: bool = False
    access_notes: str | None = None
    languages: Sequence[str] = ()
    interpreters: Sequence[str] = ()
    topic: str | None = None
    capacity: int | None = None

    def apply(self, event: Consultation) -> None:
        """Write the details onto the event; what goes out by text (titles, descriptions, the
        place, access notes) is stored SMS-safe (bot/smssafe.py)."""
        event.titles = {code: sms_safe(text).text for code, text in self.titles.items() if text}
        event.descriptions = {
            code: sms_safe(text).text for code, text in self.descriptions.items() if text
        }
        event.start_at, event.end_at = self.start_at, self.end_at
        event.place = sms_safe(self.place).text
        event.step_free, event.hearing_loop, event.parking = (
            self.step_free,
            self.hearing_loop,
            self.parking,
        )
        event.accessible_toilet = self.accessible_toilet
        event.access_notes = sms_safe(self.access_notes).text if self.access_notes else None
        event.languages, event.interpreters = list(self.languages), list(self.interpreters)
        event.topic, event.capacity = self.topic or None, self.capacity


def create_event(
    session: Session, details: EventDetails, user_id: int | None, now: datetime
) -> Consultation:
    """Put a new event on the calendar."""
    event = Consultation(status="scheduled", sequence=0, created_by=user_id, created_at=now)
    details.apply(event)
    event.updated_at = now
    session.add(event)
    session.flush()
    return event


def get_event(session: Session, event_id: int) -> Consultation:
    event = session.get(Consultation, event_id)
    if event is None:
        raise EventNotFound(event_id)
    return event


def update_event(
    session: Session, event: Consultation, details: EventDetails, now: datetime, zone: ZoneInfo
) -> list[Message]:
    """Change an event; tell everyone who said they will come when its time or place moved.

    Returns the notices written (queue them after commit).
    """
    moved = (event.start_at, event.end_at, event.place) != (
        details.start_at,
        details.end_at,
        details.place,
    )
    details.apply(event)
    event.sequence += 1
    event.updated_at = now
    if not moved or event.status != "scheduled":
        return []
    return _tell_those_coming(
        session, event, CHANGED, f"event:{event.id}:change:{event.sequence}", now, zone
    )


def cancel_event(
    session: Session, event: Consultation, now: datetime, zone: ZoneInfo
) -> list[Message]:
    """Cancel an event and tell everyone who said they will come; returns the notices."""
    if event.status == "cancelled":
        return []
    event.status = "cancelled"
    event.sequence += 1
    event.updated_at = now
    return _tell_those_coming(session, event, CANCELLED, f"event:{event.id}:cancel", now, zone)


def event_params(event: Consultation, zone: ZoneInfo) -> dict[str, Any]:
    """The parameters of a message about an event, rendered in each reader's language."""
    return {
        "title": {"by_language": dict(event.titles)},
        "when": {"datetime": event.start_at.astimezone(zone).isoformat()},
        "place": event.place,
    }


def venue_access(event: Consultation) -> dict[str, Any] | None:
    """The venue's access details as a message parameter (each ticked one in the reader's
    language, then staff's short note as written), or None when none is given."""
    items: list[Any] = [
        {"msgid": label} for name, label in VENUE_ACCESS.items() if getattr(event, name)
    ]
    if event.access_notes:
        items.append(event.access_notes)
    return {"list": items} if items else None


def _tell_those_coming(
    session: Session, event: Consultation, template: str, key: str, now: datetime, zone: ZoneInfo
) -> list[Message]:
    addresses = session.scalars(
        select(Address)
        .join(Rsvp, Rsvp.address_id == Address.id)
        .where(
            Rsvp.event_id == event.id,
            Rsvp.answer == "yes",
            ~exists().where(Message.address_id == Address.id, Message.dedupe_key == key),
        )
        .order_by(Address.id)
    ).all()
    # Not a reply: it waits for the morning in quiet hours, like any notice.
    return [
        outbox.add(
            session,
            Outbound(
                address_id=address.id,
                channel=address.channel,
                created_at=now,
                kind=Kind.EVENT_NOTICE,
                template=template,
                params=event_params(event, zone),
                dedupe_key=key,
            ),
        )
        for address in addresses
    ]


def upcoming(session: Session, now: datetime, limit: int | None = None) -> list[Consultation]:
    """The scheduled events that have not ended, soonest first."""
    query = (
        select(Consultation)
        .where(Consultation.status == "scheduled", Consultation.end_at > now)
        .order_by(Consultation.start_at, Consultation.id)
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def in_month(session: Session, first: datetime, after: datetime) -> list[Consultation]:
    """Every event (cancelled too) starting from `first` up to `after`, in order."""
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.start_at >= first, Consultation.start_at < after)
            .order_by(Consultation.start_at, Consultation.id)
        )
    )


@dataclass(frozen=True)
class Attendee:
    """One answer to "will you come?", as staff see it: never a whole phone number."""

    answer: str
    who: str
    channel: str
    answered_at: datetime


def mask(address: str) -> str:
    """Show enough of an address to tell people apart on a list, not to contact them."""
    digits = address.removeprefix(SIMULATED_PREFIX)
    return f"ending {digits[-3:]}" if len(digits) > 3 else "hidden"


def answers_to(session: Session, event_id: int) -> list[Attendee]:
    """Who answered, yes first, then by when they answered."""
    rows = session.execute(
        select(Rsvp, Address)
        .join(Address, Address.id == Rsvp.address_id)
        .where(Rsvp.event_id == event_id)
        .order_by(Rsvp.answer.desc(), Rsvp.answered_at, Rsvp.id)
    ).all()
    return [
        Attendee(
            rsvp.answer,
            f"Contact {rsvp.contact_id}, {address.channel} {mask(address.address)}",
            address.channel,
            rsvp.answered_at,
        )
        for rsvp, address in rows
    ]


def answer_counts(session: Session, event_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Yes and no answers per event."""
    counts: dict[int, dict[str, int]] = {}
    ids = list(event_ids)
    if not ids:
        return counts
    for event_id, answer, number in session.execute(
        select(Rsvp.event_id, Rsvp.answer, func.count())
        .where(Rsvp.event_id.in_(ids))
        .group_by(Rsvp.event_id, Rsvp.answer)
    ):
        counts.setdefault(event_id, {"yes": 0, "no": 0})[answer] = number
    return counts


def record_answer(
    session: Session, event_id: int, address: Address, coming: bool, now: datetime
) -> Rsvp | None:
    """Record a yes or no to an event (the latest answer counts); None if it has gone."""
    if session.get(Consultation, event_id) is None:
        return None
    rsvp = session.scalar(
        select(Rsvp).where(Rsvp.event_id == event_id, Rsvp.contact_id == address.contact_id)
    )
    if rsvp is None:
        rsvp = Rsvp(event_id=event_id, contact_id=address.contact_id)
        session.add(rsvp)
    rsvp.address_id = address.id
    rsvp.answer = "yes" if coming else "no"
    rsvp.answered_at = now
    session.flush()
    return rsvp


def subscribe(session: Session, address: Address, topic: str | None, now: datetime) -> None:
    """Remember that this address wants reminders of a topic's events (None: every event)."""
    found = session.scalar(
        select(EventSubscription.id).where(
            EventSubscription.address_id == address.id,
            EventSubscription.topic.is_(None)
            if topic is None
            else EventSubscription.topic == topic,
        )
    )
    if found is None:
        session.add(
            EventSubscription(
                contact_id=address.contact_id, address_id=address.id, topic=topic, created_at=now
            )
        )
        session.flush()


def calendar_token(session: Session, contact: Contact) -> str:
    """Return the secret in the address of this person's calendar feed, made on first ask."""
    if contact.calendar_token is None:
        # 128 random bits: short enough for a text message, beyond guessing.
        contact.calendar_token = secrets.token_urlsafe(16)
        session.flush()
    return contact.calendar_token


def events_for_contact(session: Session, contact: Contact, now: datetime) -> list[Consultation]:
    """A person's own feed: events for everyone, of the topics they follow, and those they
    said yes to.

    Someone who follows no topic, or every topic, sees every event. Cancelled events stay in
    the feed (with their status), so a phone that has them removes them.
    """
    topics = set(
        session.scalars(
            select(EventSubscription.topic).where(EventSubscription.contact_id == contact.id)
        )
    )
    since = now - timedelta(days=90)
    query = select(Consultation).where(Consultation.end_at > since)
    if topics and None not in topics:
        coming = select(Rsvp.event_id).where(Rsvp.contact_id == contact.id, Rsvp.answer == "yes")
        query = query.where(
            or_(
                Consultation.topic.is_(None),
                Consultation.topic.in_(topics),
                Consultation.id.in_(coming),
            )
        )
    return list(session.scalars(query.order_by(Consultation.start_at, Consultation.id)))


def public_events(session: Session, now: datetime) -> list[Consultation]:
    """The public calendar: the last 90 days and everything ahead, cancelled ones marked."""
    since = now - timedelta(days=90)
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.end_at > since)
            .order_by(Consultation.start_at, Consultation.id)
        )
    )


class ChatRecords:
    """What the events and rsvp flows' `submit` nodes keep: the step's record writers."""

    def __init__(self, zone: ZoneInfo, public_url: str | None) -> None:
        self.zone = zone
        self.base_url = (public_url or LOCAL_URL).rstrip("/")

    def writers(self) -> dict[str, RecordWriter]:
        return {
            "subscription": self.subscription,
            "events": self.events,
            "calendar": self.calendar,
            "rsvp": self.rsvp,
        }

    def subscription(self, step: StepContext, submit: Submit) -> Outputs:
        topic = submit.answers.get("topic")
        chosen = None if topic in (None, ALL_TOPICS) else str(topic)
        subscribe(step.session, step.address(), chosen, step.now)
        return {}

    def events(self, step: StepContext, submit: Submit) -> Outputs:
        found = upcoming(step.session, step.now, UPCOMING)
        if not found:
            return {"events": {"lines": [[{"msgid": NO_EVENTS}]]}}
        lines = [
            [
                {"datetime": event.start_at.astimezone(self.zone).isoformat()},
                {"by_language": dict(event.titles)},
            ]
            for event in found
        ]
        return {"events": {"lines": lines}}

    def calendar(self, step: StepContext, submit: Submit) -> Outputs:
        token = calendar_token(step.session, step.address().contact)
        return {"link": f"{self.base_url}/events/{token}.ics"}

    def rsvp(self, step: StepContext, submit: Submit) -> Outputs:
        event_id = submit.answers.get("_event")
        answer = submit.answers.get("answer")
        if isinstance(event_id, int) and isinstance(answer, bool):
            record_answer(step.session, event_id, step.address(), answer, step.now)
        return {}
