"""Flow files are checked when loaded, and a mistake names its file and node."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.i18n import I18n
from bot.settings import LOCALES_DIR
from flows.library import load_flows
from flows.model import FlowError, load_flow

LANGUAGES = I18n(LOCALES_DIR).choices

GOOD = """\
flow: broken-example
nodes:
  - id: pick
    type: choice
    ask: "Which one?"
    save: picked
    options:
      - {label: "One", value: one}
      - {label: "Two", value: two}
  - id: tell
    type: text
    ask: "Tell us more."
    save: text
  - id: done
    type: submit
    record: feedback
    fields: {kind: comment}
    say: "Thank you. Your reference is {reference}."
"""

MENU = """\
flow: menu
nodes:
  - id: main
    type: choice
    ask: "What would you like to do?"
    options:
      - {label: "Tell us", goto: broken-example}
"""

LANGUAGE = """\
flow: language
nodes:
  - id: choose
    type: language
    ask: "Reply with a number:"
"""


def broken(old: str, new: str) -> str:
    """Return the good flow with one piece of it replaced."""
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# (case, file text, the node id the message must name)
NODE_MISTAKES = [
    ("unknown type", broken("type: choice", "type: dropdown"), "pick"),
    ("missing ask", broken('    ask: "Which one?"\n', ""), "pick"),
    ("empty ask", broken('ask: "Which one?"', 'ask: "  "'), "pick"),
    ("next to unknown node", broken("save: text", "save: text\n    next: nowhere"), "tell"),
    (
        "branch to unknown node",
        broken("save: picked", "save: picked\n    next: {one: tell, two: nowhere}"),
        "pick",
    ),
    ("option without label", broken('{label: "Two", value: two}', "{value: two}"), "pick"),
    ("option not a mapping", broken('{label: "Two", value: two}', "Two"), "pick"),
    ("unknown option key", broken("value: two}", "value: two, goto_: x}"), "pick"),
    ("unknown command", broken("value: two}", "command: dance}"), "pick"),
    ("choice without options", broken("    options:\n", "    opts:\n"), "pick"),
    (
        "options on a text node",
        broken("save: text", "save: text\n    options: [{label: A}]"),
        "tell",
    ),
    (
        "submit without say",
        broken('    say: "Thank you. Your reference is {reference}."\n', ""),
        "done",
    ),
    ("say with unknown placeholder", broken("{reference}", "{name}"), "done"),
    ("question with a placeholder", broken("Tell us more.", "Tell us more, {name}."), "tell"),
    ("unknown record", broken("record: feedback", "record: complaint"), "done"),
    ("say outside a submit node", broken("save: text", 'save: text\n    say: "Hi"'), "tell"),
    ("unknown node key", broken("save: text", "save: text\n    asks: typo"), "tell"),
    ("duplicate node id", broken("id: tell", "id: pick"), "pick"),
    ("scale without numbers", broken("type: choice", "type: scale"), "pick"),
    ("fields not a mapping", broken("fields: {kind: comment}", "fields: [kind]"), "done"),
    ("save not a name", broken("save: text", "save: [text, more]"), "tell"),
    ("node without id", broken("  - id: tell\n", "  - ident: tell\n"), "#2"),
]


@pytest.mark.parametrize(
    ("text", "node"),
    [pytest.param(text, node, id=case) for case, text, node in NODE_MISTAKES],
)
def test_a_broken_node_names_its_file_and_node(tmp_path: Path, text: str, node: str) -> None:
    path = write(tmp_path, "broken-example.yaml", text)
    with pytest.raises(FlowError) as raised:
        load_flow(path)
    message = str(raised.value)
    assert message.startswith("broken-example.yaml: ")
    assert f"node '{node}'" in message or f"node {node}" in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("flow: [unclosed\nnodes: {", id="not YAML at all"),
        pytest.param("- just\n- a list\n", id="not a mapping"),
        pytest.param("nodes: []\n", id="no flow id"),
        pytest.param("flow: x\nnodes: []\n", id="no nodes"),
        pytest.param("flow: x\nnodes: pick\n", id="nodes not a list"),
        pytest.param("", id="empty file"),
        pytest.param(GOOD + "keywords: [a, b]\n", id="keywords not a mapping"),
    ],
)
def test_a_broken_file_names_itself(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "broken-example.yaml", text)
    with pytest.raises(FlowError, match=r"^broken-example\.yaml: "):
        load_flow(path)


def test_the_good_example_loads(tmp_path: Path) -> None:
    flow = load_flow(write(tmp_path, "broken-example.yaml", GOOD))
    assert flow.order == ("pick", "tell", "done")


def library(tmp_path: Path, *files: tuple[str, str]) -> Path:
    for name, text in (("menu.yaml", MENU), ("language.yaml", LANGUAGE), *files):
        write(tmp_path, name, text)
    return tmp_path


def test_goto_an_unknown_flow_names_the_file_and_node(tmp_path: Path) -> None:
    directory = library(tmp_path, ("example.yaml", GOOD))
    (directory / "menu.yaml").write_text(MENU.replace("goto: broken-example", "goto: nowhere"))
    with pytest.raises(FlowError) as raised:
        load_flows(directory, LANGUAGES)
    message = str(raised.value)
    assert message.startswith("menu.yaml: ") and "node 'main'" in message and "nowhere" in message


def test_a_flow_keyword_in_an_unknown_language_names_the_file(tmp_path: Path) -> None:
    text = GOOD + "keywords:\n  fr: [remarque]\n"
    with pytest.raises(FlowError, match=r"^example\.yaml: .*'fr'"):
        load_flows(library(tmp_path, ("example.yaml", text)), LANGUAGES)


def test_two_files_with_one_flow_id_name_the_second(tmp_path: Path) -> None:
    directory = library(tmp_path, ("example.yaml", GOOD))
    (directory / "surveys").mkdir()
    write(directory / "surveys", "again.yaml", GOOD)
    with pytest.raises(FlowError, match=r"^again\.yaml: flow id 'broken-example'"):
        load_flows(directory, LANGUAGES)


@pytest.mark.parametrize("missing", ["menu.yaml", "language.yaml"])
def test_the_menu_and_language_flows_are_required(tmp_path: Path, missing: str) -> None:
    directory = library(tmp_path, ("example.yaml", GOOD))
    (directory / missing).unlink()
    with pytest.raises(FlowError, match=missing.removesuffix(".yaml")):
        load_flows(directory, LANGUAGES)


def test_a_complete_library_loads(tmp_path: Path) -> None:
    flows = load_flows(library(tmp_path, ("example.yaml", GOOD)), LANGUAGES)
    assert set(flows.flows) == {"menu", "language", "broken-example"}
