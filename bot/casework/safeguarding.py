"""Safeguarding: flag the messages that tell of harm, and alert the on-call moderators.

What a message tells of is read by the understanding, with everything else it says
(flows/understanding/harm.py: phrases by category and a classifier learnt from examples),
before the engine steps; this watcher turns a reading of harm into a flag. A flag and the
alerts it raises are written in the runner's step transaction, so an alert row exists
exactly when its flag does, and the step hands the alerts on before its own replies. Harm
outranks every other reading: a message that also opts out, or complains, is flagged all
the same, and the opt-out never holds a moderator's follow-up while the flag is open
(bot/casework/replies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, bindparam, insert, literal_column, or_, select
from sqlalchemy.orm import Session

from bot.pipeline import outbox
from bot.pipeline.effects import StepContext
from bot.pipeline.outbox import Outbound
from bot.types import Kind
from flows.understanding import Understanding
from flows.understanding.harm import CATEGORIES
from storage.db import DriverStatement
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag, is_simulated

__all__ = ["CATEGORIES", "CATEGORY_LABELS", "Safeguarding"]

CATEGORY_LABELS = {
    "emergency": "Emergency (a fall, cannot breathe, collapsed)",
    "self_harm": "Self-harm or suicide",
    "abuse": "Abuse by a carer, staff or family",
    "domestic": "Domestic abuse",
    "threat": "A threat of harm",
    "neglect": "Neglect or missed care",
    "financial": "Financial abuse",
}
# One person writing several worrying messages in a row raises a flag for each, but the
# on-call phone rings once: no new alert while an open flag for them was alerted this recently.
ALERT_QUIET_FOR = timedelta(minutes=30)
# A listed phrase of harm rings the on-call phone; the classifier alone, only when it is this
# sure. Anything less is flagged for a moderator, at the top of their queue, without a call:
# what the detector is unsure of goes to a person, but not at 3 in the morning.
ALERT_AT = 0.9
# English, GSM-7 and one SMS segment: it goes to staff, and never carries what the person
# wrote or their number (a phone's lock screen shows it to anyone nearby).
ALERT_TEXT = "Kotha safeguarding alert: a message needs review now. Open the console: {link}"
ALERT_TEXT_NO_LINK = (
    "Kotha safeguarding alert: a message needs review now. Open Moderation in the Kotha console."
)
MODERATION_PATH = "/console/moderation"


def alert_text(public_url: str | None) -> str:
    if not public_url:
        return ALERT_TEXT_NO_LINK
    return ALERT_TEXT.format(link=public_url.rstrip("/") + MODERATION_PATH)


def staff_address(session: Session, recipient: str, now: datetime) -> Address:
    """Return the address of a council colleague ("channel:address"), creating it on demand.

    An address already known (a moderator who once tried the bot from their phone) becomes
    a staff contact: the setting says it is a colleague's, so it leaves the inbox.
    """
    channel, _, value = recipient.partition(":")
    address = session.scalar(
        select(Address).where(Address.channel == channel, Address.address == value)
    )
    if address is None:
        contact = Contact(created_at=now, language="en", staff=True)
        address = Address(contact=contact, channel=channel, address=value, created_at=now)
        session.add(address)
        # Two people flagged at once may both create it: the loser's step fails here and
        # the runner steps it again, finding the address the winner created.
        session.flush()
    elif not address.contact.staff:
        address.contact.staff = True
    return address


def urgent_staff_message(address: Address, text: str, now: datetime) -> Outbound:
    """A message to a colleague that quiet hours never hold."""
    return Outbound(
        address_id=address.id,
        channel=address.channel,
        created_at=now,
        kind=Kind.SAFEGUARDING_ALERT,
        body=text,
        language="en",
        urgent=True,
    )


@dataclass(frozen=True)
class Safeguarding:
    """Flags risky inbound messages and alerts the on-call moderators, inside a step."""

    alert_to: tuple[str, ...] = ()
    public_url: str | None = None

    def watch(
        self, step: StepContext, message_id: int, understood: Understanding | None
    ) -> list[int]:
        """The step's watcher: flag the message if it tells of harm; return alert ids.

        Only a message that tells of harm costs a statement, and only one that rings the
        on-call phone loads rows. The phone rings for a listed phrase of harm (or a sure
        classifier), unless it rang for this person lately; never for a simulated
        conversation, which anyone may type into.
        """
        if understood is None or understood.safeguarding is None:
            return []
        alert = (
            understood.safeguarding_confidence >= ALERT_AT
            and bool(self.alert_to)
            and not is_simulated(step.person.address)
            and not _alerted_lately(step.session, step.person.contact_id, step.now)
        )
        step.tx.flush()  # the feedback this message's step wrote, if any, to link to
        _flag_statement(step.connection.engine).run(
            step.connection,
            {
                "flag_contact_id": step.person.contact_id,
                "flag_address_id": step.person.address_id,
                "flag_message_id": message_id,
                "flag_categories": [understood.safeguarding],
                "flag_raised_at": step.now,
                "flag_alerted_at": step.now if alert else None,
            },
        )
        if not alert:
            return []
        session = step.session
        return [
            outbox.add(
                session,
                urgent_staff_message(
                    staff_address(session, recipient, step.now), self.text, step.now
                ),
            ).id
            for recipient in self.alert_to
        ]

    @property
    def text(self) -> str:
        return alert_text(self.public_url)


_FLAG_STATEMENTS: WeakKeyDictionary[Engine, DriverStatement] = WeakKeyDictionary()


def _flag_statement(engine: Engine) -> DriverStatement:
    """The INSERT of an automatic flag on an inbound message, linked to the feedback record
    holding its words when one exists: compiled once per engine, run through the driver."""
    found = _FLAG_STATEMENTS.get(engine)
    if found is None:
        columns = SafeguardingFlag.__table__.c
        body = (
            select(Message.body)
            .where(Message.id == bindparam("flag_message_id"), Message.body != "")
            .scalar_subquery()
        )
        feedback = (
            select(Feedback.id)
            .where(
                Feedback.address_id == bindparam("flag_address_id"),
                or_(Feedback.text == body, Feedback.desired_outcome == body),
            )
            .order_by(Feedback.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        statement = insert(SafeguardingFlag).values(
            contact_id=bindparam("flag_contact_id"),
            message_id=bindparam("flag_message_id"),
            feedback_id=feedback,
            categories=bindparam("flag_categories", type_=columns.categories.type),
            source=literal_column("'automatic'"),
            raised_at=bindparam("flag_raised_at", type_=columns.raised_at.type),
            alerted_at=bindparam("flag_alerted_at", type_=columns.alerted_at.type),
            status=literal_column("'open'"),
        )
        found = _FLAG_STATEMENTS[engine] = DriverStatement(engine, statement)
    return found


def _alerted_lately(session: Session, contact_id: int, now: datetime) -> bool:
    return (
        session.scalar(
            select(SafeguardingFlag.id)
            .where(
                SafeguardingFlag.contact_id == contact_id,
                SafeguardingFlag.status == "open",
                SafeguardingFlag.alerted_at > now - ALERT_QUIET_FOR,
            )
            .limit(1)
        )
        is not None
    )
