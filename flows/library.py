"""All flows and the words that work everywhere, loaded together and checked against each other."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.model import COMMANDS, Flow, FlowError, load_flow
from flows.textnorm import match_key

KEYWORDS_FILE = Path(__file__).resolve().parent / "keywords.yaml"
# Word lists that are not commands but answers the engine understands in any node.
ANSWER_WORDS = ("yes", "no", "skip")
MENU_FLOW = "menu"
LANGUAGE_FLOW = "language"
# The question an event reminder asks ("will you come?"); only the bot starts it.
RSVP_FLOW = "rsvp"


@dataclass(frozen=True)
class LanguageChoice:
    """A language as the flows offer it: its code and its name written in itself."""

    code: str
    name: str


@dataclass(frozen=True)
class Flows:
    """Every flow by id, plus the keyword index: match key -> [(meaning, language)]."""

    flows: Mapping[str, Flow]
    keywords: Mapping[str, tuple[tuple[str, str], ...]]
    languages: tuple[LanguageChoice, ...]

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]

    def meanings(self, text: str) -> tuple[tuple[str, str], ...]:
        """Return what a whole reply means as a keyword: (meaning, language) pairs."""
        return self.keywords.get(match_key(text), ())


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
                key = match_key(word)
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
) -> Flows:
    """Load every `*.yaml` flow under `directory` (recursively) and the shared keywords."""
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

    raw = yaml.safe_load(keywords_file.read_text(encoding="utf-8"))
    if not isinstance(raw, Mapping):
        raise FlowError(f"{keywords_file.name}: must map each meaning to words per language")
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
    return Flows(
        flows=flows,
        keywords={key: tuple(entries) for key, entries in index.items()},
        languages=tuple(languages),
    )
