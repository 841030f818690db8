"""The engine meeting people's own words: sentences, opt-outs, returns, old buttons, media.

Each test steps the pure engine as the runner does, with what the understanding layer made
of the message (flows/understanding), through the shipped flows.
"""

from __future__ import annotations

import pytest

from flows.effects import OptOut, SetLanguage, Submit
from flows.engine import CONFIRM, Input, State, Transition, idle, question_of, step
from flows.library import LANGUAGE_FLOW, RSVP_FLOW
from flows.texts import (
    CARRY_ON,
    CONFIRM_STOP,
    HELP,
    INTRODUCTION,
    KEPT,
    MEDIA_KEPT,
    NOT_A_CHOICE,
    OLD_BUTTON,
    PRIVACY_LINK,
    SHARED_NOT_READ,
    SOUNDS_LIKE,
    STILL_HERE,
    STOPPED,
)
from flows.understanding import understand
from tests.flows.test_engine import FLOWS, MENU_ASK, VOICE_NOTE, at, say, walk

WHAT_HAPPENED = FLOWS["complaint"].nodes["what_happened"].ask
SERVICE_ASK = FLOWS["complaint"].nodes["service"].ask
LUNCH = (
    "My mother was left without lunch again today. The carer was supposed to come at twelve "
    "and nobody came, she waited in her chair all afternoon and when I rang the agency they "
    "said there was no visit on the rota. She is 88 and diabetic and she cannot make food "
    "herself. This is the third time this month and nobody has called us back about it. "
) * 2


def texts(transition: Transition) -> list[str]:
    return [said.text for said in transition.say]


def leads(transition: Transition) -> list[str | None]:
    return [said.lead for said in transition.say]


def new_person(text: str, **extra: object) -> Transition:
    """A first message from someone whose language is not known yet."""
    return step(FLOWS, None, Input(text=text, understood=understand(text), **extra))  # type: ignore[arg-type]


# -- saying it in their own words ---------------------------------------------------------------


def test_a_sentence_at_the_menu_starts_what_it_asks_for() -> None:
    complaint = say("i want to complain about my carer")
    assert complaint.state == State("complaint", "service")
    # A first contact in a known language is introduced first (whose service, LANGUAGE, STOP,
    # the privacy notice).
    assert texts(complaint) == [INTRODUCTION, SERVICE_ASK]
    survey = say("can i do the survey")
    assert survey.state.flow == "survey-have-your-say"


def test_a_story_is_checked_once_then_kept_as_what_happened() -> None:
    text = "i want to complain about my carer she is always late and rude to my mum"
    asked = say(text)
    assert asked.state.flow == CONFIRM
    assert texts(asked) == [INTRODUCTION, SOUNDS_LIKE["complaint"]]
    assert asked.say[-1].question == question_of(asked.state)
    service = say("yes", asked.state)
    assert service.state == State("complaint", "service", {"text": text})
    # The story answered "what happened?": the next question is the one after it.
    wanted = say("1", service.state)
    assert wanted.state.node == "wanted"
    assert WHAT_HAPPENED not in texts(wanted)


def test_no_to_the_check_shows_the_menu_and_keeps_nothing() -> None:
    asked = say("the day centre staff were brilliant with my dad thank you so much")
    assert texts(asked) == [INTRODUCTION, SOUNDS_LIKE["compliment"]]
    menu = say("2", asked.state)
    assert menu.state == idle() and texts(menu) == [MENU_ASK] and not menu.effects


def test_a_long_first_message_in_bengali_becomes_the_complaint() -> None:
    story = "আমার মায়ের কেয়ারার আজ আসেনি, মা সারাদিন না খেয়ে ছিলেন, আমি অভিযোগ করতে চাই"
    first = new_person(story)
    assert SetLanguage("bn") in first.effects
    assert texts(first) == [INTRODUCTION, SOUNDS_LIKE["complaint"]]
    kept = step(FLOWS, first.state, Input("হ্যাঁ", language="bn", understood=understand("হ্যাঁ")))
    assert kept.state.answers == {"text": story}


def test_the_692_character_story_is_not_asked_for_again() -> None:
    first = new_person(LUNCH)
    assert SetLanguage("en") in first.effects and SOUNDS_LIKE["complaint"] in texts(first)
    yes = step(FLOWS, first.state, Input("yes", language="en", understood=understand("yes")))
    state = walk(yes.state, "1", "skip", "no", "yes")[-1]
    [submitted] = [effect for effect in state.effects if isinstance(effect, Submit)]
    assert submitted.answers["text"] == LUNCH and submitted.complete


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ami complain korte chai", "syl-Latn"),
        ("আমি অভিযোগ করতে চাই", "bn"),
        ("আমি নালিশ করতাম চাই", "syl"),
    ],
)
def test_the_language_comes_from_the_words(text: str, language: str) -> None:
    first = new_person(text)
    assert SetLanguage(language) in first.effects
    # Told whose service this is, how to change language and stop, before the question.
    assert texts(first) == [INTRODUCTION, SERVICE_ASK]


def test_a_greeting_alone_still_asks_the_language() -> None:
    first = new_person("salam")
    assert first.state.flow == LANGUAGE_FLOW and not first.effects


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("bangla", "bn"),
        ("Bengali", "bn"),
        ("sylheti", "syl-Latn"),
        ("সিলেটি", "syl"),
        ("বাংলা", "bn"),
        ("english", "en"),
    ],
)
def test_language_names_work_at_the_language_question(text: str, language: str) -> None:
    asked = new_person("hello")
    chosen = step(FLOWS, asked.state, Input(text, understood=understand(text)))
    assert chosen.effects == (SetLanguage(language),)
    assert chosen.state == idle()


# -- answers in sentences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "node"),
    [("yes I will come", "coming"), ("no thanks", "not_coming"), ("হ্যাঁ আসব", "coming")],
)
def test_a_reminder_is_answered_in_a_sentence(text: str, node: str) -> None:
    asked = State(RSVP_FLOW, "answer", {"_event": 7})
    answered = say(text, asked)
    [submitted] = [effect for effect in answered.effects if isinstance(effect, Submit)]
    assert submitted.answers["answer"] is (node == "coming")


@pytest.mark.parametrize(
    ("text", "service"),
    [("I think 2", "day_centre"), ("the day centre", "day_centre"), ("home care", "home_care")],
)
def test_an_option_is_picked_by_its_words(text: str, service: str) -> None:
    answered = say(text, at("complaint"))
    assert answered.state.answers["service"] == service


# -- opting out in any words ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Stop please",
        "please stop texting me",
        "Stop messaging me",
        "unsubscribe me",
        "don't message me again",
        "বন্ধ করো",
        "আর মেসেজ পাঠাবেন না",
        "ar message dio na",
    ],
)
@pytest.mark.parametrize("where", ["menu", "half-way"])
def test_an_opt_out_in_any_words_stops_messages(text: str, where: str) -> None:
    state = idle() if where == "menu" else at("complaint", "1")
    stopped = say(text, state)
    assert OptOut() in stopped.effects and STOPPED in texts(stopped)


def test_a_message_that_only_mentions_stopping_does_not_stop() -> None:
    answered = say("the carer won't stop shouting at my dad", at("complaint", "1"))
    assert not any(isinstance(effect, OptOut) for effect in answered.effects)
    assert answered.state.answers["text"] == "the carer won't stop shouting at my dad"


def test_an_unsure_opt_out_asks_once_and_yes_stops() -> None:
    where = at("complaint", "1")
    asked = say("বন্ধ করেন না", where)
    assert asked.state.flow == CONFIRM and texts(asked) == [CONFIRM_STOP]
    assert asked.say[0].even_if_stopped
    assert OptOut() in say("yes", asked.state).effects
    # No: back where they were, the question asked again.
    kept = say("no", asked.state)
    assert kept.state == where and leads(kept) == [STILL_HERE]


# -- replies that know what they answer -------------------------------------------------------


def test_help_half_way_gives_help_then_the_question_again() -> None:
    where = at("complaint", "1")
    helped = say("HELP", where)
    assert texts(helped) == [HELP, PRIVACY_LINK, WHAT_HAPPENED] and helped.state == where
    # At a fixed question, asking in a sentence works too; at "what happened?" a sentence
    # is the answer, whatever it says.
    service = at("complaint")
    asked = say("i dont understand what to do", service)
    assert texts(asked) == [HELP, PRIVACY_LINK, SERVICE_ASK] and asked.state == service
    assert say("i dont understand what to do", where).state.answers["text"]


def test_an_old_button_is_told_and_shown_the_question_now() -> None:
    where = at("complaint", "1")
    pressed = step(
        FLOWS,
        where,
        Input("2", language="en", understood=understand("2"), question="complaint/service"),
    )
    assert pressed.state == where
    assert leads(pressed) == [OLD_BUTTON] and texts(pressed) == [WHAT_HAPPENED]
    current = step(
        FLOWS,
        where,
        Input("2", language="en", understood=understand("2"), question=question_of(where)),
    )
    assert current.state.answers["text"] == "2"


def test_hi_after_a_long_gap_asks_to_carry_on_rather_than_being_the_complaint() -> None:
    where = at("complaint", "1")

    def back(text: str, state: State) -> Transition:
        return step(
            FLOWS,
            state,
            Input(text, language="en", understood=understand(text), returning=True),
        )

    asked = back("Hi", where)
    assert texts(asked) == [CARRY_ON] and "text" not in asked.state.answers
    carried = say("carry on", asked.state)
    assert carried.state == where and texts(carried) == [WHAT_HAPPENED]
    again = say("2", asked.state)
    assert again.state == idle() and texts(again) == [KEPT, MENU_ASK]
    assert [e.complete for e in again.effects if isinstance(e, Submit)] == [False]
    # A real answer after the gap is taken as one.
    answered = back("the carer did not come on monday", where)
    assert answered.state.answers["text"] == "the carer did not come on monday"


def test_walking_away_from_a_half_finished_complaint_says_its_reference() -> None:
    left = say("menu", at("complaint", "1", "nobody came today"))
    assert texts(left)[0] == KEPT and left.say[0].even_if_stopped
    [kept] = [effect for effect in left.effects if isinstance(effect, Submit)]
    assert kept.answers["text"] == "nobody came today" and not kept.complete


@pytest.mark.parametrize("text", ["/start", "start"])
def test_start_when_not_stopped_is_a_first_greeting(text: str) -> None:
    first = new_person(text)
    assert first.state == State(LANGUAGE_FLOW, "choose")
    known = step(FLOWS, None, Input(text, language="en", understood=understand(text)))
    assert texts(known) == [INTRODUCTION, MENU_ASK]


# -- media anywhere ---------------------------------------------------------------------------


def test_a_voice_note_at_a_menu_is_kept_and_the_question_asked_again() -> None:
    for state in (idle(), at("complaint")):
        heard = step(FLOWS, state, Input("", media=(VOICE_NOTE,), language="en"))
        assert heard.state == state and leads(heard) == [MEDIA_KEPT]
        assert NOT_A_CHOICE not in leads(heard)


@pytest.mark.parametrize(
    "shared",
    [
        {"url": "telegram-file:CAACAgQ", "content_type": "sticker"},
        {"url": "geo:51.5155,-0.0599", "content_type": "location"},
        {"url": "tel:+447700900123", "content_type": "contact"},
    ],
)
def test_a_sticker_location_or_contact_is_kept_but_does_not_answer_what_happened(
    shared: dict[str, str],
) -> None:
    where = at("complaint", "1")
    heard = step(FLOWS, where, Input("", media=(shared,), language="en"))
    # Told what the bot can read, then asked again.
    assert heard.state == where and leads(heard) == [SHARED_NOT_READ]
    assert texts(heard) == [WHAT_HAPPENED]
    # A voice note is the answer.
    answered = step(FLOWS, where, Input("", media=(VOICE_NOTE,), language="en"))
    assert answered.state.answers["text_media"] == [VOICE_NOTE]
