"""What a person chose to receive in bulk: each kind of broadcast, and a monthly cap.

Broadcasts (news and invitations to have a say), "you said, we did" and surveys reach only
people who said yes to that kind (`preferences`), and at most their monthly cap of them in a
calendar month (default 4: "consultation fatigue" is a named risk). STOP still stops
everything, and a No to contact holds "you said, we did" too. The same rule is written twice
on purpose: as SQL for the fan-out and the preview (`left_out`), which choose recipients
by the hundred thousand, and per row for the dispatcher (`reason`), which decides again
when a row is sent (a choice may change between the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from bot.types import Kind
from storage.db import DriverStatement
from storage.models import Address, Consent, Contact, Message, Preference

# The column of `preferences` that says yes or no to each bulk kind.
CHOICE_OF: Mapping[Kind, str] = {
    Kind.BROADCAST: "invitations",
    Kind.YOU_SAID: "you_said",
    Kind.SURVEY: "surveys",
}
BULK = frozenset(CHOICE_OF)
DEFAULT_MONTHLY_CAP = 4
# A bulk message counts against the cap once it has left us (or is leaving).
_GONE = ("sending", "sent", "delivered", "read")


def month_start(now: datetime, zone: tzinfo) -> datetime:
    """The first moment of the calendar month `now` falls in, local time."""
    local = now.astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _received_since(contact_id: Any, since: datetime) -> Any:
    """How many bulk messages the contact's addresses got since `since` (a scalar subquery)."""
    return (
        select(func.count(Message.id))
        .join(Address, Address.id == Message.address_id)
        .where(
            Address.contact_id == contact_id,
            Message.kind.in_([str(kind) for kind in BULK]),
            Message.status.in_(_GONE),
            Message.created_at >= since,
        )
        .scalar_subquery()
    )


def _refused_contact(contact_id: Any) -> Any:
    newest = (
        select(Consent.answer)
        .where(Consent.contact_id == contact_id, Consent.purpose == "contact")
        .order_by(Consent.given_at.desc(), Consent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return newest.is_(False)


def left_out(kind: Kind, since: datetime) -> ColumnElement[str | None]:
    """Why an address (joined to its Contact, outer-joined to its Preference) would not get
    a bulk message of `kind` now, or NULL when it would: `opted-out`, `no-contact`,
    `not-chosen`, `monthly-cap`. The fan-out writes rows where it is NULL; the preview counts
    the rest by reason."""
    chosen = getattr(Preference, CHOICE_OF[kind])
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = [
        (Address.stopped_at.is_not(None), literal("opted-out", String)),
    ]
    if kind is Kind.YOU_SAID:
        whens.append((_refused_contact(Contact.id), literal("no-contact", String)))
    whens += [
        (Preference.id.is_(None) | ~func.coalesce(chosen, False), literal("not-chosen", String)),
        (
            _received_since(Contact.id, since) >= Preference.monthly_cap,
            literal("monthly-cap", String),
        ),
    ]
    return case(*whens, else_=literal(None, String))


def joined_preference() -> ColumnElement[bool]:
    """The outer join that `left_out` reads a contact's preferences through."""
    return Preference.contact_id == Contact.id


def reason(db: Session | Connection, contact_id: int, kind: Kind, since: datetime) -> str | None:
    """For one bulk row: `not-chosen`, `monthly-cap`, or None when it may go."""
    chosen = db.execute(
        select(getattr(Preference, CHOICE_OF[kind]), Preference.monthly_cap).where(
            Preference.contact_id == contact_id
        )
    ).first()
    if chosen is None or not chosen[0]:
        return "not-chosen"
    received = db.scalar(select(_received_since(contact_id, since)))
    return "monthly-cap" if (received or 0) >= chosen[1] else None


# What people tell us that earns the one question about broadcasts (flows/definitions/news.yaml).
CONTRIBUTIONS = ("feedback", "survey", "interest")
NEWS_FLOW = "news"


def ask_once(
    connection: Connection, contact_id: int, language: str, channel: str, now: datetime
) -> bool:
    """Mark the person asked about broadcasts (a row with no choice yet); False when they
    were asked, or chose, before."""
    count, _ = _asked_statement(connection.engine).run(
        connection,
        {
            "asked_contact_id": contact_id,
            "asked_language": language,
            "asked_channel": channel,
            "asked_at": now,
        },
    )
    return count == 1


_ASKED: WeakKeyDictionary[Engine, DriverStatement] = WeakKeyDictionary()


def _asked_statement(engine: Engine) -> DriverStatement:
    """A person's preferences row with no choice yet, unless they have one: one statement
    (a step asks at every contribution), compiled once per engine, run through the driver."""
    found = _ASKED.get(engine)
    if found is None:
        columns = Preference.__table__.c
        insert_ = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert_(Preference)
            .values(
                contact_id=bindparam("asked_contact_id"),
                monthly_cap=literal_column(str(DEFAULT_MONTHLY_CAP)),
                language=bindparam("asked_language", type_=columns.language.type),
                channel=bindparam("asked_channel", type_=columns.channel.type),
                updated_at=bindparam("asked_at", type_=columns.updated_at.type),
            )
            .on_conflict_do_nothing(index_elements=["contact_id"])
        )
        found = _ASKED[engine] = DriverStatement(engine, statement)
    return found
