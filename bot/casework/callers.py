"""How to reach someone after they called the voice line: by SMS if they called from a UK
mobile, else by a staff member calling them back (a task, bot/casework/tasks.py).

Their reference (bot/casework/voiceline.py) and later updates on their case
(bot/casework/cases.py) both go this way; the call's own address (channel `voice`) is never
sent anything. A caller the line could not hear is called back by staff (`call_back`).
"""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework import tasks
from bot.pipeline.consent import refuses_contact
from bot.types import Kind
from storage.models import Address, StaffTask

# Ofcom keeps 07700 900000 to 900999 for drama: no one has them, so the demo, the simulator
# and the tests use them. phonenumbers calls them invalid; here they are mobiles.
FICTIONAL_MOBILES = "+447700900"
# The task for a caller the line could not hear (bot/casework/voiceline.py).
CALL_BACK = "call-back"
# Messages for a caller with no mobile that staff tell them by phone instead (a reminder
# they asked for by key, a change to an event): the task's kind and what it asks.
CALL_INSTEAD: dict[Kind, tuple[str, str]] = {
    Kind.REMINDER: ("call-with-reminder", "Call them with the event reminder they asked for"),
    Kind.EVENT_NOTICE: ("call-about-event", "Call them: an event they asked about changed"),
}
# Why such a message was not sent (the row's reason): a task opened, or not to be told.
STAFF_CALL = "voice-staff-call"
NOT_TO_CALL = "voice-not-to-call"


def is_mobile(number: phonenumbers.PhoneNumber) -> bool:
    """Whether a parsed number is (or may be) a mobile, which can take texts."""
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def is_uk_mobile(number: str) -> bool:
    """Whether a caller's number (E.164) is a UK mobile, which can take texts."""
    if number.startswith(FICTIONAL_MOBILES):
        return True
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return parsed.country_code == 44 and is_mobile(parsed)


def sms_address(session: Session, voice: Address, now: datetime) -> Address | None:
    """The caller's mobile as an SMS address (theirs already, or new for the caller's
    contact), or None when they called from a number that cannot take texts."""
    if not is_uk_mobile(voice.address):
        return None
    found = session.scalar(
        select(Address).where(Address.channel == "sms", Address.address == voice.address)
    )
    if found is not None:
        return found
    address = Address(
        contact_id=voice.contact_id, channel="sms", address=voice.address, created_at=now
    )
    session.add(address)
    session.flush()
    return address


def phone_number(number: str) -> str | None:
    """The number a caller called from (their voice address), when we have one to call
    back (not withheld, not a SIP or app identity): E.164."""
    return number if number.startswith("+") and number[1:].isdigit() else None


def may_call(session: Session, voice: Address) -> bool:
    """Whether staff may ring this caller: we have their number, and neither they said No
    to contact nor any of their addresses with that number sent STOP."""
    number = phone_number(voice.address)
    if number is None or refuses_contact(session, voice.contact_id):
        return False
    stopped = session.scalar(
        select(Address.id)
        .where(
            Address.contact_id == voice.contact_id,
            Address.address == number,
            Address.stopped_at.is_not(None),
        )
        .limit(1)
    )
    return stopped is None


def call_back(
    session: Session, voice: Address, *, since: datetime, now: datetime, language: str
) -> StaffTask | None:
    """Open the task to call back a caller the line could not hear (no key, twice), once
    per call (none opened for them since `since`, the call's start); None when we may not
    call them. The summary holds no number: the task page reads it from their records."""
    if not may_call(session, voice):
        return None
    opened = session.scalar(
        select(StaffTask.id)
        .where(
            StaffTask.kind == CALL_BACK,
            StaffTask.contact_id == voice.contact_id,
            StaffTask.created_at >= since,
        )
        .limit(1)
    )
    if opened is not None:
        return None
    return tasks.open_task(
        session,
        CALL_BACK,
        f"Call them back: they called the voice line and pressed no key. Speak {language}.",
        now=now,
        contact_id=voice.contact_id,
    )


def call_instead(
    session: Session, kind: Kind, voice: Address, words: str, now: datetime
) -> str | None:
    """For a message to a caller we cannot text (the dispatcher's `call_instead`): open the
    task to tell them by phone and say STAFF_CALL; NOT_TO_CALL when they said No to contact
    or STOP, or their number is hidden; None for a kind staff do not call about (it fails).
    `words` are the message in English: staff say it in the caller's language."""
    found = CALL_INSTEAD.get(kind)
    if found is None:
        return None
    if not may_call(session, voice):
        return NOT_TO_CALL
    task_kind, what = found
    tasks.open_task(session, task_kind, f"{what}: {words}", now=now, contact_id=voice.contact_id)
    return STAFF_CALL
