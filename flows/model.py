"""Flow definitions loaded from YAML and checked, so a mistake names its file and node."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flows.yamlfile import read_yaml

# A `multichoice` takes several options at once ("1 3"): its answer is the list of values.
NODE_TYPES = ("choice", "multichoice", "scale", "yesno", "text", "language", "submit")
# Types whose answer is one or more of their numbered options.
OPTION_TYPES = ("choice", "multichoice", "scale")
# feedback, survey and interest are what people tell us; the others are about events:
# subscribe to reminders, hear the next events, get a calendar link, answer "will you come?".
RECORDS = (
    "feedback",
    "survey",
    "interest",
    "subscription",
    "events",
    "calendar",
    "rsvp",
    "preferences",
    "access",
    "monitoring",
)
# Links to the deployment's public pages, which the step fills in whatever text names them
# (bot/pipeline/step.py `links`): the only placeholders a question may hold, since a question
# is asked again from many places that know nothing of its parameters.
LINKS = frozenset({"privacy_link"})
# The parameters a `submit` node's message may use: what the runner learns when it stores
# the record.
SUBMIT_PARAMS = {
    "feedback": {"reference", "deadline"},
    "survey": set(),
    "interest": set(),
    "subscription": set(),
    "events": {"events"},
    "calendar": {"link"},
    "rsvp": set(),
    "preferences": set(),
    "access": set(),
    "monitoring": set(),
}
COMMANDS = ("help", "menu", "language", "stop", "start", "status")
# The lists a choice may take its options from (`options_from`), which the runner gives each
# step (flows/listing.py): the ways to take part, as staff keep them.
LISTS = ("opportunities",)
# The answer a flow saves when it asks whether we may contact the person: kept as a consent
# record, and a No is answered by a submit node's `say_no_contact` instead of its `say`.
CONSENT_TO_CONTACT = "consent_to_contact"
# A `next` may name this instead of a node: the flow ends and the main menu is shown.
MENU = "menu"


class FlowError(ValueError):
    """A flow file that cannot be used, with the file and node it concerns in the message."""


@dataclass(frozen=True)
class Option:
    """One numbered choice: a value to save, or a flow to go to, or a command to run."""

    label: str
    value: Any = None
    goto: str | None = None
    command: str | None = None
    info: str | None = None


@dataclass(frozen=True)
class Node:
    """One step of a flow: a question to ask, or a record to submit."""

    id: str
    type: str
    ask: str | None = None
    save: str | None = None
    options: tuple[Option, ...] = ()
    next: str | Mapping[str, str] | None = None
    optional: bool = False
    record: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    say: str | None = None
    # Said instead of `say` to someone who answered No to being contacted: the truth.
    say_no_contact: str | None = None
    # A choice whose options are a list the step is given (LISTS), a page at a time; only
    # those of the area an earlier answer (`options_by`) chose, when it names one.
    options_from: str | None = None
    options_by: str | None = None
    # The question's SMS budget in segments where its language's (locales/languages.yaml)
    # is too small: a menu whose options are explained in plain words (Reablement (help to
    # get back on your feet)) is worth a second segment to the person who must choose.
    sms_segments: int | None = None


@dataclass(frozen=True)
class Flow:
    """A named sequence of nodes; the first node is where the flow starts."""

    id: str
    nodes: Mapping[str, Node]
    order: tuple[str, ...]
    path: Path
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What a person who says they want this in their own words wants (flows/understanding).
    intent: str | None = None

    @property
    def start(self) -> str:
        return self.order[0]

    def after(self, node_id: str) -> str | None:
        """Return the node that follows `node_id` in file order, or None at the end."""
        index = self.order.index(node_id)
        return self.order[index + 1] if index + 1 < len(self.order) else None


# The most segments a question may be given: past three a text message reads as a letter.
MAX_SEGMENTS = 3


def placeholders(text: str) -> set[str]:
    """Return the names of the `{name}` placeholders in a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _fail(path: Path, where: str, problem: str) -> FlowError:
    return FlowError(f"{path.name}: {where}: {problem}")


def _text(path: Path, where: str, raw: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise _fail(path, where, f"'{key}' is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"'{key}' must be a non-empty string")
    return value


def _option(path: Path, where: str, raw: Any) -> Option:
    if not isinstance(raw, Mapping):
        raise _fail(path, where, "each option must be a mapping with a 'label'")
    unknown = set(raw) - {"label", "value", "goto", "command", "info"}
    if unknown:
        raise _fail(path, where, f"unknown option keys {sorted(unknown)}")
    command = raw.get("command")
    if command is not None and command not in COMMANDS:
        raise _fail(path, where, f"unknown command {command!r}")
    return Option(
        label=_text(path, where, raw, "label", required=True) or "",
        value=raw.get("value"),
        goto=raw.get("goto"),
        command=command,
        info=_text(path, where, raw, "info", required=False),
    )


def _node(path: Path, raw: Any, index: int) -> Node:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        raise _fail(path, f"node #{index + 1}", "each node needs an 'id'")
    where = f"node '{raw['id']}'"
    kind = raw.get("type")
    if kind not in NODE_TYPES:
        raise _fail(path, where, f"'type' must be one of {', '.join(NODE_TYPES)}, not {kind!r}")
    allowed = {
        "id",
        "type",
        "ask",
        "save",
        "options",
        "next",
        "optional",
        "record",
        "fields",
        "say",
        "say_no_contact",
        "options_from",
        "options_by",
        "sms_segments",
    }
    unknown = set(raw) - allowed
    if unknown:
        raise _fail(path, where, f"unknown keys {sorted(unknown)}")
    options = tuple(_option(path, where, item) for item in raw.get("options") or ())
    options_from = raw.get("options_from")
    options_by = raw.get("options_by")
    if options_from is not None:
        if kind != "choice" or options:
            raise _fail(path, where, "only a choice without options takes 'options_from'")
        if options_from not in LISTS:
            raise _fail(path, where, f"'options_from' must be one of {', '.join(LISTS)}")
    elif options_by is not None:
        raise _fail(path, where, "'options_by' goes with 'options_from'")
    if options_by is not None and not (isinstance(options_by, str) and options_by.isidentifier()):
        raise _fail(path, where, "'options_by' must name an answer, like 'area'")
    if kind in OPTION_TYPES and not options and options_from is None:
        raise _fail(path, where, "a choice needs at least one option")
    if kind not in OPTION_TYPES and options:
        raise _fail(path, where, f"a {kind} node takes no options")
    next_ = raw.get("next")
    if next_ is not None and not isinstance(next_, str | Mapping):
        raise _fail(path, where, "'next' must be a node id or a mapping of answer to node id")
    if isinstance(next_, Mapping):
        next_ = {str(key).lower(): str(value) for key, value in next_.items()}
    record = raw.get("record")
    if kind == "submit":
        if record not in RECORDS:
            raise _fail(path, where, f"'record' must be one of {', '.join(RECORDS)}")
        for key in ("say", "say_no_contact"):
            said = _text(path, where, raw, key, required=key == "say") or ""
            extra = placeholders(said) - SUBMIT_PARAMS[record]
            if extra:
                raise _fail(path, where, f"'{key}' uses unknown placeholders {sorted(extra)}")
    elif any(raw.get(key) is not None for key in ("say", "say_no_contact", "record")):
        raise _fail(path, where, "only a submit node has 'say', 'say_no_contact' and 'record'")
    ask = _text(path, where, raw, "ask", required=kind != "submit")
    if ask is not None and placeholders(ask) - LINKS:
        raise _fail(path, where, "a question cannot have placeholders other than links")
    if kind == "multichoice" and any(o.goto or o.command or o.value is None for o in options):
        raise _fail(
            path, where, "every option of a multichoice needs a 'value' (no goto or command)"
        )
    if kind in ("scale",) and any(not isinstance(o.value, int) for o in options):
        raise _fail(path, where, "every option of a scale needs a whole-number 'value'")
    save = raw.get("save")
    if save is not None and not (isinstance(save, str) and save.isidentifier()):
        raise _fail(path, where, "'save' must be a name like 'service' or 'text'")
    fields = raw.get("fields") or {}
    if not isinstance(fields, Mapping):
        raise _fail(path, where, "'fields' must be a mapping")
    budget = raw.get("sms_segments")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= MAX_SEGMENTS
    ):
        raise _fail(path, where, f"'sms_segments' must be a whole number from 1 to {MAX_SEGMENTS}")
    if budget is not None and ask is None:
        raise _fail(path, where, "only a question has 'sms_segments'")
    return Node(
        id=raw["id"],
        type=kind,
        ask=ask,
        save=save,
        options=options,
        next=next_,
        optional=bool(raw.get("optional", False)),
        record=record,
        fields=dict(fields),
        say=raw.get("say"),
        say_no_contact=raw.get("say_no_contact"),
        options_from=options_from,
        options_by=options_by,
        sms_segments=budget,
    )


def _answers(node: Node) -> set[str]:
    """The answer keys a `next` mapping may branch on for this node."""
    if node.type == "yesno":
        return {"yes", "no"}
    if node.type in OPTION_TYPES:
        return {str(option.value).lower() for option in node.options}
    return set()


# The intents a flow may be started by, when a person says so in their own words.
FLOW_INTENTS = ("complaint", "comment", "compliment", "survey", "involve", "events")


def _intent(path: Path, value: object) -> str | None:
    if value is None:
        return None
    if value not in FLOW_INTENTS:
        raise FlowError(f"{path.name}: 'intent' must be one of {', '.join(FLOW_INTENTS)}")
    return str(value)


def load_flow(path: Path) -> Flow:
    """Read and check one flow file."""
    try:
        raw = read_yaml(path)
    except yaml.YAMLError as error:
        raise FlowError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(raw, Mapping) or not isinstance(raw.get("flow"), str):
        raise FlowError(f"{path.name}: a flow file needs 'flow: <id>' and 'nodes:'")
    items = raw.get("nodes")
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise FlowError(f"{path.name}: 'nodes' must be a non-empty list")
    nodes: dict[str, Node] = {}
    for index, item in enumerate(items):
        node = _node(path, item, index)
        if node.id in nodes:
            raise _fail(path, f"node '{node.id}'", "the id is used twice")
        nodes[node.id] = node
    keywords = raw.get("keywords") or {}
    if not isinstance(keywords, Mapping):
        raise FlowError(f"{path.name}: 'keywords' must map language to a list of words")
    first = next(iter(nodes.values()))
    if first.options_from is not None:
        raise _fail(path, f"node '{first.id}'", "a flow cannot start with a list's question")
    flow = Flow(
        id=raw["flow"],
        nodes=nodes,
        order=tuple(nodes),
        path=path,
        keywords={str(lang): tuple(words) for lang, words in keywords.items()},
        intent=_intent(path, raw.get("intent")),
    )
    for node in nodes.values():
        if isinstance(node.next, Mapping):
            answers = {"else"} | _answers(node)
            unknown_keys = set(node.next) - answers
            if unknown_keys:
                raise _fail(
                    path,
                    f"node '{node.id}'",
                    f"'next' has answers this node cannot give: {sorted(unknown_keys)}",
                )
        targets = node.next.values() if isinstance(node.next, Mapping) else [node.next]
        for target in targets:
            if target is not None and target not in nodes and target != MENU:
                raise _fail(path, f"node '{node.id}'", f"'next' names unknown node {target!r}")
    return flow
