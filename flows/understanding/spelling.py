"""Reading a mistyped word as the word meant: "menue", "surevy", "evnts", "bangal".

A word of four Latin letters or more that neither the lists nor the examples know is read
as a known word one edit away (a letter wrong, missing or extra, or two neighbours swapped:
the optimal string alignment distance), the likeliest when there are several: a word the
lists name before one the examples use, a commoner one before a rarer. Words the lists name
or the examples use often are never changed, nor are numbers, nor other scripts,
whose spellings flows/scripts.py folds instead. A word the examples use only once or twice
may be a typo written as people write ("surevy"): it is read as a word the lists name, if
one is near, and kept otherwise.

The words that stop or start messages are reached by a swap only ("stpo", "strat"): a
letter wrong would make "shop" a STOP, and "smart" a START.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

SHORTEST = 4
# A word the examples use this often or less, and no list names, may be a typo itself.
RARE = 2


@dataclass(frozen=True)
class Speller:
    """Known words, and the words a mistyped one may be read as."""

    known: frozenset[str]
    # Length -> the words of that length a typo may be read as, likeliest first.
    _targets: dict[int, tuple[str, ...]]
    _rank: dict[str, int]
    guarded: frozenset[str]
    # The words the lists name, and the words the examples use RARE times or less: those may
    # be typos themselves ("surevy"), read as a word the lists name when one is near.
    named: frozenset[str]
    rare: frozenset[str]
    _read: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        named: Iterable[str],
        used: Iterable[str],
        guarded: Iterable[str],
        known: Iterable[str] = (),
    ) -> Speller:
        """From the words the lists name, the words the examples use (as often as they
        use them: once may be a typo itself), the words reached by a swap only, and other
        words known as they are."""
        counts = Counter(used)
        names = {word for word in (*named, *guarded) if _correctable(word)}
        ranked = sorted(
            names | {word for word, count in counts.items() if count > 1 and _correctable(word)},
            key=lambda word: (word not in names, -counts[word], word),
        )
        by_length: dict[int, list[str]] = {}
        for word in ranked:
            by_length.setdefault(len(word), []).append(word)
        certain = frozenset(
            (*names, *(word for word, count in counts.items() if count > RARE), *known)
        )
        return cls(
            known=certain,
            _targets={length: tuple(words) for length, words in by_length.items()},
            _rank={word: rank for rank, word in enumerate(ranked)},
            guarded=frozenset(guarded),
            named=frozenset(names),
            rare=frozenset(counts) - certain,
        )

    def correct(self, words: Sequence[str]) -> list[str]:
        """`words` with each mistyped one read as the word meant."""
        return [self.read(word) for word in words]

    def read(self, word: str) -> str:
        """The word meant by `word`: itself, unless it is an unknown word with a near one."""
        if word in self.known or not _correctable(word):
            return word
        meant = self._read.get(word)
        if meant is None:
            meant = self._nearest(word)
            if len(self._read) < 50_000:
                self._read[word] = meant
        return meant

    def _nearest(self, word: str) -> str:
        """The likeliest target one edit from `word` (each length's targets are in order of
        likelihood, so the first found in each is that length's best), or `word` itself."""
        found: list[str] = []
        for length in (len(word) - 1, len(word), len(word) + 1):
            for other in self._targets.get(length, ()):
                if OSA.distance(word, other, score_cutoff=1) <= 1 and (
                    other not in self.guarded or _swapped(word, other)
                ):
                    found.append(other)
                    break
        if word in self.rare:
            found = [other for other in found if other in self.named]
        return min(found, key=self._rank.__getitem__) if found else word


def _correctable(word: str) -> bool:
    return len(word) >= SHORTEST and word.isascii() and word.isalpha()


def _swapped(word: str, other: str) -> bool:
    """Whether `other` is `word` with two neighbouring letters swapped."""
    return len(word) == len(other) and sorted(word) == sorted(other) and word != other
