"""The daily digest of overdue and due-soon cases, and of interests in taking part not followed
up in time: printed by `kotha cases digest`, sent at 08:00.

It also says how many staff tasks are open (bot/casework/tasks.py), when any are.

Staff named in KOTHA_DIGEST_TO ("channel:address" items) get one short English text a day
through the outbound pipeline, as staff contacts (never in the inbox). Each consumer of the
queue checks once a minute whether today's digest is due; its dedupe key (one per address
per local day) makes sure it goes once, however many consumers check, and a consumer that
was down at 08:00 still sends it later that day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.casework import tasks
from bot.casework.cases import clock_of, is_urgent, ordered
from bot.casework.interests import waiting_count, waiting_since
from bot.casework.safeguarding import staff_address
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.settings import Settings
from bot.types import Kind
from storage.db import Database
from storage.models import Feedback, Message

# Staff start work at 8; quiet hours end then too (KOTHA_QUIET_HOURS defaults to 21:00-08:00).
DIGEST_AT = time(8, 0)
# Two GSM-7 SMS segments: enough for the counts and a dozen or more references, and short
# enough to read on a phone's lock screen. The full list is the console's cases page.
MAX_CHARACTERS = 306


@dataclass(frozen=True)
class Urgent:
    """The references overdue and due soon today, each most urgent first; and how many
    interests in taking part are still not contacted after `follow_up_days` working days."""

    overdue: tuple[str, ...]
    due_soon: tuple[str, ...]
    # Staff tasks still open (bot/casework/tasks.py): calls and letters people wait for.
    open_tasks: int = 0
    interests_waiting: int = 0
    follow_up_days: int = 5


def digest_text(today: date, urgent: Urgent, limit: int = MAX_CHARACTERS) -> str:
    """Say how many cases are overdue and due soon, naming as many references as fit, and
    how many interests wait too long (/console/involvement lists them)."""
    day = f"{today:%a} {today.day} {today:%b}"
    tasks = ""
    if urgent.open_tasks:
        tasks = f" {urgent.open_tasks} task{'s' if urgent.open_tasks != 1 else ''} open."
    interests = ""
    if urgent.interests_waiting:
        interests = (
            f" Interests not contacted in {urgent.follow_up_days} working days:"
            f" {urgent.interests_waiting}."
        )
    extras = tasks + interests
    if not urgent.overdue and not urgent.due_soon:
        return f"Kotha cases {day}: nothing overdue or due soon.{extras}"
    return _with_references(day, urgent, limit - len(extras)) + extras


def _with_references(day: str, urgent: Urgent, limit: int) -> str:
    head = f"Kotha cases {day}: {len(urgent.overdue)} overdue, {len(urgent.due_soon)} due soon."
    named = [
        (label, reference)
        for label, references in (("Overdue", urgent.overdue), ("Due soon", urgent.due_soon))
        for reference in references
    ]
    for shown in range(len(named), -1, -1):
        text = head + _listed(named[:shown])
        left = len(named) - shown
        if left:
            text += f" +{left} more."
        if len(text) <= limit:
            return text
    return head


def _listed(named: list[tuple[str, str]]) -> str:
    """ " Overdue: C-1, C-2. Due soon: C-3." for the references given, in their order."""
    parts: dict[str, list[str]] = {}
    for label, reference in named:
        parts.setdefault(label, []).append(reference)
    return "".join(f" {label}: {', '.join(refs)}." for label, refs in parts.items())


class CaseDigest:
    """Builds the digest from the cases and writes it to each staff recipient once a day."""

    def __init__(
        self, database: Database, settings: Settings, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.recipients = settings.digest_to
        self.zone = settings.zone
        self.clock = clock
        self.follow_up_days = settings.interest_follow_up_working_days

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def urgent(self, today: date) -> Urgent:
        """The cases overdue or due soon on `today`, most urgent first."""
        with self.database.session() as session:
            # Simulated cases (anyone may try the simulator) are nobody's work.
            urgent = select(Feedback).where(is_urgent(today), ~Feedback.simulated)
            found = session.scalars(ordered(urgent, today)).all()
            states = [(f.reference, clock_of(f, today).urgency) for f in found]
            open_tasks = tasks.count_open(session)
            cutoff = waiting_since(today, self.zone, self.follow_up_days)
            interests = waiting_count(session, cutoff)
        return Urgent(
            overdue=tuple(ref for ref, state in states if state == "overdue"),
            due_soon=tuple(ref for ref, state in states if state == "due_soon"),
            open_tasks=open_tasks,
            interests_waiting=interests,
            follow_up_days=self.follow_up_days,
        )

    def text(self, today: date | None = None) -> str:
        today = today or self.today()
        return digest_text(today, self.urgent(today))

    def write_if_due(self, enqueue: Callable[[Iterable[int]], None]) -> list[int]:
        """From 08:00 local time, send today's digest unless it has gone; return the new rows."""
        local = self.clock().astimezone(self.zone)
        if not self.recipients or local.time() < DIGEST_AT:
            return []
        return self.write(enqueue, local.date())

    def write(self, enqueue: Callable[[Iterable[int]], None], today: date) -> list[int]:
        """Write today's digest for each recipient who has not had it, then queue the rows."""
        text = self.text(today)
        key = f"digest:{today.isoformat()}"
        written = []
        for recipient in self.recipients:
            now = self.clock()
            try:
                with self.database.session() as session:
                    address = staff_address(session, recipient, now)
                    sent = session.scalar(
                        select(Message.id).where(
                            Message.address_id == address.id, Message.dedupe_key == key
                        )
                    )
                    if sent is not None:
                        continue
                    row = outbox.add(
                        session,
                        Outbound(
                            address_id=address.id,
                            channel=address.channel,
                            created_at=now,
                            kind=Kind.DIGEST,
                            body=text,
                            language="en",
                            dedupe_key=key,
                        ),
                    )
                    written.append(row.id)
            except IntegrityError:
                continue  # another consumer wrote this recipient's digest at the same moment
        enqueue(written)
        return written
