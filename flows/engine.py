"""The conversation engine: a pure step from (flows, state, input) to the next state.

No I/O, no clock, no database. The runner loads the state, understands the message
(flows/understanding), calls `step`, then applies the effects and writes the messages to
say in one transaction.

What a message does, first match wins:
1. STOP, in any words, anywhere (unsure: one yes/no question); while stopped, only START.
2. The other commands, by keyword: HELP (then the question again), MENU, LANGUAGE, START,
   STATUS; and a reference on its own ("C-123456"): where that feedback is, if it is theirs.
3. An answer to a question the bot asked to be sure (flows/engine.py `CONFIRM`).
4. An old Telegram button: told kindly, and the question now.
5. First contact: the language from the words where they tell it, and what they want.
6. Back after a long gap half-way: carry on, or start again?
7. At the menu (or the language question): what they want, in their own words.
8. Otherwise, the answer to the question they are at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from flows.answers import (
    named_language,
    pick_by_words,
    pick_language,
    pick_option,
    pick_options,
    reference_in,
    yes_or_no,
)
from flows.effects import Effect, OptIn, OptOut, SetLanguage, Submit
from flows.library import ACCESS_FLOW, LANGUAGE_FLOW, MENU_FLOW, RSVP_FLOW, Flows
from flows.listing import NONE_OPEN, PAGE_START, Choice, Listing, Page, page_of
from flows.model import CONSENT_TO_CONTACT, Flow, Node, Option
from flows.textnorm import detect_script, parse_number
from flows.texts import (
    CARRY_ON,
    CHOICE_CARRY_ON,
    CHOICE_MENU,
    CHOICE_START_AGAIN,
    CONFIRM_STOP,
    EMPTY_ANSWER,
    EXPIRED,
    HELP,
    INTRODUCTION,
    KEPT,
    MEDIA_KEPT,
    MEDIA_RECEIVED,
    NO,
    NOT_A_CHOICE,
    NOT_NUMBERS,
    NOT_YES_NO,
    OLD_BUTTON,
    PRIVACY_LINK,
    SHARED_NOT_READ,
    SOUNDS_LIKE,
    STATUS_DUE,
    STATUS_NONE,
    STATUS_NOW,
    STATUS_UNKNOWN,
    STILL_HERE,
    STOPPED,
    WELCOME_BACK,
    YES,
)
from flows.understanding import Understanding

IDLE_NODE = "main"
# Questions the engine asks itself, to be sure before it acts: a state of its own.
CONFIRM = "confirm"
# A first message this long tells its story: it is kept as "what happened" once confirmed.
STORY_WORDS = 8
# What a person wanting each of these is asked to confirm, when they told a story.
STORY_INTENTS = ("complaint", "comment", "compliment")
# A story is checked in about from this sure (the check-in is the bot asking, so a fair guess
# will do); anything else the bot acts on only when sure (flows/understanding SURE).
STORY_GUESS = 0.5


@dataclass(frozen=True)
class State:
    """Where a conversation is: a flow, a node in it, and the answers given so far."""

    flow: str
    node: str
    answers: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusQuery:
    """A message asking where feedback is: a reference, or STATUS alone (their newest)."""

    reference: str | None


@dataclass(frozen=True)
class CaseStatus:
    """What the runner found for a StatusQuery among the sender's own feedback only.

    `params` are the answer's parameters (kind, reference, status, and `deadline` while a
    response is due), or None when none of their feedback has that reference.
    """

    asked: str | None
    params: Mapping[str, Any] | None = None


def status_query(flows: Flows, text: str) -> StatusQuery | None:
    """Whether a message asks where feedback is; the runner then looks it up (CaseStatus)."""
    reference = reference_in(text) if len(text) < 80 else None
    if reference is not None:
        return StatusQuery(reference)
    if any(meaning == "status" for meaning, _ in flows.meanings(text)):
        return StatusQuery(None)
    return None


@dataclass(frozen=True)
class Input:
    """What reaches a conversation: a message, or its expiry.

    `understood` is what the message seems to say (flows/understanding), worked out by the
    runner; `question` the question a Telegram button answers ("complaint/service");
    `returning` that the person comes back after a long gap.
    """

    text: str = ""
    media: tuple[Mapping[str, str], ...] = ()
    language: str | None = None
    language_hint: str | None = None
    opted_out: bool = False
    kind: Literal["message", "expire"] = "message"
    understood: Understanding | None = None
    question: str | None = None
    returning: bool = False
    # What the runner found when the message asks where feedback is (status_query).
    status: CaseStatus | None = None
    # The lists the flows' questions may offer (flows/listing.py), read by the runner.
    listings: Mapping[str, Listing] = field(default_factory=dict)

    @property
    def files(self) -> tuple[Mapping[str, str], ...]:
        """The media that are files (a MIME type: a voice note, photo, video or document),
        which can answer "what happened?"; a sticker, location or contact card cannot."""
        return tuple(item for item in self.media if "/" in item.get("content_type", ""))


@dataclass(frozen=True)
class Say:
    """A message to send, as a message id and parameters; rendered later in the reader's language.

    `lead` is a short message said first in the same text (an apology, an option's
    description). `choices` become numbered lines (or buttons). `raw_choices` marks labels
    that are not translated (each language's name written in itself). `question` names the
    question it asks ("complaint/service"), so a button pressed later says what it answered.
    """

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    lead: str | None = None
    choices: tuple[Choice, ...] = ()
    raw_choices: bool = False
    even_if_stopped: bool = False
    question: str | None = None


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


def question_of(state: State | None) -> str:
    """The name of the question a conversation waits at, as buttons carry it: with the page
    of a list's question after its first ("involve/opportunity@4"), so that a button of an
    earlier page is told from one of the page the person is at."""
    state = state or idle()
    start = state.answers.get(PAGE_START)
    return f"{state.flow}/{state.node}" + (f"@{start}" if start else "")


_COMMANDS = ("help", "menu", "language", "stop", "start", "status")


def step(flows: Flows, state: State | None, incoming: Input) -> Transition:
    """Return what `incoming` does to a conversation in `state` (None: first contact)."""
    if incoming.listings:
        flows = replace(flows, listings=incoming.listings)
    transition = _step(flows, state, incoming)
    if incoming.media and not incoming.files and not incoming.text.strip() and transition.say:
        # Only a sticker, place, contact card or the like: kept with the conversation, and
        # the person told first what the bot can read, whatever it says next.
        first, *rest = transition.say
        if first.lead in (None, MEDIA_KEPT):
            told = replace(first, lead=SHARED_NOT_READ)
            transition = Transition(transition.state, (told, *rest), transition.effects)
    return transition


def _step(flows: Flows, state: State | None, incoming: Input) -> Transition:
    if incoming.kind == "expire":
        return _expire(flows, state)
    understood = incoming.understood or Understanding("none", None, 0.0)
    meanings = flows.meanings(incoming.text)
    command = next((meaning for meaning, _ in meanings if meaning in _COMMANDS), None)
    # A keyword means what the keywords file says ("বাদ" is SKIP); only other words are read
    # for an opt-out.
    if not meanings and understood.intent in ("stop", "start") and understood.sure:
        command = understood.intent
    if incoming.opted_out:
        if command != "start":
            return Transition(state or idle())
        return _start_again(flows, state, incoming, meanings)
    if command is not None:
        return _command(flows, command, state, incoming, meanings)
    if incoming.status is not None and incoming.status.asked is not None:
        return _status(flows, state, incoming)
    if understood.intent == "stop" and not meanings:
        return _confirm_stop(flows, state)
    if state is not None and state.flow == CONFIRM:
        return _confirmed(flows, state, incoming)
    if incoming.question is not None and incoming.question != question_of(state):
        return _repeat(flows, state, OLD_BUTTON)
    target = next((m.removeprefix("flow:") for m, _ in meanings if m.startswith("flow:")), None)
    if target is not None:
        return _enter_flow(
            flows, target, state, incoming, _language_effects(flows, incoming, meanings)
        )
    if state is None:
        return _first_contact(flows, incoming, understood)
    if incoming.returning and not is_idle(state) and not _answers(flows, state, incoming):
        return _ask_carry_on(state)
    if state.flow == LANGUAGE_FLOW and incoming.language is None:
        if pick_language(flows, incoming.text) is None:
            # Still a first contact: what they wrote may tell their language after all.
            return _first_contact(flows, incoming, understood)
    if state.flow in (MENU_FLOW, LANGUAGE_FLOW):
        wanted = _wanted(flows, state, incoming, understood, ())
        if wanted is not None:
            return wanted
    return _answer(flows, state, incoming)


# -- what a person wants, in their own words ---------------------------------------------------


def _wanted(
    flows: Flows,
    state: State | None,
    incoming: Input,
    understood: Understanding,
    effects: tuple[Effect, ...],
) -> Transition | None:
    """What to do for a message at the menu that says what it wants, if it does."""
    language = named_language(flows, incoming.text) if len(incoming.text) < 40 else None
    if language is not None:
        menu = _menu(flows)
        return Transition(menu.state, menu.say, (*effects, SetLanguage(language)))
    story = understood.intent in STORY_INTENTS and len(incoming.text.split()) >= STORY_WORDS
    if not understood.sure and not (story and understood.confidence >= STORY_GUESS):
        return None
    if understood.intent == "help":
        return _with_effects(_help(flows, state), effects)
    if understood.intent == "menu":
        return _leave_to_menu(flows, state, effects)
    if understood.intent == "language":
        return _with_effects(_enter_flow(flows, LANGUAGE_FLOW, state, incoming, ()), effects)
    flow_id = flows.intent_flows.get(understood.intent)
    if flow_id is None:
        return None
    if story:
        # They told the story already: check in once, then keep it as what happened.
        answers: dict[str, Any] = {"_intent": understood.intent, "_story": incoming.text}
        if incoming.media:
            answers["_media"] = [dict(item) for item in incoming.media]
        ask = Say(
            SOUNDS_LIKE[understood.intent],
            choices=(YES, CHOICE_MENU),
            question=f"{CONFIRM}/intent",
        )
        return Transition(State(CONFIRM, "intent", answers), (ask,), effects)
    return _enter_flow(flows, flow_id, state, incoming, effects)


def _with_effects(transition: Transition, effects: tuple[Effect, ...]) -> Transition:
    return Transition(transition.state, transition.say, (*effects, *transition.effects))


# -- questions the engine asks itself -----------------------------------------------------------


def _confirm_stop(flows: Flows, state: State | None) -> Transition:
    """A message that may mean STOP: ask, and remember where they were."""
    answers = {"_back": _saved(state)}
    ask = Say(CONFIRM_STOP, choices=(YES, NO), question=f"{CONFIRM}/stop", even_if_stopped=True)
    return Transition(State(CONFIRM, "stop", answers), (ask,))


def _ask_carry_on(state: State) -> Transition:
    """Back after a long gap half-way: carry on where they were, or start again?"""
    ask = Say(
        CARRY_ON,
        choices=(CHOICE_CARRY_ON, CHOICE_START_AGAIN),
        question=f"{CONFIRM}/resume",
    )
    return Transition(State(CONFIRM, "resume", {"_back": _saved(state)}), (ask,))


def _confirmed(flows: Flows, state: State, incoming: Input) -> Transition:
    """The answer to a question the engine asked itself (CONFIRM)."""
    answer = _confirm_answer(flows, state, incoming.text)
    back = _restored(state.answers.get("_back"))
    if state.node == "stop":
        if answer is True:
            return _command(flows, "stop", back, incoming, ())
        if answer is False:
            return _repeat(flows, back, STILL_HERE)
        return _after_confirm(flows, back, incoming)
    if state.node == "resume":
        if answer is True:
            return _repeat(flows, back)
        if answer is False:
            return _leave_to_menu(flows, back)
        return Transition(state, (_confirm_again(state),))
    intent = str(state.answers.get("_intent"))
    if answer is True and intent in flows.intent_flows:
        story: dict[str, Any] = {"text": state.answers.get("_story", "")}
        if state.answers.get("_media"):
            story["text_media"] = state.answers["_media"]
        return _enter_flow(flows, flows.intent_flows[intent], None, incoming, (), story)
    if answer is False:
        return _menu(flows)
    return _after_confirm(flows, idle(), incoming)


def _confirm_answer(flows: Flows, state: State, text: str) -> bool | None:
    """Yes (the first choice), no (the second), or neither: by yes or no in any words, by
    number, or by the words of the choices ("carry on")."""
    answer = yes_or_no(flows, text)
    if answer is None:
        index = pick_option(flows, question_of(state), text)
        answer = None if index is None else index == 0
    return answer


def _after_confirm(flows: Flows, state: State | None, incoming: Input) -> Transition:
    """A reply to a check-in that answers neither yes nor no: take it as a new message."""
    return step(flows, state or idle(), incoming)


def _confirm_again(state: State) -> Say:
    if state.node == "resume":
        return Say(
            CARRY_ON,
            lead=NOT_YES_NO,
            choices=(CHOICE_CARRY_ON, CHOICE_START_AGAIN),
            question=f"{CONFIRM}/resume",
        )
    return Say(CONFIRM_STOP, lead=NOT_YES_NO, choices=(YES, NO), question=f"{CONFIRM}/stop")


def _saved(state: State | None) -> dict[str, Any] | None:
    if state is None:
        return None
    if state.flow == CONFIRM:
        return dict(state.answers.get("_back") or {}) or None
    return {"flow": state.flow, "node": state.node, "answers": dict(state.answers)}


def _restored(saved: object) -> State | None:
    if not isinstance(saved, Mapping):
        return None
    return State(str(saved["flow"]), str(saved["node"]), dict(saved.get("answers") or {}))


def _repeat(flows: Flows, state: State | None, lead: str | None = None) -> Transition:
    """Ask the question a conversation waits at again, with `lead` first."""
    state = state or idle()
    node = _node(flows, state)
    if node is None or node.type == "submit":
        menu = _menu(flows, lead=lead)
        return Transition(menu.state, menu.say)
    return _ask_at(flows, state.flow, node, state.answers, lead)


# -- commands and the flows --------------------------------------------------------------------


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
    """The person's language from their app's hint, their script, or their words."""
    codes = {language.code for language in flows.languages}
    hint = (incoming.language_hint or "").split("-")[0].lower()
    if hint in codes:
        return hint
    understood = incoming.understood
    if understood is not None and understood.language in codes and understood.language_sure:
        return understood.language
    script = detect_script(incoming.text)
    if script == "bengali" and "bn" in codes:
        return "bn"
    if script == "syloti_nagri":
        return next((code for code in ("syl-Sylo", "syl") if code in codes), None)
    return None


def _abandon(flows: Flows, state: State | None) -> tuple[tuple[Effect, ...], tuple[Say, ...]]:
    """Keep what a person already told us when they leave a flow part-way: nothing is lost.

    Feedback kept this way has its reference, and they are told it (KEPT).
    """
    if state is not None and state.flow == CONFIRM:
        state = _restored(state.answers.get("_back"))
    if state is None or not state.answers or state.flow not in flows.flows:
        return (), ()
    submit = _submit_node(flows[state.flow])
    # Interest counts only once the person has said yes and how to reach them; nor is half
    # an answer about events anything to keep. Monitoring answers given so far are kept.
    if submit is None or submit.record not in ("feedback", "survey", "monitoring"):
        return (), ()
    kept = _submit_effect(flows[state.flow], submit, state.answers, complete=False)
    told = (Say(KEPT, even_if_stopped=True),) if submit.record == "feedback" else ()
    return (kept,), told


def _submit_node(flow: Flow) -> Node | None:
    return next((node for node in flow.nodes.values() if node.type == "submit"), None)


def _submit_effect(flow: Flow, node: Node, answers: Mapping[str, Any], complete: bool) -> Submit:
    assert node.record is not None  # flows/model.py checks every submit node names its record
    kept = {
        key: value for key, value in answers.items() if not key.startswith("_") or key == "_event"
    }
    return Submit(node.record, flow.id, dict(node.fields), kept, complete)


def _leave_to_menu(
    flows: Flows, state: State | None, effects: tuple[Effect, ...] = ()
) -> Transition:
    """The menu, keeping what they told us in the flow they leave (and telling them so)."""
    left, told = _abandon(flows, state)
    menu = _menu(flows)
    return Transition(menu.state, (*told, *menu.say), (*left, *effects))


def _menu(flows: Flows, lead: str | None = None) -> Transition:
    return Transition(idle(), (_ask(flows, MENU_FLOW, flows[MENU_FLOW].nodes[IDLE_NODE], lead),))


def _help(flows: Flows, state: State | None) -> Transition:
    """HELP, then the question they are at again (the menu at the menu)."""
    repeated = _repeat(flows, state)
    return Transition(repeated.state, (Say(HELP), Say(PRIVACY_LINK), *repeated.say))


def _status(flows: Flows, state: State | None, incoming: Input) -> Transition:
    """Where their feedback is, then the question they are at (the menu asks nothing more)."""
    found = incoming.status
    if found is None or found.params is None:
        asked = found.asked if found is not None else None
        say = Say(STATUS_UNKNOWN, {"reference": asked}) if asked else Say(STATUS_NONE)
    else:
        say = Say(STATUS_DUE if "deadline" in found.params else STATUS_NOW, found.params)
    if state is None:
        first = _first_contact(flows, incoming, Understanding("none", None, 0.0))
        return Transition(first.state, (say, *first.say), first.effects)
    if is_idle(state):
        return Transition(state, (say,))
    repeated = _repeat(flows, state)
    return Transition(repeated.state, (say, *repeated.say))


def begin(flows: Flows, flow_id: str) -> Transition:
    """Start a flow the bot chose (a question after a contribution): its first question."""
    flow = flows[flow_id]
    node = flow.nodes[flow.start]
    return Transition(State(flow.id, node.id), (_ask(flows, flow.id, node),))


def _expire(flows: Flows, state: State | None) -> Transition:
    if state is not None and state.flow in (RSVP_FLOW, CONFIRM, ACCESS_FLOW):
        # Not answering a reminder, a check-in or the question about access needs is an
        # answer too: nothing to say.
        left, _ = _abandon(flows, state)
        return Transition(idle(), (), left)
    left, told = _abandon(flows, state)
    return Transition(idle(), (*told, Say(EXPIRED)), left)


def prompt(
    flows: Flows,
    state: State | None,
    flow_id: str,
    context: Mapping[str, Any],
    say: Say,
    instead: Say,
) -> Transition:
    """The bot speaks first (an event reminder) and waits at `flow_id`'s first question.

    `context` goes into the answers (keys starting "_" are the bot's, not the person's).
    Someone half-way through another flow is not interrupted: they get `instead`, which asks
    nothing, and stay where they were. The question about access needs, left unanswered,
    is no such flow: the reminder asks over it.
    """
    busy = state is not None and not is_idle(state) and state.flow != ACCESS_FLOW
    if state is not None and busy and state.flow != flow_id:
        return Transition(state, (instead,))
    flow = flows[flow_id]
    asked = replace(say, question=f"{flow.id}/{flow.start}")
    return Transition(State(flow.id, flow.start, dict(context)), (asked,))


def _start_again(
    flows: Flows, state: State | None, incoming: Input, meanings: tuple[tuple[str, str], ...]
) -> Transition:
    left, _ = _abandon(flows, state)
    effects = (*left, OptIn(), *_language_effects(flows, incoming, meanings))
    if incoming.language is None and not any(isinstance(e, SetLanguage) for e in effects):
        language_flow = flows[LANGUAGE_FLOW]
        node = language_flow.nodes[language_flow.start]
        return Transition(
            State(LANGUAGE_FLOW, node.id), (_ask(flows, LANGUAGE_FLOW, node),), effects
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
        left, told = _abandon(flows, state)
        effects: tuple[Effect, ...] = (*left, OptOut())
        return Transition(idle(), (*told, Say(STOPPED, even_if_stopped=True)), effects)
    if command == "start" and state is None:
        # Not stopped: START (and Telegram's /start) is a greeting, not a return.
        return _first_contact(flows, incoming, Understanding("none", None, 0.0))
    if command == "help":
        return _with_effects(_help(flows, state), language)
    if command == "status":
        return _with_effects(_status(flows, state, incoming), language)
    if command == "language":
        return _enter_flow(flows, LANGUAGE_FLOW, state, incoming, ())
    if incoming.language is None and not language:
        return _first_contact(flows, incoming, Understanding("none", None, 0.0))
    return _leave_to_menu(flows, state, language)


def _first_contact(flows: Flows, incoming: Input, understood: Understanding) -> Transition:
    """A first message: their language if it can be told, then what they asked for, or the
    menu; else the language question (what they wrote is stored, and understood again once
    they say their language only if they repeat it)."""
    if incoming.language is not None:
        wanted = _wanted(flows, idle(), incoming, understood, ()) or _menu(flows)
        return _introduced(wanted)
    guess = _guess_language(flows, incoming)
    if guess is not None:
        chosen: tuple[Effect, ...] = (SetLanguage(guess),)
        wanted = _wanted(flows, idle(), incoming, understood, chosen) or _with_effects(
            _menu(flows), chosen
        )
        return _introduced(wanted)
    language_flow = flows[LANGUAGE_FLOW]
    node = language_flow.nodes[language_flow.start]
    return Transition(State(LANGUAGE_FLOW, node.id), (_ask(flows, LANGUAGE_FLOW, node),))


def _introduced(transition: Transition) -> Transition:
    """A first contact in a language already known: told whose service this is, how to
    change language and stop, and where the privacy notice is, before anything else."""
    return Transition(transition.state, (Say(INTRODUCTION), *transition.say), transition.effects)


def _enter_flow(
    flows: Flows,
    flow_id: str,
    state: State | None,
    incoming: Input,
    effects: tuple[Effect, ...],
    answers: Mapping[str, Any] | None = None,
) -> Transition:
    flow = flows[flow_id]
    left, told = _abandon(flows, state)
    node = flow.nodes[flow.start]
    return Transition(
        State(flow.id, node.id, dict(answers or {})),
        (*told, _ask(flows, flow.id, node)),
        (*left, *effects),
    )


def _choices(flows: Flows, node: Node) -> tuple[tuple[str, ...], bool]:
    if node.type == "language":
        return tuple(language.name for language in flows.languages), True
    if node.type == "yesno":
        return (YES, NO), False
    return tuple(option.label for option in node.options), False


def _ask(flows: Flows, flow_id: str, node: Node, lead: str | None = None) -> Say:
    choices, raw = _choices(flows, node)
    return Say(
        node.ask or "",
        lead=lead,
        choices=choices,
        raw_choices=raw,
        question=f"{flow_id}/{node.id}",
    )


def _node(flows: Flows, state: State) -> Node | None:
    flow = flows.flows.get(state.flow)
    return flow.nodes.get(state.node) if flow is not None else None


# -- answers to the questions of a flow ---------------------------------------------------------


def _answers(flows: Flows, state: State, incoming: Input) -> bool:
    """Whether a message after a long gap answers the question they were left at."""
    node = _node(flows, state)
    if node is None:
        return False
    if node.type == "text":
        # A story answers "what happened?"; "Hi" does not.
        understood = incoming.understood
        greeting = understood is not None and "none" == understood.intent
        return bool(incoming.files) or (len(incoming.text.split()) >= 3 and not greeting)
    if node.type == "yesno":
        return yes_or_no(flows, incoming.text) is not None
    if node.type == "language":
        return pick_language(flows, incoming.text) is not None
    if node.type == "multichoice":
        return pick_options(flows, question_of(state), incoming.text) is not None
    return pick_option(flows, question_of(state), incoming.text) is not None


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
    if node.type == "multichoice":
        return _answer_several(flows, flow, node, state, incoming)
    return _answer_choice(flows, flow, node, state, incoming)


def _answer_text(flows: Flows, flow: Flow, node: Node, state: State, incoming: Input) -> Transition:
    has_text = bool(incoming.text.strip())
    skipped = node.optional and any(m == "skip" for m, _ in flows.meanings(incoming.text))
    if not has_text and not incoming.files:
        lead = MEDIA_KEPT if incoming.media else EMPTY_ANSWER
        return Transition(state, (_ask(flows, flow.id, node, lead=lead),))
    answers = dict(state.answers)
    if node.save and not skipped:
        answers[node.save] = incoming.text
        if incoming.media:
            answers[f"{node.save}_media"] = [dict(item) for item in incoming.media]
    received = MEDIA_RECEIVED if incoming.media else None
    return _advance(flows, flow, node, answers, None, received)


def _not_an_answer(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input, fallback: str
) -> Transition:
    """A reply that does not answer a fixed question. If it clearly asks for help, the menu
    or another language, that; else the question again, with why first, but never "send one
    number" to a voice note, which is kept with the conversation all the same."""
    understood = incoming.understood
    if understood is not None and understood.sure:
        if understood.intent == "help":
            return _help(flows, state)
        if understood.intent == "menu":
            return _leave_to_menu(flows, state)
        if understood.intent == "language":
            return _enter_flow(flows, LANGUAGE_FLOW, state, incoming, ())
    lead = MEDIA_KEPT if incoming.media else fallback
    return _ask_at(flows, flow.id, node, state.answers, lead)


def _answer_yes_no(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    value = yes_or_no(flows, incoming.text)
    if value is None:
        return _not_an_answer(flows, flow, node, state, incoming, NOT_YES_NO)
    answers = {**state.answers, **({node.save: value} if node.save else {})}
    return _advance(flows, flow, node, answers, "yes" if value else "no", None)


def _answer_choice(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    if node.options_from is not None:
        return _answer_listed(flows, flow, node, state, incoming)
    if node.type == "language":
        index = pick_language(flows, incoming.text)
    else:
        index = pick_option(flows, f"{flow.id}/{node.id}", incoming.text)
    if index is None:
        return _not_an_answer(flows, flow, node, state, incoming, NOT_A_CHOICE)
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


def _answer_several(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    """An answer to a question taking several options: their values, in the order named.

    Its `next` branches on the first answer key in the mapping (file order) that is among
    the values picked, else `else`.
    """
    picked = pick_options(flows, f"{flow.id}/{node.id}", incoming.text)
    if picked is None:
        return _not_an_answer(flows, flow, node, state, incoming, NOT_NUMBERS)
    values = [node.options[index].value for index in picked]
    answers = dict(state.answers)
    if node.save:
        answers[node.save] = values
    chosen = {str(value).lower() for value in values}
    key = None
    if isinstance(node.next, Mapping):
        key = next((answer for answer in node.next if answer in chosen), None)
    return _advance(flows, flow, node, answers, key, None)


def _advance(
    flows: Flows,
    flow: Flow,
    node: Node,
    answers: Mapping[str, Any],
    answer_key: str | None,
    lead: str | None,
) -> Transition:
    target = _next(flow, node, answer_key)
    # A question answered already (the story a first message told) is not asked again.
    while target is not None and target != MENU_FLOW:
        following = flow.nodes[target]
        if following.type != "text" or not following.save or following.save not in answers:
            break
        target = _next(flow, following, None)
    if target is None or target == MENU_FLOW:
        menu = _menu(flows, lead=lead)
        return Transition(menu.state, menu.say)
    following = flow.nodes[target]
    if following.type == "submit":
        effect = _submit_effect(flow, following, answers, complete=True)
        said = following.say
        if following.say_no_contact and answers.get(CONSENT_TO_CONTACT) is False:
            said = following.say_no_contact  # never promise contact to someone who said No
        say = Say(said or "", lead=lead)
        return Transition(idle(), (say,), (effect,))
    return _ask_at(flows, flow.id, following, answers, lead)


# -- questions whose options are a list the step is given (flows/listing.py) ---------------------


def _ask_at(
    flows: Flows, flow_id: str, node: Node, answers: Mapping[str, Any], lead: str | None
) -> Transition:
    """Wait at `node` and ask it: a list's question asks the page its answers are at, and
    one with nothing open to offer says so and shows the menu."""
    if node.options_from is None:
        return Transition(State(flow_id, node.id, answers), (_ask(flows, flow_id, node, lead),))
    page = _page(flows, node, answers)
    if not page.shown:
        return _menu(flows, lead=NONE_OPEN)
    kept = {key: value for key, value in answers.items() if key != PAGE_START}
    if page.start:
        kept[PAGE_START] = page.start
    state = State(flow_id, node.id, kept)
    ask = Say(node.ask or "", lead=lead, choices=page.choices, question=question_of(state))
    return Transition(state, (ask,))


def _page(flows: Flows, node: Node, answers: Mapping[str, Any]) -> Page:
    assert node.options_from is not None
    listing = flows.listings.get(node.options_from) or Listing(())
    area = answers.get(node.options_by) if node.options_by else None
    start = answers.get(PAGE_START)
    return page_of(
        listing,
        node.ask or "",
        None if area is None else str(area),
        start if isinstance(start, int) else 0,
    )


def _answer_listed(
    flows: Flows, flow: Flow, node: Node, state: State, incoming: Input
) -> Transition:
    """An answer to a list's question: an option of the page by number, or "More"; or any
    of the area's options by the words of its title, in any of its languages."""
    page = _page(flows, node, state.answers)
    number = parse_number(incoming.text)
    if number is None:
        named = pick_by_words([option.words for option in page.offered], incoming.text)
        if named is None:
            return _not_an_answer(flows, flow, node, state, incoming, NOT_A_CHOICE)
        chosen = page.offered[named]
    elif not 1 <= number <= len(page.shown) + page.more:
        return _not_an_answer(flows, flow, node, state, incoming, NOT_A_CHOICE)
    elif number > len(page.shown):
        following = {**state.answers, PAGE_START: page.start + len(page.shown)}
        return _ask_at(flows, flow.id, node, following, None)
    else:
        chosen = page.shown[number - 1]
    answers = {key: value for key, value in state.answers.items() if key != PAGE_START}
    if node.save:
        answers[node.save] = chosen.value
    advanced = _advance(flows, flow, node, answers, None, None)
    if chosen.about is None:
        return advanced
    about = Say(chosen.about, dict(chosen.about_params))
    return Transition(advanced.state, (about, *advanced.say), advanced.effects)


def _next(flow: Flow, node: Node, answer_key: str | None) -> str | None:
    if isinstance(node.next, Mapping):
        return node.next.get(answer_key or "") or node.next.get("else") or flow.after(node.id)
    return node.next or flow.after(node.id)
