"""The web app's guards on any input: text that can always be sent, numbers read safely."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.web_guards import MAX_ID, displayable
from console.paging import number_in


@given(st.text(alphabet=st.characters(codec=None)))
def test_any_text_becomes_sendable_and_only_surrogates_change(text: str) -> None:
    shown = displayable(text)
    shown.encode("utf-8")  # never raises
    assert len(shown) <= len(text)
    if not any("\ud800" <= character <= "\udfff" for character in text):
        assert shown is text


def test_surrogates_kept_apart_make_their_character() -> None:
    assert displayable("a\ud83d\ude00b") == "a\U0001f600b"
    assert displayable("\ud800x\udfff") == "\ufffdx\ufffd"


@given(st.text())
def test_a_number_is_ascii_digits_within_bounds(text: str) -> None:
    number = number_in(text)
    if number is not None:
        assert text.isascii() and text.isdigit() and 0 <= number <= MAX_ID
        assert number == int(text)


def test_numbers_at_the_edges() -> None:
    assert number_in(str(MAX_ID)) == MAX_ID
    assert number_in(str(MAX_ID + 1)) is None
    assert number_in("²") is None and number_in("١٢") is None and number_in("-1") is None
    assert number_in("9" * 5000) is None and number_in("") is None
    assert number_in("0042") == 42 and number_in("42", 100) == 42 and number_in("101", 100) is None
