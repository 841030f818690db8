"""Messages from one person that arrive at the same moment are all kept and stepped one by one.

Each burst starts several threads behind a barrier, so their transactions really overlap: on
PostgreSQL the conversation's version column makes all but one of them retry; on SQLite the
write lock queues them. Either way the result must be what the same messages would give sent
one after another in the order they were committed.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.pipeline.runner import Received
from bot.services import Services
from bot.types import InboundMessage
from storage.models import Address, Contact, Conversation, Feedback, Message

THREADS = 8
_numbers = itertools.count()


class TickingClock:
    """A clock that moves on a millisecond each time it is read, from any thread.

    A real clock never gives two steps the same moment; a frozen one would let a step that
    changes nothing else leave `updated_at`, and so the version, as it was.
    """

    def __init__(self, start: datetime) -> None:
        self._ticks = itertools.count()
        self._lock = threading.Lock()
        self.start = start

    def __call__(self) -> datetime:
        with self._lock:
            return self.start + timedelta(milliseconds=next(self._ticks))


@pytest.fixture
def services(services: Services) -> Services:
    services.clock = TickingClock(services.clock())
    return services


def new_address() -> str:
    return f"+4477009{next(_numbers):05d}"


def inbound(address: str, text: str, provider_id: str | None = None) -> InboundMessage:
    return InboundMessage(channel="sms", address=address, text=text, provider_id=provider_id)


def burst(services: Services, messages: list[InboundMessage]) -> list[Received]:
    """Hand every message to the runner at the same moment, each from its own thread."""
    barrier = threading.Barrier(len(messages))
    results: list[Received | BaseException | None] = [None] * len(messages)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = services.runner.receive(messages[index])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(messages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    received = [result for result in results if isinstance(result, Received)]
    assert received == results, results
    return received


def committed_order(texts: list[str], received: list[Received]) -> list[str]:
    """Return the texts in the order they were stepped: the order they were stored in.

    Whichever call holds the conversation (its row lock on PostgreSQL, the write lock on
    SQLite) steps every message waiting from that person, oldest first.
    """
    assert len({r.message_id for r in received}) == len(received)
    pairs = sorted(zip(received, texts, strict=True), key=lambda p: p[0].message_id)
    return [text for _, text in pairs]


def send_in_turn(services: Services, address: str, texts: list[str]) -> None:
    for text in texts:
        services.runner.receive(inbound(address, text))


@dataclass(frozen=True)
class Outcome:
    """Everything a conversation left behind, without what is random (references)."""

    flow: str
    node: str
    answers: dict[str, Any]
    version: int
    inbound: list[tuple[str | None, str]]
    replies: list[tuple[str | None, dict[str, Any], list[Any] | None]]
    feedback: list[tuple[str, str | None, str | None, bool]]
    contacts: int


def outcome(services: Services, address: str) -> Outcome:
    with services.database.session() as session:
        row = session.scalars(select(Address).where(Address.address == address)).one()
        conversation = session.scalars(
            select(Conversation).where(Conversation.address_id == row.id)
        ).one()
        messages = session.scalars(
            select(Message).where(Message.address_id == row.id).order_by(Message.id)
        ).all()
        feedback = session.scalars(
            select(Feedback).where(Feedback.address_id == row.id).order_by(Feedback.id)
        ).all()
        contacts = session.scalar(
            select(func.count(Contact.id.distinct()))
            .join(Address, Address.contact_id == Contact.id)
            .where(Address.address == address)
        )
        return Outcome(
            flow=conversation.flow,
            node=conversation.node,
            answers=dict(conversation.answers),
            version=conversation.version,
            inbound=sorted((m.body, m.status) for m in messages if m.direction == "in"),
            replies=[
                (
                    m.template,
                    {k: v for k, v in (m.params or {}).items() if k != "reference"},
                    m.choices,
                )
                for m in messages
                if m.direction == "out"
            ],
            feedback=[(f.kind, f.service, f.text, f.complete) for f in feedback],
            contacts=contacts or 0,
        )


SCENARIOS = {
    "everyone picks 1": ["1"] * THREADS,
    "a mixed burst": ["1", "2", "3", "The carer came late", "skip", "1", "2", "0"],
}


@pytest.mark.parametrize("texts", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_a_burst_from_one_person_is_stepped_one_message_at_a_time(
    services: Services, texts: list[str]
) -> None:
    person, witness = new_address(), new_address()
    for address in (person, witness):
        send_in_turn(services, address, ["hi", "1"])  # at the menu, in English
    before = outcome(services, person).version

    received = burst(services, [inbound(person, text) for text in texts])

    after = outcome(services, person)
    assert after.version == before + len(texts)
    assert after.inbound == sorted(
        [("hi", "processed"), ("1", "processed")] + [(text, "processed") for text in texts]
    )
    # Every message is answered (leaving a complaint part-way also says its reference).
    assert len(after.replies) >= 2 + len(texts)
    # The same messages sent one after another, in the order they were committed, leave
    # exactly the same conversation, replies and records behind.
    send_in_turn(services, witness, committed_order(texts, received))
    assert after == outcome(services, witness)


def test_everyone_picking_1_at_the_menu_starts_one_complaint_and_answers_it(
    services: Services,
) -> None:
    person = new_address()
    send_in_turn(services, person, ["hi", "1"])
    burst(services, [inbound(person, "1") for _ in range(THREADS)])
    result = outcome(services, person)
    # Menu -> complaint; then "1" is Home care, the story, the wish, yes to a call, English
    # for the call, yes to contact: submitted; the eighth "1" is yes to the one question
    # about broadcasts that follows a first contribution, and they rest at the optional
    # monitoring questions that follow it.
    assert result.feedback == [("complaint", "home_care", "1", True)]
    assert (result.flow, result.node) == ("monitoring", "start")
    question = services.flows["complaint"].nodes["service"].ask
    assert [template for template, _, _ in result.replies].count(question) == 1
    news = services.flows["news"].nodes["news"].ask
    assert [template for template, _, _ in result.replies].count(news) == 1


@pytest.mark.parametrize(
    "texts",
    [["hello"] * THREADS, ["hi", "1", "2", "3", "hello", "অভিযোগ", "x", "0"]],
    ids=["the same greeting", "different first words"],
)
def test_first_messages_at_once_make_one_contact_one_address_one_conversation(
    services: Services, texts: list[str]
) -> None:
    person, witness = new_address(), new_address()
    received = burst(services, [inbound(person, text) for text in texts])
    result = outcome(services, person)
    with services.database.session() as session:
        addresses = session.scalar(
            select(func.count()).select_from(Address).where(Address.address == person)
        )
        contacts = session.scalar(select(func.count()).select_from(Contact))
    assert (addresses, contacts, result.contacts) == (1, 1, 1)
    assert result.version == len(texts)
    assert result.inbound == sorted((text, "processed") for text in texts)
    send_in_turn(services, witness, committed_order(texts, received))
    assert result == outcome(services, witness)


def test_a_provider_retrying_at_once_is_answered_once(services: Services) -> None:
    person = new_address()
    send_in_turn(services, person, ["hi", "1"])
    received = burst(services, [inbound(person, "2", provider_id="SM-once")] * THREADS)
    firsts = [r for r in received if not r.duplicate]
    assert len(firsts) == 1
    assert {r.message_id for r in received} == {firsts[0].message_id}
    result = outcome(services, person)
    assert result.inbound.count(("2", "processed")) == 1
    assert (result.flow, result.node) == ("comment", "service")
