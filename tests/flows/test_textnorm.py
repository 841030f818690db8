"""Tests for matching what people type."""

from __future__ import annotations

import sys
import time
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from flows.textnorm import _general_match_key, detect_script, match_key, parse_number

any_text = st.text(alphabet=st.characters(exclude_categories=()))

# The zero of every run of ten decimal digits Unicode knows (ASCII, Bengali, Arabic-Indic,
# fullwidth, mathematical bold...).
DIGIT_ZEROS = [
    chr(code)
    for code in range(sys.maxunicode + 1)
    if unicodedata.category(chr(code)) == "Nd" and unicodedata.decimal(chr(code)) == 0
]


def written_in(n: int, zero: str) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in str(n))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  HELP! ", "help"),
        ("Help", "help"),
        ("Café", "cafe"),
        ("CAFÉ", "cafe"),
        ("cafe\u0301", "cafe"),
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("naïve  résumé", "naive resume"),
        ("সাহায্য।", "সাহায্য"),
        ("সাহায্য ॥", "সাহায্য"),
        # Vowel signs and the virama are letters of the word, not accents.
        ("কি", "কি"),
        ("ক্ষমা", "ক্ষমা"),
        ("\u09c7\u09be", "\u09cb"),  # e-sign + aa-sign is o-sign
        ("কো", "কো"),
        ("ꠀꠇꠣ", "ꠀꠇꠣ"),  # Syloti Nagri
        ("1️⃣", "1"),
        ("#️⃣", ""),
        ("２", "2"),
        ("১২৩", "123"),
        ("٣", "3"),
        ("STOP\u200d", "stop"),
        ("ST\u200cOP", "stop"),
        ("\ufeffstop", "stop"),
        ("stop\ufe0e", "stop"),
        ("👍", ""),
        ("yes 👍🏽!!", "yes"),
        ("🔟", "10"),
        ("don't", "don t"),
        ("a\tb\nc\r\nd", "a b c d"),
        ("a\x00b", "a b"),
        ("a\u00a0b\u3000c", "a b c"),
        ("«oui»", "oui"),
        ("", ""),
        ("   ", ""),
        ("שלום", "שלום"),
        ("مرحبا؟", "مرحبا"),
    ],
)
def test_match_key(text: str, key: str) -> None:
    assert match_key(text) == key


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("২", 2),
        ("২।", 2),
        ("2 please", 2),
        ("option 3", 3),
        ("Option 3.", 3),
        ("1️⃣", 1),
        ("１", 1),
        ("١", 1),
        ("٢٣", 23),
        (" 3 ", 3),
        ("#4", 4),
        ("12", 12),
        ("999", 999),
        ("0", 0),
        ("007", 7),
        ("2 2", 2),
        ("2, 2", 2),
        ("number 2 thanks", 2),
        ("2 👍", 2),
        ("🔟", 10),
        ("\u09e8 \u09a8\u09ae\u09cd\u09ac\u09b0", 2),
        ("no", None),
        ("", None),
        ("👍", None),
        ("২ বা ৩", None),
        ("2 or 3", None),
        ("2-3", None),
        ("1.5", None),
        ("1.1", None),
        ("১.৫", None),
        ("-1", None),
        ("\u22122", None),
        ("1000", None),
        ("1,000", None),
        ("I think option 2 is best", None),
        ("it was 2 weeks ago", None),
    ],
)
def test_parse_number(text: str, number: int | None) -> None:
    assert parse_number(text) == number


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("hello", "latin"),
        ("Café", "latin"),
        ("ＨＥＬＰ", "latin"),
        ("আমি ভালো আছি", "bengali"),
        ("কি", "bengali"),  # vowel signs are marks, not letters: 1 letter here
        ("ꠀꠇꠣ", "syloti_nagri"),
        ("ami bhalo asi", "latin"),
        ("আমি ok", "bengali"),
        ("আমি okay", "latin"),
        ("ab কখ", "bengali"),  # a tie goes to Bengali
        ("ab ꠀꠇ", "syloti_nagri"),
        ("কক ꠀꠇ", "bengali"),
        ("hi مرحبا بكم", "latin"),  # other scripts are not counted
        ("১২৩", None),
        ("123", None),
        ("👍👍", None),
        ("?!।", None),
        ("", None),
        ("مرحبا", None),
        ("שלום", None),
        ("\ud800\udc00", None),
    ],
)
def test_detect_script(text: str, script: str | None) -> None:
    assert detect_script(text) == script


@given(any_text)
@example("\u09c7\u200d\u09be")
@example("ｅ\u0301")
@example("\u0130\u0345")
def test_total_and_idempotent(text: str) -> None:
    key = match_key(text)
    assert match_key(key) == key
    assert key == key.strip()
    assert "  " not in key
    assert parse_number(text) in {None, *range(1000)}
    assert detect_script(text) in {None, "bengali", "syloti_nagri", "latin"}


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_shortcut_agrees_with_the_general_path(text: str) -> None:
    assert match_key(text) == _general_match_key(text)


@given(st.integers(min_value=0, max_value=999))
def test_ascii_numbers_parse(n: int) -> None:
    assert parse_number(str(n)) == n
    assert parse_number(f"{n}.") == n


@pytest.mark.parametrize("zero", DIGIT_ZEROS, ids=lambda z: unicodedata.name(z, hex(ord(z))))
def test_every_digit_of_every_digit_script_parses(zero: str) -> None:
    for n in [0, 1, 23, 456, 789, 90, 7]:
        assert parse_number(written_in(n, zero)) == n
        assert parse_number("option " + written_in(n, zero) + "।") == n


@given(st.sampled_from(DIGIT_ZEROS), st.integers(min_value=0, max_value=999))
def test_numbers_in_any_digit_script_parse(zero: str, n: int) -> None:
    assert parse_number(written_in(n, zero)) == n
    assert parse_number(f" {written_in(n, zero)} ") == n


def test_there_are_many_digit_scripts() -> None:
    assert {"0", "০", "٠", "０", "۰", "०"} <= set(DIGIT_ZEROS)
    assert len(DIGIT_ZEROS) > 50


def test_long_and_strange_input_is_fast() -> None:
    texts = [
        "a" * 10_000,
        "অ" * 10_000,
        "👍🏽" * 5_000,
        "\ud800" * 10_000,
        "".join(chr(c) for c in range(0x0590, 0x0700)) * 30,
        "\x00\x1b\u202e" * 3_000,
    ]
    started = time.perf_counter()
    for text in texts:
        match_key(text)
        assert parse_number(text) is None
        detect_script(text)
    assert time.perf_counter() - started < 1.0
