"""What a person means in their own words: intent, language, how sure we are, and why.

Two kinds of knowledge, both data a native speaker can read and extend: word and phrase lists
(the YAML files beside this module: cues for each intent, the rules for opting out, the
words that tell the languages apart), and labelled examples of messages as people write them
(examples/), from which a small classifier learns at start (classifier.py). The lists decide
what they are sure of; the classifier weighs in on everything else. Opting out always needs
a word of opting out: the classifier can make the bot ask, never stop on its own. How a cue
is matched, spelling and scripts aside, is flows/understanding/matching.py.

Pure, like the engine: no I/O but reading the lists once, no clock, cheap enough to run on
every message (bench/runner.py). The runner gives the result to the engine as part of the
input (flows/engine.py), and keeps it on the message so staff see why the bot did what it
did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from flows.understanding.classifier import Classifier, Reading, features
from flows.understanding.harm import HarmExample, harm_cues, read_harm_examples
from flows.understanding.harm import detect as detect_harm
from flows.understanding.harm import train as train_harm
from flows.understanding.matching import (
    PREFIX,
    Cue,
    Match,
    Matcher,
    clauses_of,
    cues,
    shown_words,
    word_set,
    words_of,
)
from flows.understanding.spelling import Speller
from flows.yamlfile import read_yaml

HERE = Path(__file__).resolve().parent
# Messages as people write them, labelled: what the classifiers learn from.
EXAMPLES = HERE / "examples"
HARM_EXAMPLES = HERE / "harm_examples"
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
# How the lists' cues weigh against the classifier: each point of cue score multiplies an
# intent's odds by e ** CUE_WEIGHT. FLOOR keeps an intent no example taught from -infinity.
CUE_WEIGHT = 1.75
# How sure an intent is at least when a strong cue names it and no other intent's does,
# and at most when only the classifier says it (below SURE: the bot asks first).
NAMED = 0.85
LEARNT_ONLY = 0.75
FLOOR = 1e-4
# Each word a language list names (languages.yaml) multiplies that language's odds by
# e ** WORD_WEIGHT.
WORD_WEIGHT = 1.0
# The classifier's probability of an opt-out below which the rules' opt-out is not believed,
# and from which a message with a word that may carry one opts out (asked first below SURE).
STOP_VETO = 0.0
# The confidence of an opt-out the bot asks about first (below SURE).
ASK = 0.6
# Stop words said in English word order: what they are about follows them.
ENGLISH_STOPS = frozenset(("stop", "unsubscribe", "cancel", "end", "quit"))
STOP_LEARNT = 0.5
_TIE_ORDER = (*CUED, "none")
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
    # The harm the message tells of (flows/understanding/harm.py), if any, and the words why.
    safeguarding: str | None = None
    safeguarding_why: tuple[str, ...] = ()
    # How sure: a listed phrase is sure; the classifier alone, as sure as it finds harm likely.
    safeguarding_confidence: float = 0.0

    @property
    def sure(self) -> bool:
        return self.confidence >= SURE

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "intent": self.intent,
            "language": self.language,
            "confidence": round(self.confidence, 2),
            "why": list(self.why),
            "safeguarding": None,
        }
        if self.safeguarding is not None:
            found["safeguarding"] = {
                "category": self.safeguarding,
                "why": list(self.safeguarding_why),
            }
        return found


NOTHING = Understanding("none", None, 1.0)
# What stands for the classifier where `why` names the words that decided.
LEARNT = Cue("(learnt from the examples)", ())


@dataclass(frozen=True)
class Example:
    """A message as someone wrote it, with what it means and the language it is in."""

    text: str
    intent: str
    language: str

    @property
    def words(self) -> list[str]:
        return words_of(self.text, MAX_WORDS)


# Messages that ask for something else entirely: everyday words the harm classifier learns
# are no harm ("please stop texting me", "can i join the panel"). Complaints and comments are
# left out: many of them tell of missed care, which is harm.
CALM_INTENTS = frozenset(INTENTS) - {"complaint", "comment"}


def _calm(examples: Iterable[Example]) -> list[str]:
    return [example.text for example in examples if example.intent in CALM_INTENTS]


def read_examples(directory: Path) -> Iterator[Example]:
    """The labelled examples in every YAML file in `directory`, checked as they are read."""
    for path in sorted(directory.glob("*.yaml")):
        for number, item in enumerate(read_yaml(path) or (), 1):
            intent, language = item.get("intent"), item.get("language")
            if isinstance(language, list):
                language = language[0]  # a short text several languages share: its first
            if intent not in INTENTS or language not in LANGUAGES:
                raise ValueError(f"{path.name}: example {number}: unknown intent or language")
            yield Example(str(item["text"]), intent, language)


@dataclass(frozen=True)
class _OptOut:
    """The opt-out rules, compiled (optout.yaml)."""

    filler: frozenset[str]
    messages: Matcher
    sending: Matcher
    not_about: Matcher
    dont: frozenset[str]
    ask: frozenset[str]
    reported: frozenset[str]
    if_not: frozenset[str]

    def reports_or_supposes(self, following: Sequence[str]) -> bool:
        """Whether the word `following` a phrase reports it or makes it a condition."""
        return bool(following) and (following[0] in self.reported or following[0] in self.if_not)


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

    # Every cue looked for in a whole message, in one matcher, each with its meaning: an
    # intent's ("complaint strong", "help weak", "language name": intents.yaml), a
    # pleasantry's, or an opt-out rule's ("optout phrase", "optout decline", "optout carrier",
    # "optout stop": optout.yaml). One pass over the words finds them all.
    cues: Matcher
    optout: _OptOut
    languages: _Languages
    # Learnt from the examples: which intent, and which language, a message's words suggest.
    classifier: Classifier | None = None
    language_classifier: Classifier | None = None
    harm_classifier: Classifier | None = None
    # Reads a mistyped word as the known word meant ("menue", "surevy").
    speller: Speller | None = None
    # The three classifiers above, read in one pass over a message's features.
    reading: Reading | None = None
    _cache: dict[str, Understanding] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        directory: Path = HERE,
        examples: Iterable[Example] | None = None,
        harm_examples: Iterable[HarmExample] | None = None,
    ) -> Lexicon:
        """The lists in `directory`, with classifiers learnt from `examples` and
        `harm_examples` (by default the examples/ and harm_examples/ beside the lists)."""

        def read(name: str) -> Mapping[str, Any]:
            data = read_yaml(directory / name)
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
        examples = list(read_examples(directory / EXAMPLES.name) if examples is None else examples)
        if harm_examples is None:
            harm_examples = read_harm_examples(directory / HARM_EXAMPLES.name)
        harm_examples = list(harm_examples)
        found = [features(example.words) for example in examples]
        matcher = Matcher(
            [
                cue
                for intent in CUED
                for strength in ("strong", "weak")
                for cue in cues(intents[intent].get(strength), f"{intent} {strength}")
            ]
            + list(cues(intents["language"].get("names"), "language name"))
            + list(cues(intents["pleasantries"], "pleasantry"))
            + [cue for rule, key in RULES.items() for cue in cues(optout[key], f"optout {rule}")]
            + harm_cues(read("harm.yaml")),
            # A typo must not hide an opt-out: "stpo", "sotp".
            transpositions=True,
        )
        intent = language = None
        if examples:
            intent = Classifier.learn(zip(found, [e.intent for e in examples], strict=True))
            language = Classifier.learn(zip(found, [e.language for e in examples], strict=True))
        harm = train_harm(harm_examples, _calm(examples))
        trained = [classifier for classifier in (intent, language, harm) if classifier]
        return cls(
            cues=matcher,
            optout=_OptOut(
                filler=word_set(optout["filler"]),
                messages=Matcher(cues(optout["messages"])),
                sending=Matcher(cues(optout["sending"])),
                not_about=Matcher(cues(optout["not_about_messages"])),
                dont=word_set({"all": optout["dont"]}),
                ask=word_set({"all": optout["ask"]}),
                reported=word_set({"all": optout["reported"]}),
                if_not=word_set({"all": optout["if_not"]}),
            ),
            languages=_Languages(
                syl_words=word_set({"syl": script["syl"]}),
                bn_words=word_set({"bn": script["bn"]}),
                syl_endings=tuple(word_set({"syl": script["syl_endings"]})),
                bn_endings=tuple(word_set({"bn": script["bn_endings"]})),
                roman_words=word_set({"syl-Latn": latin["syl-Latn"]}),
                english_words=word_set({"en": latin["en"]}),
            ),
            classifier=intent,
            language_classifier=language,
            harm_classifier=harm,
            speller=_speller(matcher, examples, harm_examples),
            reading=Reading.of(trained) if trained else None,
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
        if self.speller is not None:
            words = self.speller.correct(words)
        if not words:
            return NOTHING
        found = features(words)
        hits = _by_meaning(self.cues.find(words))
        learnt, languages, harms = self._learnt(found)
        language, sure = self._language(text, words, languages)
        verdict = self._opt_out(words, clauses_of(text, MAX_WORDS), hits)
        stop = _stop_confidence(verdict, learnt.get("stop"))
        if stop is not None:
            intent, confidence, matches = "stop", stop, verdict.matches
        else:
            intent, confidence, matches = self._intent(words, learnt, hits)
        harm = detect_harm(words, hits.get("harm", ()), self.harm_classifier, harms)
        # Why, in the person's own words (lower-cased, punctuation gone), not the lists' cues.
        shown = shown_words(text, MAX_WORDS)

        def said(found_matches: Iterable[Match]) -> tuple[str, ...]:
            return tuple(dict.fromkeys(" ".join(shown[m.start : m.end]) for m in found_matches))

        return Understanding(
            intent,
            language,
            confidence,
            said(matches),
            sure,
            harm.category if harm else None,
            said(harm.matches) if harm else (),
            harm.confidence if harm else 0.0,
        )

    def _learnt(self, found: set[str]) -> tuple[Mapping[str, float], ...]:
        """What the intent, language and harm classifiers make of a message's features, read
        in one pass; {} from one not trained."""
        if self.reading is None:
            return {}, {}, {}
        read = iter(self.reading.probabilities(found))
        trained = (self.classifier, self.language_classifier, self.harm_classifier)
        return tuple(next(read) if classifier else {} for classifier in trained)

    def _language(
        self, text: str, words: Sequence[str], learnt: Mapping[str, float]
    ) -> tuple[str | None, bool]:
        """The language of `text` (whose words are `words`), and whether that is clear
        (`learnt`: what the language classifier made of the words).

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
            # Bengali script is Bengali or Sylheti for sure; which, only the words say.
            sylheti = sum(
                word in rules.syl_words or word.endswith(rules.syl_endings) for word in words
            )
            standard = sum(
                word in rules.bn_words or word.endswith(rules.bn_endings) for word in words
            )
            odds = self._language_odds(learnt, "syl", "bn")
            odds += WORD_WEIGHT * (sylheti - standard)
            return ("syl" if odds > 0 else "bn"), True
        if not latin:
            return None, False
        roman = sum(word in rules.roman_words for word in words)
        english = sum(word in rules.english_words for word in words)
        odds = self._language_odds(learnt, "syl-Latn", "en")
        odds += WORD_WEIGHT * (roman - english)
        # Clear only from words the lists name: "salam" or "ok" is written in both.
        if odds > 0:
            return "syl-Latn", roman >= 2
        return "en", english >= 2 and not roman

    @staticmethod
    def _language_odds(learnt: Mapping[str, float], one: str, other: str) -> float:
        """How much likelier the examples make `one` language than `other`, as log-odds
        (none without a language classifier: `learnt` is empty)."""
        if not learnt:
            return 0.0
        return math.log(learnt.get(one, 0.0) + FLOOR) - math.log(learnt.get(other, 0.0) + FLOOR)

    # -- opting out ------------------------------------------------------------------------

    def _opt_out(
        self,
        words: Sequence[str],
        clauses: Sequence[int] | None = None,
        hits: Mapping[str, list[Match]] | None = None,
    ) -> OptOutVerdict:
        """What the opt-out rules (optout.yaml) make of `words` (in `clauses`, by number;
        `hits`: the cues found in them, by meaning)."""
        rules = self.optout
        found = hits if hits is not None else _by_meaning(self.cues.find(words))
        clause = clauses if clauses is not None else [0] * len(words)

        def one_clause(match: Match) -> bool:
            return clause[match.start] == clause[match.end - 1]

        def clause_end(match: Match) -> int:
            """Where the clause `match` ends in ends: what it is about is said inside it."""
            end = match.end
            while end < len(words) and clause[end] == clause[match.end - 1]:
                end += 1
            return end

        def within(start: int, end: int, before: int, after: int) -> tuple[list[str], list[str]]:
            """Up to `before` words before [start, end) and `after` after, in its clause."""
            head = [
                w
                for i, w in enumerate(words[max(0, start - before) : start], max(0, start - before))
                if clause[i] == clause[start]
            ]
            tail = [
                w
                for i, w in enumerate(words[end : end + after], end)
                if clause[i] == clause[end - 1]
            ]
            return head, tail

        # "বন্ধ করো না অইলে ব্লক করমু" is "stop, or else": not a "don't stop".
        declined = [
            match
            for match in found.get("optout decline", ())
            if one_clause(match)
            and not (words[match.end : match.end + 1] and words[match.end] in rules.if_not)
        ]
        if declined:
            return OptOutVerdict("declined", declined)  # "I don't want to stop them"
        # "don't stop the messages" is not "stop the messages"; "মেসেজের জবাব দেন না" (they
        # do not answer messages) is not "don't send messages", nor "unsubscribe me from the
        # paper letters" an opt-out of texts.
        phrases = [match for match in found.get("optout phrase", ()) if one_clause(match)]
        meant = [
            match
            for match in phrases
            if not _negated_before(words, match.start)
            # "আমার নাম লিস্ট থেকে বাদ পড়েছে" (it was dropped), "msg off korle" (if I…)
            and not rules.reports_or_supposes(words[match.end : match.end + 1])
            and not rules.not_about.find(words[match.start : match.end])
            and not _about_else(_object(words[: clause_end(match)], match.end, rules.filler), rules)
        ]
        if meant:
            return OptOutVerdict("stop", meant)
        unsure: list[Match] = []
        mentioned: list[Match] = []
        # Phrases set aside above, and stop words negated or about something else.
        elsewhere: list[Match] = [match for match in phrases if match not in meant]
        for match in found.get("optout stop", ()):
            start, end = match.start, match.end
            before, after = within(start, end, 3, 5)
            following = after[:2]
            negated_after = bool(following) and following[0] in NEGATIONS_AFTER
            if negated_after and following[1:] and following[1] in rules.if_not:
                negated_after = False  # "বন্ধ না করলে": if you do not stop (them)
            if any(word in rules.reported for word in following):
                elsewhere.append(match)  # "বন্ধ করি দিছে": it was stopped
                continue
            if _negated_before(words, start) or negated_after:
                elsewhere.append(match)  # "won't stop", "বন্ধ করো না": do not stop
                continue
            if start and words[start - 1] == "full":
                elsewhere.append(match)  # "full stop": a dictated full stop
                continue
            if len(following) == 2 and following[1] in NEGATIONS_AFTER:
                if following[0] in rules.ask:
                    unsure.append(match)  # "বন্ধ করেন না": please stop, or don't?
                    continue
                if following[0] in rules.dont:
                    elsewhere.append(match)  # "বন্ধ করবেন না": do not stop
                    continue
            about_messages = bool(rules.messages.find(after) or rules.messages.find(before))
            # What a stop is about follows it in English ("stop the letters"), and comes
            # before it in Bengali ("চিঠি বন্ধ করুন"); "stop fixing my hoist" is about that.
            english = end - start == 1 and words[start] in ENGLISH_STOPS
            about_else = bool(rules.not_about.find(after)) or (
                _doing_else(after[:1], rules.messages)
                if english
                else bool(rules.not_about.find(before))
            )
            # A message noun right beside the stop word wins over something else nearby:
            # before it in Bengali ("এই সার্ভিসের মেসেজ বন্ধ"), after it in English.
            neighbours = after[:2] if english else before[-1:]
            beside = any(
                rules.messages.find([word])
                and not rules.sending.find([word])
                and word not in rules.filler  # "this", "them": not what they are
                for word in neighbours
            )
            if about_else and not beside:
                elsewhere.append(match)  # "the visits stopped", "stop the paper letters"
                continue
            others = [word for i, word in enumerate(words) if not start <= i < end]
            # A last clause that says only "stop" says it to us: "… write stop. stop"
            alone = clause[start] == clause[-1] and all(
                word in rules.filler
                for i, word in enumerate(words)
                if clause[i] == clause[start] and not start <= i < end
            )
            # "স্টপ স্টপ স্টপ": the stop word said again is no other word.
            said = words[start:end]
            if about_messages or alone or all(w in rules.filler or w in said for w in others):
                return OptOutVerdict("stop", [match])
            if len(words) <= 6:
                unsure.append(match)
            else:
                mentioned.append(match)
        if unsure:
            return OptOutVerdict("unsure", unsure)
        # Words of opting out beside a stop about something else are about it too, and so
        # are those beside something else ("I don't want this carer any more").
        covered = {place for match in elsewhere for place in range(match.start - 3, match.end + 3)}
        for match in found.get("optout carrier", ()):
            head, tail = within(match.start, match.end, 3, 3)
            near = [*head, *words[match.start : match.end], *tail]
            if match.start in covered or (
                rules.not_about.find(near)
                and not rules.messages.find([w for w in near if w not in rules.filler])
            ):
                elsewhere.append(match)
            else:
                mentioned.append(match)
        if mentioned:
            return OptOutVerdict("mentioned", mentioned)
        if elsewhere:
            return OptOutVerdict("elsewhere", elsewhere)
        return OptOutVerdict("none", [])

    # -- intents ---------------------------------------------------------------------------

    def _intent(
        self, words: Sequence[str], learnt: Mapping[str, float], hits: Mapping[str, list[Match]]
    ) -> tuple[str, float, list[Match]]:
        """The intent the cues and the classifier find in `words`, how sure, and the cues why.

        The cues the lists name weigh in beside what the examples taught the classifier: a
        strong cue counts as much as the examples make a strong word, so a word a native
        speaker added to a list works at once, and the examples cover what no list names.
        """
        pleasant = list(hits.get("pleasantry", ()))
        if _covers(pleasant, len(words)):
            return "none", 0.9, pleasant  # "thanks", "ok", "salam": nothing to act on
        scores, why = self._cues(words, hits.get("intent", ()))
        known = self.classifier.known(words) if self.classifier else 0.0
        if not scores and not known:
            return "none", 0.5, []  # not one word we know: "banana" is nothing to act on
        combined = {
            intent: math.log(learnt.get(intent, 0.0) + FLOOR) + CUE_WEIGHT * scores.get(intent, 0)
            for intent in (*CUED, "none")
        }
        top = max(combined.values())
        raised = {intent: math.exp(score - top) for intent, score in combined.items()}
        total = sum(raised.values())
        best = max(raised, key=lambda intent: (raised[intent], -_TIE_ORDER.index(intent)))
        # The classifier is surest of what it has seen: words it never met (names, typos
        # beyond the cues' reach) leave the choice open, short of SURE when most are new.
        confidence = raised[best] / total
        if not scores.get(best):
            # Learnt only, with no word the lists name: the bot checks before acting on it,
            # the less the more of its words the examples never met.
            confidence = min(confidence * min(1.0, 0.5 + known), LEARNT_ONLY)
        rivals = [intent for intent, score in scores.items() if score >= STRONG and intent != best]
        if scores.get(best, 0) >= STRONG and not rivals:
            # A strong cue the lists name, and no other: the team's own word for it.
            confidence = max(confidence, NAMED)
        reasons = why.get(best) or self._learnt_why(words, best, raised)
        return best, confidence, reasons

    def _learnt_why(
        self, words: Sequence[str], best: str, raised: Mapping[str, float]
    ) -> list[Match]:
        """The words the examples tie to `best` more than to the next likeliest intent."""
        if self.classifier is None or best not in self.classifier.labels:
            return []
        others = [intent for intent in self.classifier.labels if intent != best]
        if not others:
            return []
        runner_up = max(others, key=lambda intent: raised.get(intent, 0.0))
        places = self.classifier.evidence(words, best, runner_up)
        return [Match(LEARNT, place, place + 1) for place in places]

    def _cues(
        self, words: Sequence[str], hits: Sequence[Match]
    ) -> tuple[dict[str, int], dict[str, list[Match]]]:
        """How strongly the lists' cues (`hits`, found in `words`) point to each intent,
        and the cues found for each."""
        found: list[tuple[str, Match, bool]] = []
        for match in hits:
            intent, strength = match.cue.meaning.split()
            if strength == "name":  # a language's name: asks for it only in a short message
                found.append(("language", match, len(words) <= SHORT))
            else:
                found.append((intent, match, strength == "strong"))
        # A cue inside a longer one found in the same words is that one's part: "start over"
        # is the menu, not "start"; "would help" a comment, not a call for help.
        strong_spans = [match for _, match, strong in found if strong]
        scores: dict[str, int] = {}
        why: dict[str, list[Match]] = {}
        for intent, match, strong in found:
            if any(match.inside(other) for other in strong_spans):
                continue
            target = intent
            if intent == "compliment" and _negated(words, match.start, match.end):
                target = "complaint"  # "not very good", "বালা না"
            scores[target] = scores.get(target, 0) + (STRONG if strong else WEAK)
            why.setdefault(target, []).append(match)
        return scores, why


@dataclass(frozen=True)
class OptOutVerdict:
    """What the opt-out rules found: an opt-out (`stop`), one they cannot tell from something
    else (`unsure`), a word that may carry an opt-out ("cancel", "আর দিয়েন না":
    `mentioned`), a stop about something else ("the carer won't stop shouting", "stop the
    paper letters": `elsewhere`), an opt-out turned down ("I don't want to stop them":
    `declined`), or no word of opting out at all (`none`), and the words why."""

    kind: Literal["stop", "unsure", "mentioned", "elsewhere", "declined", "none"]
    matches: list[Match]


def _stop_confidence(verdict: OptOutVerdict, learnt: float | None) -> float | None:
    """How sure a message opts out, weighing the rules' verdict with the classifier's
    probability of an opt-out; None when it does not. Never without a word of opting out."""
    if verdict.kind in ("none", "declined", "elsewhere"):
        return None
    if learnt is None:
        return {"stop": 0.95, "unsure": ASK}.get(verdict.kind)
    if verdict.kind == "stop":
        return 0.95 if learnt >= STOP_VETO else None
    if learnt < STOP_LEARNT:
        return None
    # What the rules find two-sided ("বন্ধ করেন না") is asked about, however sure the
    # examples are.
    return min(learnt, ASK) if verdict.kind == "unsure" else learnt


# Where each opt-out rule's cues are in optout.yaml.
RULES = {"phrase": "phrases", "decline": "declines", "carrier": "carriers", "stop": "stop_words"}


def _by_meaning(matches: Sequence[Match]) -> dict[str, list[Match]]:
    """The cues found, grouped: each opt-out rule's and the pleasantries by their meaning,
    every intent's cue together under "intent"."""
    grouped: dict[str, list[Match]] = {}
    for match in matches:
        meaning = match.cue.meaning
        if meaning.startswith(("optout", "pleasantry")):
            kind = meaning
        elif meaning.startswith("harm"):
            kind = "harm"
        else:
            kind = "intent"
        grouped.setdefault(kind, []).append(match)
    return grouped


def _speller(
    matcher: Matcher, examples: Sequence[Example], harm_examples: Sequence[HarmExample]
) -> Speller:
    """Reads typos as the words the lists name, or the examples use more than once; the
    words of opting out and of starting again only by a swap of two letters."""
    named: list[str] = []
    guarded: list[str] = []
    listed: list[str] = []
    for cue in matcher.cues:
        words = [
            part.removesuffix(PREFIX)
            for place in cue.words
            for option in place.options
            for part in option
        ]
        listed.extend(words)
        if cue.meaning in ("optout stop", "optout carrier") or cue.meaning.startswith("start"):
            guarded.extend(words)
        elif cue.meaning.split()[-1] in ("strong", "name") and len(cue.words) == 1:
            named.extend(words)  # a word that says an intent by itself: "survey", "menu"
    used = [word for example in examples for word in example.words]
    seen = [word for example in harm_examples for word in words_of(example.text, MAX_WORDS)]
    return Speller.build(named, used, guarded, known=[*listed, *seen])


def _covers(matches: Sequence[Match], length: int) -> bool:
    """Whether the matches cover every one of `length` words."""
    covered: set[int] = set()
    for match in matches:
        covered.update(range(match.start, match.end))
    return len(covered) == length


# Words passed over to find what a phrase is about: "unsubscribe me from the paper letters".
_LINKS = frozenset("from of to on about with the a an my your our his her their".split())


def _object(words: Sequence[str], end: int, filler: frozenset[str]) -> list[str]:
    """The first few words after `end` that say what a phrase is about."""
    return [word for word in words[end : end + 6] if word not in filler and word not in _LINKS][:3]


def _about_else(objects: Sequence[str], rules: _OptOut) -> bool:
    """Whether the words a phrase is about name something else before any message."""
    for word in objects:
        if rules.messages.find([word]) and not rules.sending.find([word]):
            return False  # "remove my details from your messaging service"
        if rules.not_about.find([word]):
            return True  # "unsubscribe me from the paper letters"
    return False


def _doing_else(following: Sequence[str], messages: Matcher) -> bool:
    """Whether an English stop is followed by doing something other than messaging:
    "stop fixing", "stop shouting", not "stop texting"."""
    return bool(following) and following[0].endswith("ing") and not messages.find(following)


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
