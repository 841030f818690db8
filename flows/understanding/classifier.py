"""A small naive Bayes classifier, trained when the lists load from the labelled examples.

The word lists (intents.yaml, optout.yaml) say what a message means when it uses words the
team wrote down; people use many more. The examples (examples/*.yaml: messages written as
people write them, each with its intent and language) teach the rest: which words, parts of
words and pairs of words go with which intent, and with which language. Training is
counting, a few milliseconds at start; nothing is downloaded and nothing learns at run time.

Features are taken from the folded words (flows/understanding/matching.py), so Bengali and
Syloti Nagri spellings of one word count as one: each word, each pair of neighbouring words,
and the three- and four-letter pieces of each word, which carry endings, stems and typos.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from flows.understanding.matching import words_of

# How much a feature never seen with a label still counts (additive smoothing).
SMOOTHING = 0.3
PIECES = (3, 4)
TEMPER = 0.6
PIECE_SHARE = 0.3
# Words that turn their neighbours round, folded as the words are.
NEGATIONS = frozenset(
    words_of(
        "not no never dont didnt doesnt isnt wasnt cant wont na nai nay naa না নাই নায় নি নেই", 40
    )
)


@lru_cache(maxsize=65536)
def _word_features(word: str) -> tuple[str, ...]:
    """A word and its pieces: the same for the word wherever it stands, so worked out once."""
    padded = f"<{word}>"
    return (
        word,
        *(
            "~" + padded[start : start + size]
            for size in PIECES
            for start in range(len(padded) - size + 1)
        ),
    )


def features(words: Sequence[str]) -> set[str]:
    """What the classifier looks at in a message's folded words."""
    found: set[str] = set()
    for word in words:
        found.update(_word_features(word))
    found.update(f"{first}+{second}" for first, second in zip(words, words[1:], strict=False))
    # A word a negation turns round is another word: "not good", "ভালো না", "bala nay".
    for place, word in enumerate(words):
        if word in NEGATIONS:
            found.update("!" + other for other in words[place + 1 : place + 3])
            found.update("!" + other for other in words[max(0, place - 2) : place])
    found.add("#short" if len(words) <= 2 else "#long" if len(words) >= 8 else "#medium")
    return found


@dataclass(frozen=True)
class Classifier:
    """Log-probabilities learnt from examples: a message's labels ranked by likelihood."""

    labels: tuple[str, ...]
    priors: tuple[float, ...]
    # feature -> for each label, log P(feature | label), a piece of a word's share of it
    weights: Mapping[str, tuple[float, ...]]

    @classmethod
    def train(cls, examples: Iterable[tuple[Sequence[str], str]]) -> Classifier:
        """Learn from (folded words, label) pairs."""
        return cls.learn((features(words), label) for words, label in examples)

    @classmethod
    def learn(cls, examples: Iterable[tuple[set[str], str]]) -> Classifier:
        """Learn from (features, label) pairs: features worked out once serve several
        classifiers (the intent's and the language's)."""
        documents: Counter[str] = Counter()
        counts: dict[str, Counter[str]] = {}
        for found, label in examples:
            documents[label] += 1
            counts.setdefault(label, Counter()).update(found)
        if not documents:
            raise ValueError("no examples to learn from")
        labels = tuple(sorted(documents))
        total = sum(documents.values())
        vocabulary = set().union(*counts.values())
        # Multinomial naive Bayes over the features present (each counted once a message).
        denominators = [
            math.log(sum(counts[label].values()) + SMOOTHING * len(vocabulary)) for label in labels
        ]
        unseen = [math.log(SMOOTHING) - denominator for denominator in denominators]
        # A word's pieces say less than the word: "যোগ" is in অভিযোগ and in যোগ দিতে.
        rows = {
            feature: [PIECE_SHARE * value for value in unseen]
            if feature.startswith("~")
            else list(unseen)
            for feature in vocabulary
        }
        # A weight depends only on the label, the count and whether it is a piece: each is
        # one float, shared by every feature with it. Summing a message's weights then reads
        # a few hundred numbers, not thousands scattered over memory, which is most of the
        # time it takes.
        shared: dict[tuple[int, int, bool], float] = {}
        for place, label in enumerate(labels):
            denominator = denominators[place]
            for feature, count in counts[label].items():
                piece = feature.startswith("~")
                value = shared.get((place, count, piece))
                if value is None:
                    share = PIECE_SHARE if piece else 1.0
                    value = share * (math.log(count + SMOOTHING) - denominator)
                    shared[place, count, piece] = value
                rows[feature][place] = value
        weights = {feature: tuple(row) for feature, row in rows.items()}
        priors = tuple(math.log(documents[label] / total) for label in labels)
        return cls(labels, priors, weights)

    def known(self, words: Sequence[str]) -> float:
        """The share of `words` met whole in the examples: how far to trust the rest."""
        if not words:
            return 0.0
        return sum(word in self.weights for word in words) / len(words)

    def evidence(self, words: Sequence[str], label: str, other: str, most: int = 3) -> list[int]:
        """Where in `words` the words are that most favour `label` over `other`, in order."""
        one, two = self.labels.index(label), self.labels.index(other)
        leaning = []
        for place, word in enumerate(words):
            row = self.weights.get(word)
            if row is not None and row[one] > row[two]:
                leaning.append((row[one] - row[two], place))
        return sorted(place for _, place in sorted(leaning, reverse=True)[:most])

    def probabilities(
        self, words: Sequence[str], found: set[str] | None = None
    ) -> dict[str, float]:
        """Each label's probability for a message with these folded words (whose features,
        when already worked out, are `found`)."""
        rows = [row for row in map(self.weights.get, found or features(words)) if row]
        return self.from_sums(_column_sums(rows, len(self.labels)))

    def from_sums(self, sums: Sequence[float]) -> dict[str, float]:
        """Each label's probability, from the sum of each label's weights over the features."""
        scores = [prior + total for prior, total in zip(self.priors, sums, strict=True)]
        # Naive Bayes counts a word's pieces as if each were new evidence, and so is far too
        # sure of itself: its log-odds are tempered before they meet the lists' cues.
        top = max(scores)
        raised = [math.exp(TEMPER * (score - top)) for score in scores]
        total = sum(raised)
        return {label: value / total for label, value in zip(self.labels, raised, strict=True)}


def _column_sums(rows: Sequence[Sequence[float]], width: int) -> list[float]:
    # Summed column by column: the loop runs in C, which keeps a message under 1 ms.
    return [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * width


@dataclass(frozen=True)
class Reading:
    """Several classifiers read in one pass over a message's features: each feature is
    looked up once for all of them (in a long message, the costliest step), and each
    classifier's probabilities are what it would give asked alone."""

    parts: tuple[Classifier, ...]
    # feature -> the parts' rows side by side; a part that never met the feature adds 0.
    rows: Mapping[str, tuple[float, ...]]

    @classmethod
    def of(cls, parts: Sequence[Classifier]) -> Reading:
        gaps = [(0.0,) * len(part.labels) for part in parts]
        everything = set().union(*(part.weights for part in parts))
        rows = {
            feature: tuple(
                value
                for part, gap in zip(parts, gaps, strict=True)
                for value in part.weights.get(feature, gap)
            )
            for feature in everything
        }
        return cls(tuple(parts), rows)

    def probabilities(self, found: set[str]) -> list[dict[str, float]]:
        """Each part's label probabilities for a message with the features `found`."""
        width = sum(len(part.labels) for part in self.parts)
        sums = _column_sums([row for row in map(self.rows.get, found) if row], width)
        read, start = [], 0
        for part in self.parts:
            end = start + len(part.labels)
            read.append(part.from_sums(sums[start:end]))
            start = end
        return read
