"""Safeguarding: whether a message tells of harm, which harm, and the words why.

Like the rest of the understanding, two kinds of knowledge: phrases by category
(harm.yaml), and examples of messages labelled by the harm they disclose, or none
(harm_examples/), from which a classifier learns at start. A phrase the lists name flags a
message outright; without one, the classifier flags it when it finds harm likely enough. A
missed disclosure costs far more than a flag a moderator clears, so the threshold is low:
recall first, precision printed beside it (tests/flows/understanding/test_harm.py).

Pure: the understanding runs it on every message (flows/understanding/__init__.py) and the
runner's safeguarding watcher raises the flag (bot/casework/safeguarding.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.understanding.classifier import Classifier
from flows.understanding.matching import Cue, Match, cues, words_of
from flows.yamlfile import read_yaml

# The harms, most urgent first: a message that tells of two is flagged as the first.
CATEGORIES = ("emergency", "self_harm", "abuse", "domestic", "threat", "neglect", "financial")
LANGUAGES = ("en", "bn", "syl", "syl-Latn")
# The classifier's probability of harm from which a message with no listed phrase is flagged.
LEARNT_HARM = 0.35
NO_HARM = "none"
# What stands for the classifier where `why` names the words that decided.
LEARNT = Cue("(learnt from the examples)", ())


@dataclass(frozen=True)
class Harm:
    """The harm a message tells of: its category, how sure, and the matches why."""

    category: str
    confidence: float
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class HarmExample:
    """A message as someone wrote it, with the harm it discloses (None: no harm)."""

    text: str
    language: str
    category: str | None


def read_harm_examples(directory: Path) -> Iterator[HarmExample]:
    """The labelled examples in every YAML file in `directory`, checked as they are read."""
    for path in sorted(directory.glob("*.yaml")):
        for number, item in enumerate(read_yaml(path) or (), 1):
            category, language = item.get("category"), item.get("language")
            if (category is not None and category not in CATEGORIES) or language not in LANGUAGES:
                raise ValueError(f"{path.name}: example {number}: unknown category or language")
            yield HarmExample(str(item["text"]), language, category)


def harm_cues(data: Mapping[str, Any]) -> list[Cue]:
    """Every phrase of harm.yaml, each meaning "harm <category>" or "harm ignore"."""
    categories = data.get("categories") or {}
    unknown = set(categories) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"harm.yaml: unknown categories {sorted(unknown)}")
    found = [
        cue
        for category in CATEGORIES
        for cue in cues(_checked(categories.get(category), category), f"harm {category}")
    ]
    return found + list(cues(_checked(data.get("ignore"), "ignore"), "harm ignore"))


def _checked(by_language: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    bad = set(by_language or {}) - set(LANGUAGES)
    if bad:
        raise ValueError(f"harm.yaml: {name}: unknown languages {sorted(bad)}")
    return by_language or {}


def train(examples: Iterable[HarmExample], calm: Iterable[str] = ()) -> Classifier | None:
    """The classifier of harm, learnt from examples, and from `calm` messages that tell of
    no harm (everyday requests); None without any example."""
    labelled = [(words_of(e.text, 400), e.category or NO_HARM) for e in examples]
    if not labelled:
        return None
    labelled += [(words_of(text, 400), NO_HARM) for text in calm]
    return Classifier.train(labelled)


def detect(
    words: Sequence[str],
    hits: Sequence[Match],
    classifier: Classifier | None,
    learnt: Mapping[str, float],
) -> Harm | None:
    """The harm the words tell of, from the harm cues found in them (`hits`, which include
    the phrases to ignore) and the classifier (`learnt`: what it made of the words); None
    for none."""
    ignored = {
        place
        for match in hits
        if match.cue.meaning == "harm ignore"
        for place in range(match.start, match.end)
    }
    named = [
        match
        for match in hits
        if match.cue.meaning != "harm ignore"
        and not ignored.intersection(range(match.start, match.end))
    ]
    if named:
        category = min(
            (match.cue.meaning.removeprefix("harm ") for match in named), key=CATEGORIES.index
        )
        why = tuple(m for m in named if m.cue.meaning == f"harm {category}")
        return Harm(category, 0.95, why)
    if classifier is None or not words or not learnt:
        return None
    likely = 1.0 - learnt.get(NO_HARM, 0.0)
    if likely < LEARNT_HARM:
        return None
    category = max(CATEGORIES, key=lambda name: learnt.get(name, 0.0))
    places = classifier.evidence(words, category, NO_HARM)
    return Harm(category, likely, tuple(Match(LEARNT, place, place + 1) for place in places))
