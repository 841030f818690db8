"""Access and communication needs: asked once after a yes or an interest, in every language,
within the SMS budget; changed with ACCESS; read by staff; carried by reminders."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.casework import tasks
from bot.i18n import I18n, load_languages
from bot.outreach import access, opportunities
from bot.outreach.consultations import EventDetails, create_event, subscribe
from bot.services import Services
from bot.settings import FLOWS_DIR, LOCALES_DIR
from bot.sms import sms_cost
from flows.answers import pick_options
from flows.library import load_flows
from storage.models import AccessNeed, Address, Contact, Rsvp
from tests.conftest import Bot

LANGUAGES = load_languages(LOCALES_DIR)
BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")
# What each language's reader sees first in the question, and the keyword they change it by.
QUESTION = {
    "en": "Need any of these?",
    "bn": "এগুলোর কোনোটি কি আপনার লাগবে?",
    "syl": "ইগুইনর কোনটা আফনার লাগবো নি?",
    "syl-Latn": "Egunor konta lagbo ni?",
    "syl-Sylo": "ꠁꠉꠥꠁꠘꠞ",
}
KEYWORD = {"en": "ACCESS", "bn": "সুবিধা", "syl": "সুবিধা", "syl-Latn": "shubidha", "syl-Sylo": "ꠡꠥꠛꠤꠗꠣ"}
# Syloti Nagri is read on chat channels; by SMS it is written in Bengali script.
CHANNEL = {"syl-Sylo": "telegram"}
_phones = itertools.count(100)


def digits(language: str, text: str) -> str:
    """Numbers as a reader of `language` types them: Bengali script with Bengali digits."""
    return text.translate(BENGALI_DIGITS) if language in ("bn", "syl", "syl-Sylo") else text


def a_subscriber(services: Services, language: str = "en") -> tuple[str, str]:
    """Someone who asked for reminders of every event: their address and channel."""
    phone = f"+4477009{next(_phones):05d}"
    channel = CHANNEL.get(language, "sms")
    address_text = phone if channel == "sms" else str(next(_phones) * 1000)
    now = services.clock()
    with services.database.session() as session:
        address = Address(
            contact=Contact(language=language, created_at=now),
            channel=channel,
            address=address_text,
            created_at=now,
            last_inbound_at=now,
        )
        session.add(address)
        session.flush()
        subscribe(session, address, None, now)
    return address_text, channel


def an_event(services: Services, days: int = 3, **changes: object) -> int:
    start = services.clock() + timedelta(days=days)
    values: dict[str, object] = {
        "titles": {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
        "start_at": start,
        "end_at": start + timedelta(hours=2),
        "place": "Town Hall, 160 Whitechapel Road",
        **changes,
    }
    with services.database.session() as session:
        return create_event(session, EventDetails(**values), None, services.clock()).id  # type: ignore[arg-type]


def needs_of(services: Services, address: str) -> access.AccessNeeds | None:
    with services.database.session() as session:
        contact_id = session.scalar(select(Address.contact_id).where(Address.address == address))
        assert contact_id is not None
        return access.needs_for_contacts(session, [contact_id]).get(contact_id)


def within_budget(language: str, channel: str, replies: list[str]) -> None:
    if channel != "sms":
        return
    for reply in replies:
        assert sms_cost(reply).segments <= LANGUAGES[language].segments, reply


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_a_yes_to_an_event_asks_the_needs_once_in_every_language(
    bot: Bot, services: Services, language: str
) -> None:
    address, channel = a_subscriber(services, language)
    an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1

    replies = bot.receive(address, digits(language, "1"), channel)
    assert QUESTION[language] in replies[-1]
    # Several numbers at once, the reader's digits: step-free and an interpreter.
    asked = bot.receive(address, digits(language, "1 3"), channel)
    done = bot.receive(address, digits(language, "3"), channel)  # British Sign Language
    within_budget(language, channel, [*replies, *asked, *done])
    needs = needs_of(services, address)
    assert needs is not None
    assert (needs.needs, needs.interpreter_language) == (("step_free", "interpreter"), "bsl")
    assert access.summary(needs) == "Step-free access; Interpreter (British Sign Language)"
    # Thanked, told the keyword, then (never asked before) the question about broadcasts.
    assert "ACCESS" in done[0] and len(done) == 2

    # No to news, then the monitoring questions' "skip all" (each asked once).
    bot.receive(address, digits(language, "2"), channel)
    assert len(bot.receive(address, digits(language, "2"), channel)) == 1
    # The next event: a yes is thanked, and nothing more is asked.
    an_event(services, days=4)
    assert services.reminders.run() == 1
    again = bot.receive(address, digits(language, "1"), channel)
    assert len(again) == 1 and QUESTION[language] not in again[0]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_keyword_changes_the_needs_in_every_language(
    bot: Bot, services: Services, language: str
) -> None:
    address, channel = a_subscriber(services, language)
    with services.database.session() as session:
        contact_id = session.scalar(select(Address.contact_id).where(Address.address == address))
        assert contact_id is not None
        access.save(session, contact_id, ["interpreter", "companion"], "syl", services.clock())

    replies = bot.receive(address, KEYWORD[language], channel)
    assert QUESTION[language] in replies[-1]
    replies += bot.receive(address, digits(language, "2"), channel)  # a hearing loop only
    within_budget(language, channel, replies)
    needs = needs_of(services, address)
    assert needs is not None
    assert (needs.needs, needs.interpreter_language) == (("hearing_loop",), None)


def test_none_is_an_answer_and_is_not_asked_again(bot: Bot, services: Services) -> None:
    address, _ = a_subscriber(services)
    an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    bot.receive(address, "yes")
    bot.receive(address, "6")
    needs = needs_of(services, address)
    assert needs is not None and needs.none and access.summary(needs) == "None"
    bot.receive(address, "2")  # no to news
    bot.receive(address, "2")  # skip the monitoring questions
    an_event(services, days=4)
    services.reminders.run()
    assert len(bot.receive(address, "1")) == 1


def test_a_no_to_an_event_asks_nothing(bot: Bot, services: Services) -> None:
    address, _ = a_subscriber(services)
    an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    [reply] = bot.receive(address, "2")
    assert "Thank you for letting us know" in reply
    assert needs_of(services, address) is None


def test_an_interest_is_followed_by_the_needs_then_the_news_question(bot: Bot) -> None:
    with bot.services.database.session() as session:
        opportunities.seed(session, bot.services.clock())
    phone = "+447700900777"
    replies = bot.conversation(phone, "hi", "1", "5", "1", "1", "1", "2", "5")
    assert "We will contact you about taking part" in replies[-2]
    assert replies[-1].startswith("Need any of these?")
    # Kept before the question about broadcasts, which follows the answer (a first
    # contribution's one question).
    after = bot.receive(phone, "4 5")
    assert after[0].startswith("Thank you, we have noted this. Send ACCESS")
    assert after[1].startswith("May we send you news")
    needs = needs_of(bot.services, phone)
    assert needs is not None and needs.needs == ("large_print", "companion")


def test_answers_that_are_no_choice_are_asked_again_and_lose_nothing(
    bot: Bot, services: Services
) -> None:
    address, _ = a_subscriber(services)
    an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    bot.receive(address, "1")
    for wrong in ("7", "1 9", "0.5", "🙂", "x" * 5000):
        [reply] = bot.receive(address, wrong)
        assert reply.startswith("Numbers only, please.\nNeed any of these?"), wrong
        assert needs_of(services, address) is None
    # "135" on a keypad: one, three and five; then another language, named in full.
    assert bot.receive(address, "135")[-1].startswith("An interpreter for which language?")
    assert bot.receive(address, "4") == ["Which language? Please write its name."]
    bot.receive(address, "Polish " + "and more " * 20)
    needs = needs_of(services, address)
    assert needs is not None and needs.needs == ("step_free", "interpreter", "companion")
    assert needs.interpreter_language is not None
    assert needs.interpreter_language.startswith("Polish")
    assert len(needs.interpreter_language) == access.MAX_LANGUAGE


def test_an_unanswered_question_ends_quietly_and_a_reminder_asks_over_it(
    bot: Bot, services: Services
) -> None:
    address, _ = a_subscriber(services)
    first = an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    bot.receive(address, "1")  # yes: then the needs question, left unanswered
    second = an_event(services, days=2)
    assert services.reminders.run() >= 1
    assert bot.replies[-1].startswith("Reminder: ")
    assert bot.replies[-1].endswith("Will you come?\n1 Yes\n2 No")
    bot.receive(address, "2")
    with services.database.session() as session:
        answers = {
            row.event_id: row.answer for row in session.execute(select(Rsvp.event_id, Rsvp.answer))
        }
    assert answers == {first: "yes", second: "no"}


FLOWS = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_reply_picks_options_within_the_menu_or_none(text: str) -> None:
    picked = pick_options(FLOWS, "access/needs", text)
    if picked is not None:
        assert picked and len(set(picked)) == len(picked)
        assert all(0 <= index < 6 for index in picked)


def test_several_numbers_read_in_any_usual_way() -> None:
    for text, expected in (
        ("1 3", (0, 2)),
        ("1,3", (0, 2)),
        ("১ ও ৩", (0, 2)),
        ("3 and 1", (2, 0)),
        ("3 3", (2,)),
        ("135", (0, 2, 4)),
        ("hearing loop", (1,)),
    ):
        assert pick_options(FLOWS, "access/needs", text) == expected, text
    for text in ("", "7", "1 7", "12 or so", "-1"):
        assert pick_options(FLOWS, "access/needs", text) is None, text


def test_staff_read_the_needs_of_those_coming_and_the_interpreter_requests(
    bot: Bot, services: Services
) -> None:
    event_id = an_event(services)
    people = [a_subscriber(services)[0] for _ in range(3)]
    assert services.reminders is not None and services.reminders.run() == 3
    bot.receive(people[0], "1")
    bot.receive(people[0], "3")
    bot.receive(people[0], "2")  # Sylheti
    bot.receive(people[1], "1")
    bot.receive(people[1], "1 2")
    bot.receive(people[2], "1")  # coming, needs not told
    with services.database.session() as session:
        needs = access.event_needs(session, event_id)
        assert [needs.count(code) for code in access.NEEDS] == [1, 1, 1, 0, 0]
        assert needs.not_asked == 1 and len(needs.coming) == 3
        [asked] = access.interpreter_requests(session, event_id)
        assert (asked.language, asked.event_id, asked.event_title) == (
            "Sylheti",
            event_id,
            "Carers forum",
        )
        assert asked.who.endswith(people[0][-3:]) and people[0] not in asked.who
        assert access.interpreter_requests(session, 999) == []
        ids = list(session.scalars(select(Contact.id)))
        found = access.needs_for_contacts(session, ids)
        assert len(found) == 2 and access.summary(None) == "Not asked yet"
        assert session.scalar(select(func.count()).select_from(AccessNeed)) == 2


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "syl-Sylo"])
def test_reminders_carry_the_venue_access_within_each_budget(
    bot: Bot, services: Services, language: str
) -> None:
    address, _ = a_subscriber(services, language)
    an_event(
        services,
        step_free=True,
        hearing_loop=True,
        accessible_toilet=True,
        access_notes="Lift at the side door",
        place="Town Hall",
    )
    assert services.reminders is not None and services.reminders.run() == 1
    reminder = bot.replies[-1]
    # As much as fits: in English the ticked details (the note would make two texts).
    assert sms_cost(reminder).segments <= LANGUAGES[language].segments
    expected = {
        "en": "Access: Step-free access, Hearing loop, Accessible toilet. Will you come?",
        "bn": "সুবিধা: ",
        "syl": "সুবিধা: ",
        "syl-Latn": "Shubidha: ",
    }
    assert expected[language] in reminder


def test_access_details_that_do_not_fit_are_left_off(bot: Bot, services: Services) -> None:
    a_subscriber(services)
    details = {"step_free": True, "access_notes": "Lift at the side door"}
    an_event(services, place="Town Hall", **details)
    an_event(services, days=2, titles={"en": "Day centre forum"}, **details)
    long_title = "Partnership board for carers and the people they care for"
    an_event(services, days=4, titles={"en": long_title}, **details)
    assert services.reminders is not None and services.reminders.run() == 3
    sent = bot.replies[-3:]
    [everything] = [reply for reply in sent if "Carers forum" in reply]
    [ticked] = [reply for reply in sent if "Day centre forum" in reply]
    [nothing] = [reply for reply in sent if "Partnership board" in reply]
    assert "Access: Step-free access, Lift at the side door. Will you come?" in everything
    # A longer place leaves no room for the note; a long title none for either.
    assert "Access: Step-free access. Will you come?" in ticked
    assert "Access" not in nothing
    assert all(sms_cost(reply).segments == 1 for reply in sent)


def test_the_interpreter_requests_one_person_makes(bot: Bot, services: Services) -> None:
    address, _ = a_subscriber(services)
    coming_to = an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    bot.receive(address, "1")
    with services.database.session() as session:
        contact_id = session.scalars(
            select(Address.contact_id).where(Address.address == address)
        ).one()
        assert access.requests_for_contact(session, contact_id, services.clock()) == []
    bot.receive(address, "3")
    bot.receive(address, "1")  # Bengali
    with services.database.session() as session:
        [asked] = access.requests_for_contact(session, contact_id, services.clock())
        assert (asked.event_id, asked.language) == (coming_to, "Bengali")
        later = services.clock() + timedelta(days=30)
        assert access.requests_for_contact(session, contact_id, later) == []


def test_an_interpreter_request_reaches_staff_as_a_task_once(bot: Bot, services: Services) -> None:
    address, _ = a_subscriber(services)
    first = an_event(services)
    assert services.reminders is not None and services.reminders.run() == 1
    bot.receive(address, "1")  # yes to the first event
    bot.receive(address, "3")  # an interpreter
    bot.receive(address, "1")  # in Bengali
    with services.database.session() as session:
        [task] = tasks.open_tasks(session, kind="book-interpreter")
        assert task.event_id == first and task.contact_id is not None
        assert task.summary.startswith("Book a Bengali interpreter for Carers forum on ")
        assert address not in task.summary and "+44" not in task.summary
        tasks.close_task(session, task.id, user_id=None, now=services.clock())
    # Telling the needs again, or another event's reminder, does not open it again; a second
    # event they come to opens its own.
    bot.receive(address, "ACCESS")
    bot.receive(address, "3")
    bot.receive(address, "1")
    second = an_event(services, days=5)
    assert services.reminders.run() == 1
    bot.receive(address, "1")
    with services.database.session() as session:
        [opened] = tasks.open_tasks(session, kind="book-interpreter")
        assert opened.event_id == second
