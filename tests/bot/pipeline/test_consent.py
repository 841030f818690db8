"""A No to contact and a person's preferences hold what they cover on every path that sends.

The table: every kind of outbound message, for a person in each state of consent and of
preferences, with and without STOP, is either sent or held with a named reason by the
real dispatcher, never dropped silently.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.casework.cases import update_status
from bot.pipeline import consent, outbox
from bot.pipeline.dispatch import Recipient
from bot.pipeline.hold import NO_CONTACT_COVERS
from bot.pipeline.outbox import Outbound
from bot.services import Services
from bot.types import Kind
from storage.models import Address, Consent, Contact, Feedback, Message, Preference
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900321"
COMPLAINT = ("hi", "1", "1", "1", "Nobody came on Tuesday.", "SKIP", "2")
# What a person may have said when asked "may we contact you?", oldest first.
STATES: dict[str, tuple[bool, ...]] = {
    "never asked": (),
    "said no": (False,),
    "said no, then yes": (False, True),
}
# What they chose to receive in bulk: nothing yet, yes to all, no to all, or yes but with
# this month's cap of 1 already reached.
CHOICES = ("not asked", "yes", "no", "yes, cap reached")
TO_COLLEAGUES = {Kind.SAFEGUARDING_ALERT, Kind.DIGEST}


def expected(kind: Kind, answers: tuple[bool, ...], choice: str, stopped: bool) -> str | None:
    """The reason the row is held, or None when it is sent: the rule, written out."""
    if stopped:
        return "opted-out"
    refused = bool(answers) and not answers[-1]
    if refused and kind in (Kind.CASE_UPDATE, Kind.STAFF_REPLY, Kind.YOU_SAID, Kind.THANKS):
        return "no-contact"
    if kind in (Kind.BROADCAST, Kind.YOU_SAID, Kind.SURVEY):
        if choice in ("not asked", "no"):
            return "not-chosen"
        if choice == "yes, cap reached":
            return "monthly-cap"
    return None


def a_person(
    services: Services,
    answers: tuple[bool, ...],
    stopped: bool,
    staff: bool,
    choice: str = "not asked",
) -> int:
    """An SMS address whose person gave `answers` (oldest first), one minute apart."""
    now = services.clock()
    with services.database.session() as session:
        address = Address(
            contact=Contact(language="en", created_at=now, staff=staff),
            channel="sms",
            address=PERSON,
            created_at=now,
            last_inbound_at=now,
            stopped_at=now if stopped else None,
            stopped_by="person" if stopped else None,
        )
        session.add(address)
        session.flush()
        for minutes, answer in enumerate(answers):
            consent.record(
                session.connection(),
                consent.Asked(
                    contact_id=address.contact_id,
                    address_id=address.id,
                    purpose=consent.CONTACT,
                    question="Do you agree that we can contact you about your complaint?",
                    wording="Do you agree that we can contact you about your complaint?",
                    language="en",
                    channel="sms",
                    answer=answer,
                    given_at=now - timedelta(minutes=len(answers) - minutes),
                ),
            )
        if choice != "not asked":
            said = choice != "no"
            session.add(
                Preference(
                    contact_id=address.contact_id,
                    invitations=said,
                    you_said=said,
                    surveys=said,
                    monthly_cap=1 if choice == "yes, cap reached" else 4,
                    language="en",
                    channel="sms",
                    updated_at=now,
                )
            )
        if choice == "yes, cap reached":
            # This month's one broadcast, sent an hour ago.
            outbox.add(
                session,
                Outbound(
                    address.id,
                    "sms",
                    now - timedelta(hours=1),
                    Kind.BROADCAST,
                    body="Earlier news.",
                    language="en",
                ),
            ).status = "delivered"
        return address.id


# STOP outranks every other state: shown with each kind in the states that let most through
# and least, rather than in all twelve.
CASES = [
    *((kind, state, choice, False) for kind in Kind for state in STATES for choice in CHOICES),
    *(
        (kind, state, choice, True)
        for kind in Kind
        for state, choice in (("said no, then yes", "yes"), ("said no", "no"))
    ),
]


@pytest.mark.parametrize(("kind", "state", "choice", "stopped"), CASES)
def test_every_kind_is_sent_or_held_with_its_reason(
    services: Services, kind: Kind, state: str, choice: str, stopped: bool
) -> None:
    answers = STATES[state]
    address_id = a_person(services, answers, stopped, kind in TO_COLLEAGUES, choice)
    with services.database.session() as session:
        row = outbox.add(
            session,
            Outbound(
                address_id=address_id,
                channel="sms",
                created_at=services.clock(),
                kind=kind,
                body="A message.",
                language="en",
                is_reply=kind is Kind.REPLY,
            ),
        )
        row_id = row.id

    outcome = services.dispatcher.deliver(row_id)

    reason = expected(kind, answers, choice, stopped)
    sent = services.sender.sent  # type: ignore[attr-defined]
    with services.database.session() as session:
        stored = session.get_one(Message, row_id)
        assert stored.kind == kind
        if reason is None:
            assert outcome.status == stored.status == "delivered"
            assert [message.id for message in sent] == [row_id]
        else:
            assert (outcome.status, outcome.reason) == ("held", reason)
            assert (stored.status, stored.reason) == ("held", reason)
            assert sent == []


def test_the_rule_covers_exactly_what_the_issue_names() -> None:
    # Case updates, replies from staff, "you said, we did"; never the bot's own answers.
    # And a thank-you for coming to an event: reaching out that they did not ask for.
    assert NO_CONTACT_COVERS == {Kind.CASE_UPDATE, Kind.STAFF_REPLY, Kind.YOU_SAID, Kind.THANKS}


@pytest.mark.parametrize("kind", sorted(NO_CONTACT_COVERS))
def test_a_step_never_claims_at_once_what_a_no_covers(services: Services, kind: Kind) -> None:
    """A covered kind always waits for the queue's claim, which asks about the person's No."""
    recipient = Recipient(PERSON, "sms", "en", stopped=False, last_inbound_at=services.clock())
    message = Outbound(1, "sms", services.clock(), kind, body="A message.", language="en")
    assert services.dispatcher.claim_new(recipient, message, services.clock()) is None
    reply = Outbound(1, "sms", services.clock(), Kind.REPLY, body="Hi.", is_reply=True)
    assert services.dispatcher.claim_new(recipient, reply, services.clock()) is not None


def test_a_no_is_kept_as_asked_and_answered_truthfully(bot: Bot, clock: FrozenClock) -> None:
    replies = bot.conversation(PERSON, *COMPLAINT, "2")

    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        kept = session.scalars(select(Consent)).one()
    # Then, their first contribution made, the one question about broadcasts.
    assert replies[-1].startswith("May we send you news of changes")
    assert replies[-2] == (
        f"Thank you. We will not contact you. Your reference is {feedback.reference}: "
        "send it to us any time to hear where it is. Send 0 for the menu."
    )
    assert "contact you by" not in replies[-2]
    assert (kept.purpose, kept.answer, kept.feedback_id) == ("contact", False, feedback.id)
    assert kept.question == "Do you agree that we can contact you about your complaint?"
    assert (kept.language, kept.channel, kept.given_at) == ("en", "sms", clock.now)
    assert kept.wording == kept.question
    assert kept.wording_version == consent.wording_version(kept.question)
    assert kept.contact_id == feedback.contact_id and kept.address_id == feedback.address_id


def test_a_yes_is_kept_too_and_promised_a_date(bot: Bot) -> None:
    replies = bot.conversation(PERSON, *COMPLAINT, "1")
    with bot.services.database.session() as session:
        kept = session.scalars(select(Consent)).one()
    assert kept.answer is True
    assert "We will contact you by" in replies[-2]


def test_the_words_they_read_are_kept_in_their_language(bot: Bot) -> None:
    bot.conversation(PERSON, "hi", "2", "১", "১", "কেউ আসেনি।", "বাদ", "২", "২")
    with bot.services.database.session() as session:
        kept = session.scalars(select(Consent)).one()
        reference = session.scalars(select(Feedback.reference)).one()
    question = "Do you agree that we can contact you about your complaint?"
    assert (kept.language, kept.answer) == ("bn", False)
    assert kept.wording == bot.services.i18n.gettext("bn", question) != question
    assert kept.wording_version == consent.wording_version(kept.wording)
    assert reference in bot.replies[-2]
    no_contact = bot.services.flows["complaint"].nodes["done"].say_no_contact or ""
    assert bot.replies[-2].startswith(bot.services.i18n.gettext("bn", no_contact)[:20])


def test_a_later_yes_lets_case_updates_through_again(bot: Bot, clock: FrozenClock) -> None:
    services = bot.services
    bot.conversation(PERSON, *COMPLAINT, "2")
    with services.database.session() as session:
        first = session.scalars(select(Feedback.reference)).one()
        held = update_status(session, first, "acknowledged", None, clock.now)
        assert held is not None
        held_id = held.id
    services.queue.enqueue([held_id])
    with services.database.session() as session:
        assert session.get_one(Message, held_id).reason == "no-contact"

    clock.advance(timedelta(days=1))
    bot.conversation(PERSON, "0", *COMPLAINT[2:], "1")  # another complaint: yes this time
    with services.database.session() as session:
        update = update_status(session, first, "in_progress", None, clock.now)
        assert update is not None
        update_id = update.id
    services.queue.enqueue([update_id])
    with services.database.session() as session:
        assert session.get_one(Message, update_id).status == "delivered"
        # What was held while they said no stays held: it was not theirs to receive then.
        assert session.get_one(Message, held_id).status == "held"


def test_a_safeguarding_follow_up_from_staff_still_reaches_someone_who_said_no(
    services: Services,
) -> None:
    """Harm outranks the No as it outranks STOP: a staff reply while a flag is open goes."""
    address_id = a_person(services, (False,), stopped=False, staff=False)
    with services.database.session() as session:
        rows = [
            outbox.add(
                session,
                Outbound(
                    address_id,
                    "sms",
                    services.clock(),
                    Kind.STAFF_REPLY,
                    body="Are you safe?",
                    language="en",
                    even_if_stopped=follow_up,
                ),
            ).id
            for follow_up in (True, False)
        ]
    outcomes = [services.dispatcher.deliver(row_id) for row_id in rows]
    assert [(o.status, o.reason) for o in outcomes] == [
        ("delivered", None),
        ("held", "no-contact"),
    ]
