"""`kotha report --from DATE --to DATE --format html|csv|json`: the indicators for a period,
counts of the equality questions under 5 hidden, bad dates refused with a clear message."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from bot import cli
from bot.cli import report
from bot.services import Services
from storage.models import YouSaidItem
from tests.storage.rows import answered_equality, someone_who_wrote

FORMULA = '=HYPERLINK("https://evil.example","x")'


@pytest.fixture
def known(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Six people who wrote on 1 November 2026 and answered the equality questions (five
    Bangladeshi, one Chinese), and a "you said, we did" item published that month."""
    now = services.clock()
    day = now.replace(month=11, day=1)
    with services.database.session() as session:
        for index in range(6):
            address = someone_who_wrote(session, f"+44770090090{index}", "bn", day)
            answered_equality(session, address, day, "bangladeshi" if index < 5 else "chinese")
        session.add(
            YouSaidItem(
                theme=FORMULA,
                texts={"en": {"said": "Later buses", "did": "Buses run to 8pm"}},
                change="change_made",
                status="published",
                published_at=day + timedelta(days=2),
                created_at=day,
            )
        )
    monkeypatch.setattr(report, "load_services", lambda **kwargs: services)
    return services


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json(known: Services, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--from", "2026-10-01", "--to", "2026-11-30", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["period"] == {"from": "2026-10-01", "to": "2026-11-30"}
    assert data["people"] == [
        {"month": "2026-10", "new": 0, "returning": 0},
        {"month": "2026-11", "new": 6, "returning": 0},
    ]
    groups = {g["group"]: g for g in data["reach"]["ethnicity"]["groups"]}
    assert groups["bangladeshi"]["people"] == "5" and groups["bangladeshi"]["share"] == "83.3%"
    assert groups["chinese"]["people"] == "fewer than 5"
    assert groups["chinese"]["share"] == "fewer than 5"
    assert data["you_said_we_did"][0]["did"] == "Buses run to 8pm"
    assert data["event_attendance"] == []


def test_csv(known: Services, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["section", "item", "month_or_group", "value"]
    assert ["people", "new", "2026-11", "6"] in rows
    assert ["reach: Ethnicity (detail)", "Chinese", "people", "fewer than 5"] in rows
    # Staff's words are defused for spreadsheets, as every CSV Kotha writes.
    assert ["you said, we did", "'" + FORMULA, "change_made", "2026-11-03"] in rows


def test_html_is_one_printable_file_with_charts(
    known: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30", "--format", "html")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert "<style>" in out and "@media print" in out
    assert out.count("<svg") >= 10 and "<script" not in out
    assert "1 November 2026 to 30 November 2026" in out
    assert "Buses run to 8pm" in out
    assert FORMULA not in out  # escaped: &#34; in place of quotes
    assert "fewer than 5" in out


def test_html_is_the_default(known: Services, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 0 and out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2026-11-31", "2026-12-01", "The start date must be a real date"),
        ("yesterday", "2026-12-01", "The start date must be a real date"),
        ("2026-12-01", "2026-11-01", "The end date must be the same as or after"),
        ("2026-01-01", "", "Enter the end date"),
        ("2020-01-01", "2026-12-01", "at most 36 months"),
    ],
)
def test_bad_dates_are_refused_with_a_message(
    known: Services, capsys: pytest.CaptureFixture[str], start: str, end: str, problem: str
) -> None:
    code, out, err = run(capsys, "--from", start, "--to", end, "--format", "json")
    assert code == 2 and out == ""
    assert problem in err


def test_a_missing_date_or_unknown_format_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        cli.main(["report", "--from", "2026-01-01"])
    assert missing.value.code == 2
    with pytest.raises(SystemExit) as unknown:
        cli.main(["report", "--from", "2026-01-01", "--to", "2026-02-01", "--format", "pdf"])
    assert unknown.value.code == 2
    assert "--to" in capsys.readouterr().err
