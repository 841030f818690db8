"""Finding cue words and phrases in what people write, whatever the spelling.

A text becomes a list of words: its match key (flows/textnorm.py) split on spaces; Latin
words lose letters repeated three times or more ("stoppp", "pleaseee"); Bengali-script and
Syloti Nagri words are folded to one spelling (flows/scripts.py), so the two scripts and
Bengali's spelling variants compare equal.

A cue is written in the lists as words separated by spaces, where
- `word*` matches any word it begins ("complain*": complained, complaining);
- `(a|b c|d*)` matches any one of the words or phrases (`d*`: any word it begins);
- `…` matches up to four words of anything ("মেসেজ … দিবেন না");
- a Bengali-script word also matches the word with a common ending added (জরিপ, জরিপে,
  জরিপের; ক্লাব, ক্লাবো), and a Latin word of seven letters or more matches with one letter
  wrong, missing or extra ("complian", "unsubscibe").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

from rapidfuzz.distance import Levenshtein

from flows.scripts import fold
from flows.textnorm import match_key

GAP = "…"
PREFIX = "*"
MAX_GAP = 4
FUZZY_LENGTH = 7
_REPEATED = re.compile(r"([a-z])\1{2,}")
_ALTERNATIVES = re.compile(r"^\((.+)\)$")
# Endings Bengali and Sylheti add to a word (case, plural, the definite article), longest
# first; a word stripped of one is looked up again. Folded, like every word compared.
_ENDINGS = tuple(
    sorted(
        {
            fold(ending)
            for ending in (
                "গুলো গুলা গুলি গুলান দের েরা রা ের এর য়ের র টা টি টাকে খান খানা কে রে তে ত ে এ য় ও ো ই"
            ).split()
        },
        key=len,
        reverse=True,
    )
)


def words_of(text: str, limit: int) -> list[str]:
    """The words of `text` as cues are compared with them (at most `limit` of them)."""
    return [_word(word) for word in shown_words(text, limit)]


# Where one clause ends and the next begins: a full stop, a question or exclamation mark, a
# Bengali dari, a semicolon or colon, a line break, or a comma before a space.
_CLAUSE_END = re.compile(r"[.!?;:\u0964\n]+|,(?=\s|$)")


def clauses_of(text: str, limit: int) -> list[int]:
    """For each of `words_of(text, limit)`, the number of the clause it stands in.

    "It is not my number, stop" is two clauses: what a stop word is about is looked for in
    its own clause, not across a full stop or a comma.
    """
    numbers: list[int] = []
    for number, piece in enumerate(_CLAUSE_END.split(text)):
        numbers.extend([number] * len(words_of(piece, limit)))
    return numbers[:limit]


def shown_words(text: str, limit: int) -> list[str]:
    """The words of `text` as a person would recognise them, one for each of `words_of`.

    Lower case and without punctuation; an apostrophe joins what it separates: "don't" is
    "dont", as people type it anyway.
    """
    joined = text.replace("'", "").replace("\u2019", "")
    return match_key(joined).split()[:limit]


@lru_cache(maxsize=65536)
def _word(word: str) -> str:
    if word.isascii():
        return _REPEATED.sub(r"\1", word)
    return fold(word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str | None:
    """A Bengali-script (folded) word without its ending, or None if it has none to lose."""
    if word.isascii():
        return None
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return word[: -len(ending)]
    return None


@dataclass(frozen=True)
class Word:
    """One place in a cue: one of several words or phrases, a prefix, or a gap of words."""

    options: tuple[tuple[str, ...], ...] = ()
    prefix: bool = False
    gap: bool = False

    @property
    def firsts(self) -> frozenset[str]:
        return frozenset(option[0] for option in self.options)

    @cached_property
    def _singles(self) -> frozenset[str]:
        """The one-word options compared whole: looked up, not walked through."""
        if self.prefix:
            return frozenset()
        return frozenset(
            option[0] for option in self.options if len(option) == 1 and PREFIX not in option[0]
        )

    @cached_property
    def _rest(self) -> tuple[tuple[str, ...], ...]:
        return tuple(
            option for option in self.options if len(option) > 1 or option[0] not in self._singles
        )

    def ends(self, words: Sequence[str], start: int) -> list[int]:
        """Where this place ends when it matches `words` from `start` (none: no match)."""
        found = []
        if start < len(words) and self._singles:
            word = words[start]
            if word in self._singles or stem(word) in self._singles:
                found.append(start + 1)
            elif word.isascii() and len(word) >= FUZZY_LENGTH and _near(word, self._long):
                found.append(start + 1)
        for option in self._rest:
            end = start + len(option)
            if end > len(words):
                continue
            if all(_same(part, words[start + i], self.prefix) for i, part in enumerate(option)):
                found.append(end)
        return found

    @cached_property
    def _long(self) -> tuple[str, ...]:
        """The one-word options long enough to match with a letter wrong."""
        return tuple(word for word in self._singles if word.isascii() and len(word) >= FUZZY_LENGTH)


def _same(part: str, word: str, prefix: bool) -> bool:
    if prefix:
        return word.startswith(part)
    if part.endswith(PREFIX):  # an alternative written `word*`
        return word.startswith(part[:-1])
    if word == part:
        return True
    if stem(word) == part:
        return True
    return (
        len(word) >= FUZZY_LENGTH
        and len(part) >= FUZZY_LENGTH
        and word.isascii()
        and abs(len(part) - len(word)) <= 1
        and Levenshtein.distance(word, part, score_cutoff=1) <= 1
    )


@dataclass(frozen=True)
class Cue:
    """A word or phrase, as written in a list (shown as `why`) and as matched; `meaning` is
    what the list it came from says it means (an intent, and how strongly)."""

    shown: str
    words: tuple[Word, ...]
    meaning: str = ""


def parse(phrase: str) -> Cue:
    """Read one cue as the lists write it; raises ValueError for one that cannot match."""
    words: list[Word] = []
    joined = phrase.replace("'", "").replace("\u2019", "")
    for raw in _places(joined):
        if raw == GAP:
            words.append(Word(gap=True))
            continue
        alternatives = _ALTERNATIVES.match(raw)
        if alternatives:
            options = tuple(_option(option) for option in alternatives.group(1).split("|"))
            if not all(options):
                raise ValueError(f"cue {phrase!r}: an empty alternative")
            words.append(Word(options))
            continue
        prefix = raw.endswith("*")
        parts = [_word(part) for part in match_key(raw.rstrip("*")).split()]
        for position, part in enumerate(parts):
            words.append(Word(((part,),), prefix=prefix and position == len(parts) - 1))
    if not words or words[0].gap or words[-1].gap:
        raise ValueError(f"cue {phrase!r} must start and end with a word")
    return Cue(phrase, tuple(words))


def _option(option: str) -> tuple[str, ...]:
    """One alternative of a `(a|b c|d*)` place, as compared; a last word `d*` keeps its star."""
    parts = [_word(part) for part in match_key(option.rstrip(PREFIX)).split()]
    if parts and option.endswith(PREFIX):
        parts[-1] += PREFIX
    return tuple(parts)


def _places(phrase: str) -> list[str]:
    """Split a cue into its places: words, `…`, and `(...)` groups, which may hold spaces."""
    places: list[str] = []
    depth = 0
    current = ""
    for char in phrase:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char.isspace() and depth == 0:
            if current:
                places.append(current)
            current = ""
        else:
            current += char
    if current:
        places.append(current)
    return places


def cues(by_language: Mapping[str, Iterable[object]] | None, meaning: str = "") -> tuple[Cue, ...]:
    """Every language's cues in one list: folding keeps the scripts apart."""
    found: dict[str, Cue] = {}
    for phrases in (by_language or {}).values():
        for phrase in phrases or ():
            cue = parse(str(phrase))
            found.setdefault(cue.shown, replace(cue, meaning=meaning))
    return tuple(found.values())


def word_set(by_language: Mapping[str, Iterable[object]] | None) -> frozenset[str]:
    """Single words from lists, as compared (for lists of words, not of cues)."""
    return frozenset(
        _word(part)
        for words in (by_language or {}).values()
        for word in words or ()
        for part in match_key(str(word)).split()
    )


@dataclass(frozen=True)
class Match:
    """A cue found in a text: which one, and the words it covers [start, end)."""

    cue: Cue
    start: int
    end: int

    def inside(self, other: Match) -> bool:
        """Whether this match lies within `other` and is shorter."""
        return (
            other.start <= self.start
            and self.end <= other.end
            and other.end - other.start > self.end - self.start
        )


class Matcher:
    """Finds cues in a text's words, quickly: an index on each cue's first word.

    With `transpositions`, a four-letter word with two neighbouring letters swapped matches
    too ("stpo"): for the stop words, where a typo must not hide an opt-out.
    """

    def __init__(self, found: Sequence[Cue], transpositions: bool = False) -> None:
        self.cues = tuple(found)
        self.transpositions = transpositions
        self._exact: dict[str, list[int]] = {}
        # Prefix cues by their first letter, so a word is tried against few of them.
        self._prefixes: dict[str, list[tuple[str, int]]] = {}
        for index, cue in enumerate(self.cues):
            first = cue.words[0]
            for alternative in first.firsts:
                if first.prefix or alternative.endswith(PREFIX):
                    stem_ = alternative.removesuffix(PREFIX)
                    self._prefixes.setdefault(stem_[:1], []).append((stem_, index))
                else:
                    self._exact.setdefault(alternative, []).append(index)
        self._fuzzy = tuple(
            word for word in self._exact if word.isascii() and len(word) >= FUZZY_LENGTH
        )
        # The words each cue cannot match without, after its first: a cue is only walked
        # through where the text has them all ("i think" where there is no "think" is not).
        self._needs = tuple(_needed(cue) for cue in self.cues)
        self._known: dict[str, tuple[tuple[int, ...], tuple[tuple[str, int], ...]]] = {}

    def find(self, words: Sequence[str]) -> list[Match]:
        """Every cue found in `words`, each once, at its first place."""
        found: dict[int, Match] = {}
        present = {*words, *filter(None, map(stem, words))}
        needs = self._needs
        for start, word in enumerate(words):
            starting, swapped = self._at(word)
            for index in starting:
                if index in found or not needs[index] <= present:
                    continue
                end = _match_from(self.cues[index].words, words, start)
                if end is not None:
                    found[index] = Match(self.cues[index], start, end)
            for correction, index in swapped:
                corrected = [*words[:start], correction, *words[start + 1 :]]
                end = _match_from(self.cues[index].words, corrected, start)
                if index not in found and end is not None:
                    found[index] = Match(self.cues[index], start, end)
        return list(found.values())

    def _at(self, word: str) -> tuple[tuple[int, ...], tuple[tuple[str, int], ...]]:
        """The cues that may begin at `word`, and those that begin at it with two of its
        letters swapped (with the word so corrected): the same wherever the word stands, so
        worked out once."""
        known = self._known.get(word)
        if known is None:
            swapped: tuple[tuple[str, int], ...] = ()
            if self.transpositions and len(word) == 4 and not word.isdigit():
                swapped = tuple(
                    (correction, index)
                    for correction in _swaps(word)
                    for index in self._exact.get(correction, ())
                )
            known = (tuple(self._starting(word)), swapped)
            if len(self._known) < 100_000:
                self._known[word] = known
        return known

    def _starting(self, word: str) -> list[int]:
        candidates = list(self._exact.get(word, ()))
        root = stem(word)
        if root is not None:
            candidates.extend(self._exact.get(root, ()))
        candidates.extend(
            index for prefix, index in self._prefixes.get(word[:1], ()) if word.startswith(prefix)
        )
        if not candidates and word.isascii() and len(word) >= FUZZY_LENGTH:
            for near in _near(word, self._fuzzy):
                candidates.extend(self._exact[near])
        return candidates


@lru_cache(maxsize=65536)
def _near(word: str, vocabulary: tuple[str, ...]) -> tuple[str, ...]:
    """Cue words one letter away from `word`."""
    return tuple(
        other
        for other in vocabulary
        if abs(len(other) - len(word)) <= 1
        and Levenshtein.distance(word, other, score_cutoff=1) <= 1
    )


def _needed(cue: Cue) -> frozenset[str]:
    """The words after its first that `cue` matches only as they are: one word, no
    alternatives, no prefix, and too short (or not Latin) to match with a typo."""
    return frozenset(
        place.options[0][0]
        for place in cue.words[1:]
        if not place.gap
        and not place.prefix
        and len(place.options) == 1
        and len(place.options[0]) == 1
        and not place.options[0][0].endswith(PREFIX)
        and not (place.options[0][0].isascii() and len(place.options[0][0]) >= FUZZY_LENGTH)
    )


def _swaps(word: str) -> list[str]:
    """The word with each pair of neighbouring letters swapped."""
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]


def _match_from(pattern: Sequence[Word], words: Sequence[str], start: int) -> int | None:
    """Where the cue `pattern` ends if it matches `words` from `start`, else None."""
    if not pattern:
        return start
    head, rest = pattern[0], pattern[1:]
    if head.gap:
        for skip in range(MAX_GAP + 1):
            end = _match_from(rest, words, start + skip)
            if end is not None:
                return end
        return None
    for middle in head.ends(words, start):
        end = _match_from(rest, words, middle)
        if end is not None:
            return end
    return None
