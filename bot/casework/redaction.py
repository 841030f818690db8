"""Suggested redactions: personal details a moderator will probably want to hide.

Suggestions only: a moderator sees the text with placeholders, edits it and saves it; the
original is kept unchanged. Phone numbers are found by the phonenumbers library's matcher
(the same metadata that checks numbers elsewhere); emails, postcodes, street addresses and
names use small patterns of our own, because no library we use knows them. They run on
anything a person can send, so every function here returns for any str without raising.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers

Kind = Literal["phone", "email", "postcode", "address", "name"]
PLACEHOLDERS: dict[Kind, str] = {
    "phone": "[phone number]",
    "email": "[email]",
    "postcode": "[address]",
    "address": "[address]",
    "name": "[name]",
}
# People write numbers the UK way (07700 900123) far more often than with +44.
REGION = "GB"

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Royal Mail's postcode shapes (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA).
_POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]?\s*[0-9][A-Z]{2}\b", re.IGNORECASE)
_STREET_TYPES = (
    "street|st|road|rd|lane|ln|avenue|ave|close|way|place|pl|court|ct|gardens|gdns|square|sq"
    "|terrace|drive|dr|grove|hill|row|walk|crescent|mews|parade|park|estate|house|buildings"
)
# "12 Brick Lane", "Flat 3, 45a Commercial Road", "7 St Peter's Close".
_ADDRESS = re.compile(
    r"\b(?:(?:flat|apartment)\s+\w+,?\s+)?[0-9]{1,4}[a-z]?,?\s+"
    r"(?:[A-Z][\w'’-]*\s+){1,3}(?:" + _STREET_TYPES + r")\b\.?",
    re.IGNORECASE,
)
# A name follows these phrases: up to three words, stopping at a word that starts a clause.
_NAME_INTRO = re.compile(
    r"(?:\bmy name is|\bmy name's|\bi am called|\bthis is|\bi am|\bi'm|\bi’m|\bamar nam|"
    r"আমার নাম|আমার নাম হলো|আমার নাম হল)\s+",
    re.IGNORECASE,
)
# A run of letters and marks (Bengali vowel signs are marks, not \w), apostrophes, hyphens.
_NAME_WORD = re.compile(r"[^\s\d_,.;:!?()\[\]{}\"“”<>/\\|@#*+=&%।]+")
_STOP_WORDS = frozenset(
    "a an the and but or so not very really from in at on of to with for my your his her "
    "their our i im is was am are be been writing calling here sorry just also still "
    "আমি এবং আর আছে হয় হলো হল থেকে ami ar ebong ase hoy".split()
)
# After "I am" / "this is" only a capitalised word is a name ("I am Rahima", not "I am
# angry"); after "my name is" any word is, since people often type in lower case.
_NEEDS_CAPITAL = re.compile(r"^(?:i am|i'm|i’m|this is)\s", re.IGNORECASE)
_MAX_NAME_WORDS = 3


@dataclass(frozen=True)
class Span:
    """A stretch of the text [start, end) that looks like a personal detail of `kind`."""

    start: int
    end: int
    kind: Kind


def find_details(text: str) -> list[Span]:
    """Return the personal details found in the text, in order, never overlapping."""
    found = [*_phones(text), *_pattern(_EMAIL, text, "email")]
    found += [*_pattern(_ADDRESS, text, "address"), *_pattern(_POSTCODE, text, "postcode")]
    found += _names(text)
    # Earlier first, then longer first; a detail inside one already kept is dropped.
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (s.start, -(s.end - s.start))):
        if span.end > span.start and (not kept or span.start >= kept[-1].end):
            kept.append(span)
    return kept


def redact(text: str, spans: list[Span]) -> str:
    """Return the text with each span replaced by its placeholder; the text is not changed."""
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(PLACEHOLDERS[span.kind])
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def suggest(text: str | None) -> str:
    """The text as a moderator would probably redact it (empty for no text)."""
    if not text:
        return ""
    return redact(text, find_details(text))


def _phones(text: str) -> list[Span]:
    # POSSIBLE, not VALID: numbers in Ofcom's drama ranges and new ranges still get hidden,
    # and a moderator removes a wrong suggestion more easily than they spot a missed number.
    try:
        matches = list(
            phonenumbers.PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.POSSIBLE)
        )
    except Exception:  # noqa: BLE001 - a library quirk on odd text must not stop the page
        return []
    return [Span(match.start, match.end, "phone") for match in matches]


def _pattern(pattern: re.Pattern[str], text: str, kind: Kind) -> list[Span]:
    return [Span(match.start(), match.end(), kind) for match in pattern.finditer(text)]


def _names(text: str) -> list[Span]:
    spans: list[Span] = []
    for intro in _NAME_INTRO.finditer(text):
        capital_only = bool(_NEEDS_CAPITAL.match(intro.group(0)))
        position = intro.end()
        start = end = position
        for _ in range(_MAX_NAME_WORDS):
            word = _NAME_WORD.match(text, position)
            if word is None or not word.group(0)[0].isalpha():
                break
            if word.group(0).lower() in _STOP_WORDS:
                break
            if capital_only and not word.group(0)[0].isupper():
                break
            end = word.end()
            # Only spaces may join the words of one name; a comma or full stop ends it.
            gap = re.match(r"[ \t]+", text[end:])
            if gap is None:
                break
            position = end + gap.end()
        if end > start:
            spans.append(Span(start, end, "name"))
    return spans
