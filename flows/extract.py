"""A Babel extractor that finds the texts people read in a flow file.

Registered as the `kotha_flows` extraction method (see pyproject.toml and babel.cfg). It
yields each node's `ask` and `say` and each option's `label` and `info`, with the line the
text starts on and a comment naming the flow and node, so a translator sees where a text is
used. Flow ids, node ids, values and keywords are not texts to translate.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR_TAG = "tag:yaml.org,2002:str"

# What each extracted key is, in the words a translator reads in the catalog.
NODE_TEXTS = {
    "ask": "question",
    "say": "message after the answers are saved",
    "say_no_contact": "message after the answers are saved, to someone who said No to contact",
}
OPTION_TEXTS = {
    "label": "option label",
    "info": "option description, said before the next question",
}

Extracted = tuple[int, None, str, list[str]]


def _get(mapping: Node | None, key: str) -> Node | None:
    """Return the value node for `key` in a YAML mapping node, or None."""
    return next((value for name, value in _pairs(mapping) if name == key), None)


def _scalar(node: Node | None) -> str | None:
    """Return a scalar's text if it is a string (not a number, bool or null)."""
    if isinstance(node, ScalarNode) and node.tag == STR_TAG and node.value.strip():
        return str(node.value)
    return None


def _items(node: Node | None) -> list[Node]:
    return list(node.value) if isinstance(node, SequenceNode) else []


def _pairs(node: Node | None) -> Iterator[tuple[str, Node]]:
    """Yield a mapping node's (key, value node) pairs in file order."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                yield str(key_node.value), value_node


def _text(node: Node | None, where: str, what: str) -> Iterator[Extracted]:
    text = _scalar(node)
    if node is not None and text is not None:
        # Marks count lines from 0; catalogs count them from 1.
        yield node.start_mark.line + 1, None, text, [f"{where}: {what}"]


def flow_messages(source: str) -> Iterator[Extracted]:
    """Yield (line, None, text, comments) for every person-facing text of a flow file."""
    root = yaml.compose(source)
    flow_id = _scalar(_get(root, "flow")) or "?"
    for node in _items(_get(root, "nodes")):
        node_id = _scalar(_get(node, "id")) or "?"
        where = f"{flow_id}/{node_id}"
        # File order, so the catalog reads like the conversation.
        for key, value in _pairs(node):
            if key in NODE_TEXTS:
                yield from _text(value, where, NODE_TEXTS[key])
            elif key == "options":
                for option in _items(value):
                    for option_key, option_value in _pairs(option):
                        if option_key in OPTION_TEXTS:
                            yield from _text(option_value, where, OPTION_TEXTS[option_key])


def extract_flow(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Babel's extractor interface: the texts of one flow file (keywords and tags unused)."""
    data = fileobj.read()
    encoding = str(options.get("encoding", "utf-8"))
    source = data.decode(encoding) if isinstance(data, bytes) else str(data)
    yield from flow_messages(source)
