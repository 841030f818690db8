"""The impact indicators with known data, on SQLite and PostgreSQL: periods cut into months in
London time, people new and returning, complaints in time, satisfaction, "you said, we did",
and reach with counts under 5 hidden."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.cases import complaint_deadlines
from bot.outreach.impact import (
    FEWER,
    Period,
    PeriodError,
    indicators,
    load_census,
    parse_period,
)
from storage.db import Database
from storage.models import (
    Address,
    Attendance,
    Consultation,
    Contact,
    EqualityMonitoring,
    ImpactMonth,
    Interest,
    Message,
    SurveyResponse,
    YouSaidItem,
)
from storage.records import create_feedback

LONDON = ZoneInfo("Europe/London")
PERIOD = Period(date(2026, 9, 1), date(2026, 11, 30))
TODAY = date(2026, 12, 20)


def moment(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def person(session: Session, number: str, created: datetime, *, staff: bool = False) -> Address:
    address = Address(
        contact=Contact(created_at=created, language="en", staff=staff),
        channel="sms",
        address=number,
        created_at=created,
    )
    session.add(address)
    session.flush()
    return address


def wrote(session: Session, address: Address, when: datetime, times: int = 1) -> None:
    for _ in range(times):
        session.add(
            Message(
                address_id=address.id,
                channel=address.channel,
                direction="in",
                status="processed",
                body="hello",
                created_at=when,
            )
        )
    session.flush()


def answered(session: Session, address: Address, **answers: str) -> None:
    session.add(
        EqualityMonitoring(
            contact_id=address.contact_id,
            asked_at=address.created_at,
            answered_at=address.created_at,
            language="en",
            channel="sms",
            **answers,
        )
    )
    session.flush()


def test_people_new_and_returning_by_month_in_london_time(database: Database) -> None:
    with database.session() as session:
        early = person(session, "+447700900701", moment("2026-06-01"))
        wrote(session, early, moment("2026-09-03"), times=3)  # returning, 3 messages: once
        wrote(session, early, moment("2026-10-10"))
        new = person(session, "+447700900702", moment("2026-10-05"))
        wrote(session, new, moment("2026-10-05"))
        wrote(session, new, moment("2026-11-02"))
        # 23:00 UTC on 30 September is midnight on 1 October in London (BST): October's.
        late = person(session, "+447700900703", moment("2026-09-30", 23))
        wrote(session, late, moment("2026-09-30", 23))
        staff = person(session, "+447700900704", moment("2026-09-01"), staff=True)
        wrote(session, staff, moment("2026-09-05"))
        simulated = person(session, "sim:abc", moment("2026-09-01"))
        wrote(session, simulated, moment("2026-09-05"))
        outside = person(session, "+447700900705", moment("2026-08-01"))
        wrote(session, outside, moment("2026-08-31", 22))  # 23:00 in London: August
        found = indicators(session, PERIOD, LONDON, TODAY)

    by_month = [(m.month, m.new, m.returning) for m in found.people]
    assert by_month == [
        (date(2026, 9, 1), 0, 1),
        (
            date(2026, 10, 1),
            2,
            1,
        ),  # the new person, and the one who first wrote at midnight on 1 Oct
        (date(2026, 11, 1), 0, 1),
    ]
    assert found.people_total == 5


def test_feedback_by_kind_service_language_and_channel(database: Database) -> None:
    with database.session() as session:
        address = person(session, "+447700900711", moment("2026-09-01"))
        for day, kind, service in (
            ("2026-09-02", "comment", "home_care"),
            ("2026-09-20", "compliment", "day_centre"),
            ("2026-11-02", "comment", None),
            ("2026-12-02", "comment", "home_care"),  # after the period
        ):
            create_feedback(
                session, address, "bn", kind, {"service": service}, True, moment(day), None
            )
        found = indicators(session, PERIOD, LONDON, TODAY)

    assert found.feedback["kind"] == {"comment": [1, 0, 1], "compliment": [1, 0, 0]}
    assert found.feedback["service"] == {
        "home_care": [1, 0, 0],
        "day_centre": [1, 0, 0],
        "not given": [0, 0, 1],
    }
    assert found.feedback["language"] == {"bn": [2, 0, 1]}
    assert found.feedback["channel"] == {"sms": [2, 0, 1]}


def test_complaints_acknowledged_and_answered_in_time(database: Database) -> None:
    with database.session() as session:
        address = person(session, "+447700900721", moment("2026-09-01"))

        def complaint(day: str) -> object:
            created = moment(day, 9)
            ack, respond = complaint_deadlines(created, LONDON, 20)
            made = create_feedback(
                session, address, "en", "complaint", {}, True, created, ack, respond
            )
            return made

        # Made Monday 5 October: acknowledge by Thursday 8th, answer by 2 November.
        on_time = complaint("2026-10-05")
        on_time.acknowledged_at = moment("2026-10-08", 16)  # type: ignore[attr-defined]
        on_time.decided_at = moment("2026-11-02", 16)  # type: ignore[attr-defined]
        late = complaint("2026-10-05")
        late.acknowledged_at = moment("2026-10-09", 9)  # type: ignore[attr-defined]
        late.closed_at = moment("2026-11-03", 9)  # type: ignore[attr-defined]
        complaint("2026-10-05")  # never acknowledged, never answered: both overdue
        recent = complaint("2026-11-30")  # due in December: still due on 2 December
        recent.acknowledged_at = moment("2026-11-30", 15)  # type: ignore[attr-defined]
        session.flush()
        found = indicators(session, PERIOD, LONDON, date(2026, 12, 2))

    done = found.timeliness
    assert done.complaints == 4
    assert (done.acknowledged_on_time, done.acknowledged_late, done.acknowledgement_overdue) == (
        2,
        1,
        1,
    )
    assert (done.answered_on_time, done.answered_late, done.answer_overdue) == (1, 1, 1)
    assert done.still_due == 1
    assert done.acknowledged_share == "50%" and done.answered_share == "33%"


def test_satisfaction_interests_and_you_said(database: Database) -> None:
    with database.session() as session:
        address = person(session, "+447700900731", moment("2026-09-01"))
        for score in (5, 4, 4, 2):
            session.add(
                SurveyResponse(
                    survey="have-your-say",
                    answers={"satisfaction": score},
                    complete=True,
                    language="en",
                    channel="sms",
                    contact_id=address.contact_id,
                    address_id=address.id,
                    created_at=moment("2026-10-01"),
                )
            )
        for opportunity, status in (
            ("carers_forum", "new"),
            ("carers_forum", "joined"),
            ("editorial_panel", "joined"),
        ):
            session.add(
                Interest(
                    opportunity=opportunity,
                    language="en",
                    channel="sms",
                    contact_id=address.contact_id,
                    address_id=address.id,
                    created_at=moment("2026-10-01"),
                    status=status,
                )
            )
        # Two events in the period (one cancelled) and one after it; staff marked who came.
        held, cancelled, later = (
            Consultation(
                titles={"en": title, "bn": "সভা"},
                descriptions={},
                start_at=moment(day, 10),
                end_at=moment(day, 12),
                place="Town Hall",
                languages=["en"],
                interpreters=[],
                status=status,
                extra_attendees=extra,
                created_at=moment("2026-09-01"),
                updated_at=moment("2026-09-01"),
            )
            for title, day, status, extra in (
                ("Carers forum", "2026-11-03", "scheduled", 2),
                ("Day centre review", "2026-11-10", "cancelled", 0),
                ("Next year", "2027-02-01", "scheduled", 0),
            )
        )
        session.add_all([held, cancelled, later])
        session.flush()
        session.add(
            Attendance(
                event_id=held.id,
                contact_id=address.contact_id,
                said_yes=False,
                marked_at=moment("2026-11-03", 13),
            )
        )
        for status, published in (("published", "2026-10-10"), ("draft", None)):
            session.add(
                YouSaidItem(
                    theme="Day centre hours",
                    texts={"en": {"said": "Open earlier", "did": "Opens at 9"}},
                    change="change_made",
                    status=status,
                    published_at=moment(published) if published else None,
                    created_at=moment("2026-10-01"),
                )
            )
        session.flush()
        found = indicators(session, PERIOD, LONDON, TODAY)

    assert found.satisfaction == {5: 1, 4: 2, 3: 0, 2: 1, 1: 0}
    assert found.satisfied == "75% of 4"
    assert found.interests == {
        "carers_forum": {"new": 1, "joined": 1},
        "editorial_panel": {"joined": 1},
    }
    assert found.interested == 3 and found.joined == 2
    # The person marked as having come, and two more not known to us.
    assert found.attendance == [("Carers forum", 3)]
    [item] = found.you_said
    assert (item.theme, item.said, item.did) == ("Day centre hours", "Open earlier", "Opens at 9")


def test_reach_counts_only_and_hides_counts_under_5(database: Database) -> None:
    with database.session() as session:
        for index in range(9):
            address = person(session, f"+44770090080{index}", moment("2026-09-01"))
            wrote(session, address, moment("2026-10-01"))
            group = "asian" if index < 6 else "white"
            answered(session, address, ethnic_group=group, religion="prefer_not")
        # Answered, but did not write in the period: not counted.
        away = person(session, "+447700900810", moment("2026-09-01"))
        answered(session, away, ethnic_group="black")
        # Asked, answered nothing (skipped all): not counted.
        skipped = person(session, "+447700900811", moment("2026-09-01"))
        wrote(session, skipped, moment("2026-10-01"))
        session.add(
            EqualityMonitoring(
                contact_id=skipped.contact_id,
                asked_at=moment("2026-09-01"),
                skipped=True,
                language="en",
                channel="sms",
            )
        )
        session.flush()
        found = indicators(session, PERIOD, LONDON, TODAY, load_census())

    assert found.monitored.shown == "9"
    ethnic = next(one for one in found.reach if one.question == "ethnic_group")
    rows = {row.group: row for row in ethnic.rows}
    assert (rows["asian"].count.shown, rows["asian"].share) == ("6", "66.7%")
    assert (rows["white"].count.shown, rows["white"].share) == (FEWER, FEWER)
    assert (rows["black"].count.shown, rows["black"].share) == (FEWER, FEWER)
    assert rows["asian"].population_share == "44.4%"
    assert rows["mixed"].population_share == "not available"
    assert "TS021" in ethnic.source
    religion = next(one for one in found.reach if one.question == "religion")
    assert religion.prefer_not.shown == "9" and religion.answered.shown == FEWER


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("", "2026-01-01", "Enter the start date"),
        ("2026-01-01", " ", "Enter the end date"),
        ("2026-02-30", "2026-03-01", "must be a real date"),
        ("1/2/2026", "2026-03-01", "must be a real date"),
        ("2026-03-01", "2026-02-01", "same as or after"),
        ("2020-01-01", "2026-01-01", "at most 36 months"),
        ("২০২৬-০১-০১", "2026-02-01", "must be a real date"),
        ("9999-12-01", "9999-12-31", "between 2000 and 2099"),
        ("0001-01-01", "0001-02-01", "between 2000 and 2099"),
    ],
)
def test_a_bad_period_says_what_is_wrong(start: str, end: str, problem: str) -> None:
    with pytest.raises(PeriodError, match=problem):
        parse_period(start, end)


@given(st.text(max_size=200), st.text(max_size=200))
def test_any_text_is_a_period_or_a_clear_error(start: str, end: str) -> None:
    try:
        period = parse_period(start, end)
    except PeriodError as error:
        assert str(error).startswith(("Enter", "The", "Choose"))
    else:
        assert period.start <= period.end
        assert 1 <= len(period.months()) <= 36


def test_months_of_a_period() -> None:
    period = Period(date(2026, 11, 15), date(2027, 2, 3))
    assert period.months() == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    begin, end = period.bounds(LONDON)
    assert end - begin == timedelta(days=81)


def test_a_closed_month_is_counted_once_and_read_back(database: Database) -> None:
    # 15 Sep to 20 Dec seen on 20 Dec: September is only half in the period and December
    # is still running; October and November are whole and over, so they are kept.
    period = Period(date(2026, 9, 15), date(2026, 12, 20))
    with database.session() as session:
        someone = person(session, "+447700900711", moment("2026-06-01"))
        for day in ("2026-09-20", "2026-10-10", "2026-11-10", "2026-12-02"):
            wrote(session, someone, moment(day))
        create_feedback(
            session,
            someone,
            "en",
            "comment",
            {"service": "day_centre"},
            True,
            moment("2026-10-11"),
            None,
        )
        first = indicators(session, period, LONDON, TODAY)
        kept = {
            (row.month, row.indicator): row.counts for row in session.scalars(select(ImpactMonth))
        }
        assert kept == {
            (date(2026, 10, 1), "people@Europe/London"): [1, 0],
            (date(2026, 11, 1), "people@Europe/London"): [1, 0],
            (date(2026, 10, 1), "feedback@Europe/London"): [
                ["comment", "day_centre", "en", "sms", 1]
            ],
            (date(2026, 11, 1), "feedback@Europe/London"): [],
        }
        # Read back: what is kept is what is shown (here made to differ, to prove it is
        # read), and the parts of months and the running month are counted afresh.
        row = session.scalars(
            select(ImpactMonth).where(
                ImpactMonth.month == date(2026, 11, 1), ImpactMonth.indicator.startswith("people")
            )
        ).one()
        row.counts = [7, 2]
        wrote(session, someone, moment("2026-12-03"))
        again = indicators(session, period, LONDON, TODAY)
    assert [(m.new, m.returning) for m in first.people] == [(0, 1), (0, 1), (0, 1), (0, 1)]
    assert [(m.new, m.returning) for m in again.people] == [(0, 1), (0, 1), (2, 5), (0, 1)]
    assert first.feedback == again.feedback
    assert first.feedback["kind"] == {"comment": [0, 1, 0, 0]}
    # Another time zone counts its own months (Dhaka's November is not London's).
    with database.session() as session:
        elsewhere = indicators(session, period, ZoneInfo("Asia/Dhaka"), TODAY)
        months = session.scalars(select(ImpactMonth.indicator).distinct()).all()
    assert [(m.new, m.returning) for m in elsewhere.people] == [(0, 1), (0, 1), (0, 1), (0, 1)]
    assert sorted(months) == [
        "feedback@Asia/Dhaka",
        "feedback@Europe/London",
        "people@Asia/Dhaka",
        "people@Europe/London",
    ]
