"""Where is my feedback? A reference or STATUS, in any language, answered to its giver alone."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.casework.cases import update_status
from flows.answers import reference_in
from flows.texts import STATUS_NONE, STATUS_UNKNOWN
from storage.models import Address, Feedback
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900410"
SOMEONE_ELSE = "+447700900411"
COMPLAINT = ("hi", "1", "1", "1", "The letter about my payments was confusing.", "SKIP", "2")


def complain(bot: Bot, address: str = PERSON, consent: str = "1") -> Feedback:
    # No to news, when asked, then skip all of the monitoring questions.
    bot.conversation(address, *COMPLAINT, consent, "2", "2")
    with bot.services.database.session() as session:
        return session.scalars(select(Feedback).order_by(Feedback.id.desc())).first()  # type: ignore[return-value]


def test_a_reference_is_answered_with_its_status_and_date(bot: Bot, clock: FrozenClock) -> None:
    feedback = complain(bot)
    [answer] = bot.receive(PERSON, feedback.reference.lower().replace("-", " "))
    assert answer == (
        f"Your complaint {feedback.reference}: it has reached us and is waiting to be looked "
        "at. Our response is due by Wednesday 16 December. Send 0 for the menu."
    )
    with bot.services.database.session() as session:
        update_status(session, feedback.reference, "resolved", None, clock.now)
    [answer] = bot.receive(PERSON, f"status {feedback.reference}")
    assert answer == (
        f"Your complaint {feedback.reference}: we have finished looking into it and put "
        "things right. Send 0 for the menu."
    )


def test_status_alone_in_bengali_tells_of_their_newest_in_bengali(bot: Bot) -> None:
    # A comment, in Bengali, no to news when asked, and skip all of the monitoring.
    bot.conversation(PERSON, "hi", "2", "২", "১", "কর্মী ভালো ছিলেন।", "২", "২")
    with bot.services.database.session() as session:
        reference = session.scalars(select(Feedback.reference)).one()
    [answer] = bot.receive(PERSON, "অবস্থা")
    assert reference in answer
    assert answer.startswith("আপনার মন্তব্য")
    assert "আমাদের কাছে পৌঁছেছে" in answer


def test_someone_elses_reference_tells_nothing(bot: Bot) -> None:
    feedback = complain(bot)
    bot.conversation(SOMEONE_ELSE, "hi", "1")
    [theirs] = bot.receive(SOMEONE_ELSE, feedback.reference)
    [made_up] = bot.receive(SOMEONE_ELSE, "C-999999")
    unknown = bot.services.i18n.gettext("en", STATUS_UNKNOWN)
    assert theirs == unknown.format(reference=feedback.reference)
    assert made_up == unknown.format(reference="C-999999")
    assert "complaint" not in theirs and "reached us" not in theirs
    [none] = bot.receive(SOMEONE_ELSE, "status")
    assert none == bot.services.i18n.gettext("en", STATUS_NONE)


def test_the_same_person_on_another_channel_is_answered(bot: Bot) -> None:
    feedback = complain(bot)
    with bot.services.database.session() as session:
        sms = session.scalars(select(Address).where(Address.address == PERSON)).one()
        session.add(
            Address(
                contact_id=sms.contact_id,
                channel="whatsapp",
                address=PERSON,
                created_at=sms.created_at,
            )
        )
    # Their first message on WhatsApp: the answer, who we are (a first contact on this
    # channel, with the privacy notice), then the menu in their language.
    answer, introduction, menu = bot.receive(PERSON, feedback.reference, channel="whatsapp")
    assert introduction.startswith("This is Kotha") and "/privacy" in introduction
    assert answer.startswith(f"Your complaint {feedback.reference}:")
    assert menu.startswith("What would you like to do?")


def test_half_way_through_they_hear_it_then_the_question_again(bot: Bot) -> None:
    feedback = complain(bot)
    bot.conversation(PERSON, "0", "2")  # a comment: "Which service is it about?"
    answer, question = bot.receive(PERSON, feedback.reference)
    assert answer.startswith(f"Your complaint {feedback.reference}:")
    assert question.startswith("Which service is it about?")
    [thanks] = bot.conversation(PERSON, "1", "It was fine.")[-1:]
    assert "Thank you for your comment" in thanks


def test_someone_who_said_no_to_contact_can_still_ask(bot: Bot, clock: FrozenClock) -> None:
    feedback = complain(bot, consent="2")
    clock.advance(timedelta(days=3))
    [answer] = bot.receive(PERSON, feedback.reference)
    assert answer.startswith(f"Your complaint {feedback.reference}:")


def test_a_reference_inside_a_story_is_part_of_the_story() -> None:
    assert reference_in("C-123456") == "C-123456"
    assert reference_in("m১২৩৪৫৬") == "M-123456"
    assert reference_in("where is P 654321?") == "P-654321"
    assert reference_in("about C-123456 the carer did not come again today") is None
    assert reference_in("C-1234567") is None and reference_in("X-123456") is None


@given(st.text(max_size=200))
def test_any_text_gives_a_reference_or_none(text: str) -> None:
    found = reference_in(text)
    assert found is None or (found[0] in "CMP" and found[1] == "-" and found[2:].isdigit())
