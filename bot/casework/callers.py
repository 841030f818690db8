"""How to reach someone after they called the voice line: by SMS if they called from a UK
mobile, else by a staff member calling them back (a task, bot/casework/tasks.py).

Their reference (bot/casework/voiceline.py) and later updates on their case
(bot/casework/cases.py) both go this way; the call's own address (channel `voice`) is never
sent anything.
"""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Address

# Ofcom keeps 07700 900000 to 900999 for drama: no one has them, so the demo, the simulator
# and the tests use them. phonenumbers calls them invalid; here they are mobiles.
FICTIONAL_MOBILES = "+447700900"


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
