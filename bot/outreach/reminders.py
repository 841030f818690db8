"""Event reminders: written when each falls due, asking "will you come?".

Subscribers of an event's topic (or of every topic) get a reminder at each offset before it
(KOTHA_REMINDER_OFFSETS). Each is an outbound row with a dedupe key
("event:5:reminder:P7D"), so it reaches each address once however often the job runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from bot.i18n import I18n
from bot.outreach.consultations import event_params, venue_access
from bot.pipeline.templates import TemplateKind, formatted
from bot.settings import QuietHours, parse_offset
from bot.sms import sms_cost
from flows.engine import Say
from flows.library import RSVP_FLOW
from flows.texts import N_, NO, YES
from storage.db import Database
from storage.models import Address, Consultation, Contact, EventSubscription, Message, Rsvp

log = logging.getLogger(__name__)

REMINDER = N_("Reminder: {title}, {when}, at {place}. Will you come?")
# For someone half-way through telling us something: the reminder asks nothing of them.
REMINDER_ONLY = N_("Reminder: {title}, {when}, at {place}.")
# The same with the venue's access details, when they fit the reader's SMS budget.
REMINDER_ACCESS = N_("Reminder: {title}, {when}, at {place}. Access: {access}. Will you come?")
REMINDER_ONLY_ACCESS = N_("Reminder: {title}, {when}, at {place}. Access: {access}.")


def _reminder_variables(
    i18n: I18n, language: str, params: Mapping[str, Any], text: str
) -> dict[str, str]:
    return {name: formatted(i18n, language, params.get(name, "")) for name in EVENT_VARIABLES}


EVENT_VARIABLES = ("title", "when", "place")
# Outside WhatsApp's window a reminder goes as this template, "Reminder: {{title}},
# {{when}}, at {{place}}." (without the question: a template cannot ask with buttons here).
REMINDER_TEMPLATE = TemplateKind(
    "reminder",
    REMINDER_ONLY,
    _reminder_variables,
    (REMINDER, REMINDER_ONLY, REMINDER_ACCESS, REMINDER_ONLY_ACCESS),
)


class Prompter(Protocol):
    """The runner's side of a reminder: write it and wait for the answer."""

    def prompt(
        self,
        address_id: int,
        flow_id: str,
        context: Mapping[str, Any],
        say: Say,
        instead: Say,
        dedupe_key: str,
    ) -> list[int]: ...


class Reminders:
    """The periodic job that writes event reminders when they fall due.

    For each scheduled event ahead, the nearest offset already reached is the reminder due
    now: an event scheduled two days ahead gets the one-day reminder, not also a late
    seven-day one. Each subscriber gets it once (its dedupe key), unless they said no.
    """

    def __init__(
        self,
        database: Database,
        runner: Prompter,
        clock: Callable[[], datetime],
        offsets: Sequence[str],
        zone: ZoneInfo,
        quiet: QuietHours | None = None,
        i18n: I18n | None = None,
    ) -> None:
        self.database = database
        # Renders a reminder to see whether the venue's access details fit the reader's
        # SMS budget; without it reminders carry none.
        self.i18n = i18n
        self.runner = runner
        self.clock = clock
        self.offsets = sorted(
            ((label, parse_offset(label)) for label in offsets), key=lambda item: -item[1]
        )
        self.zone = zone
        self.quiet = quiet

    def run(self) -> int:
        """Write every reminder due now; return how many messages were written."""
        now = self.clock()
        if not self.offsets:
            return 0
        if self.quiet is not None and self.quiet.contains(now.astimezone(self.zone).time()):
            # A reminder asks a question and waits at it. Written at night, it would wait
            # for morning while the person's own messages meanwhile were taken as answers
            # to a question they had not seen; so reminders falling due in quiet hours are
            # written, and sent, when the quiet hours end (the nearest one still due).
            return 0
        horizon = self.offsets[0][1]
        with self.database.session() as session:
            events = session.scalars(
                select(Consultation).where(
                    Consultation.status == "scheduled",
                    Consultation.start_at > now,
                    Consultation.start_at <= now + horizon,
                )
            ).all()
            due = [
                (event.id, label, event_params(event, self.zone), venue_access(event), event.topic)
                for event in events
                if (label := self._due(event.start_at, now)) is not None
            ]
        written = 0
        for event_id, label, params, access, topic in due:
            key = f"event:{event_id}:reminder:{label}"
            said: dict[tuple[str, str], tuple[Say, Say]] = {}
            for address_id, channel, language in self._recipients(event_id, topic, key):
                if (channel, language) not in said:
                    said[channel, language] = self.says(params, access, language, channel)
                ask, only = said[channel, language]
                context = {"_event": event_id}
                written += len(self.runner.prompt(address_id, RSVP_FLOW, context, ask, only, key))
        if written:
            log.info("wrote %d event reminders", written)
        return written

    def says(
        self,
        params: Mapping[str, Any],
        access: Mapping[str, Any] | None,
        language: str,
        channel: str,
    ) -> tuple[Say, Say]:
        """The reminder and its question-less twin for readers of `language` on `channel`:
        with the venue's access details where they fit the language's SMS budget (all of
        them, else the ticked ones without staff's note), else without."""
        plain = Say(REMINDER, params, choices=(YES, NO)), Say(REMINDER_ONLY, params)
        if access is None or self.i18n is None:
            return plain
        items = list(access["list"])
        ticked = [item for item in items if not isinstance(item, str)]
        for tried in (items, ticked) if len(ticked) < len(items) else (items,):
            if not tried:
                continue
            with_access = {**params, "access": {"list": tried}}
            ask = Say(REMINDER_ACCESS, with_access, choices=(YES, NO))
            if channel != "sms" or self._fits(ask, language):
                return ask, Say(REMINDER_ONLY_ACCESS, with_access)
        return plain

    def _fits(self, say: Say, language: str) -> bool:
        """Whether a message fits its reader's SMS budget (locales/languages.yaml)."""
        assert self.i18n is not None
        code = self.i18n.on_channel(language, "sms")
        rendered = self.i18n.render(code, say.text, say.params, say.lead, say.choices)
        return sms_cost(rendered.text).segments <= self.i18n.language(code).segments

    def _due(self, start_at: datetime, now: datetime) -> str | None:
        reached = [label for label, offset in self.offsets if start_at - offset <= now]
        return reached[-1] if reached else None

    def _recipients(self, event_id: int, topic: str | None, key: str) -> list[tuple[int, str, str]]:
        """Who gets this reminder: (address id, channel, language) of each."""
        # An event for every topic reaches every subscriber; a topic's, those who follow
        # that topic or every topic.
        topic_matches: ColumnElement[bool] = true()
        if topic is not None:
            topic_matches = or_(EventSubscription.topic.is_(None), EventSubscription.topic == topic)
        with self.database.session() as session:
            rows = session.execute(
                select(Address.id, Address.channel, Contact.language)
                .join(EventSubscription, EventSubscription.address_id == Address.id)
                .join(Contact, Contact.id == Address.contact_id)
                .where(
                    topic_matches,
                    Address.stopped_at.is_(None),
                    Contact.staff.is_(False),
                    ~exists().where(Message.address_id == Address.id, Message.dedupe_key == key),
                    ~exists().where(
                        and_(
                            Rsvp.event_id == event_id,
                            Rsvp.contact_id == Address.contact_id,
                            Rsvp.answer == "no",
                        )
                    ),
                )
                .distinct()
                .order_by(Address.id)
            ).all()
        return [(address_id, channel, language or "en") for address_id, channel, language in rows]
