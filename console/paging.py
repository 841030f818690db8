"""Paging the console's long lists: the page asked for, and the links to its neighbours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for

from bot.web_guards import MAX_ID

PAGE_SIZE = 50
# No one asks for page ten million; a longer number is a mistake or a probe, not a page.
MAX_PAGE_DIGITS = 6


def number_in(text: str, most: int = MAX_ID) -> int | None:
    """The whole number written in `text` in ASCII digits, up to `most`; None for anything else.

    str.isdigit alone is not enough: it says yes to "²" and "١٢", which int() refuses or
    reads, and to numbers too long for any column.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    number = int(text)
    return number if number <= most else None


def page_asked(args: Mapping[str, str]) -> int:
    """The page number in the query string (`?page=`), from 1; anything else is page 1."""
    number = number_in(args.get("page", ""), 10**MAX_PAGE_DIGITS - 1)
    return max(number or 1, 1)


def offset(page: int, size: int = PAGE_SIZE) -> int:
    """How many rows come before this page."""
    return (page - 1) * size


@dataclass(frozen=True)
class Paging:
    """Where a page stands in its list: its number, how many there are, its neighbours."""

    number: int
    count: int | None  # None: the list was not counted (a broad search)
    previous: str | None
    next: str | None


def paging(
    endpoint: str,
    page: int,
    args: Mapping[str, Any],
    *,
    total: int | None = None,
    more: bool = False,
    size: int = PAGE_SIZE,
) -> Paging:
    """The links around `page` of `endpoint` with the same filters (`args`).

    With `total`, the last page is known; without it, there is a next page when `more`.
    """
    count = max((total + size - 1) // size, 1) if total is not None else None
    has_next = page < count if count is not None else more
    return Paging(
        number=page,
        count=count,
        previous=url_for(endpoint, page=page - 1, **args) if page > 1 else None,
        next=url_for(endpoint, page=page + 1, **args) if has_next else None,
    )
