"""A mistyped word is read as the word meant; a known word, a number or another script never."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.understanding import default_lexicon, understand
from flows.understanding.spelling import Speller


def _speller() -> Speller:
    return Speller.build(
        named=["menu", "survey", "events", "language", "bangla", "complain"],
        used=["carer", "carer", "care", "care", "came", "came", "menus"],
        guarded=["stop", "start", "cancel"],
        known=["shop"],
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("menue", "menu"),  # a letter extra
        ("meny", "menu"),  # a letter wrong
        ("evnts", "events"),  # a letter missing
        ("surevy", "survey"),  # two letters swapped
        ("langauge", "language"),
        ("bangal", "bangla"),
        ("carerr", "carer"),  # a word the examples use more than once
    ],
)
def test_a_typo_is_read_as_the_word_meant(typed: str, meant: str) -> None:
    assert _speller().read(typed) == meant


def test_a_word_the_lists_name_comes_before_one_the_examples_use() -> None:
    # "menus" (used) and "menu" (named) are both one letter from "menux".
    assert _speller().read("menux") == "menu"


@pytest.mark.parametrize(
    "word",
    [
        "shop",  # known as it is
        "smart",  # one letter from "start", but not by a swap
        "stoq",  # one letter from "stop", but not by a swap
        "cancer",  # one letter from "cancel"
        "car",  # too short to guess at
        "12345",
        "menu2",
        "বন্ধ",
        "ꠛꠘ꠆ꠗ",
    ],
)
def test_known_words_short_words_numbers_and_other_scripts_stay(word: str) -> None:
    assert _speller().read(word) == word


def test_the_words_that_start_and_stop_are_reached_by_a_swap_only() -> None:
    speller = _speller()
    assert (speller.read("stpo"), speller.read("strat")) == ("stop", "start")


def test_a_word_used_once_in_the_examples_is_known_but_not_a_target() -> None:
    speller = Speller.build(named=[], used=["recieved"], guarded=[])
    assert speller.read("recieved") == "recieved"
    assert speller.read("recieve") == "recieve"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("menue", "menu"),
        ("surevy", "survey"),
        ("evnts", "events"),
        ("englsh", "language"),
        ("invovled", "involve"),
        ("hellp", "help"),
        ("strat", "start"),
    ],
)
def test_the_understanding_reads_the_key_words_mistyped(text: str, intent: str) -> None:
    assert understand(text).intent == intent


@pytest.mark.parametrize("text", ["shop", "smart", "the shop is shut", "stoq"])
def test_no_typo_becomes_an_opt_out_or_a_start(text: str) -> None:
    assert understand(text).intent not in ("stop", "start")


@given(st.lists(st.text(max_size=12), max_size=8))
def test_correcting_keeps_one_word_for_each_word(words: list[str]) -> None:
    speller = default_lexicon().speller
    assert speller is not None
    corrected = speller.correct(words)
    assert len(corrected) == len(words)
    for before, after in zip(words, corrected, strict=True):
        assert after == before or (before.isascii() and before.isalpha() and len(before) >= 4)


def test_a_word_the_examples_use_rarely_is_read_as_a_word_the_lists_name() -> None:
    # People mistype the key words in the examples too: "surevy" there is still a typo.
    speller = Speller.build(named=["survey"], used=["surevy", "surevy", "carre"], guarded=[])
    assert (speller.read("surevy"), speller.read("carre")) == ("survey", "carre")


def test_a_mistyped_key_word_in_a_sentence_is_as_sure_as_the_word() -> None:
    found = understand("i want to do the surevy")
    assert found.intent == "survey" and found.sure
