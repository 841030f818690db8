"""Lists a step is given, not written in a flow file: the options of a question that staff
keep in the database (the ways to take part), offered a page at a time.

The engine stays pure: the runner reads the list and hands it to the step with the input
(`Input.listings`), along with `fits`, which says whether a page of choices fits one text
message for the reader (bot/outreach/opportunities.py measures it in their language). A
page holds as many options as fit, then "More"; the page a person is at is kept in the
conversation's answers (`_from`) and worked out again from the list when they answer, so
the numbers they read are the numbers they send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flows.library import label_words
from flows.texts import N_

# The choice after a page's options, when more follow.
MORE = N_("More")
# Said before the menu when a list has nothing open to offer.
NONE_OPEN = N_("Nothing is open to join here just now.")
# Where a conversation's answers keep the first option of the page it is at.
PAGE_START = "_from"

# A choice as a message carries it: a catalog message id, or a text per language
# ({"by_language": {code: text}}) rendered in the reader's language.
Choice = str | Mapping[str, Any]


@dataclass(frozen=True)
class Listed:
    """One option of a list: the value an answer saves, its label per language, the area
    it belongs to (a question may offer one area's options), and what is said about it
    when it is chosen (a message id and its parameters)."""

    value: str
    labels: Mapping[str, str]
    area: str | None = None
    about: str | None = None
    about_params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def choice(self) -> Choice:
        return {"by_language": dict(self.labels)}

    @cached_property
    def words(self) -> frozenset[str]:
        """The words an answer may name it by, in any of its languages."""
        return label_words(self.labels.values())


def _always(question: str, choices: Sequence[Choice]) -> bool:
    return True


@dataclass(frozen=True)
class Listing:
    """A list as one step sees it: its options in order, and whether a page fits a text."""

    options: tuple[Listed, ...]
    fits: Callable[[str, Sequence[Choice]], bool] = _always


@dataclass(frozen=True)
class Page:
    """The options a page shows, from `start`, and whether "More" follows them; `offered`
    is every option of its area, on this page or another."""

    start: int
    shown: tuple[Listed, ...]
    more: bool
    offered: tuple[Listed, ...] = ()

    @property
    def choices(self) -> tuple[Choice, ...]:
        return (*(option.choice for option in self.shown), *((MORE,) if self.more else ()))


def page_of(listing: Listing, question: str, area: str | None, start: int) -> Page:
    """The page of `listing` (one area's options, or all) that starts at `start`.

    Options are added while the page still fits; a page always shows at least one, so a
    label too long for any page (the console refuses those) cannot stop the list.
    """
    options = [option for option in listing.options if area is None or option.area == area]
    if not 0 <= start < len(options):
        start = 0
    shown: list[Listed] = []
    for index in range(start, len(options)):
        candidate = [*shown, options[index]]
        more = index + 1 < len(options)
        labels = [option.choice for option in candidate] + ([MORE] if more else [])
        if shown and not listing.fits(question, labels):
            break
        shown = candidate
    return Page(start, tuple(shown), start + len(shown) < len(options), tuple(options))
