"""Reading an answer to a fixed question: a number, yes or no, an option or a language named.

People answer in sentences ("yes I will come", "no thanks", "I think 2", "the day centre")
as often as with the number asked for. These functions find the answer in what they wrote,
or say there is none; they never guess between two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from flows.library import NAGRI, Flows, LanguageChoice, keyword_key
from flows.scripts import fold
from flows.textnorm import detect_script, match_key, negative_number, parse_number
from flows.understanding.matching import words_of

# An answer this long is a sentence about something else, not a reply to a fixed question.
MAX_ANSWER_WORDS = 12
# Words that undo a yes ("yes but not this time" is not a yes).
_NOT = frozenset(words_of("not no never cant cannot wont dont না নাই নায় na nai", 20))


def yes_or_no(flows: Flows, text: str) -> bool | None:
    """True for yes, False for no, None when the reply says neither (or both)."""
    number = parse_number(text)
    if number in (1, 2):
        return number == 1
    whole = {meaning for meaning, _ in flows.meanings(text)}
    if "yes" in whole and "no" not in whole:
        return True
    if "no" in whole and "yes" not in whole:
        return False
    words = match_key(text).split()
    if not words or len(words) > MAX_ANSWER_WORDS:
        return None
    # A sentence that starts with yes or no: "yes I will come", "no thanks", "হ্যাঁ আসব".
    first = {meaning for meaning, _ in flows.meanings(words[0])}
    rest = set(words_of(" ".join(words[1:]), MAX_ANSWER_WORDS))
    if "yes" in first and "no" not in first and not rest & _NOT:
        return True
    if "no" in first and "yes" not in first:
        return False
    return None


def pick_option(flows: Flows, question: str, text: str) -> int | None:
    """The 0-based index of the option an answer to `question` ("flow/node") picks, by
    number or by its label's words in any language."""
    options = flows.option_words.get(question, ())
    number = parse_number(text)
    if number is not None:
        return number - 1 if 1 <= number <= len(options) else None
    return pick_by_words(options, text)


def pick_by_words(options: Sequence[frozenset[str]], text: str) -> int | None:
    """The 0-based index of the option whose label's words (flows/library.py `label_words`)
    an answer shares most, when one alone does."""
    words = match_key(text).split()
    if not words or len(words) > MAX_ANSWER_WORDS:
        return None
    # Digits are numbers, never part of a name ("0 1" names nothing).
    said = {fold(word) for word in words if not word.isdigit()}
    overlaps = [len(said & option) for option in options]
    best = max(overlaps, default=0)
    if best == 0 or overlaps.count(best) > 1:
        return None
    return overlaps.index(best)


# Words that join the numbers of a reply to a question taking several answers ("1 and 3",
# "১ ও ৩", "1 ar 3"); any other word makes the reply something else.
_JOINING = frozenset(words_of("and or also plus ও এবং আর আরো ar aur o", 20))


def pick_options(flows: Flows, question: str, text: str) -> tuple[int, ...] | None:
    """The 0-based indexes of the options an answer to a question taking several picks,
    in the order first named, or None when the reply is no such answer.

    By numbers ("1 3", "1, 3", "১ ও ৩", and "13" where the menu has fewer than ten options
    and 13 is not one of them: a phone's keypad invites it), or by one option's words.
    """
    count = len(flows.option_words.get(question, ()))
    words = match_key(text).split()
    if not words or len(words) > MAX_ANSWER_WORDS or negative_number(text):
        return None
    numbers = [word for word in words if fold(word) not in _JOINING]
    # match_key writes every script's digits in ASCII; "²" and the like are no answer.
    if numbers and all(word.isascii() and word.isdigit() and len(word) <= 3 for word in numbers):
        if len(numbers) == 1 and int(numbers[0]) > count and count < 10:
            numbers = list(numbers[0])  # "135": one, three and five
        picked = [int(number) - 1 for number in numbers]
        if not all(0 <= index < count for index in picked):
            return None
        return tuple(dict.fromkeys(picked))
    one = pick_option(flows, question, text)
    return None if one is None else (one,)


def pick_language(flows: Flows, text: str) -> int | None:
    """The 0-based index in `flows.languages` of a language the answer picks or names."""
    count = len(flows.languages)
    number = parse_number(text)
    if number is not None:
        return number - 1 if 1 <= number <= count else None
    code = named_language(flows, text)
    codes = [language.code for language in flows.languages]
    return codes.index(code) if code in codes else None


@lru_cache(maxsize=8)
def _own_names(languages: tuple[LanguageChoice, ...]) -> dict[str, str]:
    """Each language's own name and code, as typed, to its code ("বাংলা", "bn")."""
    names: dict[str, str] = {}
    for language in languages:
        names.setdefault(match_key(language.code), language.code)
        names[match_key(language.name)] = language.code
    return names


def named_language(flows: Flows, text: str) -> str | None:
    """The language a short message names, in any language or script ("bangla", "সিলেটি")."""
    named = _own_names(flows.languages).get(match_key(text)) or flows.language_names.get(
        keyword_key(text)
    )
    if named == "syl" and flows.nagri and detect_script(text) == "syloti_nagri":
        return NAGRI
    return named


# A feedback reference as people may type it: "C-123456", "c 123456", "C১২৩৪৫৬".
_REFERENCE = re.compile(r"(?:^|\s)([cmp]) ?([0-9]{6})(?=\s|$)")
# A reference with a word or two around it ("status C-123456") still asks after it; in a
# longer message it is part of a story, not a question about where it is.
_REFERENCE_MESSAGE_WORDS = 4


def reference_in(text: str) -> str | None:
    """The feedback reference a short message names, written as it is issued, or None."""
    key = match_key(text)
    if len(key.split()) > _REFERENCE_MESSAGE_WORDS:
        return None
    found = _REFERENCE.search(key)
    return f"{found.group(1).upper()}-{found.group(2)}" if found else None
