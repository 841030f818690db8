"""Tests for SMS encoding and segment accounting."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sms import SmsCost, is_gsm7, sms_cost

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
EMOJI = "\U0001f600"  # 😀, one surrogate pair in UTF-16

any_text = st.text(alphabet=st.characters(exclude_categories=()))


def test_basic_table_has_the_127_characters_of_the_standard() -> None:
    # 128 codes less ESC.
    assert len(GSM_BASIC) == len(set(GSM_BASIC)) == 127


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SmsCost("GSM-7", 0, 1)),
        ("a" * 160, SmsCost("GSM-7", 160, 1)),
        ("a" * 161, SmsCost("GSM-7", 161, 2)),
        ("a" * 306, SmsCost("GSM-7", 306, 2)),
        ("a" * 307, SmsCost("GSM-7", 307, 3)),
        ("€", SmsCost("GSM-7", 2, 1)),
        ("€" * 80, SmsCost("GSM-7", 160, 1)),
        ("€" * 81, SmsCost("GSM-7", 162, 2)),
        # Only 76 pairs fit in 153 septets, so 306 septets of € need three segments.
        ("€" * 153, SmsCost("GSM-7", 306, 3)),
        ("Price: £5 {or} ¥6 [~]|^\\", SmsCost("GSM-7", 32, 1)),
        ("Reply 1 for yes, 2 for no.\nÇa va? ¿Qué?", SmsCost("GSM-7", 39, 1)),
        ("a" * 159 + "€", SmsCost("GSM-7", 161, 2)),
        # Escape pair at the boundary: 152 + 1 left, so € opens segment two.
        ("a" * 152 + "€" + "a" * 152, SmsCost("GSM-7", 306, 3)),
        ("a" * 151 + "€" + "a" * 153, SmsCost("GSM-7", 306, 2)),
        ("অ" * 70, SmsCost("UCS-2", 70, 1)),
        ("অ" * 71, SmsCost("UCS-2", 71, 2)),
        ("অ" * 134, SmsCost("UCS-2", 134, 2)),
        ("অ" * 135, SmsCost("UCS-2", 135, 3)),
        ("it’s", SmsCost("UCS-2", 4, 1)),
        ("9–5", SmsCost("UCS-2", 3, 1)),
        ("`", SmsCost("UCS-2", 1, 1)),
        ("ç", SmsCost("UCS-2", 1, 1)),
        ("a€অ", SmsCost("UCS-2", 3, 1)),  # € is one UTF-16 unit once the text is UCS-2
        (EMOJI, SmsCost("UCS-2", 2, 1)),
        (EMOJI * 35, SmsCost("UCS-2", 70, 1)),
        (EMOJI * 36, SmsCost("UCS-2", 72, 2)),
        # Only 33 pairs fit in 67 units, so 67 emoji need three segments, not two.
        (EMOJI * 67, SmsCost("UCS-2", 134, 3)),
        ("অ" * 66 + EMOJI + "অ" * 66, SmsCost("UCS-2", 134, 3)),
        ("অ" * 65 + EMOJI + "অ" * 67, SmsCost("UCS-2", 134, 2)),
        ("\ud800", SmsCost("UCS-2", 1, 1)),
        ("\udfff" * 71, SmsCost("UCS-2", 71, 2)),
        # A high then a low surrogate is sent as one pair and is not split.
        ("অ" * 66 + "\ud83d\ude00" + "অ" * 66, SmsCost("UCS-2", 134, 3)),
        ("অ" * 66 + "\ude00\ud83d" + "অ" * 66, SmsCost("UCS-2", 134, 2)),
    ],
)
def test_known_costs(text: str, expected: SmsCost) -> None:
    assert sms_cost(text) == expected


@pytest.mark.parametrize("ch", list(GSM_BASIC + GSM_EXTENSION))
def test_every_gsm_character_is_gsm7(ch: str) -> None:
    assert is_gsm7(ch)
    assert sms_cost(ch).units == (2 if ch in GSM_EXTENSION else 1)


@pytest.mark.parametrize(
    "ch",
    ["`", "\t", "ç", "’", "‘", "“", "–", "—", "…", "\u00a0", "অ", "ꠀ", EMOJI, "\ud800", "\x1b"],
)
def test_characters_outside_gsm7(ch: str) -> None:
    assert not is_gsm7(ch)
    assert not is_gsm7("Hello " + ch)
    assert sms_cost("Hello " + ch).encoding == "UCS-2"


@given(any_text)
def test_never_raises_and_is_consistent(text: str) -> None:
    cost = sms_cost(text)
    assert cost.segments >= 1
    assert cost.encoding == ("GSM-7" if is_gsm7(text) else "UCS-2")
    if cost.encoding == "GSM-7":
        assert cost.units == len(text) + sum(ch in GSM_EXTENSION for ch in text)
    else:
        assert cost.units == len(text.encode("utf-16-le", "surrogatepass")) // 2
    limit, per = (160, 153) if cost.encoding == "GSM-7" else (70, 67)
    if cost.units <= limit:
        assert cost.segments == 1
    else:
        # Never fewer than the naive count, and at most one piece wasted per segment.
        assert math.ceil(cost.units / per) <= cost.segments <= math.ceil(cost.units / (per - 1))


@given(any_text, st.characters(exclude_categories=()))
def test_appending_never_lowers_the_segment_count(text: str, ch: str) -> None:
    assert sms_cost(text + ch).segments >= sms_cost(text).segments


@given(st.text(alphabet=st.sampled_from(GSM_BASIC), max_size=700))
def test_basic_gsm_text_follows_the_formula(text: str) -> None:
    n = len(text)
    expected = 1 if n <= 160 else math.ceil(n / 153)
    assert sms_cost(text) == SmsCost("GSM-7", n, expected)


@given(st.text(alphabet=st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=400))
def test_gsm_appending_an_emoji_never_lowers_the_count(text: str) -> None:
    assert sms_cost(text + EMOJI).segments >= sms_cost(text).segments
