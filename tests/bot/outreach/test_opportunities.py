"""The ways to take part as data: the seeded list, every page and description of it within
each language's SMS budget, the bot's Get involved menu reading it (closed ones hidden), and
what staff write checked before it is saved."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.i18n import I18n
from bot.outreach import opportunities
from bot.outreach.opportunities import (
    AREAS,
    QUESTION,
    OpportunityDetails,
    SmsBudget,
    check,
    listed,
    listed_from_seed,
    seed_list,
)
from bot.settings import LOCALES_DIR
from bot.sms import sms_cost
from flows.listing import MORE, Listing, page_of
from storage.models import Interest, Opportunity
from tests.conftest import Bot

I18N = I18n(LOCALES_DIR)
BUDGET = SmsBudget(I18N)
# What the issue names beside what the flow offered before.
NAMED = {
    "local_management_team",
    "user_inspectors",
    "tendering_panels",
    "service_reviews",
    "carers_forum",
    "partnership_boards",
    "think",
}


def seeded(bot: Bot) -> None:
    with bot.services.database.session() as session:
        opportunities.seed(session, bot.services.clock())


def test_the_seed_has_the_policy_s_list_in_every_language_marked_draft() -> None:
    items = dict(seed_list())
    assert NAMED <= set(items)
    assert len(items) == 17
    for key, details in items.items():
        assert details.area in AREAS, key
        for texts in (details.titles, details.lines, details.times):
            assert set(texts) == set(I18N.languages), key
        assert set(details.needs_review) == set(I18N.languages) - {"en"}, key
        assert check(details, BUDGET) == {}, key


def _syllables(word: str) -> int:
    """Vowel groups, less a silent final e ("care", "make"): an estimate, as every count is."""
    word = word.lower()
    groups = len(re.findall(r"[aeiouy]+", word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(groups, 1)


def _grade(text: str) -> float:
    """The Flesch-Kincaid grade of English text."""
    words = re.findall(r"[A-Za-z']+", text)
    sentences = max(len(re.findall(r"[.!?]", text)), 1)
    syllables = sum(_syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59


@pytest.mark.parametrize(("key", "details"), seed_list())
def test_each_seeded_line_is_plain_english(key: str, details: OpportunityDetails) -> None:
    line = details.lines["en"]
    assert _grade(line) <= 6.0 or len(line.split()) <= 8, (key, round(_grade(line), 1))
    assert len(line) <= 90, key


@pytest.mark.parametrize("code", list(I18N.languages))
def test_every_page_of_the_seeded_list_fits_one_text_in_every_language(code: str) -> None:
    fits = BUDGET.fits(code)
    listing = Listing(listed_from_seed(), fits)
    budget = I18N.language(code).segments
    for area in AREAS:
        start, shown = 0, []
        while True:
            page = page_of(listing, QUESTION, area, start)
            text = BUDGET.page_text(code, QUESTION, page.choices)
            assert sms_cost(text).segments <= budget, (code, area, text)
            shown += [option.value for option in page.shown]
            if not page.more:
                break
            assert MORE in page.choices
            start += len(page.shown)
        # Every one of the area is offered, once, in order.
        assert shown == [o.value for o in listing.options if o.area == area], (code, area)
    for option in listing.options:
        said = I18N.render(code, option.about or "", option.about_params).text
        assert sms_cost(said).segments <= budget, (code, said)
        assert "{" not in said, said


def test_the_menu_reads_the_seeded_list_and_hides_closed_ones(bot: Bot) -> None:
    seeded(bot)
    # Get involved, Panels and boards.
    replies = bot.conversation("+447700900201", "get involved", "2")
    # A page in English holds what fits one text, then "More".
    assert replies[-1].splitlines()[-1] == "5 More"
    assert "Partnership Boards" in replies[-1] and "Local Management Team" not in replies[-1]
    with bot.services.database.session() as session:
        row = session.scalars(select(Opportunity).where(Opportunity.key == "partnership_boards"))
        opportunities.set_open(row.one(), False, None, bot.services.clock())
    bot.services.opportunities.forget()
    again = bot.conversation("+447700900202", "get involved", "2")
    assert "Partnership Boards" not in again[-1] and "Local Management Team" in again[-1]


def test_choosing_one_tells_its_line_time_and_support_then_keeps_the_interest(bot: Bot) -> None:
    seeded(bot)
    page = bot.conversation("+447700900203", "get involved", "1")[-1].splitlines()
    while not any(line.endswith(" Carers Forum") for line in page):
        more = next(line for line in page if line.endswith(" More"))
        page = bot.receive("+447700900203", more.split()[0])[-1].splitlines()
    carers = next(line for line in page if line.endswith(" Carers Forum"))
    said = bot.conversation("+447700900203", carers.split()[0])
    assert said[0].startswith("Carers meet to share news")
    assert "Time: 2 hours, once a month" in said[0]
    assert "We offer: travel costs, replacement care." in said[0]
    assert said[1].startswith("Would you like to take part?")
    done = bot.conversation("+447700900203", "1", "1", "2")
    assert "We will contact you" in done[2]
    with bot.services.database.session() as session:
        interest = session.scalars(select(Interest)).one()
        assert (interest.opportunity, interest.contact_how, interest.status) == (
            "carers_forum",
            "phone",
            "new",
        )


def test_in_bengali_the_menu_pages_and_more_leads_on(bot: Bot) -> None:
    seeded(bot)
    replies = bot.conversation("+447700900204", "হ্যালো", "৫", "১")
    page = replies[-1]
    assert "কেয়ারার ফোরাম" in page or "আরও" in page
    assert sms_cost(page).segments <= 3


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("title-en", "", "Enter the title in English"),
        ("line-en", "x" * 5000, "500 characters or fewer"),
        ("line-en", "Carers meet " * 12, "must fit 1 text for people who read English"),
        ("title-en", "Carers 🙂 " * 8, "basic phones cannot show"),
        ("line-bn", "a\x00b", "without control characters"),
        ("time-en", "   ", "Enter the time in English"),
    ],
)
def test_what_staff_write_is_checked_before_it_is_saved(
    field: str, text: str, expected: str
) -> None:
    key, details = seed_list()[0]
    texts = {
        "title": dict(details.titles),
        "line": dict(details.lines),
        "time": dict(details.times),
    }
    name, code = field.split("-", 1)
    texts[name][code] = text
    changed = OpportunityDetails(
        details.area, texts["title"], texts["line"], texts["time"], details.support
    )
    errors = check(changed, BUDGET)
    assert expected in errors.get(field, ""), errors


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=120), line=st.text(max_size=600))
def test_any_text_is_refused_with_a_reason_or_fits_everywhere(title: str, line: str) -> None:
    _, details = seed_list()[4]
    changed = OpportunityDetails(
        details.area,
        {**details.titles, "en": title},
        {**details.lines, "en": line},
        details.times,
        details.support,
    )
    errors = check(changed, BUDGET)
    if errors:
        assert all(isinstance(why, str) and why for why in errors.values())
        return
    option = listed(changed_row(changed))
    for code, language in I18N.languages.items():
        page = BUDGET.page_text(code, QUESTION, [option.choice, MORE])
        said = I18N.render(code, option.about or "", option.about_params).text
        assert sms_cost(page).segments <= language.segments
        assert sms_cost(said).segments <= language.segments


def changed_row(details: OpportunityDetails) -> Opportunity:
    row = Opportunity(key="changed")
    details.apply(row)
    return row


def test_a_process_that_loses_the_race_to_seed_finds_them_seeded(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = bot.services
    assert opportunities.seed_once(services.database, services.clock()) == len(seed_list())
    # As a second worker starting at the same moment sees it: the table still empty when it
    # looked, the rows there when it writes. The unique key refuses; it is seeded anyway.
    monkeypatch.setattr(opportunities, "_seeded", lambda session: False)
    assert opportunities.seed_once(services.database, services.clock()) == 0
    with services.database.session() as session:
        assert len(opportunities.in_order(session)) == len(seed_list())
