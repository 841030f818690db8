"""What a message means in its own words: intents, opt-outs, languages, and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.understanding import (
    EXAMPLES,
    HERE,
    INTENTS,
    LANGUAGES,
    SURE,
    Lexicon,
    default_lexicon,
    read_examples,
    understand,
)
from flows.understanding.matching import words_of


@pytest.mark.parametrize(
    "text",
    [
        "Stop please",
        "STOP",
        "please stop texting me",
        "Stop messaging me",
        "unsubscribe me",
        "don't message me again",
        "remove me from this list",
        "আর মেসেজ পাঠাবেন না",
        "মেসেজ বন্ধ করেন",
        "বন্ধ করো",
        "ar message dio na",
        "ꠀꠞ ꠝꠦꠍꠦꠎ ꠖꠤꠅ ꠘꠣ",
    ],
)
def test_an_opt_out_in_any_words_is_stop(text: str) -> None:
    found = understand(text)
    assert found.intent == "stop" and found.why, found


@pytest.mark.parametrize(
    "text",
    [
        "the carer won't stop shouting at my dad",
        "they stopped my dad's meals on wheels",
        "please don't stop the transport to the day centre",
        "I don't want to stop getting messages",
        "মেসেজ বন্ধ করবেন না, আমি পড়ি",
        "ami message bondho korte chai na",
        "unsubscribe me from the paper letters, texts are fine",
    ],
)
def test_a_message_that_only_mentions_stopping_is_not_stop(text: str) -> None:
    assert understand(text).intent != "stop"


def test_an_ambiguous_plea_is_asked_about_not_acted_on() -> None:
    # "বন্ধ করেন না" is "please stop it" or "don't stop it": the bot asks (flows/engine.py).
    found = understand("বন্ধ করেন না")
    assert found.intent == "stop" and not found.sure


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("i want to complain about my carer she is always late", "complaint"),
        ("very bad service", "complaint"),
        ("just want to say rina our carer is brilliant", "compliment"),
        ("would be good if the day centre had more bengali staff", "comment"),
        ("can i do the survey", "survey"),
        ("how do i join the carers panel", "involve"),
        ("when is the next carers forum", "events"),
        ("what is this", "help"),
        ("main menu", "menu"),
        ("bangla please", "language"),
        ("start", "start"),
        ("thanks", "none"),
        ("banana", "none"),
        ("ami complain korte chai", "complaint"),
        ("আমি অভিযোগ করতে চাই", "complaint"),
        ("ꠀꠝꠤ ꠘꠣꠟꠤꠡ ꠇꠞꠔꠣꠝ ꠌꠣꠁ", "complaint"),
    ],
)
def test_what_people_ask_for_in_their_own_words(text: str, intent: str) -> None:
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("আফনে কিতা কইরা", "syl"),
        ("অখন আমি কিতা করতাম", "syl"),
        ("আমি এখন কী করব বলুন", "bn"),
        ("ꠀꠝꠤ ꠇꠕꠣ ꠇꠁꠔꠣꠝ", "syl-Sylo"),
        ("ami complain korte chai", "syl-Latn"),
        ("the carer was late again", "en"),
    ],
)
def test_the_language_comes_from_the_words_as_well_as_the_script(text: str, language: str) -> None:
    assert understand(text).language == language


def test_a_greeting_written_in_every_language_does_not_settle_one() -> None:
    assert not understand("salam").language_sure


def test_why_is_in_the_persons_own_words() -> None:
    found = understand("I want to COMPLAIN, the carer was late!")
    assert "complain" in found.why
    assert found.as_json() == {
        "intent": "complaint",
        "language": "en",
        "confidence": round(found.confidence, 2),
        "why": list(found.why),
        "safeguarding": None,
    }


def test_what_no_list_names_is_learnt_from_the_examples_and_shown_as_why() -> None:
    found = understand("5 stars for the new agency")
    assert found.intent == "compliment" and found.why


def test_words_never_seen_are_nothing_to_act_on() -> None:
    found = understand("zqxv plonk")
    assert found.intent == "none" and not found.sure


def test_every_example_is_labelled_with_a_known_intent_and_language() -> None:
    examples = list(read_examples(EXAMPLES))
    assert len(examples) >= 2000
    assert {example.intent for example in examples} == set(INTENTS)
    assert {example.language for example in examples} == set(LANGUAGES)


def test_a_mislabelled_example_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        '- {text: "hello", intent: greeting, language: en}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="bad.yaml: example 1"):
        list(read_examples(tmp_path))


def test_a_word_added_to_a_list_works_without_any_example(tmp_path: Path) -> None:
    # A native speaker adds a word to a list; it counts at once, with no example written.
    for path in HERE.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    lists = yaml.safe_load((tmp_path / "intents.yaml").read_text(encoding="utf-8"))
    lists["complaint"]["strong"]["syl"].append("ঝামেলামি")
    (tmp_path / "intents.yaml").write_text(yaml.safe_dump(lists, allow_unicode=True), "utf-8")
    before = default_lexicon().understand("ঝামেলামি")
    after = Lexicon.load(tmp_path, examples=read_examples(EXAMPLES)).understand("ঝামেলামি")
    assert before.intent != "complaint"
    assert after.intent == "complaint" and after.why == ("ঝামেলামি",)


# -- properties over any text ------------------------------------------------------------

# Words from the examples that say nothing about opting out: whatever is made of them, the
# understanding never takes it for STOP.
_LEXICON = default_lexicon()
_CALM_WORDS = sorted(
    {
        word
        for example in read_examples(EXAMPLES)
        if example.intent != "stop"
        for word in example.text.split()
        if _LEXICON._opt_out(words_of(word, 5)).kind == "none"
    }
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_is_understood_without_error(text: str) -> None:
    found = understand(text)
    assert found.intent in INTENTS
    assert found.language in (*LANGUAGES, None)
    assert 0.0 <= found.confidence <= 1.0
    assert (found.intent == "stop") <= found.sure or found.confidence < SURE


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_CALM_WORDS), min_size=1, max_size=30))
def test_text_without_a_word_of_opting_out_is_never_stop(words: list[str]) -> None:
    assert understand(" ".join(words)).intent != "stop"
