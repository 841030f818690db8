"""The ways to take part (forums, panels, boards...), as staff keep them and the bot offers them.

Staff write each one's title, one plain line and the time it asks in every language, tick
the support the council offers, and open or close it (console/opportunities.py). The involve
flow's second question offers the open ones of the area chosen, a page at a time
(flows/listing.py): the step is given them by `OpportunityLists`, which reads them at most
every REFRESH_SECONDS and measures each page against the reader's SMS budget. Every text is
checked when staff save it, so that each page and each description fits one text message
in every language (`problems`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.i18n import I18n
from bot.sms import is_gsm7, sms_cost
from flows.listing import MORE, Choice, Listed, Listing
from flows.scripts import to_syloti_nagri
from flows.texts import MEDIA_KEPT, N_, NOT_A_CHOICE, OLD_BUTTON, STILL_HERE
from flows.yamlfile import read_yaml
from storage.db import Database
from storage.models import Opportunity

SEED_FILE = Path(__file__).resolve().parent / "opportunities.yaml"
# The list the involve flow's question names (`options_from`).
LIST_NAME = "opportunities"
# The question that offers them (flows/definitions/involve.yaml, node `opportunity`).
QUESTION = N_("Which would you like?")
# Areas, as the flow's first question offers them, with staff's names for them.
AREAS = {
    "groups": "Groups and forums",
    "panels": "Panels and boards",
    "other": "Other ways to help",
}
# Support the council offers for taking part: staff's words, and the person's (a list).
SUPPORT = {
    "expenses": ("Expenses", N_("expenses")),
    "paid_time": ("Payment for time", N_("payment for your time")),
    "travel": ("Travel", N_("travel costs")),
    "replacement_care": ("Replacement care", N_("replacement care")),
    "interpreter": ("Interpreter", N_("an interpreter")),
}
# What a person hears of the one they chose, before "Would you like to take part?".
ABOUT = N_("{line}\nTime: {time}")
ABOUT_WITH_SUPPORT = N_("{line}\nTime: {time}\nWe offer: {support}.")
# The lines a page of choices may be asked again with: a page must fit with the longest.
PAGE_LEADS = (NOT_A_CHOICE, MEDIA_KEPT, OLD_BUTTON, STILL_HERE)
# Staff's changes reach the bot within this long in every process (at once in their own).
REFRESH_SECONDS = 10.0
# Beyond this a text is a mistake, not a line: refused before it is measured.
MAX_TEXT = 500


class OpportunityNotFound(LookupError):
    """No opportunity has that id."""


@dataclass(frozen=True)
class OpportunityDetails:
    """What staff write about an opportunity: texts by language, area, support, order."""

    area: str
    titles: Mapping[str, str]
    lines: Mapping[str, str]
    times: Mapping[str, str]
    support: tuple[str, ...] = ()
    needs_review: tuple[str, ...] = ()
    position: int = 0

    def apply(self, row: Opportunity) -> None:
        row.area = self.area
        row.titles = _written(self.titles)
        row.lines = _written(self.lines)
        row.times = _written(self.times)
        row.support = [name for name in SUPPORT if name in self.support]
        row.needs_review = sorted(set(self.needs_review))
        row.position = self.position

    def offered(self, key: str) -> Listed:
        """What is written, as the involve flow would offer it."""
        return _offered(
            key,
            self.area,
            _written(self.titles),
            _written(self.lines),
            _written(self.times),
            self.support,
        )


def _written(texts: Mapping[str, str]) -> dict[str, str]:
    return {code: text.strip() for code, text in texts.items() if text and text.strip()}


def about_params(
    lines: Mapping[str, str], times: Mapping[str, str], support: Sequence[str]
) -> dict[str, Any]:
    """The parameters of what a person hears of an opportunity, in their language when sent."""
    params: dict[str, Any] = {
        "line": {"by_language": dict(lines)},
        "time": {"by_language": dict(times)},
    }
    if support:
        params["support"] = {"list": [{"msgid": SUPPORT[name][1]} for name in support]}
    return params


def listed(row: Any) -> Listed:
    """An opportunity (a row, or an Opportunity) as the involve flow offers it."""
    return _offered(row.key, row.area, row.titles, row.lines, row.times, row.support or ())


def _offered(
    key: str,
    area: str,
    titles: Mapping[str, str],
    lines: Mapping[str, str],
    times: Mapping[str, str],
    support: Sequence[str],
) -> Listed:
    chosen = [name for name in support if name in SUPPORT]
    return Listed(
        value=key,
        labels=dict(titles),
        area=area,
        about=ABOUT_WITH_SUPPORT if chosen else ABOUT,
        about_params=about_params(lines, times, chosen),
    )


# --- Fitting one text message ----------------------------------------------------------------


class SmsBudget:
    """Whether the bot's texts about opportunities fit each language's SMS budget."""

    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n
        self._fits: dict[str, Callable[[str, Sequence[Choice]], bool]] = {}

    def _longest_lead(self, code: str) -> str:
        return max(PAGE_LEADS, key=lambda lead: len(self.i18n.gettext(code, lead)))

    def page_text(self, code: str, question: str, choices: Sequence[Choice]) -> str:
        """A page of choices as it reads with the longest line that may come first."""
        lead = self._longest_lead(code)
        return self.i18n.render(code, question, lead=lead, choices=choices).text

    def fits(self, code: str) -> Callable[[str, Sequence[Choice]], bool]:
        """The test a page of choices must pass for a reader of `code` (flows/listing.py)."""
        if code not in self._fits:
            budget = self.i18n.language(code).segments

            def fits(question: str, choices: Sequence[Choice]) -> bool:
                return sms_cost(self.page_text(code, question, choices)).segments <= budget

            self._fits[code] = fits
        return self._fits[code]

    def problems(self, details: OpportunityDetails) -> dict[str, str]:
        """What does not fit: for each language, the page with this title alone (and
        "More"), and what is said of it when chosen. Keyed by the form's field names."""
        errors: dict[str, str] = {}
        about = details.offered("")
        for code, language in self.i18n.languages.items():
            page = self.page_text(code, QUESTION, [about.choice, MORE])
            said = self.i18n.render(code, about.about or ABOUT, about.about_params).text
            for name, text, written in (
                ("title", page, details.titles),
                ("line", said, details.lines),
            ):
                cost = sms_cost(text)
                if cost.segments <= language.segments:
                    continue
                # Blame the language whose words were used (a missing one reads English).
                source = code if (written.get(code) or "").strip() else "en"
                key = f"{name}-{source}"
                if key in errors:
                    continue
                errors[key] = _too_long(name, language.name, cost.segments, language.segments, text)
        return errors


def _too_long(name: str, language: str, segments: int, budget: int, text: str) -> str:
    what = {"title": "The title", "line": "The line, time and support"}[name]
    texts = "1 text" if budget == 1 else f"{budget} texts"
    why = ""
    if budget == 1 and not is_gsm7(text):
        odd = "".join(sorted({ch for ch in text if not is_gsm7(ch)}))[:10]
        why = (
            f" It has characters basic phones cannot show in a plain text ({odd}), so a text"
            " holds 70 characters, not 160: remove them or write it shorter."
        )
    return (
        f"{what} must fit {texts} for people who read {language}; it needs {segments}."
        f"{why or ' Write it shorter.'}"
    )


# --- What staff write ------------------------------------------------------------------------


def check(details: OpportunityDetails, budget: SmsBudget) -> dict[str, str]:
    """Everything wrong with what staff wrote, by form field; empty when it can be saved."""
    errors: dict[str, str] = {}
    if details.area not in AREAS:
        errors["area"] = "Choose where it is offered"
    for name, texts in (
        ("title", details.titles),
        ("line", details.lines),
        ("time", details.times),
    ):
        if not (texts.get("en") or "").strip():
            errors[f"{name}-en"] = f"Enter the {name} in English"
        for code, text in texts.items():
            if len(text) > MAX_TEXT:
                errors[f"{name}-{code}"] = (
                    f"The {name} must be {MAX_TEXT} characters or fewer; it has {len(text):,}"
                )
            elif text.strip() and not text.strip().isprintable():
                errors[f"{name}-{code}"] = (
                    f"The {name} must be on one line, without control characters"
                )
    unknown = set(details.support) - set(SUPPORT)
    if unknown:
        errors["support"] = "Choose support from the list"
    if not 0 <= details.position <= 9999:
        errors["position"] = "The order must be a whole number from 0 to 9999"
    if errors:
        return errors
    return budget.problems(details)


def get(session: Session, opportunity_id: int, *, lock: bool = False) -> Opportunity:
    query = select(Opportunity).where(Opportunity.id == opportunity_id)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise OpportunityNotFound(opportunity_id)
    return found


def in_order(session: Session) -> list[Opportunity]:
    """Every opportunity, open and closed, in the order the bot offers them."""
    return list(
        session.scalars(
            select(Opportunity).order_by(Opportunity.area, Opportunity.position, Opportunity.id)
        )
    )


def _key_for(session: Session, title: str) -> str:
    """A new key from the English title ("carers_forum"), made unique; never changed."""
    base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:48] or "opportunity"
    taken = set(session.scalars(select(Opportunity.key).where(Opportunity.key.startswith(base))))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def create(
    session: Session, details: OpportunityDetails, user_id: int | None, now: datetime
) -> Opportunity:
    """Add a new way to take part, open, after the others of its area unless placed."""
    row = Opportunity(
        key=_key_for(session, details.titles.get("en", "")),
        open=True,
        created_at=now,
        updated_at=now,
        updated_by=user_id,
    )
    details.apply(row)
    if not details.position:
        last = session.scalar(
            select(func.max(Opportunity.position)).where(Opportunity.area == details.area)
        )
        row.position = (last or 0) + 1
    session.add(row)
    session.flush()
    return row


def update(
    row: Opportunity, details: OpportunityDetails, user_id: int | None, now: datetime
) -> None:
    details.apply(row)
    row.updated_at, row.updated_by = now, user_id


def set_open(row: Opportunity, is_open: bool, user_id: int | None, now: datetime) -> None:
    """Open or close it: a closed one is no longer offered; interests in it stay."""
    row.open = is_open
    row.updated_at, row.updated_by = now, user_id


def titles_by_key(session: Session) -> dict[str, Mapping[str, str]]:
    """Every opportunity's titles by its key, for lists of interests."""
    return {
        key: titles for key, titles in session.execute(select(Opportunity.key, Opportunity.titles))
    }


def seed_list(path: Path = SEED_FILE) -> list[tuple[str, OpportunityDetails]]:
    """The policy's list (opportunities.yaml): each key with what is written of it, in order.

    Sylheti in Syloti Nagri is written from the Sylheti, letter by letter.
    """
    raw = read_yaml(path)
    review = tuple(raw.get("needs_review") or ())
    positions: dict[str, int] = {}
    found = []
    for item in raw["opportunities"]:
        texts = {name: dict(item[name]) for name in ("titles", "lines", "times")}
        for written in texts.values():
            if written.get("syl"):
                written.setdefault("syl-Sylo", to_syloti_nagri(written["syl"]))
        positions[item["area"]] = positions.get(item["area"], 0) + 1
        details = OpportunityDetails(
            area=item["area"],
            titles=texts["titles"],
            lines=texts["lines"],
            times=texts["times"],
            support=tuple(item.get("support") or ()),
            needs_review=review,
            position=positions[item["area"]],
        )
        found.append((str(item["key"]), details))
    return found


def listed_from_seed(path: Path = SEED_FILE) -> tuple[Listed, ...]:
    """The policy's list as the involve flow offers it, without a database (for tests and
    checks of what the bot says)."""
    return tuple(details.offered(key) for key, details in seed_list(path))


def seed_once(database: Database, now: datetime, path: Path = SEED_FILE) -> int:
    """`seed` in a transaction of its own. Of processes starting at the same moment (a web
    process and two workers), one seeds; the others find the rows there, or lose the race on
    the unique key and are told so by the database: it is seeded either way."""
    try:
        with database.session() as session:
            return seed(session, now, path)
    except IntegrityError:
        return 0


def _seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Opportunity)))


def seed(session: Session, now: datetime, path: Path = SEED_FILE) -> int:
    """On first start, add the policy's list (opportunities.yaml); return how many.

    Staff cannot delete an opportunity (only close it), so an empty table has never been
    seeded.
    """
    if _seeded(session):
        return 0
    items = seed_list(path)
    for key, details in items:
        row = Opportunity(key=key, open=True, created_at=now, updated_at=now)
        details.apply(row)
        session.add(row)
    session.flush()
    return len(items)


# --- What each step is given -----------------------------------------------------------------


class OpportunityLists:
    """The open opportunities as the step offers them, read at most every REFRESH_SECONDS.

    Read on the step's own connection, so a process keeps no connection of its own; a
    change staff make in this process is seen at once (`forget`), in others within
    REFRESH_SECONDS.
    """

    def __init__(
        self,
        i18n: I18n,
        refresh: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.i18n = i18n
        self.budget = SmsBudget(i18n)
        self.refresh = refresh
        self.monotonic = monotonic
        self._options: tuple[Listed, ...] | None = None
        self._read_at = 0.0

    def forget(self) -> None:
        """Read the list afresh at the next step (staff changed it)."""
        self._options = None

    def options(self, connection: Connection) -> tuple[Listed, ...]:
        now = self.monotonic()
        if self._options is None or now - self._read_at > self.refresh:
            rows = connection.execute(
                select(
                    Opportunity.key,
                    Opportunity.area,
                    Opportunity.titles,
                    Opportunity.lines,
                    Opportunity.times,
                    Opportunity.support,
                )
                .where(Opportunity.open)
                .order_by(Opportunity.position, Opportunity.id)
            ).all()
            self._options = tuple(listed(row) for row in rows)
            self._read_at = now
        return self._options

    def listings(
        self, connection: Connection, language: str | None, channel: str
    ) -> Mapping[str, Listing]:
        """The lists for one step, paged for the reader's language on their channel."""
        code = self.i18n.on_channel(self.i18n.language(language).code, channel)
        return {LIST_NAME: Listing(self.options(connection), self.budget.fits(code))}
