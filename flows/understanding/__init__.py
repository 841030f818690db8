"""What a person means in their own words: intent, language, how sure we are, and why.

Rules over word lists people can read and extend (the YAML files beside this module), not a
trained model: the lists are the team's knowledge of how people write to the council in
English, Bengali and Sylheti, and a native speaker can correct them line by line. How a cue
is matched, spelling and scripts aside, is flows/understanding/matching.py.

Pure, like the engine: no I/O but reading the lists once, no clock, cheap enough to run on
every message (bench/runner.py). The runner gives the result to the engine as part of the
input (flows/engine.py), and keeps it on the message so staff see why the bot did what it
did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from flows.understanding.matching import Match, Matcher, cues, shown_words, word_set, words_of

HERE = Path(__file__).resolve().parent
INTENTS = (
    "complaint",
    "comment",
    "compliment",
    "survey",
    "involve",
    "events",
    "help",
    "menu",
    "language",
    "stop",
    "start",
    "none",
)
# The intents the cue lists name, in the order that breaks a tie: a complaint over the
# thanks beside it. Stop has rules of its own (optout.yaml).
CUED = (
    "complaint",
    "compliment",
    "comment",
    "survey",
    "involve",
    "events",
    "help",
    "menu",
    "language",
    "start",
)
LANGUAGES = ("en", "bn", "syl", "syl-Latn", "syl-Sylo")
# A long message is looked at up to here: enough for a story, bounded for a hostile one.
MAX_WORDS = 400
STRONG, WEAK = 3, 1
# How sure the understanding must be for the bot to act without asking.
SURE = 0.8
# A language named in a message this short asks for that language; in a longer one, the
# name is only part of what it says ("send the letters in Bengali").
SHORT = 3
# Words that turn the words next to them round: before them in English, after in Bengali.
NEGATIONS_BEFORE = frozenset("not no never isnt wasnt arent werent dont didnt doesnt".split())
NEGATIONS_AFTER = frozenset(words_of("না নাই নায় নি নেই na nai nay naa", 20))


@dataclass(frozen=True)
class Understanding:
    """What a message seems to say: its intent, its language, how sure, and the words why."""

    intent: str
    language: str | None
    confidence: float
    why: tuple[str, ...] = ()
    # Whether the words (or the script) say the language clearly, not only lean towards it.
    language_sure: bool = False

    @property
    def sure(self) -> bool:
        return self.confidence >= SURE

    def as_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "language": self.language,
            "confidence": round(self.confidence, 2),
            "why": list(self.why),
        }


NOTHING = Understanding("none", None, 1.0)


@dataclass(frozen=True)
class _OptOut:
    """The opt-out rules, compiled (optout.yaml)."""

    phrases: Matcher
    stop: Matcher
    filler: frozenset[str]
    messages: Matcher
    not_about: Matcher
    dont: frozenset[str]
    ask: frozenset[str]


@dataclass(frozen=True)
class _Languages:
    """What tells the languages apart, compiled (languages.yaml)."""

    syl_words: frozenset[str]
    bn_words: frozenset[str]
    syl_endings: tuple[str, ...]
    bn_endings: tuple[str, ...]
    roman_words: frozenset[str]
    english_words: frozenset[str]


@dataclass
class Lexicon:
    """Every list the understanding uses, loaded and compiled once."""

    strong: Mapping[str, Matcher]
    weak: Mapping[str, Matcher]
    names: Matcher
    pleasantries: Matcher
    optout: _OptOut
    languages: _Languages
    _cache: dict[str, Understanding] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path = HERE) -> Lexicon:
        def read(name: str) -> Mapping[str, Any]:
            data = yaml.safe_load((directory / name).read_text(encoding="utf-8"))
            if not isinstance(data, Mapping):
                raise ValueError(f"{name}: must be a mapping")
            return data

        intents = read("intents.yaml")
        missing = set(CUED) - set(intents)
        if missing:
            raise ValueError(f"intents.yaml: no cues for {sorted(missing)}")
        optout = read("optout.yaml")
        languages = read("languages.yaml")
        script, latin = languages["bengali_script"], languages["latin"]
        return cls(
            strong={intent: Matcher(cues(intents[intent].get("strong"))) for intent in CUED},
            weak={intent: Matcher(cues(intents[intent].get("weak"))) for intent in CUED},
            names=Matcher(cues(intents["language"].get("names"))),
            pleasantries=Matcher(cues(intents["pleasantries"])),
            optout=_OptOut(
                phrases=Matcher(cues(optout["phrases"])),
                stop=Matcher(cues(optout["stop_words"]), transpositions=True),
                filler=word_set(optout["filler"]),
                messages=Matcher(cues(optout["messages"])),
                not_about=Matcher(cues(optout["not_about_messages"])),
                dont=word_set({"all": optout["dont"]}),
                ask=word_set({"all": optout["ask"]}),
            ),
            languages=_Languages(
                syl_words=word_set({"syl": script["syl"]}),
                bn_words=word_set({"bn": script["bn"]}),
                syl_endings=tuple(word_set({"syl": script["syl_endings"]})),
                bn_endings=tuple(word_set({"bn": script["bn_endings"]})),
                roman_words=word_set({"syl-Latn": latin["syl-Latn"]}),
                english_words=word_set({"en": latin["en"]}),
            ),
        )

    def understand(self, text: str) -> Understanding:
        """What `text` seems to say. Total: any string gives an answer, never an error."""
        if len(text) >= 200:
            return self._understand(text)
        # Short messages repeat ("stop", "1", "hi"): remember what they were taken to mean.
        found = self._cache.get(text)
        if found is None:
            found = self._understand(text)
            if len(self._cache) < 20_000:
                self._cache[text] = found
        return found

    def _understand(self, text: str) -> Understanding:
        words = words_of(text, MAX_WORDS)
        if not words:
            return NOTHING
        language, sure = self._language(text, words)
        stop = self._opt_out(words)
        if stop is not None:
            confidence, matches = stop
            intent = "stop"
        else:
            intent, confidence, matches = self._intent(words)
        # Why, in the person's own words (lower-cased, punctuation gone), not the lists' cues.
        shown = shown_words(text, MAX_WORDS)
        why = tuple(dict.fromkeys(" ".join(shown[m.start : m.end]) for m in matches))
        return Understanding(intent, language, confidence, why, sure)

    def language(self, text: str) -> str | None:
        """The language of `text`, from its script and its words (see languages.yaml)."""
        return self._language(text, words_of(text, MAX_WORDS))[0]

    def _language(self, text: str, words: Sequence[str]) -> tuple[str | None, bool]:
        """The language of `text` (whose words are `words`), and whether that is clear.

        Any Syloti Nagri says Sylheti in that script; any Bengali script, Bengali or
        Sylheti by their words (English words inside are normal); else Latin letters,
        English or Sylheti written in them, told apart by their words.
        """
        bengali = syloti = latin = 0
        for char in text:
            if "\u0980" <= char <= "\u09ff":
                bengali += 1
            elif "\ua800" <= char <= "\ua82f":
                syloti += 1
            elif char.isascii() and char.isalpha():
                latin += 1
        rules = self.languages
        if syloti >= 2 and syloti >= bengali:
            return "syl-Sylo", True
        if bengali >= 2 or syloti >= 2:
            sylheti = sum(
                word in rules.syl_words or word.endswith(rules.syl_endings) for word in words
            )
            standard = sum(
                word in rules.bn_words or word.endswith(rules.bn_endings) for word in words
            )
            # Bengali script is Bengali or Sylheti for sure; which, only the words say.
            return ("syl" if 2 * sylheti > standard else "bn"), True
        if not latin:
            return None, False
        roman = sum(word in rules.roman_words for word in words)
        english = sum(word in rules.english_words for word in words)
        if roman and 2 * roman >= english:
            return "syl-Latn", roman >= 2
        return "en", english >= 2 and not roman

    # -- opting out ------------------------------------------------------------------------

    def _opt_out(self, words: Sequence[str]) -> tuple[float, list[Match]] | None:
        """(confidence, the words why) when the message asks to stop messages, else None."""
        rules = self.optout
        # "don't stop the messages" is not "stop the messages".
        phrases = [
            match for match in rules.phrases.find(words) if not _negated_before(words, match.start)
        ]
        if phrases:
            return 0.95, phrases
        unsure: list[Match] = []
        for match in rules.stop.find(words):
            start, end = match.start, match.end
            if _negated_before(words, start):
                continue  # "won't stop", "don't stop"
            following = words[end : end + 2]
            if following and following[0] in NEGATIONS_AFTER:
                continue  # "বন্ধ করো না": do not stop
            if len(following) == 2 and following[1] in NEGATIONS_AFTER:
                if following[0] in rules.ask:
                    unsure = [match]  # "বন্ধ করেন না": please stop, or don't?
                    continue
                if following[0] in rules.dont:
                    continue  # "বন্ধ করবেন না": do not stop
            before, after = words[max(0, start - 3) : start], words[end : end + 5]
            about_messages = bool(rules.messages.find(after) or rules.messages.find(before))
            about_else = bool(
                rules.not_about.find(after)
                or rules.not_about.find(words[max(0, start - 2) : start])
            )
            if about_messages and not about_else:
                return 0.95, [match]
            if about_else:
                continue
            others = [word for i, word in enumerate(words) if not start <= i < end]
            if all(word in rules.filler for word in others):
                return 0.95, [match]
            if len(words) <= 6:
                unsure = [match]
        if unsure:
            return 0.6, unsure
        return None

    # -- intents ---------------------------------------------------------------------------

    def _intent(self, words: Sequence[str]) -> tuple[str, float, list[Match]]:
        """The intent the cues found in `words` point to, how sure, and the cues why."""
        pleasant = self.pleasantries.find(words)
        if _covers(pleasant, len(words)):
            return "none", 0.9, pleasant
        found: list[tuple[str, Match, bool]] = []
        for intent in CUED:
            found.extend((intent, match, True) for match in self.strong[intent].find(words))
            found.extend((intent, match, False) for match in self.weak[intent].find(words))
        for match in self.names.find(words):
            found.append(("language", match, len(words) <= SHORT))
        # A cue inside a longer one found in the same words is that one's part: "start over"
        # is the menu, not "start"; "would help" a comment, not a call for help.
        strong_spans = [match for _, match, strong in found if strong]
        scores: dict[str, int] = {}
        strong_count: dict[str, int] = {}
        why: dict[str, list[Match]] = {}
        for intent, match, strong in found:
            if any(match.inside(other) for other in strong_spans):
                continue
            target = intent
            if intent == "compliment" and _negated(words, match.start, match.end):
                target = "complaint"  # "not very good", "বালা না"
            scores[target] = scores.get(target, 0) + (STRONG if strong else WEAK)
            if strong:
                strong_count[target] = strong_count.get(target, 0) + 1
            why.setdefault(target, []).append(match)
        if not scores:
            return "none", 0.6, []
        best = max(CUED, key=lambda intent: (scores.get(intent, 0), -CUED.index(intent)))
        top = scores[best]
        if not strong_count.get(best) and top < 2:
            return "none", 0.5, why[best]
        runner_up = max((score for intent, score in scores.items() if intent != best), default=0)
        if strong_count.get(best):
            confidence = 0.95 if top - runner_up >= STRONG else 0.85
        else:
            confidence = min(0.4 + 0.1 * top, 0.7)
        return best, confidence, why[best]


def _covers(matches: Sequence[Match], length: int) -> bool:
    """Whether the matches cover every one of `length` words."""
    covered: set[int] = set()
    for match in matches:
        covered.update(range(match.start, match.end))
    return len(covered) == length


def _negated_before(words: Sequence[str], start: int) -> bool:
    """Whether a negation stands right before `start`: "won t stop", "dont stop"."""
    window = words[max(0, start - 2) : start]
    if any(
        word in ("wont", "dont", "doesnt", "didnt", "cant", "couldnt", "never") for word in window
    ):
        return True
    return (
        len(window) == 2
        and window[1] == "t"
        and window[0] in ("won", "don", "can", "doesn", "didn", "couldn")
    )


def _negated(words: Sequence[str], start: int, end: int) -> bool:
    """Whether the words at [start, end) are negated: "not good", "ভালো না"."""
    before = words[max(0, start - 2) : start]
    after = words[end : end + 2]
    return any(word in NEGATIONS_BEFORE for word in before) or any(
        word in NEGATIONS_AFTER for word in after
    )


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lists shipped beside this module, loaded once per process."""
    return Lexicon.load()


def understand(text: str) -> Understanding:
    """What `text` seems to say, by the shipped lists."""
    return default_lexicon().understand(text)
