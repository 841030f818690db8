"""Plain words: every English text the bot says reads at grade 6 or below (Flesch-Kincaid).

Many of the people Kotha serves read English as a second language, or read little. The
Flesch-Kincaid grade level (Kincaid et al., 1975, for the US Navy) is

    0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59

counted here offline with a syllable counter of our own (vowel groups, with the common
English exceptions), because a dictionary would be one more dependency for a rough measure.
The formula says little about a few words, so texts of fewer than MIN_WORDS words (menu
labels, short questions) are not graded; the names of bodies and places people must be
told (NAMES) count as one short word each, as no plain word can replace them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from babel.messages.pofile import read_po

from bot.i18n import I18n, load_languages
from bot.settings import FLOWS_DIR, LOCALES_DIR
from flows.library import load_flows

MAX_GRADE = 6.0
MIN_WORDS = 10
# Names staff cannot put in plainer words: each counts as one word of one syllable.
NAMES = (
    "Local Government and Social Care Ombudsman",
    "Tower Hamlets Council",
    "Tower Hamlets",
    "Whitechapel Road",
    "Town Hall",
    "WhatsApp",
    "Telegram",
    "Twilio",
    "Information Commissioner's Office",
)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_URL = re.compile(r"\S+\.(?:uk|org|com)\S*|https?://\S+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n+")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Count the syllables of an English word by its vowel groups, with the usual exceptions:
    a silent final "e" (but not "-le"), "-ed" said without a vowel (but "-ted", "-ded"),
    "-es" after most letters, and a leading "y" that is a consonant."""
    word = word.lower().replace("'", "")
    if len(word) <= 3:
        return 1
    if word.startswith("y"):
        word = word[1:]
    count = len(_VOWEL_GROUP.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ie")) and count > 1:
        count -= 1
    elif word.endswith("ed") and not word.endswith(("ted", "ded")) and count > 1:
        count -= 1
    elif word.endswith("es") and not word.endswith(("ses", "zes", "ces", "ges", "xes")):
        count -= 1 if count > 1 else 0
    # "ia", "io", "ua" (as in "social", "radio", "usual") are two syllables, not one group.
    count += len(re.findall(r"[^aeiou]i[ao]|ua", word)) - len(re.findall(r"[cst]i[ao]", word))
    return max(count, 1)


def grade(text: str) -> tuple[float, int]:
    """The Flesch-Kincaid grade of a text, and its number of words."""
    for name in NAMES:
        text = text.replace(name, "Name")
    text = _URL.sub("link", _PLACEHOLDER.sub("", text))
    sentences = [part for part in _SENTENCE_END.split(text) if _WORD.search(part)]
    words = _WORD.findall(text)
    if not words:
        return 0.0, 0
    count = sum(syllables(word) for word in words)
    return 0.39 * len(words) / max(len(sentences), 1) + 11.8 * count / len(words) - 15.59, len(
        words
    )


def english_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every English text people receive: the flows' questions, options,
    descriptions and closing words, and the English catalog's texts."""
    flows = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)
    for flow in flows.flows.values():
        for node in flow.nodes.values():
            for text in (node.ask, node.say, node.say_no_contact):
                if text:
                    yield f"{flow.id}/{node.id}", text
            for option in node.options:
                for text in (option.label, option.info):
                    if text:
                        yield f"{flow.id}/{node.id}/{option.value}", text
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        for message in read_po(source):
            if isinstance(message.id, str) and message.id:
                yield "catalog", str(message.string or message.id)


def test_the_syllable_counter_counts_common_words() -> None:
    counted = {
        word: syllables(word)
        for word in ("care", "carer", "service", "social", "usual", "payments", "tell")
    }
    assert counted == {
        "care": 1,
        "carer": 2,
        "service": 2,
        "social": 2,
        "usual": 3,
        "payments": 2,
        "tell": 1,
    }


def test_a_hard_sentence_grades_high_and_a_plain_one_low() -> None:
    hard, _ = grade(
        "Representatives participate in consultative deliberations concerning "
        "commissioning intentions and strategic prioritisation."
    )
    plain, _ = grade("Tell us what you think. We will read it and write back to you soon.")
    assert hard > 12 and plain < 3


@pytest.mark.parametrize("language", [load_languages(LOCALES_DIR)["en"].code])
def test_every_english_bot_text_reads_at_grade_six_or_below(language: str) -> None:
    over = sorted(
        {
            f"{where}: grade {found:.1f}: {text!r}"
            for where, text in english_texts()
            for found, words in [grade(text)]
            if words >= MIN_WORDS and found > MAX_GRADE
        }
    )
    assert not over, f"{len(over)} {language} texts read above grade {MAX_GRADE:g}:\n" + "\n".join(
        over
    )
