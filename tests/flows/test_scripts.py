"""Sylheti in Syloti Nagri and back, and the one spelling words are compared in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.scripts import fold, to_bengali, to_syloti_nagri


@pytest.mark.parametrize(
    ("bengali", "nagri"),
    [
        ("আমি", "ꠀꠝꠤ"),
        ("মায়ের", "ꠝꠣꠄꠞ"),  # য় before a vowel sign is that vowel, as Sylheti writers write it
        ("শ ষ স", "ꠡ ꠡ ꠡ"),  # three Bengali letters, one Sylheti sound
        ("ক্যান্সেল", "ꠇꠣꠘ꠆ꠡꠦꠟ"),  # the ya-phala is a vowel Syloti Nagri does not write
        ("বন্ধ", "ꠛꠘ꠆ꠗ"),  # conjuncts keep their hasanta
        ("STOP {reference} ১২৩", "STOP {reference} ১২৩"),  # all else stays as it is
    ],
)
def test_bengali_script_is_written_in_syloti_nagri(bengali: str, nagri: str) -> None:
    assert to_syloti_nagri(bengali) == nagri


def test_syloti_nagri_reads_back_in_its_commonest_bengali_spelling() -> None:
    assert to_bengali("ꠀꠝꠤ ꠇꠕꠣ ꠇꠁꠔꠣꠝ") == "আমি কথা কইতাম"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("মেসেজ", "ꠝꠦꠍꠦꠎ"),  # either script
        ("মেছেজ", "মেসেজ"),  # ছ said as স
        ("খানা", "কানা"),  # aspiration lost
        ("টেক্সট", "টেক্সত"),  # retroflex and dental t mixed
        ("বন্ধ", "ꠛꠘꠗ"),  # hasanta or not
    ],
)
def test_words_a_sylheti_reader_reads_alike_fold_alike(one: str, other: str) -> None:
    assert fold(one) == fold(other)


@given(st.text())
def test_transliteration_is_total_and_keeps_what_it_does_not_know(text: str) -> None:
    written = to_syloti_nagri(text)
    assert isinstance(written, str)
    assert [c for c in written if c.isascii()] == [c for c in text if c.isascii()]
