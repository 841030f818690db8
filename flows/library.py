"""All flows and the words that work everywhere, loaded together and checked against each other."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from flows.model import COMMANDS, Flow, FlowError, load_flow
from flows.scripts import fold
from flows.textnorm import detect_script, match_key
from flows.texts import CONFIRM_CHOICES
from flows.yamlfile import read_yaml

if TYPE_CHECKING:  # flows/listing.py reads answers as this module does
    from flows.listing import Listing

KEYWORDS_FILE = Path(__file__).resolve().parent / "keywords.yaml"
# Word lists that are not commands but answers the engine understands in any node.
ANSWER_WORDS = ("yes", "no", "skip")
# The section of the keywords file naming each language as people type it.
LANGUAGE_NAMES = "language_names"
MENU_FLOW = "menu"
LANGUAGE_FLOW = "language"
# The question an event reminder asks ("will you come?"); only the bot starts it.
RSVP_FLOW = "rsvp"
# Access needs (flows/definitions/access.yaml): asked by the bot after a yes to an event or an
# interest; unanswered, it ends quietly, and a reminder may ask its question over it.
ACCESS_FLOW = "access"
# Sylheti written in Syloti Nagri, where offered (locales/languages.yaml).
NAGRI = "syl-Sylo"


@dataclass(frozen=True)
class LanguageChoice:
    """A language as the flows offer it: its code and its name written in itself."""

    code: str
    name: str


@dataclass(frozen=True)
class Flows:
    """Every flow by id, plus the keyword index: match key -> [(meaning, language)].

    Also what reading answers needs: each language's names as people type them (match key
    -> language code), the flow each intent starts (the flows' `intent:`), and the words of
    every option's label in every language, for answers that name an option.
    """

    flows: Mapping[str, Flow]
    keywords: Mapping[str, tuple[tuple[str, str], ...]]
    languages: tuple[LanguageChoice, ...]
    language_names: Mapping[str, str] = field(default_factory=dict)
    intent_flows: Mapping[str, str] = field(default_factory=dict)
    # Each fixed question's options as words in every language, by question ("flow/node").
    option_words: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    # The lists one step was given (flows/engine.py `Input.listings`): none when loaded.
    listings: Mapping[str, Listing] = field(default_factory=dict)

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]

    def meanings(self, text: str) -> tuple[tuple[str, str], ...]:
        """Return what a whole reply means as a keyword: (meaning, language) pairs.

        Sylheti's keywords work in either of its scripts: written in Syloti Nagri they mean
        Sylheti in Syloti Nagri, where that language is offered.
        """
        found = self.keywords.get(keyword_key(text), ())
        if found and self.nagri and detect_script(text) == "syloti_nagri":
            found = tuple((meaning, NAGRI if code == "syl" else code) for meaning, code in found)
        return found

    @property
    def nagri(self) -> bool:
        return any(language.code == NAGRI for language in self.languages)


@lru_cache(maxsize=16384)
def keyword_key(text: str) -> str:
    """How a keyword or a language's name is looked up: its match key, each word folded, so
    Bengali spellings and the same word in Syloti Nagri find it (flows/scripts.py). Replies
    repeat ("1", "yes"): each is worked out once."""
    return " ".join(fold(word) for word in match_key(text).split())


def _index(
    table: Mapping[str, Mapping[str, Sequence[str]]], languages: set[str], source: str
) -> dict[str, list[tuple[str, str]]]:
    index: dict[str, list[tuple[str, str]]] = {}
    for meaning, by_language in table.items():
        for language, words in by_language.items():
            if language not in languages:
                raise FlowError(f"{source}: '{meaning}': unknown language {language!r}")
            for word in words:
                if not isinstance(word, str):
                    # YAML reads a bare yes/no/on/off as a boolean: such words must be quoted.
                    raise FlowError(f"{source}: '{meaning}': {word!r} must be quoted text")
                key = keyword_key(word)
                if not key:
                    raise FlowError(f"{source}: '{meaning}': {word!r} is empty once normalised")
                entry = (meaning, language)
                if entry not in index.setdefault(key, []):
                    index[key].append(entry)
    return index


def load_flows(
    directory: Path,
    languages: Sequence[LanguageChoice],
    keywords_file: Path = KEYWORDS_FILE,
    translations: Callable[[str], Iterable[str]] | None = None,
) -> Flows:
    """Load every `*.yaml` flow under `directory` (recursively) and the shared keywords.

    `translations` gives a message's text in every language (bot/i18n.py): an answer may
    name an option in any of them. Without it, option labels are matched in English only.
    """
    codes = {language.code for language in languages}
    flows: dict[str, Flow] = {}
    for path in sorted(directory.rglob("*.yaml")):
        flow = load_flow(path)
        if flow.id in flows:
            raise FlowError(f"{path.name}: flow id {flow.id!r} is also used by another file")
        flows[flow.id] = flow
    for required in (MENU_FLOW, LANGUAGE_FLOW):
        if required not in flows:
            raise FlowError(f"{directory}: no flow named {required!r}")

    raw = dict(read_yaml(keywords_file) or {})
    if not raw:
        raise FlowError(f"{keywords_file.name}: must map each meaning to words per language")
    names = _language_names(raw.pop(LANGUAGE_NAMES, {}), codes, keywords_file.name)
    missing = [meaning for meaning in (*COMMANDS, *ANSWER_WORDS) if meaning not in raw]
    if missing:
        raise FlowError(f"{keywords_file.name}: no words for {missing}")
    index = _index(raw, codes, keywords_file.name)
    for flow in flows.values():
        if flow.keywords:
            flow_words = _index({f"flow:{flow.id}": flow.keywords}, codes, flow.path.name)
            for key, entries in flow_words.items():
                index.setdefault(key, []).extend(entries)

    for flow in flows.values():
        for node in flow.nodes.values():
            for option in node.options:
                if option.goto is not None and option.goto not in flows:
                    raise FlowError(
                        f"{flow.path.name}: node '{node.id}': goto names unknown flow "
                        f"{option.goto!r}"
                    )
    intent_flows: dict[str, str] = {}
    for flow in flows.values():
        if flow.intent is not None:
            if flow.intent in intent_flows:
                raise FlowError(f"{flow.path.name}: intent {flow.intent!r} has another flow")
            intent_flows[flow.intent] = flow.id
    return Flows(
        flows=flows,
        keywords={key: tuple(entries) for key, entries in index.items()},
        languages=tuple(languages),
        language_names=names,
        intent_flows=intent_flows,
        option_words=_option_words(flows, translations),
    )


def _language_names(
    raw: Mapping[str, Sequence[str]], codes: set[str], source: str
) -> dict[str, str]:
    """Match key -> language code, for names of languages as people type them."""
    names: dict[str, str] = {}
    for code, words in raw.items():
        if code not in codes:
            raise FlowError(f"{source}: {LANGUAGE_NAMES}: unknown language {code!r}")
        for word in words:
            names[keyword_key(str(word))] = code
    return names


# Words too common in answers to tell options apart.
_PLAIN_WORDS = frozenset(
    "the a an and or of to my our for it is i me about with in on at this that".split()
)


def _none(message: str) -> tuple[str, ...]:
    return ()


def _option_words(
    flows: Mapping[str, Flow], translations: Callable[[str], Iterable[str]] | None
) -> dict[str, tuple[frozenset[str], ...]]:
    """Each fixed question's options as sets of folded words, from their labels in every
    language, by question name: the flows' choice nodes and the engine's own questions."""
    labels: dict[str, tuple[str, ...]] = {
        f"{flow.id}/{node.id}": tuple(option.label for option in node.options)
        for flow in flows.values()
        for node in flow.nodes.values()
        if node.options
    }
    labels.update(CONFIRM_CHOICES)
    return {
        question: tuple(
            label_words({label, *(translations(label) if translations else ())})
            for label in options
        )
        for question, options in labels.items()
    }


def label_words(texts: Iterable[str]) -> frozenset[str]:
    """The words an answer may name an option by: of its label in each language, folded,
    without the small words every label shares ("the", "of")."""
    return frozenset(
        fold(word) for text in texts for word in match_key(text).split() if word not in _PLAIN_WORDS
    )
