"""Safeguarding read from people's own words: scored on a held-out corpus, in every form.

tests/flows/corpus/safeguarding_test.yaml was written by a helper who never saw the lists,
the examples (flows/understanding/harm_examples/) or the code; nothing was tuned on it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.understanding import HARM_EXAMPLES, understand
from flows.understanding.harm import CATEGORIES, LANGUAGES, harm_cues, read_harm_examples

CORPUS = Path(__file__).parents[1] / "corpus" / "safeguarding_test.yaml"
# What issue #17 asks: at least this share of disclosures flagged in every language form.
RECALL = 0.95


def _items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return items


def test_the_corpus_covers_every_harm_in_every_form_with_hard_negatives() -> None:
    items = _items()
    assert len(items) >= 300
    by = Counter((str(item["language"]), item["category"]) for item in items)
    for language in LANGUAGES:
        assert by[(language, None)] >= 20, language  # hard negatives
        for category in CATEGORIES:
            assert by[(language, category)] >= 1, (language, category)


def test_the_corpus_is_held_out_from_the_examples() -> None:
    examples = {example.text.casefold() for example in read_harm_examples(HARM_EXAMPLES)}
    assert sum(str(item["text"]).casefold() in examples for item in _items()) == 0


def test_recall_in_every_language_form_with_precision_printed() -> None:
    flagged: Counter[str] = Counter()
    harmful: Counter[str] = Counter()
    false: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for item in _items():
        language, category = str(item["language"]), item["category"]
        found = understand(str(item["text"])).safeguarding
        if category is not None:
            harmful[language] += 1
            flagged[language] += found is not None
            named[language] += found == category
        elif found is not None:
            false[language] += 1
    lines = []
    for language in LANGUAGES:
        hits = flagged[language]
        lines.append(
            f"{language:9} recall {hits / harmful[language]:6.1%} "
            f"precision {hits / max(1, hits + false[language]):6.1%} "
            f"category {named[language] / max(1, hits):6.1%} (of {harmful[language]})"
        )
    figures = "\n".join(lines)
    print("\n" + figures)
    for language in LANGUAGES:
        assert flagged[language] / harmful[language] >= RECALL, figures


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("nobody came this morning, mum still in bed and hasnt eaten", "en"),
        ("carer missed dad's insulin again", "en"),
        ("আজ কেয়ারার আসেনি, মা সারাদিন না খেয়ে ছিলেন", "bn"),
        ("মাকে সকাল থেকে কেউ গোসল করায়নি, প্যাড বদলায়নি", "bn"),
        ("কেয়ারার আইছে না, আম্মা হারাদিন কিচ্ছু খাইছইন না", "syl"),
        ("আব্বারে কেউ ঔষধ দিছে না দুই দিন ধরি", "syl"),
        ("carer aise na amma kisu khay nai sara din", "syl-Latn"),
        ("abbar oshud keu dey nai kal theke", "syl-Latn"),
    ],
)
def test_neglect_and_missed_care_are_flagged_in_every_form(text: str, language: str) -> None:
    found = understand(text)
    assert found.safeguarding == "neglect", (language, found)
    assert found.safeguarding_why


@pytest.mark.parametrize(
    "text",
    [
        "killing time at the day centre",
        "my phone died so i couldnt ring",
        "the fall prevention class was really good",
        "dad fell asleep in his chair after lunch",
        "carer was 10 minutes late but mum was fine",
        "ফোনের চার্জ শেষ তাই কল করতে পারিনি",
        "মরে গেলাম হাসতে হাসতে",
        # Asking that it not happen again (a new user's answer was flagged as self-harm):
        "দয়া করে আবার যেন না হয়",
        "আশা করি আর যেন এমন না হয়",
        "please abar jeno na hoy",
    ],
)
def test_words_of_harm_used_otherwise_are_not_flagged(text: str) -> None:
    assert understand(text).safeguarding is None


def test_a_wish_not_to_wake_is_still_self_harm() -> None:
    assert understand("ঘুমিয়ে যেন আর না উঠি").safeguarding == "self_harm"


def test_harm_is_read_beside_every_other_reading() -> None:
    both = understand("I want to die, stop texting me")
    assert (both.intent, both.safeguarding) == ("stop", "self_harm")
    complaint = understand("i want to complain the carer slapped my mum")
    assert (complaint.intent, complaint.safeguarding) == ("complaint", "abuse")
    assert both.as_json()["safeguarding"] == {"category": "self_harm", "why": ["want to die"]}


def test_bad_harm_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown categories"):
        harm_cues({"categories": {"sadness": {"en": ["sad"]}}})
    with pytest.raises(ValueError, match="unknown languages"):
        harm_cues({"categories": {"abuse": {"fr": ["abus"]}}})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=1000))
def test_any_text_is_read_for_harm_without_error(text: str) -> None:
    found = understand(text)
    assert found.safeguarding in (*CATEGORIES, None)
    assert bool(found.safeguarding_why) <= (found.safeguarding is not None)
