"""The pure engine walked through the shipped flows: no database, no clock, only steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from bot.i18n import I18n
from bot.outreach.opportunities import LIST_NAME, SmsBudget, listed_from_seed
from bot.settings import FLOWS_DIR, LOCALES_DIR
from flows.answers import named_language
from flows.effects import OptIn, OptOut, SetLanguage, Submit
from flows.engine import Input, State, Transition, idle, step
from flows.library import KEYWORDS_FILE, LANGUAGE_FLOW, LANGUAGE_NAMES, MENU_FLOW, load_flows
from flows.listing import Listing
from flows.texts import (
    EMPTY_ANSWER,
    EXPIRED,
    HELP,
    INTRODUCTION,
    KEPT,
    MEDIA_RECEIVED,
    NOT_A_CHOICE,
    NOT_YES_NO,
    PRIVACY_LINK,
    STOPPED,
    WELCOME_BACK,
)
from flows.understanding import understand

FLOWS = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)
# The ways to take part as a new deployment has them, paged for English readers.
LISTINGS = {
    LIST_NAME: Listing(listed_from_seed(), SmsBudget(I18n(LOCALES_DIR)).fits("en")),
}
# The base loader keeps every word as the text a person would type (no YAML booleans).
KEYWORDS: dict[str, dict[str, list[str]]] = yaml.load(
    KEYWORDS_FILE.read_text("utf-8"), Loader=yaml.BaseLoader
)
MENU_ASK = FLOWS[MENU_FLOW].nodes["main"].ask
LANGUAGE_STATE = State(LANGUAGE_FLOW, "choose")
SURVEY = "survey-have-your-say"
# Flows whose half-given answers are kept as an incomplete record when a person leaves.
RECORDING_FLOWS = ("complaint", "comment", "compliment", SURVEY)
VOICE_NOTE = {"url": "https://media.example/1.ogg", "content_type": "audio/ogg"}


def say(text: str, state: State | None = None, language: str | None = "en") -> Transition:
    """Step as the runner does: with what the message was understood to say."""
    return step(
        FLOWS,
        state,
        Input(text=text, language=language, understood=understand(text), listings=LISTINGS),
    )


def walk(state: State | None, *texts: str) -> list[Transition]:
    """Step through several replies in turn, as one person would send them."""
    transitions = []
    for text in texts:
        transition = say(text, state)
        transitions.append(transition)
        state = transition.state
    return transitions


def at(flow: str, *texts: str) -> State:
    """Return the state reached by entering `flow` by its keyword-free menu path and replying."""
    menu_number = next(
        str(index)
        for index, option in enumerate(FLOWS[MENU_FLOW].nodes["main"].options, 1)
        if option.goto == flow
    )
    return walk(idle(), menu_number, *texts)[-1].state


def submits(transition: Transition) -> list[Mapping[str, Any]]:
    return [effect for effect in transition.effects if isinstance(effect, Submit)]


def every_asking_node() -> list[tuple[str, str]]:
    return [
        (flow.id, node.id)
        for flow in FLOWS.flows.values()
        for node in flow.nodes.values()
        if node.type != "submit"
    ]


# -- first contact ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        ("hello", None, None),
        ("", None, None),
        ("مرحبا", None, None),
        ("hello", "fr", None),
        ("hello", "bn", "bn"),
        ("hello", "bn-BD", "bn"),
        ("hello", "en-GB", "en"),
        ("আমি একটি কথা বলতে চাই", None, "bn"),
        ("আমি কথা কইতাম চাই hi", "fr", "bn"),
        ("ꠀꠝꠤ ꠇꠕꠣ ꠇꠁꠔꠣꠝ", None, "syl-Sylo"),
    ],
)
def test_first_contact_guesses_the_language_or_asks(
    text: str, hint: str | None, language: str | None
) -> None:
    transition = step(FLOWS, None, Input(text=text, language_hint=hint))
    if language is None:
        assert transition.state == LANGUAGE_STATE
        assert transition.effects == ()
        [question] = transition.say
        assert question.raw_choices and question.choices == tuple(
            choice.name for choice in FLOWS.languages
        )
    else:
        assert transition.state == idle()
        assert transition.effects == (SetLanguage(language),)
        # Told whose service this is and how to change language, then the menu.
        assert [said.text for said in transition.say] == [INTRODUCTION, MENU_ASK]


@pytest.mark.parametrize(("word", "language"), [("নালিশ", "syl"), ("nalish", "syl-Latn")])
def test_a_keyword_of_one_language_sets_it_and_starts_its_flow(word: str, language: str) -> None:
    transition = step(FLOWS, None, Input(text=word))
    assert transition.state == State("complaint", "service")
    assert transition.effects == (SetLanguage(language),)


@pytest.mark.parametrize(
    ("word", "flow"), [("অভিযোগ", "complaint"), ("ধন্যবাদ", "compliment"), ("জরিপ", SURVEY)]
)
def test_a_bengali_script_keyword_sets_bengali(word: str, flow: str) -> None:
    # These words are Bengali and Sylheti alike; Sylheti content falls back to Bengali, so a
    # person who writes them should read Bengali rather than the English default.
    transition = step(FLOWS, None, Input(text=word))
    assert transition.state == State(flow, FLOWS[flow].start)
    assert transition.effects == (SetLanguage("bn"),)


def test_a_keyword_does_not_change_a_language_already_chosen() -> None:
    transition = say("অভিযোগ", idle(), language="en")
    assert transition.state == State("complaint", "service")
    assert transition.effects == ()


def test_the_language_question_accepts_a_number_or_a_name() -> None:
    for text, code in [("২", "bn"), ("3", "syl"), ("বাংলা", "bn"), ("English", "en")]:
        transition = say(text, LANGUAGE_STATE, language=None)
        assert transition.state == idle()
        assert transition.effects == (SetLanguage(code),)


# -- global commands -------------------------------------------------------------------------


COMMAND_WORDS = [
    (command, language, word)
    for command in ("help", "menu", "language", "stop", "start")
    for language, words in KEYWORDS[command].items()
    for word in words
]


@pytest.mark.parametrize(("flow_id", "node_id"), every_asking_node())
def test_global_commands_win_in_every_node_in_every_language(flow_id: str, node_id: str) -> None:
    # Mid-flow answers are present so that leaving has something to keep.
    state = State(flow_id, node_id, {"service": "home_care", "text": "late again"})
    for command, language, word in COMMAND_WORDS:
        for text in (word, word.upper(), f" {word}! "):
            transition = say(text, state, language=language)
            kinds = [type(effect) for effect in transition.effects]
            where = f"{word!r} ({command}, {language}) at {flow_id}/{node_id}"
            asked = FLOWS[flow_id].nodes[node_id].ask
            if command == "help":
                # Help, then the question they were at again.
                assert transition.state == state, where
                assert [s.text for s in transition.say] == [HELP, PRIVACY_LINK, asked], where
            elif command == "menu":
                assert transition.state == idle(), where
                assert transition.say[-1].text == MENU_ASK, where
            elif command == "language":
                assert transition.state == LANGUAGE_STATE, where
            elif command == "stop":
                assert transition.state == idle(), where
                assert transition.say[-1].text == STOPPED, where
                assert all(said.even_if_stopped for said in transition.say), where
                assert kinds[-1] is OptOut, where
            else:
                # START from someone not stopped is a greeting: the menu, nothing to undo.
                assert transition.state == idle(), where
                assert transition.say[-1].text == MENU_ASK, where
                assert transition.say[0].lead != WELCOME_BACK, where
                assert set(kinds) <= {Submit}, where


def test_menu_option_commands_match_their_words() -> None:
    state = idle()
    help_number, language_number = (
        str(index)
        for index, option in enumerate(FLOWS[MENU_FLOW].nodes["main"].options, 1)
        if option.command is not None
    )
    assert [s.text for s in say(help_number, state).say] == [HELP, PRIVACY_LINK, MENU_ASK]
    assert say(language_number, state).state == LANGUAGE_STATE


@pytest.mark.parametrize(
    ("meaning", "language", "word"),
    [
        (m, lang, w)
        for m, by_language in KEYWORDS.items()
        for lang, ws in by_language.items()
        for w in ws
    ],
)
def test_every_word_in_the_keywords_file_means_what_it_says(
    meaning: str, language: str, word: str
) -> None:
    if meaning == LANGUAGE_NAMES:
        assert named_language(FLOWS, word) == language
    else:
        assert (meaning, language) in FLOWS.meanings(word)


# -- choosing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("২", "day_centre"),
        ("2 please", "day_centre"),
        ("১।", "home_care"),
        ("1️⃣", "home_care"),
        ("1\u20e3", "home_care"),
        ("３", "direct_payments"),
        ("٤", "carers_support"),
        ("option 5", "reablement"),
        ("  6. ", "assessment"),
        ("৭", "other"),
    ],
)
def test_numbers_in_any_script_pick_options(text: str, service: str) -> None:
    start = State("complaint", "service")
    transition = say(text, start)
    assert transition.state == State("complaint", "what_happened", {"service": service})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("১", True),
        ("yes", True),
        ("হ্যাঁ", True),
        ("Ok!", True),
        ("2", False),
        ("২", False),
        ("no", False),
        ("না", False),
        ("nope", False),
    ],
)
def test_yes_and_no_in_words_or_numbers(text: str, value: bool) -> None:
    state = State("complaint", "consent", {"text": "t"})
    [effect] = say(text, state).effects
    assert effect.answers["consent_to_contact"] is value


@pytest.mark.parametrize(
    ("flow_id", "node_id", "text", "apology"),
    [
        ("complaint", "service", "banana", NOT_A_CHOICE),
        ("complaint", "service", "8", NOT_A_CHOICE),
        ("complaint", "service", "1 or 2", NOT_A_CHOICE),
        ("complaint", "service", "1.5", NOT_A_CHOICE),
        ("complaint", "service", "", NOT_A_CHOICE),
        ("menu", "main", "banana split", NOT_A_CHOICE),
        ("menu", "main", "99", NOT_A_CHOICE),
        (LANGUAGE_FLOW, "choose", "Klingon", NOT_A_CHOICE),
        ("complaint", "callback_language", "9", NOT_A_CHOICE),
        (SURVEY, "satisfaction", "-1", NOT_A_CHOICE),
        ("complaint", "callback", "maybe", NOT_YES_NO),
        ("complaint", "callback", "3", NOT_YES_NO),
        ("involve", "register", "", NOT_YES_NO),
    ],
)
def test_a_bad_choice_apologises_asks_again_and_keeps_state(
    flow_id: str, node_id: str, text: str, apology: str
) -> None:
    state = State(flow_id, node_id, {"service": "home_care"})
    node = FLOWS[flow_id].nodes[node_id]
    transition = say(text, state)
    assert transition.state == state
    assert transition.effects == ()
    [again] = transition.say
    assert (again.lead, again.text) == (apology, node.ask)
    assert again.choices


# -- free text -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n", "\t \r\n"])
def test_empty_text_in_a_text_node_asks_again(text: str) -> None:
    state = State("complaint", "what_happened", {"service": "home_care"})
    transition = say(text, state)
    assert transition.state == state
    assert [(s.lead, s.text) for s in transition.say] == [
        (EMPTY_ANSWER, FLOWS["complaint"].nodes["what_happened"].ask)
    ]


@pytest.mark.parametrize("caption", ["", "the broken lift"])
def test_media_in_a_text_node_is_kept(caption: str) -> None:
    state = State("complaint", "what_happened", {"service": "home_care"})
    transition = step(FLOWS, state, Input(text=caption, media=(VOICE_NOTE,), language="en"))
    assert transition.state == State(
        "complaint",
        "wanted",
        {"service": "home_care", "text": caption, "text_media": [VOICE_NOTE]},
    )
    assert transition.say[0].lead == MEDIA_RECEIVED


def test_skip_leaves_an_optional_answer_out() -> None:
    state = State("complaint", "wanted", {"service": "home_care", "text": "t"})
    for word in ("skip", "SKIP", "জানি না", "not sure"):
        assert say(word, state).state == State("complaint", "callback", dict(state.answers))


def test_free_text_is_kept_exactly_even_when_it_looks_like_a_number() -> None:
    state = State("comment", "what", {"service": "other"})
    for text in ("1", "  ২  ", "\x00\ud800", "yes"):
        [effect] = say(text, state).effects
        assert effect.answers["text"] == text


# -- finishing -------------------------------------------------------------------------------


def test_a_finished_complaint_submits_every_answer() -> None:
    words = "The carer came late «again» 😞\x00"
    *_, last = walk(idle(), "1", "1", words, "an apology", "1", "২", "1")
    assert last.state == idle()
    assert submits(last) == [
        Submit(
            record="feedback",
            flow="complaint",
            fields={"kind": "complaint"},
            answers={
                "service": "home_care",
                "text": words,
                "desired_outcome": "an apology",
                "wants_callback": True,
                "callback_language": "bn",
                "consent_to_contact": True,
            },
            complete=True,
        )
    ]
    assert "{reference}" in last.say[0].text and "{deadline}" in last.say[0].text


def test_a_complaint_without_a_call_back_skips_the_call_language() -> None:
    *_, last = walk(idle(), "1", "7", "noise", "skip", "2", "2")
    [data] = submits(last)
    assert data.answers == {
        "service": "other",
        "text": "noise",
        "wants_callback": False,
        "consent_to_contact": False,
    }


@pytest.mark.parametrize(("flow", "kind"), [("comment", "comment"), ("compliment", "compliment")])
def test_comments_and_compliments_submit_their_kind(flow: str, kind: str) -> None:
    last = say("Kind staff", at(flow, "2"))
    assert submits(last) == [
        Submit(
            record="feedback",
            flow=flow,
            fields={"kind": kind},
            answers={"service": "day_centre", "text": "Kind staff"},
            complete=True,
        )
    ]


def test_a_finished_survey_submits_its_answers() -> None:
    last = say("Bigger print", at(SURVEY, "1", "3", "2"))
    [data] = submits(last)
    assert data.record == "survey" and data.fields == {"survey": "have-your-say"}
    assert data.answers == {
        "satisfaction": 5,
        "best_way": "in_person",
        "taken_part_before": False,
        "what_would_help": "Bigger print",
    }
    assert data.complete is True


def test_involvement_describes_the_choice_then_registers_interest() -> None:
    described = say("2", at("involve", "1"))
    assert described.state.node == "register"
    # What it is, the time it takes and the support offered, then "would you like to?".
    about, question = described.say
    assert about.params["line"]["by_language"]["en"].startswith("One meeting")
    assert question.text == FLOWS["involve"].nodes["register"].ask
    last = say("5", at("involve", "1", "2", "1", "2"))
    assert submits(last) == [
        Submit(
            record="interest",
            flow="involve",
            fields={},
            answers={
                "area": "groups",
                "opportunity": "focus_groups",
                "contact_how": "sms",
                "contact_when": "any_time",
            },
            complete=True,
        )
    ]


def test_saying_no_to_involvement_returns_to_the_menu_and_records_nothing() -> None:
    last = say("2", at("involve", "2", "3"))
    assert last.state == idle() and last.effects == ()


# -- leaving part-way ------------------------------------------------------------------------


PART_WAY = {
    "complaint": at("complaint", "1", "It was cold"),
    "comment": at("comment", "3"),
    "compliment": at("compliment", "4"),
    SURVEY: at(SURVEY, "2", "1"),
    "involve": at("involve", "1", "3", "1"),
}
OTHER_FLOW_WORD = {
    "complaint": "comment",
    "comment": "survey",
    "compliment": "complaint",
    SURVEY: "অভিযোগ",
    "involve": "thanks",
}


def leave(flow: str, how: str) -> Transition:
    state = PART_WAY[flow]
    if how == "expire":
        return step(FLOWS, state, Input(kind="expire"))
    words = {
        "menu": "0",
        "menu word": "Menu",
        "stop": "STOP",
        "language": "language",
        "start": "start",
    }
    text = words.get(how)
    return say(text or OTHER_FLOW_WORD[flow], state)


@pytest.mark.parametrize(
    "how", ["menu", "menu word", "stop", "other flow", "expire", "language", "start"]
)
@pytest.mark.parametrize("flow", list(PART_WAY))
def test_leaving_part_way_keeps_what_was_said_except_interest(flow: str, how: str) -> None:
    state = PART_WAY[flow]
    assert state.flow == flow and state.answers
    transition = leave(flow, how)
    if flow not in RECORDING_FLOWS:
        assert submits(transition) == []
        return
    [data] = submits(transition)
    assert data.complete is False and data.flow == flow
    assert data.answers == dict(state.answers)


def test_expiry_says_why_and_returns_to_the_menu_with_the_reference_kept() -> None:
    transition = step(FLOWS, PART_WAY["complaint"], Input(kind="expire"))
    assert transition.state == idle()
    # The half-finished complaint is kept, and its reference (filled in by the record writer)
    # is said first.
    assert [s.text for s in transition.say] == [KEPT, EXPIRED]
    assert "{reference}" in KEPT


def test_restarting_the_same_flow_part_way_keeps_what_was_said() -> None:
    state = PART_WAY["complaint"]
    transition = say("complaint", state)
    assert transition.state == State("complaint", "service")
    assert [data.answers for data in submits(transition)] == [dict(state.answers)]


def test_help_part_way_keeps_the_place_and_the_answers() -> None:
    state = PART_WAY["complaint"]
    transition = say("help", state)
    assert transition.state == state and transition.effects == ()


# -- opted out -------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [None, idle(), PART_WAY["complaint"]])
@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", "বন্ধ", "1", "hello", "help", "0", "language", "complaint", "অভিযোগ", ""],
)
def test_nothing_but_start_works_when_opted_out(state: State | None, text: str) -> None:
    transition = step(FLOWS, state, Input(text=text, language="en", opted_out=True))
    assert transition == Transition(state or idle())


@pytest.mark.parametrize("word", ["START", "start", "unstop", "শুরু", "huru"])
def test_start_when_opted_out_opts_in_and_welcomes_back(word: str) -> None:
    transition = step(FLOWS, idle(), Input(text=word, language="en", opted_out=True))
    assert transition.effects[0] == OptIn()
    assert transition.state == idle()
    assert transition.say[0].lead == WELCOME_BACK


def test_start_without_a_language_asks_for_one() -> None:
    transition = step(FLOWS, None, Input(text="START", opted_out=True))
    assert transition.effects == (OptIn(),)
    assert transition.state == LANGUAGE_STATE


def test_every_flow_file_is_loaded() -> None:
    assert len(FLOWS.flows) == len(list(FLOWS_DIR.rglob("*.yaml")))
