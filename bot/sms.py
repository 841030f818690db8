"""SMS encoding and segment accounting: what a text will cost to send.

A text that fits the GSM 03.38 7-bit alphabet (3GPP TS 23.038) is sent as GSM-7 septets;
anything else is sent as UCS-2, which carriers treat as UTF-16 code units. Long texts are
split into concatenated segments whose user data header costs 7 septets (GSM-7: 160 -> 153
per segment) or 3 code units (UCS-2: 70 -> 67 per segment).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# The default alphabet in code order 0x00-0x7F, without ESC (0x1B), which introduces the
# extension table and is not a character of its own. 0x09 is capital Ç as in the standard
# (Unicode's old mapping file "fixed" it to ç; phones follow the standard).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Reached through ESC, so each costs two septets: form feed, ^ { } \ [ ~ ] | €.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_GSM7_SINGLE = 160
_GSM7_PER_SEGMENT = 153
_UCS2_SINGLE = 70
_UCS2_PER_SEGMENT = 67


@dataclass(frozen=True)
class SmsCost:
    """The encoding, length and number of segments an SMS text needs."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets for GSM-7 (extension-table chars count 2), UTF-16 code units for UCS-2
    segments: int  # at least 1


def is_gsm7(text: str) -> bool:
    """Say whether every character of the text is in the GSM-7 alphabet or its extension."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def sms_cost(text: str) -> SmsCost:
    """Count the encoding, units and segments needed to send the text as one SMS."""
    if is_gsm7(text):
        sizes = [2 if ch in _GSM7_EXTENSION else 1 for ch in text]
        return _cost("GSM-7", sizes, _GSM7_SINGLE, _GSM7_PER_SEGMENT)
    return _cost("UCS-2", _utf16_sizes(text), _UCS2_SINGLE, _UCS2_PER_SEGMENT)


def _utf16_sizes(text: str) -> list[int]:
    """Give the UTF-16 length of each indivisible piece of the text.

    A character beyond the BMP is one surrogate pair (2 units). A lone surrogate, which a
    str can hold after JSON decoding, is 1 unit; a high one followed by a low one would be
    sent as a pair, so the two are kept together like a real pair.
    """
    sizes: list[int] = []
    previous_high = False
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            sizes.append(2)
            previous_high = False
        elif 0xDC00 <= code <= 0xDFFF and previous_high:
            sizes[-1] = 2
            previous_high = False
        else:
            sizes.append(1)
            previous_high = 0xD800 <= code <= 0xDBFF
    return sizes


def _cost(
    encoding: Literal["GSM-7", "UCS-2"], sizes: list[int], single: int, per_segment: int
) -> SmsCost:
    units = sum(sizes)
    if units <= single:
        return SmsCost(encoding, units, 1)
    return SmsCost(encoding, units, _pack(sizes, per_segment))


def _pack(sizes: Iterable[int], per_segment: int) -> int:
    """Count segments when pieces are placed in order and a piece never straddles two."""
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments += 1
            used = 0
        used += size
    return segments
