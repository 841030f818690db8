"""The right to erasure: a person's number and words gone from the database and its files.

The person has a sentinel number and a sentinel text in every kind of record
(person_rows.py). After `kotha people erase` the SQLite files' bytes, and on PostgreSQL
pg_dump's output and every table read as text, are searched for both: nothing. Counts stay.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.casework import erasure
from bot.casework.erasure import ErasureError, SurveyAnswers, erase_people, scrub_files
from bot.casework.people import PersonError, export_people, find_people
from bot.services import Services
from storage.models import Address, AuditEvent, Base, Contact, Feedback, Message
from tests.bot.casework.person_rows import BENGALI, NUMBER, TEXT, WORD, a_person_everywhere
from tests.bot.casework.test_people import kotha
from tests.conftest import Bot

LONG_AGO = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
# The sentinels as the files may hold them: UTF-8, or escaped as JSON stores non-ASCII text.
NEEDLES = {
    "number": NUMBER.encode(),
    "number's digits": NUMBER.removeprefix("+44").encode(),
    "word": WORD.encode(),
    "Bengali": BENGALI.encode(),
    "Bengali as JSON": json.dumps(BENGALI).strip('"').encode(),
}


def found_in_files(services: Services) -> dict[str, list[str]]:
    """Which sentinels each database file (SQLite) or dump (PostgreSQL) holds."""
    database = services.database
    hits: dict[str, list[str]] = {}
    if database.dialect == "sqlite":
        path = Path(make_url(database.url).database or "")
        for file in path.parent.glob(path.name + "*"):
            content = file.read_bytes()
            hits[file.name] = [name for name, needle in NEEDLES.items() if needle in content]
        return hits
    with database.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        rows = []
        for table in Base.metadata.sorted_tables:
            rows += connection.execute(text(f"SELECT t::text FROM {table.name} t")).scalars()
    tables = "\n".join(rows).encode()
    hits["every table as text"] = [name for name, needle in NEEDLES.items() if needle in tables]
    if shutil.which("pg_dump"):
        url = make_url(database.url).set(drivername="postgresql", query={})
        dump = subprocess.run(
            ["pg_dump", "--data-only", f"--schema={schema}", url.render_as_string(False)],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        assert b"COPY" in dump  # it dumped the tables
        hits["pg_dump"] = [name for name, needle in NEEDLES.items() if needle in dump]
    return hits


def tables_holding(services: Services, needle: str) -> set[str]:
    """The tables with a row holding `needle` in any column, as the database gives it."""
    found = set()
    with services.database.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                if needle in json.dumps([str(value) for value in row], ensure_ascii=False):
                    found.add(table.name)
    return found


def erase(services: Services, *, address: str = NUMBER) -> erasure.Erasure:
    with services.database.session() as session:
        result = erase_people(
            session,
            find_people(session, address),
            now=services.clock(),
            complaint_months=services.settings.retention_complaints_months,
            survey_answers=SurveyAnswers.of(services.flows),
            user_id=None,
            reason="asked by letter",
        )
    scrub_files(services.database)
    return result


def counts(services: Services) -> dict[str, object]:
    """What the reports count: the rows and their kinds, services, days, languages, channels."""
    with services.database.session() as session:
        feedback = session.execute(
            select(Feedback.kind, Feedback.service, Feedback.language, Feedback.channel).order_by(
                Feedback.id
            )
        ).all()
        messages = session.execute(
            select(Message.direction, Message.channel, Message.kind, Message.created_at).order_by(
                Message.id
            )
        ).all()
    return {"feedback": [tuple(row) for row in feedback], "messages": [tuple(r) for r in messages]}


@pytest.fixture
def person(bot: Bot) -> Iterator[int]:
    yield a_person_everywhere(bot, complaint_closed_at=LONG_AGO).contact_id


def test_nothing_of_theirs_is_left_in_the_files_and_the_counts_stay(bot: Bot, person: int) -> None:
    services = bot.services
    before = counts(services)
    assert any(found_in_files(services).values())  # the search finds them before

    done = kotha(services, "people", "erase", "07700 900987", "--yes", "--reason", "by letter")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"erased person {person};")
    assert NUMBER not in done.stdout + done.stderr
    assert found_in_files(services) == {name: [] for name in found_in_files(services)}
    assert counts(services) == before
    with services.database.session() as session:
        contact = session.get_one(Contact, person)
        assert contact.erased_at is not None
        assert {a.address for a in contact.addresses} == {
            f"erased:{a.id}" for a in contact.addresses
        }
        # The erasure is audited: who, when, why given; nothing erased in it.
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "person.erased")
        ).one()
        assert (event.target_type, event.target_id, event.reason) == (
            "contact",
            str(person),
            "by letter",
        )
        assert event.detail == {"why": "request", "kept": [], "messages_cancelled": 1}
        # A message queued to them will never go.
        statuses = session.execute(
            select(Message.status, Message.reason).where(Message.dedupe_key == "broadcast:99")
        ).one()
        assert tuple(statuses) == ("cancelled", "erased")


def test_erasing_twice_is_harmless_and_says_so(bot: Bot, person: int) -> None:
    services = bot.services
    erase(services)
    after_first = counts(services)

    again = kotha(services, "people", "erase", NUMBER, "--yes", "--reason", "asked by letter")
    assert again.returncode == 1
    assert "nobody is held with the address" in again.stderr
    with services.database.session() as session, pytest.raises(ErasureError, match="already"):
        erase_people(
            session,
            [person],
            now=services.clock(),
            complaint_months=72,
            survey_answers=SurveyAnswers.of(services.flows),
            user_id=None,
            reason=None,
        )
    assert counts(services) == after_first


def test_a_complaint_inside_its_retention_is_kept_and_the_tool_says_until_when(
    bot: Bot,
) -> None:
    services = bot.services
    closed = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    person = a_person_everywhere(bot, complaint_closed_at=closed)

    done = kotha(services, "people", "erase", NUMBER, "--yes", "--reason", "asked by letter")

    assert done.returncode == 0, done.stderr
    assert f"Complaint {person.complaint_reference} is kept until 2030-01-10" in done.stdout
    assert "Limitation Act 1980" in done.stdout
    # Staff are told what the person loses with their number: asking about it by text.
    assert "can no longer ask about it by text" in done.stdout
    with services.database.session() as session:
        kept = session.scalars(
            select(Feedback).where(Feedback.reference == person.complaint_reference)
        ).one()
        gone = session.scalars(
            select(Feedback).where(Feedback.reference == person.comment_reference)
        ).one()
        assert kept.text is not None and TEXT in kept.text and kept.erased_at is None
        assert gone.text is None and gone.erased_at is not None
    # The kept complaint (its words, and its case notes, which staff wrote with the
    # number) is all that holds either.
    assert tables_holding(services, NUMBER) == {"case_events"}
    assert tables_holding(services, WORD) == {"feedback", "case_events"}
    assert tables_holding(services, BENGALI) == {"feedback", "case_events"}

    # When its retention ends, the retention job erases its words too.
    bot.services.clock.now = datetime(2030, 1, 11, 10, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    due = services.retention.due()
    # (The WhatsApp contact the bot made before person_rows.py joined the two is due too:
    # it has had no message for years.)
    assert ("complaint", f"complaint {person.complaint_reference}") in [
        (item.kind, item.label) for item in due
    ]
    assert [item.erased for item in services.retention.apply()] == [True] * len(due)
    assert services.retention.due() == []
    assert found_in_files(services) == {name: [] for name in found_in_files(services)}


def test_an_open_complaint_is_kept_while_open(bot: Bot) -> None:
    person = a_person_everywhere(bot, complaint_closed_at=None)
    result = erase(bot.services)
    assert [(kept.reference, kept.until) for kept in result.kept] == [
        (person.complaint_reference, None)
    ]
    assert "while it is open" in result.kept[0].sentence()


def test_a_staff_contact_is_refused_and_nothing_changes(services: Services) -> None:
    now = services.clock()
    with services.database.session() as session:
        session.add(
            Address(
                contact=Contact(language="en", created_at=now, staff=True),
                channel="sms",
                address="+447700900555",
                created_at=now,
            )
        )
    done = kotha(
        services, "people", "erase", "+447700900555", "--yes", "--reason", "asked by letter"
    )
    assert done.returncode == 2
    assert "council colleague" in done.stderr and "KOTHA_DIGEST_TO" in done.stderr
    with services.database.session() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Address).where(Address.address == "+447700900555")
            )
            == 1
        )


@pytest.mark.parametrize("reason", [None, "  ", "x" * 501])
def test_without_a_reason_nothing_is_erased(bot: Bot, person: int, reason: str | None) -> None:
    given = () if reason is None else ("--reason", reason)
    done = kotha(bot.services, "people", "erase", NUMBER, "--yes", *given)
    assert done.returncode == 2 and "--reason" in done.stderr
    with bot.services.database.session() as session:
        assert session.get_one(Contact, person).erased_at is None


def test_without_yes_nothing_is_erased(bot: Bot, person: int) -> None:
    done = kotha(bot.services, "people", "erase", NUMBER, "--reason", "asked by letter")
    assert done.returncode == 2 and "--yes" in done.stderr
    with bot.services.database.session() as session:
        assert session.get_one(Contact, person).erased_at is None


def test_a_message_being_sent_to_them_refuses_the_erasure_whole(bot: Bot) -> None:
    services = bot.services
    person = a_person_everywhere(bot, complaint_closed_at=LONG_AGO)
    with services.database.session() as session:
        session.get_one(Message, person.queued_id).status = "sending"
        before = export_people(session, [person.contact_id], services.clock())

    with pytest.raises(ErasureError, match="being sent to them at this moment"):
        erase(services)

    with services.database.session() as session:
        assert export_people(session, [person.contact_id], services.clock()) == before


def test_a_failure_part_way_leaves_everything_as_it_was(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = bot.services
    person = a_person_everywhere(bot, complaint_closed_at=LONG_AGO)
    with services.database.session() as session:
        before = export_people(session, [person.contact_id], services.clock())

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    # The audit event is written last, after every other change.
    monkeypatch.setattr(erasure, "record_audit", broken)
    with pytest.raises(RuntimeError):
        erase(services)

    with services.database.session() as session:
        assert export_people(session, [person.contact_id], services.clock()) == before


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(typed=st.text(max_size=40))
def test_any_address_typed_finds_someone_or_nobody(services: Services, typed: str) -> None:
    with services.database.session() as session:
        try:
            found = find_people(session, typed)
        except PersonError:
            assert not typed.strip()
        else:
            assert found == []
