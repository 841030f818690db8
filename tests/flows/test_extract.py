"""The Babel extractor for flow files: every text people read, on the line it starts."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract

from bot.settings import FLOWS_DIR
from flows.extract import extract_flow, flow_messages
from flows.model import load_flow

SAMPLE = """\
# A comment line, so the texts do not start at line 1.
flow: sample
keywords:
  en: [sample, try]
nodes:
  - id: pick
    type: choice
    ask: "Which one?"
    save: pick
    options:
      - {label: "First", value: 1}
      - label: Second
        value: 2
        info: "The second one is the best."
      - {label: 3, value: 3}
  - id: long
    type: text
    ask: >-
      A question folded
      over two lines.
  - id: done
    type: submit
    record: feedback
    say: 'Thank you. Your reference is {reference}.'
"""

EXPECTED = [
    (8, None, "Which one?", ["sample/pick: question"]),
    (11, None, "First", ["sample/pick: option label"]),
    (12, None, "Second", ["sample/pick: option label"]),
    (
        14,
        None,
        "The second one is the best.",
        ["sample/pick: option description, said before the next question"],
    ),
    (18, None, "A question folded over two lines.", ["sample/long: question"]),
    (
        24,
        None,
        "Thank you. Your reference is {reference}.",
        ["sample/done: message after the answers are saved"],
    ),
]


def test_every_text_of_a_sample_flow_on_its_line() -> None:
    found = list(extract_flow(io.BytesIO(SAMPLE.encode()), [], [], {}))

    # Ids, keywords, values and a label that is not a string are not texts to translate.
    assert found == EXPECTED


def test_babel_runs_the_extractor_by_its_registered_reference() -> None:
    found = list(extract("flows.extract:extract_flow", io.BytesIO(SAMPLE.encode())))

    assert [(line, text) for line, text, _, _ in found] == [
        (line, text) for line, _, text, _ in EXPECTED
    ]
    assert found[0][2] == ["sample/pick: question"]


def test_non_ascii_texts_are_read_as_utf8() -> None:
    source = 'flow: x\nnodes:\n  - {id: a, type: text, ask: "কী হয়েছে?"}\n'

    assert list(extract_flow(io.BytesIO(source.encode()), [], [], {})) == [
        (3, None, "কী হয়েছে?", ["x/a: question"])
    ]


def _texts_of(path: Path) -> list[str]:
    flow = load_flow(path)
    texts = []
    for node in flow.nodes.values():
        texts += [text for text in (node.ask, node.say, node.say_no_contact) if text]
        for option in node.options:
            texts += [text for text in (option.label, option.info) if text]
    return texts


def test_every_text_of_every_real_flow_file_is_found_where_it_is_written() -> None:
    paths = sorted(FLOWS_DIR.rglob("*.yaml"))
    assert len(paths) >= 7
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        found = list(flow_messages(path.read_text(encoding="utf-8")))

        assert sorted(text for _, _, text, _ in found) == sorted(_texts_of(path)), path.name
        flow_id = load_flow(path).id
        for line, _, text, comments in found:
            first = lines[line - 1]
            # A block scalar (`ask: >-`) starts on its key's line and its text on the next.
            block = first.rstrip().endswith((">", "|", ">-", "|-"))
            written = " ".join(part.strip() for part in lines[line : line + 2]) if block else first
            assert text[:30] in written, (path.name, line, text)
            assert comments[0].startswith(f"{flow_id}/"), comments
