"""The right of access: an export holds every row of every table that refers to the person.

Which tables refer to a person is not listed by hand: it is found by walking the tables'
foreign keys from `contacts` (a table with a key to a person's row refers to the person),
and every other table must be named here as holding no one's data, with no column that
looks like an address. A table added later is checked without anyone remembering to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from bot.casework.people import SECTIONS, export_people, find_people
from bot.services import Services
from storage.models import Base
from tests.bot.casework.person_rows import NUMBER, TEXT, WORD, a_person_everywhere
from tests.conftest import Bot

# Tables that hold no one's data (staff accounts, what staff write for everyone). The audit
# log refers to people by its target (type and id), not by a key: checked on its own below.
KOTHA = str(Path(sys.executable).with_name("kotha"))
NOBODY_S = {
    "users",
    "broadcasts",
    "you_said_items",
    "events",
    "opportunities",
    # The voice line's prompts, recorded by staff: the council's words, nobody's data.
    "voice_prompts",
    # The impact page's counts for closed months: numbers, no one in them.
    "impact_months",
    "audit_events",
    "alembic_version",
}
ADDRESS_WORDS = ("address", "phone", "number", "email", "name")


def person_tables() -> dict[str, list[tuple[str, str]]]:
    """Each table that refers to a person, with its (column, table referred to) keys."""
    tables = Base.metadata.tables
    found: dict[str, list[tuple[str, str]]] = {"contacts": []}
    changed = True
    while changed:
        changed = False
        for table in tables.values():
            keys = [
                (key.parent.name, key.column.table.name)
                for key in table.foreign_keys
                if key.column.table.name in found
            ]
            if keys and found.get(table.name) != keys:
                found[table.name] = keys
                changed = True
    return found


def rows_of(session: Session, contact_ids: list[int]) -> dict[str, set[int]]:
    """Every row that refers to these people, table by table, by walking the keys."""
    tables = Base.metadata.tables
    referring = person_tables()
    held: dict[str, set[int]] = defaultdict(set)
    held["contacts"] = set(contact_ids)
    changed = True
    while changed:
        changed = False
        for name, keys in referring.items():
            table: Table = tables[name]
            conditions = [
                table.c[column].in_(held[parent]) for column, parent in keys if held[parent]
            ]
            if not conditions:
                continue
            ids = set(session.scalars(select(table.c.id).where(or_(*conditions))))
            if not ids <= held[name]:
                held[name] |= ids
                changed = True
    return held


def test_every_table_is_either_about_a_person_or_named_as_about_nobody() -> None:
    about_people = set(person_tables())
    every = set(Base.metadata.tables)
    assert every - about_people <= NOBODY_S, "a new table: export and erase it, or name it here"
    sections = {name for name, _ in SECTIONS}
    assert about_people | {"audit_events"} == sections, "every such table is a section"
    for name in every - about_people:
        for column in Base.metadata.tables[name].columns:
            looks = [word for word in ADDRESS_WORDS if word in column.name]
            # Staff accounts' own email addresses are the console's, not a person's.
            assert not looks or (name, column.name) == ("users", "email"), (name, column.name)


def test_the_export_holds_every_row_that_refers_to_the_person(bot: Bot) -> None:
    services: Services = bot.services
    person = a_person_everywhere(bot, complaint_closed_at=None)

    with services.database.session() as session:
        contact_ids = find_people(session, "07700 900987")
        export = export_people(session, contact_ids, services.clock())
        held = rows_of(session, contact_ids)

    assert contact_ids == [person.contact_id]
    for name in person_tables():
        assert held[name], f"the person has no row in {name}: add one to person_rows.py"
        exported = {row["id"] for row in export[name]}
        assert held[name] <= exported, f"{name}: rows {held[name] - exported} not exported"
    # The audit log's events about them: their addresses, contact, feedback, flags, tasks.
    targets = {(row["target_type"], row["action"]) for row in export["audit_events"]}
    assert {kind for kind, _ in targets} == {
        "address",
        "feedback",
        "contact",
        "safeguarding_flag",
        "staff_task",
        "interest",
    }
    # Their own words, number and the staff who wrote to them, as JSON can carry them.
    text = json.dumps(export, ensure_ascii=False)
    assert NUMBER in text and TEXT in text and "worker@example.org" in text
    assert {row["address"] for row in export["addresses"]} == {NUMBER}
    assert {row["channel"] for row in export["addresses"]} == {"sms", "whatsapp"}


def test_an_address_is_found_however_it_is_typed(bot: Bot) -> None:
    person = a_person_everywhere(bot, complaint_closed_at=None)
    with bot.services.database.session() as session:
        for typed in (NUMBER, "07700900987", "+44 7700 900987", "sms:07700 900987"):
            assert find_people(session, typed) == [person.contact_id], typed
        assert find_people(session, "whatsapp:+447700900987") == [person.contact_id]
        assert find_people(session, "+447700900000") == []
        assert find_people(session, f"telegram:{WORD}") == []


def test_kotha_people_export_prints_the_json(bot: Bot) -> None:
    services: Services = bot.services
    a_person_everywhere(bot, complaint_closed_at=None)
    found = kotha(services, "people", "export", "07700 900987")
    assert found.returncode == 0, found.stderr
    export = json.loads(found.stdout)
    assert {row["address"] for row in export["addresses"]} == {NUMBER}
    # The look is audited, with no account: the next export shows it.
    again = json.loads(kotha(services, "people", "export", NUMBER).stdout)
    assert [
        (row["action"], row["user_id"], row["detail"])
        for row in again["audit_events"]
        if row["action"] == "person.exported"
    ] == [("person.exported", None, {"by": "command line"})]
    missing = kotha(services, "people", "export", "+447700900000")
    assert missing.returncode == 1
    assert "nobody is held with the address" in missing.stderr
    assert missing.stdout == ""


def kotha(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `kotha` command on the test's database."""
    env = {
        **os.environ,
        "KOTHA_DATABASE_URL": services.settings.database_url,
        "KOTHA_INSTANCE_DIR": str(services.settings.instance_dir),
        "KOTHA_SECRET_KEY": "test-secret",
    }
    return subprocess.run(
        [KOTHA, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
