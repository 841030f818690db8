"""Whatever people send, at whatever point of whatever flow, Kotha keeps it exactly and answers."""

from __future__ import annotations

import itertools
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.i18n import I18n
from bot.outreach import access, opportunities
from bot.outreach.opportunities import listed_from_seed
from bot.pipeline.runner import Received, Runner
from bot.pipeline.step import Stepper
from bot.services import Services
from bot.settings import FLOWS_DIR, LOCALES_DIR
from bot.types import Channel, InboundMessage
from flows.engine import CONFIRM, Input, Say, State, begin, idle, prompt, step
from flows.library import RSVP_FLOW, load_flows
from flows.listing import Listing
from flows.model import Flow, Node
from storage.models import (
    AccessNeed,
    Address,
    Contact,
    Conversation,
    Feedback,
    Message,
    SurveyResponse,
)
from tests.conftest import Bot

FLOWS = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)
# The ways to take part as first seeded: what a question listing them offers (one page).
LISTINGS = {opportunities.LIST_NAME: Listing(listed_from_seed())}
# "hi" meets the language question, "1" picks English: then the menu.
TO_THE_MENU = ("hi", "1")
SOME_WORDS = "The carer came late"

NASTY = {
    "empty": "",
    "spaces": "   ",
    "tab and newline": "\t\n",
    "10,000 characters": ("The carer did not come. " * 417)[:10_000],
    "NUL": "\x00",
    "control characters": "a\x07b\x1bc\x7fd",
    "lone high surrogate": "\ud800",
    "lone low surrogate inside": "x\udfffy",
    "emoji only": "😀👍🏽🇧🇩",
    "Arabic": "أريد أن أشتكي من الخدمة",
    "Hebrew with a right-to-left override": "\u202eשלום, אני רוצה להתלונן",
    "zero-width characters only": "\u200b\u200c\u200d\u2060\ufeff",
    "Syloti Nagri": "ꠀꠝꠤ ꠇꠕꠣ ꠇꠁꠔꠣꠝ",
    "the storage marker": "\x1bkotha-b64:aGVsbG8=",
}

_numbers = itertools.count()


def new_address() -> str:
    return f"+4477009{next(_numbers):05d}"


# -- reaching every node ---------------------------------------------------------------------


def replies_that_move(node: Node) -> list[str]:
    """Return one reply for each way out of a node."""
    if node.type == "text":
        return [SOME_WORDS]
    if node.type == "yesno":
        return ["1", "2"]
    if node.options_from is not None:
        return ["1"]  # the first of the list (each leads on the same way)
    count = len(FLOWS.languages) if node.type == "language" else len(node.options)
    return [str(number) for number in range(1, count + 1)]


class Route(NamedTuple):
    """How a person reaches a node: where they start, then the replies they send."""

    start: State
    replies: tuple[str, ...]


# Where a person can start: at rest, in the menu, or where a question the bot asks first
# leaves them (an event reminder asks "will you come?"; bot/outreach/consultations.py; the
# question about broadcasts after a first contribution, the access needs after a yes, the
# monitoring questions after the answer about news), or a keyword (PREFERENCES, ACCESS).
STARTS = (
    idle(),
    prompt(FLOWS, idle(), RSVP_FLOW, {"_event": 0}, Say("Will you come?"), Say("Reminder")).state,
    begin(FLOWS, "news").state,
    begin(FLOWS, "monitoring").state,
    begin(FLOWS, "access").state,
    begin(FLOWS, "preferences").state,
)


def shortest_paths() -> dict[tuple[str, str], Route]:
    """Find, from each start, the fewest replies that reach each node of each flow."""
    found: dict[tuple[str, str], Route] = {}
    queue: deque[tuple[State, Route]] = deque()
    for start in STARTS:
        found[(start.flow, start.node)] = Route(start, ())
        queue.append((start, Route(start, ())))
    while queue:
        state, route = queue.popleft()
        for text in replies_that_move(FLOWS[state.flow].nodes[state.node]):
            reached = step(FLOWS, state, Input(text=text, language="en", listings=LISTINGS)).state
            key = (reached.flow, reached.node)
            if key not in found:
                found[key] = Route(route.start, (*route.replies, text))
                queue.append((reached, found[key]))
    return found


PATHS = shortest_paths()
ASKING_NODES = sorted(
    (flow.id, node.id)
    for flow in FLOWS.flows.values()
    for node in flow.nodes.values()
    if node.type != "submit"
)


def test_every_node_that_asks_can_be_reached() -> None:
    assert sorted(PATHS) == ASKING_NODES


# -- reading what was stored -----------------------------------------------------------------


def conversation_of(session: Session, address_id: int) -> Conversation:
    return session.scalars(select(Conversation).where(Conversation.address_id == address_id)).one()


def state_of(session: Session, address_id: int) -> State:
    row = conversation_of(session, address_id)
    return State(row.flow, row.node, dict(row.answers))


def put_back(services: Services, address_id: int, state: State) -> None:
    """Return a conversation to a state, as if the person had walked there."""
    with services.database.session() as session:
        row = conversation_of(session, address_id)
        row.flow, row.node, row.answers = state.flow, state.node, dict(state.answers)


def saved_answer(session: Session, address_id: int, flow: Flow, node: Node) -> Any:
    """Return what the newest record from this address holds for a free-text node."""
    record = next(n.record for n in flow.nodes.values() if n.type == "submit")
    assert node.save is not None
    if record == "feedback":
        feedback = session.scalars(
            select(Feedback).where(Feedback.address_id == address_id).order_by(Feedback.id)
        ).all()[-1]
        return getattr(feedback, node.save)
    if record == "access":
        return session.scalars(
            select(AccessNeed.interpreter_language)
            .join(Address, Address.contact_id == AccessNeed.contact_id)
            .where(Address.id == address_id)
        ).one()
    assert record == "survey"
    response = session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.address_id == address_id)
        .order_by(SurveyResponse.id)
    ).all()[-1]
    return response.answers.get(node.save)


def assert_kept_and_answered(session: Session, received: Received, text: str, where: str) -> None:
    """The message is stored exactly, its step did not fail, and a reply is queued for it."""
    inbound = session.get_one(Message, received.message_id)
    assert inbound.body == text, where
    assert (inbound.status, inbound.reason) == ("processed", None), where
    assert received.outbound_ids, where  # reply rows, written in the same transaction


# -- every nasty input at every node ---------------------------------------------------------


class Person:
    """One person talking to a runner with no queue: replies are the outbound rows it writes.

    Sending is left out because it never sees the person's words; this keeps a sweep of
    every input at every node fast enough to run on every change.
    """

    def __init__(self, services: Services, channel: Channel = "sms") -> None:
        old = services.runner.stepper
        self.services = services
        # No dispatcher to claim replies, no queue to hand them to: they stay queued rows.
        stepper = Stepper(
            services.flows,
            old.effects,
            expiry=old.expiry,
            watchers=old.watchers,
            listings=old.listings,
            ask_after=old.ask_after,
        )
        self.runner = Runner(services.database, stepper, None, clock=services.clock)
        self.channel = channel
        self.address = new_address()

    def send(self, text: str) -> Received:
        return self.runner.receive(
            InboundMessage(channel=self.channel, address=self.address, text=text)
        )

    def address_id(self) -> int:
        with self.services.database.session() as session:
            return session.scalars(
                select(Address.id).where(
                    Address.channel == self.channel, Address.address == self.address
                )
            ).one()


def sweep_node(services: Services, key: tuple[str, str]) -> None:
    """Walk a new person to one node, then send every nasty input there in turn."""
    flow = FLOWS[key[0]]
    node = flow.nodes[key[1]]
    person = Person(services)
    route = PATHS[key]
    for text in TO_THE_MENU:
        person.send(text)
    address_id = person.address_id()
    put_back(services, address_id, route.start)
    for text in route.replies:
        person.send(text)
    with services.database.session() as session:
        walked = state_of(session, address_id)
    assert (walked.flow, walked.node) == key
    for name, text in NASTY.items():
        where = f"{name} at {flow.id}/{node.id}"
        received = person.send(text)
        with services.database.session() as session:
            assert_kept_and_answered(session, received, text, where)
            now = state_of(session, address_id)
        if now.flow == CONFIRM:
            # At a menu, a message that tells a story is checked in about, the story kept
            # exactly as written until the person says yes.
            assert now.answers["_story"] == text, where
            put_back(services, address_id, walked)
            continue
        if node.type != "text" or not text.strip():
            # Neither a choice nor an answer: asked again, nothing forgotten, nothing invented.
            assert now == walked, where
            continue
        assert node.save is not None
        if now.flow == flow.id:
            assert now.answers[node.save] == text, where
            person.send("0")  # leaving part-way writes what was said as a record
        # The language someone names for an interpreter is kept as a name, up to its limit.
        kept = text.strip()[: access.MAX_LANGUAGE] if flow.id == "access" else text
        with services.database.session() as session:
            assert saved_answer(session, address_id, flow, node) == kept, where
        put_back(services, address_id, walked)


# One test per flow rather than per node: each test pays for a fresh database.
@pytest.mark.parametrize("flow_id", sorted(FLOWS.flows))
def test_every_nasty_input_at_every_node(services: Services, flow_id: str) -> None:
    with services.database.session() as session:
        opportunities.seed(session, services.clock())
    for key in ASKING_NODES:
        if key[0] == flow_id:
            sweep_node(services, key)


def test_a_nasty_first_message_is_kept_and_answered(bot: Bot) -> None:
    for name, text in NASTY.items():
        address = new_address()
        replies = bot.receive(address, text)
        assert replies and all(reply.strip() for reply in replies), name
        with bot.services.database.session() as session:
            inbound = session.scalars(
                select(Message)
                .join(Address, Message.address_id == Address.id)
                .where(Address.address == address, Message.direction == "in")
            ).one()
        assert inbound.body == text and inbound.status == "processed", name


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
def test_other_channels_keep_nasty_text_too(bot: Bot, channel: str) -> None:
    address = "123456789" if channel == "telegram" else new_address()
    bot.conversation(
        address, *TO_THE_MENU, *PATHS[("complaint", "what_happened")].replies, channel=channel
    )
    text = NASTY["NUL"] + NASTY["lone low surrogate inside"] + NASTY["Syloti Nagri"]
    assert bot.receive(address, text, channel)
    assert bot.receive(address, "stop", channel)
    with bot.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        bodies = session.scalars(select(Message.body).where(Message.direction == "in")).all()
    assert feedback.text == text and feedback.channel == channel
    assert text in bodies


# -- any text at all, anywhere ---------------------------------------------------------------


def walk(route: Route) -> State:
    state = route.start
    for text in route.replies:
        state = step(FLOWS, state, Input(text=text, language="en", listings=LISTINGS)).state
    return state


START_STATES: list[State | None] = [None, *(walk(PATHS[key]) for key in ASKING_NODES)]
MOMENT = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def place(bot: Bot, address: str, channel: str, state: State | None) -> None:
    """Set up a person who chose English and stands at `state` (None: never wrote before)."""
    if state is None:
        return
    with bot.services.database.session() as session:
        row = Address(
            contact=Contact(language="en", created_at=MOMENT),
            channel=channel,
            address=address,
            created_at=MOMENT,
        )
        session.add(row)
        session.flush()
        session.add(
            Conversation(
                address_id=row.id,
                flow=state.flow,
                node=state.node,
                answers=dict(state.answers),
                started_at=MOMENT,
                updated_at=bot.services.clock(),
            )
        )


def taken_as_answer(state: State | None, text: str) -> Node | None:
    """Return the text node that keeps `text` as its answer, or None when it is not one."""
    if state is None:
        return None
    node = FLOWS[state.flow].nodes[state.node]
    if node.type != "text" or not text.strip() or FLOWS.meanings(text):
        return None
    return node


# Function-scoped `database` under @given: every example uses an address of its own.
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    state=st.sampled_from(START_STATES),
    text=st.text(alphabet=st.characters(codec=None), max_size=300),
    channel=st.sampled_from(["sms", "whatsapp", "telegram"]),
)
def test_any_text_anywhere_is_kept_and_answered(
    bot: Bot, state: State | None, text: str, channel: str
) -> None:
    address = new_address()
    place(bot, address, channel, state)
    assert bot.receive(address, text, channel)
    with bot.services.database.session() as session:
        address_id = session.scalars(
            select(Address.id).where(Address.channel == channel, Address.address == address)
        ).one()
        inbound = session.scalars(
            select(Message).where(Message.address_id == address_id, Message.direction == "in")
        ).one()
        assert inbound.body == text
        assert (inbound.status, inbound.reason) == ("processed", None)
        node = taken_as_answer(state, text)
        if node is None or node.save is None or state is None:
            return
        now = state_of(session, address_id)
        if now.flow == state.flow:
            assert now.answers[node.save] == text
        else:  # that was the last question: the record is written
            assert saved_answer(session, address_id, FLOWS[state.flow], node) == text
