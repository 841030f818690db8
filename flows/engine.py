"""The conversation engine: a pure step from (flows, state, input) to the next state.

No I/O, no clock, no database. The runner loads the state, calls `step`, then applies the
effects and writes the messages to say in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.effects import Effect, OptIn, OptOut, SetLanguage, Submit
from flows.library import LANGUAGE_FLOW, MENU_FLOW, RSVP_FLOW, Flows
from flows.model import Flow, Node, Option
from flows.textnorm import detect_script, match_key, parse_number
from flows.texts import (
    EMPTY_ANSWER,
    EXPIRED,
    HELP,
    MEDIA_RECEIVED,
    NO,
    NOT_A_CHOICE,
    NOT_YES_NO,
    STOPPED,
    WELCOME_BACK,
    YES,
)

IDLE_NODE = "main"


@dataclass(frozen=True)
class State:
    """Where a conversation is: a flow, a node in it, and the answers given so far."""

    flow: str
    node: str
    answers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Input:
    """What reaches a conversation: a message, or its expiry."""

    text: str = ""
    media: tuple[Mapping[str, str], ...] = ()
    language: str | None = None
    language_hint: str | None = None
    opted_out: bool = False
    kind: Literal["message", "expire"] = "message"


@dataclass(frozen=True)
class Say:
    """A message to send, as a message id and parameters; rendered later in the reader's language.

    `lead` is a short message said first in the same text (an apology, an option's
    description). `choices` become numbered lines (or buttons). `raw_choices` marks labels
    that are not translated (each language's name written in itself).
    """

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    lead: str | None = None
    choices: tuple[str, ...] = ()
    raw_choices: bool = False
    even_if_stopped: bool = False


@dataclass(frozen=True)
class Transition:
    """The result of one step."""

    state: State
    say: tuple[Say, ...] = ()
    effects: tuple[Effect, ...] = ()


def idle() -> State:
    """The resting state: at the main menu, waiting for a choice."""
    return State(MENU_FLOW, IDLE_NODE)


def is_idle(state: State) -> bool:
    return state.flow == MENU_FLOW and state.node == IDLE_NODE and not state.answers


def step(flows: Flows, state: State | None, incoming: Input) -> Transition:
    """Return what `incoming` does to a conversation in `state` (None: first contact)."""
    if incoming.kind == "expire":
        return _expire(flows, state)
    meanings = flows.meanings(incoming.text)
    command = next((meaning for meaning, _ in meanings if meaning in _COMMANDS), None)
    if incoming.opted_out:
        if command != "start":
            return Transition(state or idle())
        return _start_again(flows, state, incoming, meanings)
    if command is not None:
        return _command(flows, command, state, incoming, meanings)
    target = next((m.removeprefix("flow:") for m, _ in meanings if m.startswith("flow:")), None)
    if target is not None:
        return _enter_flow(
            flows, target, state, incoming, _language_effects(flows, incoming, meanings)
        )
    if state is None:
        return _first_contact(flows, incoming)
    return _answer(flows, state, incoming)


_COMMANDS = ("help", "menu", "language", "stop", "start")


def _language_effects(
    flows: Flows, incoming: Input, meanings: tuple[tuple[str, str], ...]
) -> tuple[Effect, ...]:
    """When we do not know the person's language yet, a keyword in one language tells us.

    A word several languages share (অভিযোগ is Bengali and Sylheti) leaves it to the script.
    """
    if incoming.language is not None or not meanings:
        return ()
    languages = {language for _, language in meanings}
    if len(languages) > 1:
        guess = _guess_language(flows, incoming)
        languages = {guess} if guess in languages else set()
    if len(languages) == 1:
        return (SetLanguage(languages.pop()),)
    return ()


def _guess_language(flows: Flows, incoming: Input) -> str | None:
    codes = {language.code for language in flows.languages}
    hint = (incoming.language_hint or "").split("-")[0].lower()
    if hint in codes:
        return hint
    script = detect_script(incoming.text)
    if script == "bengali" and "bn" in codes:
        return "bn"
    if script == "syloti_nagri" and "syl" in codes:
        return "syl"
    return None


def _abandon(flows: Flows, state: State | None) -> tuple[Effect, ...]:
    """Keep what a person already told us when they leave a flow part-way: nothing is lost."""
    if state is None or not state.answers or state.flow not in flows.flows:
        return ()
    submit = _submit_node(flows[state.flow])
    # Interest counts only once the person has said yes and how to reach them; nor is half
    # an answer about events anything to keep.
    if submit is None or submit.record not in ("feedback", "survey"):
        return ()
    return (_submit_effect(flows[state.flow], submit, state.answers, complete=False),)


def _submit_node(flow: Flow) -> Node | None:
    return next((node for node in flow.nodes.values() if node.type == "submit"), None)


def _submit_effect(flow: Flow, node: Node, answers: Mapping[str, Any], complete: bool) -> Submit:
    assert node.record is not None  # flows/model.py checks every submit node names its record
    return Submit(node.record, flow.id, dict(node.fields), dict(answers), complete)


def _menu(flows: Flows, lead: str | None = None) -> Transition:
    return Transition(idle(), (_ask(flows, flows[MENU_FLOW].nodes[IDLE_NODE], lead),))


def _expire(flows: Flows, state: State | None) -> Transition:
    if state is not None and state.flow == RSVP_FLOW:
        # Not answering a reminder is an answer too: nothing to close, nothing to say.
        return Transition(idle())
    return Transition(idle(), (Say(EXPIRED),), _abandon(flows, state))


def prompt(
    flows: Flows,
    state: State | None,
    flow_id: str,
    context: Mapping[str, Any],
    say: Say,
    instead: Say,
) -> Transition:
    """The bot speaks first (an incoming reminder) and waits at `flow_id`'s first question.

    `context` goes into the answers (keys starting "_" are the bot's, not the person's).
    Someone half-way through another flow is not interrupted: they get `instead`, which asks
    nothing, and stay where they were.
    """
    if state is not None and not is_idle(state) and state.flow != flow_id:
        return Transition(state, (instead,))
    flow = flows[flow_id]
    return Transition(State(flow.id, flow.start, dict(context)), (say,))


def _start_again(
    flows: Flows, state: State | None, incoming: Input, meanings: tuple[tuple[str, str], ...]
) -> Transition:
    effects = (
        *_abandon(flows, state),
        OptIn(),
        *_language_effects(flows, incoming, meanings),
    )
    if incoming.language is None and not any(isinstance(e, SetLanguage) for e in effects):
        language_flow = flows[LANGUAGE_FLOW]
        return Transition(
            State(LANGUAGE_FLOW, language_flow.start),
            (_ask(flows, language_flow.nodes[language_flow.start]),),
            effects,
        )
    menu = _menu(flows, lead=WELCOME_BACK)
    return Transition(menu.state, menu.say, effects)


def _command(
    flows: Flows,
    command: str,
    state: State | None,
    incoming: Input,
    meanings: tuple[tuple[str, str], ...],
) -> Transition:
    language = _language_effects(flows, incoming, meanings)
    if command == "stop":
        effects: tuple[Effect, ...] = (*_abandon(flows, state), OptOut())
        return Transition(idle(), (Say(STOPPED, even_if_stopped=True),), effects)
    if command == "start":
        return _start_again(flows, state, incoming, meanings)
    if command == "help":
        return Transition(state or idle(), (Say(HELP),), language)
    if command == "language":
        return _enter_flow(flows, LANGUAGE_FLOW, state, incoming, ())
    if incoming.language is None and not language:
        return _first_contact(flows, incoming)
    menu = _menu(flows)
    return Transition(menu.state, menu.say, (*_abandon(flows, state), *language))


def _first_contact(flows: Flows, incoming: Input) -> Transition:
    if incoming.language is not None:
        return _menu(flows)
    guess = _guess_language(flows, incoming)
    if guess is not None:
        menu = _menu(flows)
        return Transition(menu.state, menu.say, (SetLanguage(guess),))
    language_flow = flows[LANGUAGE_FLOW]
    node = language_flow.nodes[language_flow.start]
    return Transition(State(LANGUAGE_FLOW, node.id), (_ask(flows, node),))


def _enter_flow(
    flows: Flows, flow_id: str, state: State | None, incoming: Input, effects: tuple[Effect, ...]
) -> Transition:
    flow = flows[flow_id]
    left = _abandon(flows, state)
    node = flow.nodes[flow.start]
    return Transition(State(flow.id, node.id), (_ask(flows, node),), (*left, *effects))


def _choices(flows: Flows, node: Node) -> tuple[tuple[str, ...], bool]:
    if node.type == "language":
        return tuple(language.name for language in flows.languages), True
    if node.type == "yesno":
        return (YES, NO), False
    return tuple(option.label for option in node.options), False


def _ask(flows: Flows, node: Node, lead: str | None = None) -> Say:
    choices, raw = _choices(flows, node)
    return Say(node.ask or "", lead=lead, choices=choices, raw_choices=raw)


def _answer(flows: Flows, state: State, incoming: Input) -> Transition:
    flow = flows.flows.get(state.flow)
    node = flow.nodes.get(state.node) if flow is not None else None
    if flow is None or node is None:
        # The flow file changed under a live conversation: start again at the menu.
        return _menu(flows)
    if node.type == "text":
        return _answer_text(flows, flow, node, state, incoming)
    if node.type == "yesno":
        return _answer_yes_no(flows, flow, node, state, incoming)
    return _answer_choice(flows, flow, node, state, incoming)


def _answer_text(flows: Flows, flow: Flow, node: Node, state: State, incoming: Input) -> Transition:
    has_text = bool(incoming.text.strip())
    skipped = node.optional and any(m == "skip" for m, _ in flows.meanings(incoming.text))
    if not has_text and not incoming.media:
        return Transition(state, (_ask(flows, node, lead=EMPTY_ANSWER),))
    answers = dict(state.answers)
    if node.save and not skipped:
        answers[node.save] = incoming.text
        if incoming.media:
            answers[f"{node.save}_media"] = [dict(item) for item in incoming.media]
    lead = MEDIA_RECEIVED if incoming.media else None
    return _advance(flows, flow, node, answers, None, lead)


def _answer_yes_no(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    number = parse_number(incoming.text)
    words = {meaning for meaning, _ in flows.meanings(incoming.text)}
    if number == 1 or (number is None and "yes" in words):
        value = True
    elif number == 2 or (number is None and "no" in words):
        value = False
    else:
        return Transition(state, (_ask(flows, node, lead=NOT_YES_NO),))
    answers = {**state.answers, **({node.save: value} if node.save else {})}
    return _advance(flows, flow, node, answers, "yes" if value else "no", None)


def _pick(flows: Flows, node: Node, text: str) -> int | None:
    """Return the 0-based index of the option a reply picks, or None."""
    choices, _ = _choices(flows, node)
    number = parse_number(text)
    if number is not None and 1 <= number <= len(choices):
        return number - 1
    if node.type == "language":
        # A person may write their language's name instead of its number.
        key = match_key(text)
        for index, language in enumerate(flows.languages):
            if key in (match_key(language.name), match_key(language.code)):
                return index
    return None


def _answer_choice(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    index = _pick(flows, node, incoming.text)
    if index is None:
        return Transition(state, (_ask(flows, node, lead=NOT_A_CHOICE),))
    if node.type == "language":
        code = flows.languages[index].code
        answers = dict(state.answers)
        if flow.id == LANGUAGE_FLOW:
            menu = _menu(flows)
            return Transition(menu.state, menu.say, (SetLanguage(code),))
        if node.save:
            answers[node.save] = code
        return _advance(flows, flow, node, answers, code, None)
    option: Option = node.options[index]
    if option.command is not None:
        return _command(flows, option.command, state, incoming, ())
    if option.goto is not None:
        return _enter_flow(flows, option.goto, state, incoming, ())
    answers = dict(state.answers)
    if node.save:
        answers[node.save] = option.value
    return _advance(flows, flow, node, answers, str(option.value).lower(), option.info)


def _advance(
    flows: Flows,
    flow: Flow,
    node: Node,
    answers: Mapping[str, Any],
    answer_key: str | None,
    lead: str | None,
) -> Transition:
    if isinstance(node.next, Mapping):
        target = node.next.get(answer_key or "") or node.next.get("else") or flow.after(node.id)
    else:
        target = node.next or flow.after(node.id)
    if target is None or target == MENU_FLOW:
        menu = _menu(flows, lead=lead)
        return Transition(menu.state, menu.say)
    following = flow.nodes[target]
    if following.type == "submit":
        effect = _submit_effect(flow, following, answers, complete=True)
        say = Say(following.say or "", lead=lead)
        return Transition(idle(), (say,), (effect,))
    return Transition(State(flow.id, following.id, answers), (_ask(flows, following, lead),))
