"""Matching what people type: comparison keys, menu numbers and the script of a reply.

These run on every inbound message, so they are total (any str, including lone surrogates
and control characters, returns without raising) and cheap. None of them is for storage:
the person's own text is always kept exactly as they wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

Script = Literal["bengali", "syloti_nagri", "latin"]

_MAX_MENU_WORDS = 4
_MAX_MENU_DIGITS = 3

# Keycap ten has no digit-plus-keycap spelling; people pick it from the emoji keyboard.
_KEYCAP_TEN = "\U0001f51f"

_ASCII_TABLE: dict[int, str | None] = {code: " " for code in range(128) if not chr(code).isalnum()}


class _KeyTable(dict[int, str | None]):
    """A str.translate table for one character at a time, filled in as characters are seen.

    Growth is capped so that a stream of exotic characters cannot use up memory; past the
    cap, answers are computed and not kept.
    """

    _CAP = 20_000

    def __missing__(self, code: int) -> str | None:
        value = _key_char(chr(code))
        if len(self) < self._CAP:
            self[code] = value
        return value


def _key_char(ch: str) -> str | None:
    """Map one character of an accent-stripped, casefolded text to its match-key form."""
    code = ord(ch)
    if 0x0300 <= code <= 0x036F:
        return None  # Latin (and Greek, Cyrillic) accents; other marks such as ি stay
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or code == 0x20E3:
        return None  # variation selectors, the keycap mark
    if ch == _KEYCAP_TEN:
        return " 10 "
    category = unicodedata.category(ch)
    if category == "Cf":
        return None  # ZWJ, ZWNJ, bidi marks, BOM...
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    if category[0] in "PSZ" or category == "Cc":
        return " "
    return ch


_TABLE = _KeyTable(_ASCII_TABLE)


def match_key(text: str) -> str:
    """Reduce a reply to the form it is compared in against keywords and option labels.

    Case, Latin accents, the script of digits, emoji presentation marks, joiners,
    punctuation (including the danda ।) and spacing are all made not to matter.
    """
    if text.isascii():
        return " ".join(text.lower().translate(_ASCII_TABLE).split())
    return _general_match_key(text)


def _general_match_key(text: str) -> str:
    """Compute match_key for any text; for ASCII, match_key takes a quicker path."""
    folded = unicodedata.normalize("NFC", text).casefold()
    stripped = unicodedata.normalize("NFD", folded).translate(_TABLE)
    return " ".join(unicodedata.normalize("NFC", stripped).split())


_NUMBER = re.compile(r"[0-9]+")
# Checked on the raw reply (digits made ASCII) because match_key turns "1.5" into "1 5".
_DECIMAL_OR_NEGATIVE = re.compile(r"[0-9][.,\u066b\u066c][0-9]|(?:^|\s)[-\u2212][0-9]")


def parse_number(text: str) -> int | None:
    """Find the one number in a short reply to a numbered menu, or None.

    "২।", "option 3", "1️⃣" and "2 2" all give a number; "2 or 3", "1.5", "-1", a number
    of more than three digits and a reply of more than four words (a sentence, not a
    choice) give None.
    """
    key = match_key(text)
    if len(key.split()) > _MAX_MENU_WORDS:
        return None
    numbers = set(_NUMBER.findall(key))
    if len(numbers) != 1:
        return None
    (digits,) = numbers
    if len(digits) > _MAX_MENU_DIGITS:
        return None
    if _DECIMAL_OR_NEGATIVE.search(_ascii_digits(text)):
        return None
    return int(digits)


_NEGATIVE = re.compile(r"(?:^|\s)[-\u2212][0-9]")


def negative_number(text: str) -> bool:
    """Whether a reply holds a negative number ("-1"), which numbers no option. (A comma
    between digits is a list here: "1,3" picks two options.)"""
    return bool(_NEGATIVE.search(_ascii_digits(text)))


def _ascii_digits(text: str) -> str:
    """Write every decimal digit of the text as an ASCII digit, leaving all else alone."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text
    )


def detect_script(text: str) -> Script | None:
    """Say which of Bengali, Syloti Nagri and Latin most of the letters are written in.

    Letters of other scripts (Arabic, Hebrew...) are not counted; a text without any
    Bengali, Syloti Nagri or Latin letter gives None. Ties go to Bengali, then Syloti Nagri.
    """
    bengali = syloti = latin = 0
    for ch in text:
        script = _letter_script(ch)
        if script == "bengali":
            bengali += 1
        elif script == "syloti_nagri":
            syloti += 1
        elif script == "latin":
            latin += 1
    best = max(bengali, syloti, latin)
    if best == 0:
        return None
    if bengali == best:
        return "bengali"
    if syloti == best:
        return "syloti_nagri"
    return "latin"


@lru_cache(maxsize=4096)
def _letter_script(ch: str) -> Script | None:
    if not unicodedata.category(ch).startswith("L"):
        return None
    code = ord(ch)
    if 0x0980 <= code <= 0x09FF:
        return "bengali"
    if 0xA800 <= code <= 0xA82F:
        return "syloti_nagri"
    if ch.isascii() or "LATIN" in unicodedata.name(ch, ""):
        return "latin"
    return None
