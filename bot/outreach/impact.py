"""The impact indicators for a period: who took part, what they told us, how fast we answered,
what changed, and whom we reach beside the borough's population.

The console's impact page (console/impact.py), the board report (`kotha report`,
bot/outreach/report.py) and the draft broadcast summarising it all read `indicators`. Every
count is of members of the public: staff contacts and the simulator's people are left out.
Months are calendar months in the deployment's time zone; each query cuts the period into them
with a CASE over the months' first moments, worked out here, so the SQL is the same on SQLite
and PostgreSQL and reads the indexes on `created_at` (migration 0019).

Equality monitoring answers are only ever counted, and any count under 5 is shown as
"fewer than 5" (`Count.shown`), percentages with it, so no one can be picked out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.outreach import attendance
from flows.yamlfile import read_yaml
from storage.models import (
    SIMULATED_PREFIX,
    Address,
    Consultation,
    Contact,
    EqualityMonitoring,
    Feedback,
    ImpactMonth,
    Interest,
    Message,
    SurveyResponse,
    YouSaidItem,
)

# A count under this is shown as "fewer than 5": small groups could name a person.
SUPPRESS_UNDER = 5
FEWER = f"fewer than {SUPPRESS_UNDER}"
# The longest period one page or report covers: a board looks at a year or two at most.
LONGEST_MONTHS = 36
# Dates Kotha can have records for (and far from the calendar's end, where a day after
# 31 December 9999 cannot be counted).
FIRST_YEAR, LAST_YEAR = 2000, 2099
# The shipped survey asks how happy people are with the chances to have a say (1 to 5).
SATISFACTION_SURVEY = "have-your-say"
SATISFACTION_QUESTION = "satisfaction"
SATISFIED = frozenset({4, 5})
CENSUS_FILE = Path(__file__).parent / "data" / "census_2021_tower_hamlets.yaml"


class PeriodError(ValueError):
    """A period that cannot be reported on; the message says why, for a person to read."""


@dataclass(frozen=True)
class Period:
    """The days from `start` to `end`, both included, in the deployment's time zone."""

    start: date
    end: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The first moment of the period and the first moment after it."""
        after = self.end + timedelta(days=1)
        return datetime.combine(self.start, time(), zone), datetime.combine(after, time(), zone)

    def months(self) -> list[date]:
        """The first day of each calendar month the period touches."""
        found, day = [], self.start.replace(day=1)
        while day <= self.end:
            found.append(day)
            day = (day + timedelta(days=32)).replace(day=1)
        return found

    def label(self) -> str:
        return f"{self.start:%-d %B %Y} to {self.end:%-d %B %Y}"


def parse_period(start_text: str, end_text: str) -> Period:
    """The period two dates (YYYY-MM-DD) name, or PeriodError saying what is wrong."""
    days = []
    for name, text in (("start", start_text), ("end", end_text)):
        text = (text or "").strip()
        if not text:
            raise PeriodError(f"Enter the {name} date, like 2026-04-01")
        try:
            days.append(date.fromisoformat(text[:10]) if len(text) == 10 else None)
        except ValueError:
            days.append(None)
        if days[-1] is None:
            raise PeriodError(f"The {name} date must be a real date, like 2026-04-01")
    start, end = days
    assert start is not None and end is not None
    if not (FIRST_YEAR <= start.year and end.year <= LAST_YEAR):
        raise PeriodError(f"Choose dates between {FIRST_YEAR} and {LAST_YEAR}")
    if end < start:
        raise PeriodError("The end date must be the same as or after the start date")
    if len(Period(start, end).months()) > LONGEST_MONTHS:
        raise PeriodError(f"Choose a period of at most {LONGEST_MONTHS} months")
    return Period(start, end)


def default_period(today: date) -> Period:
    """The last six whole months and this month so far: a quarter board's usual view."""
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    for _ in range(5):
        start = (start - timedelta(days=1)).replace(day=1)
    return Period(start, today)


@dataclass(frozen=True)
class Count:
    """A count of people, which may be too small to show."""

    value: int
    suppressed: bool = False

    @property
    def shown(self) -> str:
        return FEWER if self.suppressed else f"{self.value:,}"


def suppressed(value: int) -> Count:
    return Count(value, value < SUPPRESS_UNDER)


@dataclass(frozen=True)
class MonthPeople:
    month: date
    new: int
    returning: int

    @property
    def total(self) -> int:
        return self.new + self.returning


@dataclass(frozen=True)
class Timeliness:
    """Complaints made in the period: acknowledged within 3 working days, and answered by
    their deadline (decided, or closed, on or before it)."""

    complaints: int = 0
    acknowledged_on_time: int = 0
    acknowledged_late: int = 0
    acknowledgement_overdue: int = 0  # not acknowledged, and the deadline has passed
    answered_on_time: int = 0
    answered_late: int = 0
    answer_overdue: int = 0
    still_due: int = 0  # neither answered nor past their deadline yet

    def percent(self, part: int, of: int) -> str:
        return f"{round(100 * part / of)}%" if of else "none due"

    @property
    def acknowledged_share(self) -> str:
        due = self.acknowledged_on_time + self.acknowledged_late + self.acknowledgement_overdue
        return self.percent(self.acknowledged_on_time, due)

    @property
    def answered_share(self) -> str:
        due = self.answered_on_time + self.answered_late + self.answer_overdue
        return self.percent(self.answered_on_time, due)


@dataclass(frozen=True)
class ReachRow:
    """One group: how many who took part said they belong to it, beside the borough."""

    group: str
    label: str
    count: Count
    share: str  # of those who answered this question, or FEWER
    population_share: str  # the borough's share at the 2021 census, or "not available"


@dataclass(frozen=True)
class Reach:
    question: str
    title: str
    rows: list[ReachRow]
    answered: Count
    prefer_not: Count
    source: str


@dataclass(frozen=True)
class YouSaid:
    theme: str
    change: str
    said: str
    did: str
    published_at: datetime


@dataclass
class Indicators:
    """Everything the impact page and the board report show for one period."""

    period: Period
    people: list[MonthPeople] = field(default_factory=list)
    feedback: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    timeliness: Timeliness = field(default_factory=Timeliness)
    satisfaction: dict[int, int] = field(default_factory=dict)
    interests: dict[str, dict[str, int]] = field(default_factory=dict)
    attendance: list[tuple[str, int]] = field(default_factory=list)
    you_said: list[YouSaid] = field(default_factory=list)
    reach: list[Reach] = field(default_factory=list)
    monitored: Count = field(default_factory=lambda: Count(0, True))

    @property
    def people_total(self) -> int:
        return sum(month.total for month in self.people)

    @property
    def satisfied(self) -> str:
        answered = sum(self.satisfaction.values())
        if not answered:
            return "no answers"
        happy = sum(count for score, count in self.satisfaction.items() if score in SATISFIED)
        return f"{round(100 * happy / answered)}% of {answered:,}"

    @property
    def interested(self) -> int:
        return sum(sum(statuses.values()) for statuses in self.interests.values())

    @property
    def joined(self) -> int:
        return sum(statuses.get("joined", 0) for statuses in self.interests.values())


# -- the queries -------------------------------------------------------------------------------


def _public(address: Any = Address) -> ColumnElement[bool]:
    """Members of the public: not staff, not the simulator's."""
    return and_(~address.address.startswith(SIMULATED_PREFIX), Contact.staff.is_(False))


def _bucket(column: Any, starts: Sequence[datetime]) -> Any:
    """The index of the month (or day) a moment falls in, given each one's first moment
    (the period's bounds are in the WHERE)."""
    if len(starts) == 1:
        return literal(0)
    whens = [(column < starts[index + 1], index) for index in range(len(starts) - 1)]
    return case(*whens, else_=len(starts) - 1)


def people_by_month(
    session: Session, period: Period, zone: ZoneInfo, today: date | None = None
) -> list[MonthPeople]:
    """People who wrote to us in each month: new (their first contact that month) or back.

    A whole month that ended before `today` is counted once and then read from
    `impact_months` (`_by_month`)."""

    def count(start: datetime, end: datetime) -> list[int]:
        return list(_people_in(session, [start], end).get(0, (0, 0)))

    counted = _by_month(session, period, zone, today, "people", count)
    return [
        MonthPeople(month, new, _returning((total, new)))
        for month, (total, new) in zip(period.months(), counted, strict=True)
    ]


def people_by_day(
    session: Session, days: int, now: datetime, zone: ZoneInfo
) -> list[tuple[date, int]]:
    """People who wrote to us on each of the last `days` days, today included."""
    today = now.astimezone(zone).date()
    firsts = [today - timedelta(days=days - 1 - index) for index in range(days)]
    starts = [datetime.combine(day, time(), zone) for day in firsts]
    counted = _people_in(session, starts, datetime.combine(today + timedelta(days=1), time(), zone))
    return [(day, counted.get(index, (0, 0))[0]) for index, day in enumerate(firsts)]


def _people_in(
    session: Session, starts: Sequence[datetime], end: datetime
) -> dict[int, tuple[int, int]]:
    """For each span (from each of `starts` to the next, the last to `end`): how many people
    wrote, and how many of them were new in it. The addresses that wrote in each span are
    found first, from the index of inbound messages alone; then their people."""
    bucket = _bucket(Message.created_at, starts).label("bucket")
    wrote = (
        select(bucket, Message.address_id.label("address_id"))
        .where(Message.direction == "in", Message.created_at >= starts[0], Message.created_at < end)
        .distinct()
        .subquery()
    )
    moment = Contact.created_at.type
    first_moment = case(
        *[(wrote.c.bucket == index, literal(start, moment)) for index, start in enumerate(starts)],
        else_=literal(starts[-1], moment),
    )
    # Each person once a span, with whether they were new in it (their contact made then).
    people = (
        select(
            wrote.c.bucket.label("bucket"),
            Address.contact_id.label("contact_id"),
            case((Contact.created_at >= first_moment, 1), else_=0).label("new"),
        )
        .join(Address, Address.id == wrote.c.address_id)
        .join(Contact, Contact.id == Address.contact_id)
        .where(_public())
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(people.c.bucket, func.count(), func.sum(people.c.new)).group_by(people.c.bucket)
    ).all()
    return {int(index): (int(total), int(new or 0)) for index, total, new in rows}


def _returning(counts: tuple[int, int]) -> int:
    total, new = counts
    return total - new


FEEDBACK_BREAKDOWNS = ("kind", "service", "language", "channel")


def feedback_by_month(
    session: Session, period: Period, zone: ZoneInfo, today: date | None = None
) -> dict[str, dict[str, list[int]]]:
    """Feedback made in the period, by kind, service, language and channel: for each value,
    a count per month (a whole month that ended before `today` counted once, `_by_month`)."""

    def count(start: datetime, end: datetime) -> list[list[Any]]:
        rows = session.execute(
            select(
                Feedback.kind, Feedback.service, Feedback.language, Feedback.channel, func.count()
            )
            .join(Address, Address.id == Feedback.address_id)
            .join(Contact, Contact.id == Feedback.contact_id)
            .where(Feedback.created_at >= start, Feedback.created_at < end, _public())
            .group_by(Feedback.kind, Feedback.service, Feedback.language, Feedback.channel)
        ).all()
        return [
            [kind, service, language, channel, int(n)]
            for kind, service, language, channel, n in rows
        ]

    months = _by_month(session, period, zone, today, "feedback", count)
    found: dict[str, dict[str, list[int]]] = {name: {} for name in FEEDBACK_BREAKDOWNS}
    for index, rows in enumerate(months):
        for kind, service, language, channel, number in rows:
            for name, value in zip(
                FEEDBACK_BREAKDOWNS, (kind, service or "not given", language, channel), strict=True
            ):
                series = found[name].setdefault(value, [0] * len(months))
                series[index] += int(number)
    return found


def _by_month(
    session: Session,
    period: Period,
    zone: ZoneInfo,
    today: date | None,
    indicator: str,
    count: Callable[[datetime, datetime], Any],
) -> list[Any]:
    """`count(start, end)` for each month the period touches, in order.

    A whole calendar month that ended before `today` does not change (messages and feedback
    are stamped when stored; an erasure keeps what is counted): it is counted once and kept
    in `impact_months`, by month, indicator and time zone, and read from there after. Parts
    of months and the month still running are counted every time.
    """
    key = f"{indicator}@{zone.key}"
    spans = _spans(period, zone)
    closed = [
        month
        for month, _, _, whole in spans
        if whole and today is not None and _month_after(month) <= today
    ]
    kept: dict[date, Any] = {}
    if closed:
        kept = dict(
            session.execute(
                select(ImpactMonth.month, ImpactMonth.counts).where(
                    ImpactMonth.indicator == key, ImpactMonth.month.in_(closed)
                )
            ).all()
        )
    found = []
    for month, start, end, _ in spans:
        if month in kept:
            found.append(kept[month])
            continue
        counts = count(start, end)
        if month in closed:
            _keep(session, month, key, counts)
        found.append(counts)
    return found


def _spans(period: Period, zone: ZoneInfo) -> list[tuple[date, datetime, datetime, bool]]:
    """Each month the period touches: its first day, where counting starts and ends in it,
    and whether that is the whole calendar month."""
    begin, end = period.bounds(zone)
    spans = []
    for month in period.months():
        first = datetime.combine(month, time(), zone)
        after = datetime.combine(_month_after(month), time(), zone)
        start, stop = max(first, begin), min(after, end)
        spans.append((month, start, stop, start == first and stop == after))
    return spans


def _month_after(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def _keep(session: Session, month: date, key: str, counts: Any) -> None:
    """Keep a closed month's counts; another request keeping them at the same moment wins."""
    connection = session.connection()
    insert_ = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert_(ImpactMonth)
        .values(month=month, indicator=key, counts=counts, computed_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["month", "indicator"])
    )


def timeliness(session: Session, period: Period, zone: ZoneInfo, today: date) -> Timeliness:
    """How many of the period's complaints were acknowledged and answered in time.

    Read in Python: a period holds hundreds of complaints, not millions, and a moment's local
    date (against a deadline, a date) is the same everywhere this way.
    """
    begin, end = period.bounds(zone)
    rows = session.execute(
        select(
            Feedback.acknowledge_by,
            Feedback.acknowledged_at,
            Feedback.respond_by,
            Feedback.decided_at,
            Feedback.closed_at,
        )
        .join(Address, Address.id == Feedback.address_id)
        .join(Contact, Contact.id == Feedback.contact_id)
        .where(
            Feedback.kind == "complaint",
            Feedback.created_at >= begin,
            Feedback.created_at < end,
            _public(),
        )
    ).all()
    tally: Counter[str] = Counter()
    for acknowledge_by, acknowledged_at, respond_by, decided_at, closed_at in rows:
        tally["complaints"] += 1
        tally[_judged("acknowledged", acknowledge_by, acknowledged_at, zone, today)] += 1
        answered_at = min((m for m in (decided_at, closed_at) if m is not None), default=None)
        tally[_judged("answered", respond_by, answered_at, zone, today)] += 1
    names = Timeliness.__dataclass_fields__
    return Timeliness(**{name: count for name, count in tally.items() if name in names})


def _judged(
    what: str, deadline: date | None, done_at: datetime | None, zone: ZoneInfo, today: date
) -> str:
    if deadline is None:
        return "no deadline"
    if done_at is not None:
        on_time = done_at.astimezone(zone).date() <= deadline
        return f"{what}_on_time" if on_time else f"{what}_late"
    if today > deadline:
        return "acknowledgement_overdue" if what == "acknowledged" else "answer_overdue"
    return "still_due" if what == "answered" else "acknowledgement_pending"


def satisfaction(session: Session, period: Period, zone: ZoneInfo) -> dict[int, int]:
    """Answers to "how happy are you with the chances to have your say?", 1 to 5."""
    begin, end = period.bounds(zone)
    answers = session.scalars(
        select(SurveyResponse.answers)
        .join(Address, Address.id == SurveyResponse.address_id)
        .join(Contact, Contact.id == SurveyResponse.contact_id)
        .where(
            SurveyResponse.survey == SATISFACTION_SURVEY,
            SurveyResponse.created_at >= begin,
            SurveyResponse.created_at < end,
            _public(),
        )
    )
    scores: Counter[int] = Counter()
    for answer in answers:
        score = (answer or {}).get(SATISFACTION_QUESTION)
        if isinstance(score, int) and 1 <= score <= 5:
            scores[score] += 1
    return {score: scores.get(score, 0) for score in (5, 4, 3, 2, 1)}


def interests(session: Session, period: Period, zone: ZoneInfo) -> dict[str, dict[str, int]]:
    """Interests made in the period, by opportunity and by how far each has gone."""
    begin, end = period.bounds(zone)
    rows = session.execute(
        select(Interest.opportunity, Interest.status, func.count())
        .join(Address, Address.id == Interest.address_id)
        .join(Contact, Contact.id == Interest.contact_id)
        .where(Interest.created_at >= begin, Interest.created_at < end, _public())
        .group_by(Interest.opportunity, Interest.status)
    ).all()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for opportunity, state, count in rows:
        found[opportunity][str(state)] = int(count)
    return dict(found)


def event_attendance(session: Session, period: Period, zone: ZoneInfo) -> list[tuple[str, int]]:
    """Events held in the period (not cancelled) and how many came, as staff marked them
    (bot/outreach/attendance.py): (title in English, people), soonest first."""
    begin, end = period.bounds(zone)
    held = attendance.attendance(session, begin, end).events
    titles: dict[int, Mapping[str, str]] = dict(
        session.execute(
            select(Consultation.id, Consultation.titles).where(
                Consultation.id.in_([event.event_id for event in held])
            )
        ).all()
    )
    return [(_english_title(titles.get(event.event_id) or {}), event.came) for event in held]


def _english_title(titles: Mapping[str, str]) -> str:
    return titles.get("en") or next(iter(titles.values()), "")


def you_said(session: Session, period: Period, zone: ZoneInfo) -> list[YouSaid]:
    """The "you said, we did" items published in the period, in English, newest first."""
    begin, end = period.bounds(zone)
    items = session.scalars(
        select(YouSaidItem)
        .where(
            YouSaidItem.status == "published",
            YouSaidItem.published_at >= begin,
            YouSaidItem.published_at < end,
        )
        .order_by(YouSaidItem.published_at.desc(), YouSaidItem.id.desc())
    )
    found = []
    for item in items:
        english = (item.texts or {}).get("en") or {}
        assert item.published_at is not None  # published items have their moment
        found.append(
            YouSaid(
                item.theme,
                item.change,
                str(english.get("said", "")),
                str(english.get("did", "")),
                item.published_at,
            )
        )
    return found


# -- reach --------------------------------------------------------------------------------------

# The monitoring questions reported as reach, each with its groups in the flow's order
# (flows/definitions/monitoring.yaml) and the names staff read.
REACH_QUESTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "carer",
        "Carers and people who use services",
        (
            ("carer", "Carers"),
            ("service_user", "People who use care services"),
            ("both", "Both"),
            ("neither", "Neither"),
        ),
    ),
    (
        "age_band",
        "Age",
        (
            ("under_18", "Under 18"),
            ("18_24", "18 to 24"),
            ("25_49", "25 to 49"),
            ("50_64", "50 to 64"),
            ("65_74", "65 to 74"),
            ("75_over", "75 or over"),
        ),
    ),
    ("sex", "Sex", (("female", "Female"), ("male", "Male"))),
    (
        "ethnic_group",
        "Ethnic group",
        (
            ("asian", "Asian or Asian British"),
            ("black", "Black or Black British"),
            ("mixed", "Mixed or multiple ethnic groups"),
            ("white", "White"),
            ("other", "Another ethnic group"),
        ),
    ),
    (
        "ethnicity",
        "Ethnicity (detail)",
        (
            ("bangladeshi", "Bangladeshi"),
            ("chinese", "Chinese"),
            ("indian", "Indian"),
            ("pakistani", "Pakistani"),
            ("other_asian", "Other Asian"),
            ("african", "African"),
            ("caribbean", "Caribbean"),
            ("other_black", "Other Black"),
            ("white_asian", "White and Asian"),
            ("white_black_african", "White and Black African"),
            ("white_black_caribbean", "White and Black Caribbean"),
            ("other_mixed", "Other mixed"),
            ("british", "White: English, Welsh, Scottish, Northern Irish or British"),
            ("irish", "White: Irish"),
            ("gypsy_traveller", "White: Gypsy or Irish Traveller"),
            ("roma", "White: Roma"),
            ("other_white", "Other White"),
            ("arab", "Arab"),
            ("other_ethnic", "Any other ethnic group"),
        ),
    ),
    ("disability", "Disability", (("yes", "Disabled"), ("no", "Not disabled"))),
    (
        "religion",
        "Religion",
        (
            ("none", "No religion"),
            ("christian", "Christian"),
            ("buddhist", "Buddhist"),
            ("hindu", "Hindu"),
            ("jewish", "Jewish"),
            ("muslim", "Muslim"),
            ("sikh", "Sikh"),
            ("other", "Another religion"),
        ),
    ),
    (
        "area",
        "Where they live (postcode district)",
        (
            ("E1", "E1"),
            ("E1W", "E1W"),
            ("E2", "E2"),
            ("E3", "E3"),
            ("E14", "E14"),
            ("elsewhere", "Somewhere else"),
        ),
    ),
)
PREFER_NOT = "prefer_not"


def load_census(path: Path = CENSUS_FILE) -> dict[str, Any]:
    """The borough's population at the 2021 census, as shipped (its sources named in it)."""
    found = read_yaml(path)
    if not isinstance(found, Mapping):
        raise ValueError(f"{path.name}: expected a mapping of questions")
    return dict(found)


def reach(
    session: Session, period: Period, zone: ZoneInfo, census: Mapping[str, Any]
) -> tuple[list[Reach], Count]:
    """Among people who wrote to us in the period and answered the monitoring questions,
    how many said each group, beside the borough's share of it; and how many answered."""
    begin, end = period.bounds(zone)
    # Whether each person who answered wrote in the period: looked up person by person
    # (their addresses, then their messages by address), so the cost follows how many
    # answered (thousands), not how many messages the period holds (a million).
    took_part = (
        select(Message.id)
        .join(Address, Address.id == Message.address_id)
        .where(
            Address.contact_id == EqualityMonitoring.contact_id,
            ~Address.address.startswith(SIMULATED_PREFIX),
            Message.direction == "in",
            Message.created_at >= begin,
            Message.created_at < end,
        )
        .exists()
    )
    columns = [getattr(EqualityMonitoring, question) for question, _, _ in REACH_QUESTIONS]
    rows = session.execute(
        select(*columns)
        .join(Contact, Contact.id == EqualityMonitoring.contact_id)
        .where(
            EqualityMonitoring.answered_at.is_not(None),
            Contact.staff.is_(False),
            took_part,
        )
    ).all()
    return [_reach_of(index, rows, census) for index in range(len(REACH_QUESTIONS))], suppressed(
        len(rows)
    )


def _reach_of(index: int, rows: Sequence[Any], census: Mapping[str, Any]) -> Reach:
    question, title, groups = REACH_QUESTIONS[index]
    said = Counter(row[index] for row in rows if row[index] is not None)
    answered = sum(count for value, count in said.items() if value != PREFER_NOT)
    reference = census.get(question) or {}
    shares = reference.get("shares") or {}
    table = []
    for value, label in groups:
        count = suppressed(said.get(value, 0))
        share = FEWER if count.suppressed or not answered else _percent(count.value, answered)
        population = shares.get(value)
        table.append(
            ReachRow(
                value,
                label,
                count,
                share,
                f"{population:.1f}%" if isinstance(population, int | float) else "not available",
            )
        )
    return Reach(
        question,
        title,
        table,
        suppressed(answered),
        suppressed(said.get(PREFER_NOT, 0)),
        str(reference.get("source") or "No census figures shipped for this question."),
    )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%"


def indicators(
    session: Session,
    period: Period,
    zone: ZoneInfo,
    today: date,
    census: Mapping[str, Any] | None = None,
) -> Indicators:
    """Every indicator for the period, read in one session."""
    reached, monitored = reach(session, period, zone, census if census is not None else {})
    return Indicators(
        period=period,
        people=people_by_month(session, period, zone, today),
        feedback=feedback_by_month(session, period, zone, today),
        timeliness=timeliness(session, period, zone, today),
        satisfaction=satisfaction(session, period, zone),
        interests=interests(session, period, zone),
        attendance=event_attendance(session, period, zone),
        you_said=you_said(session, period, zone),
        reach=reached,
        monitored=monitored,
    )


def rows_of(indicators_: Indicators) -> Iterable[tuple[str, str, str, str]]:
    """Every figure as (section, item, month or group, value): the CSV and JSON reports."""
    months = indicators_.period.months()
    for month in indicators_.people:
        label = f"{month.month:%Y-%m}"
        yield ("people", "new", label, str(month.new))
        yield ("people", "returning", label, str(month.returning))
    for breakdown, series in indicators_.feedback.items():
        for value, counts in sorted(series.items()):
            for first, count in zip(months, counts, strict=True):
                yield (f"feedback by {breakdown}", value, f"{first:%Y-%m}", str(count))
    done = indicators_.timeliness
    for name in Timeliness.__dataclass_fields__:
        yield ("complaint timeliness", name, "", str(getattr(done, name)))
    yield (
        "complaint timeliness",
        "acknowledged within 3 working days",
        "",
        done.acknowledged_share,
    )
    yield ("complaint timeliness", "answered by the deadline", "", done.answered_share)
    for score, count in indicators_.satisfaction.items():
        yield ("satisfaction with the chances to have a say", str(score), "", str(count))
    for opportunity, statuses in sorted(indicators_.interests.items()):
        for state, count in sorted(statuses.items()):
            yield ("interests", opportunity, state, str(count))
    for title, came in indicators_.attendance:
        yield ("event attendance", title, "", str(came))
    for item in indicators_.you_said:
        yield ("you said, we did", item.theme, item.change, f"{item.published_at:%Y-%m-%d}")
    for found in indicators_.reach:
        for row in found.rows:
            yield (f"reach: {found.title}", row.label, "people", row.count.shown)
            yield (f"reach: {found.title}", row.label, "share", row.share)
            yield (f"reach: {found.title}", row.label, "borough 2021", row.population_share)
        yield (f"reach: {found.title}", "prefer not to say", "people", found.prefer_not.shown)
