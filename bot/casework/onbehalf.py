"""Feedback taken on someone's behalf: a phone call, a drop-in or a letter, kept like any other.

Staff write down a complaint, comment, compliment, survey answer or interest for someone who
does not text (the console's form and `kotha feedback record` both call `record`). It is kept
as the same record a conversation would write, with the channel it was taken on (`phone`,
`in_person`, `letter`: bot/types.py OFFLINE_CHANNELS), so reports and exports count it; a
complaint gets its reference and statutory deadlines; the person's answer to "may we contact
you?" is kept as a consent record in the words read to them (bot/pipeline/consent.py); and
who took it down is in the audit log.

Who the person is, for Kotha: a contact with an address. A mobile number they give is an SMS
address (the contact who already has it, when someone does), so their case updates go by
SMS through the outbox and the same hold rules. Without one, the contact gets an address on
the channel the feedback came by, which no sender serves: its updates become staff tasks to
call or write (bot/casework/cases.py, bot/casework/tasks.py). Their name, number and postal
address as given, and how they want to hear back, are kept in `taken_on_behalf`.

Everything is checked before anything is written (`check`), and written in one transaction,
so a mistake in the form leaves nothing half-saved.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.accounts import record_audit
from bot.casework.callers import FICTIONAL_MOBILES, is_mobile
from bot.casework.cases import complaint_deadlines
from bot.casework.inbox import normalise_phone
from bot.i18n import I18n
from bot.pipeline import consent
from bot.settings import Settings
from bot.types import OFFLINE_CHANNELS
from flows.library import Flows
from flows.model import CONSENT_TO_CONTACT
from flows.texts import N_
from storage.models import (
    Address,
    Contact,
    Feedback,
    Interest,
    Opportunity,
    SurveyResponse,
    TakenOnBehalf,
)
from storage.records import (
    AddressOwner,
    feedback_values,
    interest_values,
    new_reference,
    survey_response_values,
)

FEEDBACK_KINDS = ("complaint", "comment", "compliment")
KINDS = (*FEEDBACK_KINDS, "survey", "interest")
KIND_LABELS = {
    "complaint": "Complaint",
    "comment": "Comment",
    "compliment": "Compliment",
    "survey": "Survey answer",
    "interest": "Interest in taking part",
}
# How the person wants to hear what happens.
UPDATES_BY = {
    "sms": "By text message to their mobile",
    "call": "By a phone call",
    "letter": "By letter",
    "none": "They do not want updates",
}
# What an interest keeps as the way to reach them (storage/models.py Interest.contact_how).
INTEREST_CONTACT_HOW = {"sms": "sms", "call": "phone", "letter": "letter", "none": None}
# A letter's worth: longer words are summarised by staff, as a caseworker would.
MAX_WORDS = 4_000
MAX_NAME = 200
MAX_POSTAL_ADDRESS = 500
# The question read to the person about anything but a complaint (a complaint's is the one
# its flow asks, so both ways of complaining keep the same wording and version).
CONSENT_QUESTION = N_("Do you agree that we can contact you about what you told us?")


class TakeError(ValueError):
    """The record cannot be kept as given: `errors` says why, field by field, for staff."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Given:
    """What staff took down, exactly as they typed or chose it (strings, unchecked)."""

    kind: str
    channel: str
    language: str
    words: str = ""
    service: str = ""  # a feedback's service; a survey's name; an interest's opportunity
    name: str = ""
    phone: str = ""
    postal_address: str = ""
    updates_by: str = ""
    consent: str = ""  # "yes" or "no", as the person answered


@dataclass(frozen=True)
class Checked:
    """A record that passed every check, ready to be written."""

    kind: str
    channel: str
    language: str
    words: str | None
    topic: str
    name: str | None
    phone: str | None  # E.164
    mobile: bool  # the phone can take SMS
    postal_address: str | None
    updates_by: str
    consent: bool


@dataclass(frozen=True)
class Taken:
    """What was written: the record's reference (feedback only), its person and address."""

    kind: str
    reference: str | None
    contact_id: int
    address_id: int
    by_sms: bool  # updates go by SMS to their mobile
    taken_id: int


def topics(session: Session, flows: Flows, kind: str) -> dict[str, str]:
    """The choices for a kind, value -> label: a feedback's services (the complaint flow's
    question), the surveys, or the ways to take part that are open (as staff keep them)."""
    if kind in FEEDBACK_KINDS:
        return _options(flows, "complaint", "service")
    if kind == "survey":
        # The survey flows (named survey-...), as broadcasts offer them.
        names = sorted(name for name in flows.flows if name.startswith("survey-"))
        return {name: name.removeprefix("survey-").replace("-", " ").capitalize() for name in names}
    if kind == "interest":
        rows = session.execute(
            select(Opportunity.key, Opportunity.titles)
            .where(Opportunity.open.is_(True))
            .order_by(Opportunity.position, Opportunity.id)
        )
        return {key: titles.get("en") or key for key, titles in rows}
    return {}


def _options(flows: Flows, flow_id: str, save: str) -> dict[str, str]:
    found: dict[str, str] = {}
    flow = flows.flows.get(flow_id)
    for node in flow.nodes.values() if flow else ():
        if node.save == save:
            found.update({str(o.value): o.label for o in node.options if o.value})
    return found


def _text(value: str, limit: int, field: str, name: str, errors: dict[str, str]) -> str | None:
    """Trimmed text, or None when empty; an error for text too long or with control bytes."""
    text = value.strip()
    if len(text) > limit:
        errors[field] = f"{name} must be {limit:,} characters or fewer (it is {len(text):,})"
    # Control bytes (but line breaks and tabs), and the halves of characters a terminal
    # passes on from bytes that were not UTF-8, cannot be stored as text.
    elif any(
        unicodedata.category(c) == "Cs" or (unicodedata.category(c) == "Cc" and c not in "\n\r\t")
        for c in text
    ):
        errors[field] = f"{name} has characters that cannot be stored: type it again"
    return text or None


def _phone(typed: str, errors: dict[str, str]) -> tuple[str | None, bool]:
    """The number in E.164 and whether it is a mobile, or an error for a number that is not."""
    if not typed.strip():
        return None, False
    e164 = normalise_phone(typed)
    number = phonenumbers.parse(e164, None) if e164 else None
    fictional = e164 is not None and e164.startswith(FICTIONAL_MOBILES)
    if number is None or not (fictional or phonenumbers.is_valid_number(number)):
        errors["phone"] = "Enter a real phone number, like 07700 900123 or +44 20 7364 5005"
        return None, False
    return e164, fictional or is_mobile(number)


def check(session: Session, given: Given, i18n: I18n, flows: Flows) -> Checked:
    """Check everything staff took down; raise TakeError naming every field that is wrong."""
    errors: dict[str, str] = {}
    if given.kind not in KINDS:
        errors["kind"] = "Choose what they told us: " + ", ".join(KINDS)
    if given.channel not in OFFLINE_CHANNELS:
        errors["channel"] = "Choose how they told us: " + ", ".join(OFFLINE_CHANNELS)
    if given.language not in i18n.languages:
        errors["language"] = "Choose their language: " + ", ".join(i18n.languages)
    words = _text(given.words, MAX_WORDS, "words", "What they said", errors)
    if words is None and given.kind != "interest" and "words" not in errors:
        errors["words"] = "Write down what they said, in their words"
    choices = topics(session, flows, given.kind)
    topic = given.service.strip()
    if given.kind in KINDS and topic not in choices:
        what = {"survey": "the survey", "interest": "what they want to take part in"}
        errors["service"] = f"Choose {what.get(given.kind, 'the service')}: " + ", ".join(choices)
    name = _text(given.name, MAX_NAME, "name", "Their name", errors)
    postal = _text(
        given.postal_address, MAX_POSTAL_ADDRESS, "postal_address", "Their address", errors
    )
    phone, mobile = _phone(given.phone, errors)
    updates_by = given.updates_by.strip()
    if updates_by not in UPDATES_BY:
        errors["updates_by"] = "Choose how they want to hear what happens"
    if given.consent not in ("yes", "no"):
        errors["consent"] = "Say whether they agreed that we can contact them"
    elif given.consent == "no" and updates_by in UPDATES_BY and updates_by != "none":
        errors["updates_by"] = "They did not agree to be contacted: choose no updates"
    if "phone" not in errors and updates_by == "sms" and not mobile:
        errors["phone"] = (
            "To send updates by text, give their mobile number"
            if phone is None
            else "This is not a mobile number: choose updates by phone call, or give a mobile"
        )
    if "phone" not in errors and updates_by == "call" and phone is None:
        errors["phone"] = "To call them with updates, give their phone number"
    if "postal_address" not in errors and updates_by == "letter" and postal is None:
        errors["postal_address"] = "To write to them with updates, give their address"
    if errors:
        raise TakeError(errors)
    return Checked(
        kind=given.kind,
        channel=given.channel,
        language=given.language,
        words=words,
        topic=topic,
        name=name,
        phone=phone,
        mobile=mobile,
        postal_address=postal,
        updates_by=updates_by,
        consent=given.consent == "yes",
    )


def record(
    session: Session,
    given: Given,
    *,
    user_id: int | None,
    now: datetime,
    i18n: I18n,
    flows: Flows,
    settings: Settings,
) -> Taken:
    """Check and keep what staff took down, in the session's transaction; raise TakeError
    (nothing written) when anything is wrong."""
    checked = check(session, given, i18n, flows)
    address = _address(session, checked, now)
    owner = AddressOwner(address.id, address.contact_id, checked.channel)
    reference = None
    feedback_id = survey_id = interest_id = None
    if checked.kind in FEEDBACK_KINDS:
        deadline = respond_by = None
        if checked.kind == "complaint":
            deadline, respond_by = complaint_deadlines(
                now, settings.zone, settings.response_working_days
            )
        answers: dict[str, Any] = {
            "service": checked.topic,
            "text": checked.words,
            CONSENT_TO_CONTACT: checked.consent,
            "wants_callback": checked.updates_by == "call",
            "callback_language": checked.language if checked.updates_by == "call" else None,
        }
        reference = new_reference(session, checked.kind)
        feedback = Feedback(
            **feedback_values(
                reference,
                owner,
                checked.language,
                checked.kind,
                answers,
                True,
                now,
                deadline,
                respond_by,
            )
        )
        session.add(feedback)
        session.flush()
        feedback_id = feedback.id
    elif checked.kind == "survey":
        response = SurveyResponse(
            **survey_response_values(
                owner, checked.language, checked.topic, {"text": checked.words}, True, now
            )
        )
        session.add(response)
        session.flush()
        survey_id = response.id
    else:
        interest = Interest(
            **interest_values(
                owner,
                checked.language,
                {
                    "opportunity": checked.topic,
                    "contact_how": INTEREST_CONTACT_HOW[checked.updates_by],
                },
                now,
            )
        )
        session.add(interest)
        session.flush()
        interest_id = interest.id
    question = _consent_question(flows, checked.kind)
    consent.record(
        session.connection(),
        consent.Asked(
            contact_id=address.contact_id,
            address_id=address.id,
            purpose=consent.CONTACT,
            question=question,
            wording=i18n.gettext(checked.language, question),
            language=checked.language,
            channel=checked.channel,
            answer=checked.consent,
            given_at=now,
            feedback_id=feedback_id,
        ),
    )
    taken = TakenOnBehalf(
        contact_id=address.contact_id,
        feedback_id=feedback_id,
        survey_response_id=survey_id,
        interest_id=interest_id,
        channel=checked.channel,
        name=checked.name,
        phone=checked.phone,
        postal_address=checked.postal_address,
        note=checked.words if checked.kind == "interest" else None,
        updates_by=checked.updates_by,
        recorded_by=user_id,
        created_at=now,
    )
    session.add(taken)
    session.flush()
    # Who took it down, and how; never the words, the name or the number.
    record_audit(
        session,
        user_id,
        "feedback.taken",
        "feedback" if reference else "contact",
        reference or address.contact_id,
        {"kind": checked.kind, "channel": checked.channel, "updates_by": checked.updates_by},
        now=now,
    )
    return Taken(
        kind=checked.kind,
        reference=reference,
        contact_id=address.contact_id,
        address_id=address.id,
        by_sms=checked.updates_by == "sms",
        taken_id=taken.id,
    )


def _consent_question(flows: Flows, kind: str) -> str:
    """A complaint's consent question as its flow asks it; the general one for the rest."""
    if kind == "complaint":
        for node in flows["complaint"].nodes.values():
            if node.save == CONSENT_TO_CONTACT and node.ask:
                return node.ask
    return CONSENT_QUESTION


def _address(session: Session, checked: Checked, now: datetime) -> Address:
    """The person's address: their mobile's SMS address (theirs already, or new), else a new
    address on the channel they used, which nothing is ever sent to."""
    if checked.phone is not None and checked.mobile:
        address = session.scalar(
            select(Address).where(Address.channel == "sms", Address.address == checked.phone)
        )
        if address is not None:
            contact = address.contact
            if contact.staff:
                raise TakeError(
                    {"phone": "This number is a council colleague's (alerts and digests)"}
                )
            if contact.language is None:
                contact.language = checked.language
            return address
        return _new_address(session, "sms", checked.phone, checked.language, now)
    # No number to text: an address no provider could ever send from, one per record (we
    # cannot tell two callers without a mobile apart).
    token = secrets.token_hex(8)
    return _new_address(
        session, checked.channel, f"{checked.channel}:{token}", checked.language, now
    )


def _new_address(
    session: Session, channel: str, value: str, language: str, now: datetime
) -> Address:
    address = Address(
        contact=Contact(language=language, created_at=now),
        channel=channel,
        address=value,
        created_at=now,
    )
    session.add(address)
    session.flush()
    return address
