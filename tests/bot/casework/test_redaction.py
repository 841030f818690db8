"""Suggested redactions: phone numbers, emails, postcodes, street addresses and names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.casework.redaction import find_details, redact, suggest


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me on 07700 900123 please", "Call me on [phone number] please"),
        ("ring +44 20 7946 0018.", "ring [phone number]."),
        ("নম্বর ০৭৭০০৯০০১২৩", "নম্বর [phone number]"),  # Bengali digits
        ("write to rahima.b@example.co.uk today", "write to [email] today"),
        ("we live near E1 6QL", "we live near [address]"),
        ("postcode e16ql", "postcode [address]"),
        ("she lives at 12 Brick Lane now", "she lives at [address] now"),
        ("Flat 3, 45a Commercial Road", "[address]"),
        ("my name is rahima begum and I am upset", "my name is [name] and I am upset"),
        ("My name is Abdul.", "My name is [name]."),
        ("I'm Abdul Karim. The carer was late", "I'm [name]. The carer was late"),
        ("আমার নাম রহিমা বেগম। আমি অসুস্থ", "আমার নাম [name]। আমি অসুস্থ"),
        ("amar nam Rahima, ami", "amar nam [name], ami"),
        ("আমার ফোন 07700 900123, ইমেইল a@b.co", "আমার ফোন [phone number], ইমেইল [email]"),
    ],
)
def test_personal_details_are_suggested(text: str, expected: str) -> None:
    assert suggest(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I am angry about the carer",  # "I am" needs a capitalised name after it
        "I have 3 kids and 12 cats",
        "The visit was at 10:30 on 12 March",
        "This is not good enough",
        "The carer came late twice",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert suggest(text) == text


def test_no_text_suggests_nothing() -> None:
    assert suggest(None) == "" and suggest("") == ""


# Any code point, lone surrogates and control characters included: people's phones send odd things.
ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=()))


@given(ANY_TEXT)
def test_suggestions_never_crash_and_never_change_the_original(text: str) -> None:
    before = str(text)
    spans = find_details(text)
    assert text == before
    position = 0
    for span in spans:
        assert position <= span.start < span.end <= len(text)
        position = span.end
    redacted = redact(text, spans)
    # Everything outside the spans is kept, in order, around the placeholders.
    kept = [text[a.end : b.start] for a, b in zip(spans, spans[1:], strict=False)]
    if spans:
        assert redacted.startswith(text[: spans[0].start])
        assert redacted.endswith(text[spans[-1].end :])
        for piece in kept:
            assert piece in redacted
    else:
        assert redacted == text
