"""A question whose options are a list the step is given (flows/listing.py), in the pure engine:
a page at a time within what fits one text, "More" to the next page, one area's options only,
and nothing open said plainly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.i18n import I18n
from bot.settings import FLOWS_DIR, LOCALES_DIR
from flows.engine import Input, State, Transition, step
from flows.library import load_flows
from flows.listing import MORE, NONE_OPEN, PAGE_START, Choice, Listed, Listing, page_of
from flows.model import FlowError, load_flow
from flows.texts import NOT_A_CHOICE, OLD_BUTTON

FLOWS = load_flows(FLOWS_DIR, I18n(LOCALES_DIR).choices)
AT_LIST = State("involve", "opportunity", {"area": "groups"})


def three_a_page(question: str, choices: Sequence[Choice]) -> bool:
    """A stand-in budget: three options and "More" fit; a fourth does not."""
    return len(choices) <= 4


NAMES = ("one", "two", "three", "four", "five", "six", "seven", "eight")
BENGALI = ("এক", "দুই", "তিন", "চার", "পাঁচ", "ছয়", "সাত", "আট")


def listing(count: int, area: str = "groups") -> Listing:
    options = tuple(
        Listed(
            value=f"way_{number}",
            labels={"en": f"Way {NAMES[number - 1]}", "bn": f"পথ {BENGALI[number - 1]}"},
            area=area,
            about="{line}",
            about_params={"line": {"by_language": {"en": f"About way {number}"}}},
        )
        for number in range(1, count + 1)
    )
    return Listing(options, three_a_page)


def answer(text: str, state: State, offered: Listing) -> Transition:
    return step(FLOWS, state, Input(text=text, language="en", listings={"opportunities": offered}))


def values(transition: Transition) -> list[object]:
    """The options the last message offers, by number ("More" as it is)."""
    return [
        f"Way {NAMES.index(choice['by_language']['en'].split()[1]) + 1}"
        if isinstance(choice, dict)
        else choice
        for choice in transition.say[-1].choices
    ]


def test_the_area_question_leads_to_the_first_page_of_that_area() -> None:
    offered = Listing((*listing(2, "panels").options, *listing(5).options), three_a_page)
    first = answer("1", State("involve", "area"), offered)  # groups
    assert first.state == AT_LIST
    assert values(first) == ["Way 1", "Way 2", "Way 3", MORE]


def test_more_pages_on_and_the_numbers_read_are_the_numbers_sent() -> None:
    offered = listing(8)
    second = answer("4", AT_LIST, offered)
    assert values(second) == ["Way 4", "Way 5", "Way 6", MORE]
    assert second.state.answers[PAGE_START] == 3
    last = answer("4", second.state, offered)
    assert values(last) == ["Way 7", "Way 8"]  # the last page: no "More"
    chosen = answer("2", second.state, offered)  # the second of page two
    assert chosen.state.node == "register"
    assert chosen.state.answers == {"area": "groups", "opportunity": "way_5"}
    about, asked = chosen.say
    assert about.text == "{line}" and about.params["line"]["by_language"]["en"] == "About way 5"
    assert asked.text == FLOWS["involve"].nodes["register"].ask


@pytest.mark.parametrize("text", ["5", "0 1", "banana", "", "৯৯", "1" * 400])
def test_a_number_not_on_the_page_apologises_and_asks_the_same_page(text: str) -> None:
    offered = listing(8)
    second = answer("4", AT_LIST, offered)
    again = answer(text, second.state, offered)
    assert again.state == second.state and again.effects == ()
    assert again.say[-1].lead == NOT_A_CHOICE
    assert values(again) == values(second)


def test_help_asks_the_same_page_again() -> None:
    offered = listing(8)
    second = answer("4", AT_LIST, offered)
    helped = answer("help", second.state, offered)
    assert helped.state == second.state
    assert values(helped) == values(second)


def test_nothing_open_in_the_area_is_said_and_the_menu_shown() -> None:
    for offered in (Listing(()), listing(3, "panels")):
        none = answer("1", State("involve", "area"), offered)
        assert none.state.flow == "menu"
        assert none.say[-1].lead == NONE_OPEN


def test_a_list_that_shrank_under_a_page_starts_again_at_its_first() -> None:
    second = answer("4", AT_LIST, listing(8))
    shrunk = answer("1", second.state, listing(2))
    # Page two no longer exists: its first page is what "1" answers now.
    assert shrunk.state.answers["opportunity"] == "way_1"


def test_a_page_always_shows_one_option_even_if_none_fits() -> None:
    never = Listing(listing(3).options, lambda question, choices: False)
    page = page_of(never, "Which?", "groups", 0)
    assert [option.value for option in page.shown] == ["way_1"] and page.more
    assert page_of(never, "Which?", "groups", 2).more is False


def test_a_flow_file_names_a_known_list_and_never_starts_with_one(tmp_path: Path) -> None:
    bad = {
        "unknown.yaml": "options_from: parties",
        "first.yaml": None,
        "static.yaml": "options_from: opportunities\n    options: [{label: A}]",
        "by_alone.yaml": "options_by: area\n    options: [{label: A}]",
    }
    for name, extra in bad.items():
        nodes = "  - {id: start, type: yesno, ask: Go?}\n"
        if extra is None:
            nodes = (
                "  - id: start\n    type: choice\n    ask: Which?\n"
                "    options_from: opportunities\n"
            )
        else:
            nodes += f"  - id: pick\n    type: choice\n    ask: Which?\n    {extra}\n"
        path = tmp_path / name
        path.write_text(f"flow: x\nnodes:\n{nodes}", encoding="utf-8")
        with pytest.raises(FlowError):
            load_flow(path)


def test_an_option_is_chosen_by_its_title_in_any_language_on_any_page() -> None:
    offered = listing(8)
    for text in ("way seven", "পথ সাত", "I want way seven please", "SEVEN"):
        chosen = answer(text, AT_LIST, offered)
        # Named, the seventh way is chosen from page one, though it is on page three.
        assert chosen.state.answers.get("opportunity") == "way_7", text
    assert answer("a way", AT_LIST, offered).say[-1].lead == NOT_A_CHOICE  # all share "way"


def test_a_button_of_an_earlier_page_is_told_apart() -> None:
    offered = listing(8)
    first = answer("", AT_LIST, offered)
    second = answer("4", AT_LIST, offered)
    assert first.say[-1].question == "involve/opportunity"
    assert second.say[-1].question == "involve/opportunity@3"
    # Page one's second button, pressed on page two: not page two's second way.
    pressed = step(
        FLOWS,
        second.state,
        Input(
            text="2",
            language="en",
            question="involve/opportunity",
            listings={"opportunities": offered},
        ),
    )
    assert pressed.state == second.state
    assert pressed.say[-1].lead == OLD_BUTTON and "opportunity" not in pressed.state.answers
    assert values(pressed) == values(second)
