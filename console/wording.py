"""Small helpers for the words on the console's pages."""

from __future__ import annotations

import re

SYLOTI_NAGRI = re.compile("[\ua800-\ua82f]")
BENGALI_SCRIPT = re.compile("[\u0980-\u09ff]")
LATIN_LETTER = re.compile("[A-Za-z]")


def text_lang(text: str, language: str | None) -> str:
    """The BCP 47 tag for a message's text, so screen readers and fonts read it right.

    The person's language, unless the script says otherwise: Syloti Nagri is Sylheti,
    Bengali script from someone with an English setting is taken as Bengali, and Latin
    letters from a Bengali or Sylheti reader are their language romanised.
    """
    if SYLOTI_NAGRI.search(text):
        return "syl-Sylo"
    if BENGALI_SCRIPT.search(text):
        return language if language in ("bn", "syl") else "bn"
    if LATIN_LETTER.search(text) and language in ("bn", "syl"):
        return f"{language}-Latn"
    return language or "en"


def people(count: int) -> str:
    """ "1 person", "2 people": a count of people as staff would say it."""
    return f"{count:,} person" if count == 1 else f"{count:,} people"
