"""The engine's side of event reminders: the bot speaks first, and a yes or no is an answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.i18n import I18n
from bot.settings import FLOWS_DIR, LOCALES_DIR
from flows.effects import Submit
from flows.engine import Input, Say, State, idle, prompt, step
from flows.library import RSVP_FLOW, Flows, load_flows
from flows.texts import EXPIRED, NO, YES

ASK = Say("Reminder", {"title": "Forum"}, choices=(YES, NO))
ONLY = Say("Reminder only", {"title": "Forum"})


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)


def test_a_reminder_to_someone_at_rest_waits_for_their_answer(flows: Flows) -> None:
    for state in (None, idle(), State(RSVP_FLOW, "answer", {"_event": 4})):
        moved = prompt(flows, state, RSVP_FLOW, {"_event": 5}, ASK, ONLY)
        assert moved.state == State(RSVP_FLOW, "answer", {"_event": 5})
        # The question is named, so a button pressed later says what it answers.
        assert moved.say == (replace(ASK, question="rsvp/answer"),) and moved.effects == ()


def test_a_reminder_leaves_someone_half_way_where_they_were(flows: Flows) -> None:
    half_way = State("complaint", "what_happened", {"service": "home_care"})
    kept = prompt(flows, half_way, RSVP_FLOW, {"_event": 5}, ASK, ONLY)
    assert (kept.state, kept.say, kept.effects) == (half_way, (ONLY,), ())


@pytest.mark.parametrize(
    ("text", "coming"),
    [("১", True), ("1", True), ("হ্যাঁ", True), ("২", False), ("no", False), ("na", False)],
)
def test_yes_or_no_in_any_script_is_an_answer_about_the_event(
    flows: Flows, text: str, coming: bool
) -> None:
    waiting = State(RSVP_FLOW, "answer", {"_event": 5})
    answered = step(flows, waiting, Input(text=text, language="bn"))
    [effect] = answered.effects
    assert isinstance(effect, Submit) and effect.record == "rsvp"
    assert effect.answers == {"_event": 5, "answer": coming}
    assert answered.state == idle()


def test_an_unanswered_reminder_expires_without_a_word(flows: Flows) -> None:
    waiting = State(RSVP_FLOW, "answer", {"_event": 5})
    expired = step(flows, waiting, Input(kind="expire"))
    assert (expired.state, expired.say, expired.effects) == (idle(), (), ())
    # Anything else left half-way still says why it closed.
    assert step(flows, State("events", "topic"), Input(kind="expire")).say[0].text == EXPIRED


def test_leaving_the_events_flow_keeps_nothing_half_done(flows: Flows) -> None:
    left = step(flows, State("events", "topic", {"action": "remind"}), Input(text="complaint"))
    assert left.effects == ()
    assert left.state.flow == "complaint"
