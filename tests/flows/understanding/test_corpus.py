"""The understanding scored on the held-out corpus (tests/flows/corpus/understanding_test.yaml).

The corpus was written by a helper who never saw the lists, the examples, the code or the
earlier corpus; nothing is learnt from it and nothing was changed for its figures. The
examples the classifier learns from and the lists were written from live in
flows/understanding/examples/ and are never scored here. (The first corpus, retired on 5
December 2026 when a failing test's report had shown some of its messages, is among the
examples now; this test no longer lists messages even when it fails.)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from flows.understanding import EXAMPLES, LANGUAGES, default_lexicon, read_examples

CORPUS = Path(__file__).parents[1] / "corpus" / "understanding_test.yaml"
# What issue #12 asks: intent right at least 95% of the time, language 90%, and no opt-out
# missed or invented (5 December 2026: intent 97.7%, language 98.5%, none missed or invented
# of 620; validation sets by new writers, before they were learnt from, scored lower: 94-95%).
INTENT_ACCURACY = 0.95
LANGUAGE_ACCURACY = 0.90
MISSED_AT_MOST, INVENTED_AT_MOST = 0, 0


def _items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return items


def _languages(item: dict[str, object]) -> list[str]:
    language = item["language"]
    return [str(code) for code in language] if isinstance(language, list) else [str(language)]


@pytest.fixture(scope="module")
def scored() -> dict[str, object]:
    lexicon = default_lexicon()
    total: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    missed = invented = 0
    for item in _items():
        text, intent = str(item["text"]), str(item["intent"])
        form = _languages(item)[0]
        found = lexicon.understand(text)
        total[form] += 1
        intents[form] += found.intent == intent
        languages[form] += found.language in _languages(item)
        missed += intent == "stop" and found.intent != "stop"
        invented += intent != "stop" and found.intent == "stop"
    return {
        "total": total,
        "intents": intents,
        "languages": languages,
        "missed": missed,
        "invented": invented,
    }


def _figures(scored: dict[str, object]) -> str:
    total, intents, languages = (
        scored["total"],
        scored["intents"],
        scored["languages"],
    )
    assert isinstance(total, Counter) and isinstance(intents, Counter)
    assert isinstance(languages, Counter)
    lines = [
        f"{form:9} n={total[form]:4} intent {intents[form] / total[form]:6.1%} "
        f"language {languages[form] / total[form]:6.1%}"
        for form in sorted(total)
    ]
    n = sum(total.values())
    lines.append(
        f"{'all':9} n={n:4} intent {sum(intents.values()) / n:6.1%} "
        f"language {sum(languages.values()) / n:6.1%}"
    )
    return "\n".join(lines)


def test_the_corpus_is_big_enough_in_every_language_form() -> None:
    forms = Counter(_languages(item)[0] for item in _items())
    assert sum(forms.values()) >= 400
    assert set(forms) == set(LANGUAGES) and min(forms.values()) >= 80


def test_the_corpus_is_held_out_from_the_examples() -> None:
    examples = {example.text.casefold() for example in read_examples(EXAMPLES)}
    shared = [item["text"] for item in _items() if str(item["text"]).casefold() in examples]
    # Bare keywords ("stop", "menu", "help") are everyone's; no sentence is shared.
    assert sum(len(str(text).split()) > 2 for text in shared) == 0


def test_intent_and_language_are_right_often_enough(scored: dict[str, object]) -> None:
    figures = _figures(scored)
    print("\n" + figures)
    total, intents, languages = scored["total"], scored["intents"], scored["languages"]
    assert isinstance(total, Counter) and isinstance(intents, Counter)
    assert isinstance(languages, Counter)
    n = sum(total.values())
    assert sum(intents.values()) / n >= INTENT_ACCURACY, figures
    assert sum(languages.values()) / n >= LANGUAGE_ACCURACY, figures


def test_no_opt_out_is_missed_and_none_invented(scored: dict[str, object]) -> None:
    # Counted, never listed, not even in a failure's report: whoever works on the lists must
    # not see the held-out messages.
    missed, invented = scored["missed"], scored["invented"]
    assert isinstance(missed, int) and isinstance(invented, int)
    print(f"\nopt-outs missed {missed}, invented {invented} (target 0 and 0)")
    assert missed <= MISSED_AT_MOST and invented <= INVENTED_AT_MOST
