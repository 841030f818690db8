"""The impact indicators as a report: HTML (with charts, printable), CSV or JSON.

`kotha report` (bot/cli/report.py) writes any of the three; the console's impact page and its
printable report (console/impact.py) show the same body, which is drawn here once from
`templates/report_body.html`. The draft broadcast that tells everyone who asked for news what
came of their words is written here too, in every language.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.i18n import I18n
from bot.outreach.charts import Series, bar_chart
from bot.outreach.impact import FEWER, Indicators, rows_of
from flows.texts import N_
from storage.exports import csv_safe

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = TEMPLATES / "report.css"
FORMATS = ("html", "csv", "json")

# The draft broadcast summarising a report for everyone who asked for news.
SUMMARY = N_(
    "From {start} to {end}, {people} people had their say and we made {changes} changes "
    "you asked for. Thank you."
)
SATISFACTION_LABELS = {
    5: "Very happy",
    4: "Happy",
    3: "Okay",
    2: "Unhappy",
    1: "Very unhappy",
}
_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def body(found: Indicators) -> Markup:
    """The report's indicators, charts and tables, as HTML to put inside a page."""
    months = [f"{month:%b %Y}" for month in found.period.months()]
    charts = {
        "people": bar_chart(
            "People who took part, by month",
            months,
            [
                Series("New", [month.new for month in found.people]),
                Series("Returning", [month.returning for month in found.people]),
            ],
        ),
        "satisfaction": bar_chart(
            "How happy people are with the chances to have a say",
            [SATISFACTION_LABELS[score] for score in found.satisfaction],
            [Series("Answers", list(found.satisfaction.values()))],
        ),
        "timeliness": _timeliness_chart(found),
    }
    feedback_charts = {
        name: _feedback_chart(name, series, months) for name, series in found.feedback.items()
    }
    reach_charts = {
        one.question: bar_chart(
            f"Reach: {one.title}, beside the borough",
            [row.label for row in one.rows],
            [
                Series(
                    "People who took part",
                    [_share(row.share) for row in one.rows],
                    [row.share for row in one.rows],
                ),
                Series(
                    "Borough (Census 2021)",
                    [_share(row.population_share) for row in one.rows],
                    [row.population_share for row in one.rows],
                ),
            ],
        )
        for one in found.reach
    }
    template = _environment.get_template("report_body.html")
    return Markup(
        template.render(
            found=found,
            months=months,
            charts=charts,
            feedback_charts=feedback_charts,
            reach_charts=reach_charts,
            satisfaction_labels=SATISFACTION_LABELS,
            fewer=FEWER,
        )
    )


def _share(text: str) -> float:
    """A percentage as drawn: a hidden or missing one is no bar (its words say why)."""
    return float(text.rstrip("%")) if text.endswith("%") else 0.0


def _feedback_chart(name: str, series: Mapping[str, list[int]], months: list[str]) -> Markup:
    title = f"Feedback by {name}, by month"
    if len(series) > 6:  # too many to tell apart by colour: the period's totals instead
        totals = sorted(series.items(), key=lambda item: -sum(item[1]))
        return bar_chart(
            f"Feedback by {name} in the period",
            [value for value, _ in totals],
            [Series("Feedback", [sum(counts) for _, counts in totals])],
        )
    return bar_chart(
        title, months, [Series(value, counts) for value, counts in sorted(series.items())]
    )


def _timeliness_chart(found: Indicators) -> Markup:
    done = found.timeliness
    return bar_chart(
        "Complaints: acknowledged and answered in time",
        ["Acknowledged within 3 working days", "Answered by the deadline"],
        [
            Series("On time", [done.acknowledged_on_time, done.answered_on_time]),
            Series("Late", [done.acknowledged_late, done.answered_late]),
            Series("Overdue", [done.acknowledgement_overdue, done.answer_overdue]),
        ],
    )


def html_document(found: Indicators, generated_at: datetime) -> str:
    """A whole HTML file: the body, with the report's styles written into it (a file on its
    own has no server to fetch them from)."""
    template = _environment.get_template("report_document.html")
    return template.render(
        found=found,
        body=body(found),
        styles=STYLESHEET.read_text(encoding="utf-8"),
        generated_at=generated_at,
    )


def csv_text(found: Indicators) -> str:
    """Every figure, a line each: section, item, month or group, value (staff's words, a
    theme, defused as every CSV Kotha writes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "item", "month_or_group", "value"))
    writer.writerow(("period", "from", "", found.period.start.isoformat()))
    writer.writerow(("period", "to", "", found.period.end.isoformat()))
    writer.writerows([csv_safe(cell) for cell in row] for row in rows_of(found))
    return out.getvalue()


def json_text(found: Indicators) -> str:
    """The indicators as one JSON object (counts under 5 as "fewer than 5")."""
    done = found.timeliness
    data: dict[str, Any] = {
        "period": {"from": found.period.start.isoformat(), "to": found.period.end.isoformat()},
        "people": [
            {"month": f"{month.month:%Y-%m}", "new": month.new, "returning": month.returning}
            for month in found.people
        ],
        "feedback": {
            name: {
                value: dict(zip((f"{m:%Y-%m}" for m in found.period.months()), counts, strict=True))
                for value, counts in series.items()
            }
            for name, series in found.feedback.items()
        },
        "complaint_timeliness": {
            **asdict(done),
            "acknowledged_within_3_working_days": done.acknowledged_share,
            "answered_by_deadline": done.answered_share,
        },
        "satisfaction": {str(score): count for score, count in found.satisfaction.items()},
        "interests": found.interests,
        "event_attendance": [{"event": title, "people": came} for title, came in found.attendance],
        "you_said_we_did": [
            {
                "theme": item.theme,
                "change": item.change,
                "said": item.said,
                "did": item.did,
                "published_at": item.published_at.isoformat(),
            }
            for item in found.you_said
        ],
        "reach": {
            one.question: {
                "title": one.title,
                "answered": one.answered.shown,
                "prefer_not_to_say": one.prefer_not.shown,
                "source": one.source,
                "groups": [
                    {
                        "group": row.group,
                        "label": row.label,
                        "people": row.count.shown,
                        "share": row.share,
                        "borough_2021": row.population_share,
                    }
                    for row in one.rows
                ],
            }
            for one in found.reach
        },
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def summary_texts(i18n: I18n, found: Indicators) -> dict[str, str]:
    """The draft broadcast's text in every language a broadcast is written in."""
    changes = sum(1 for item in found.you_said)
    texts = {}
    for code in i18n.written:
        language = i18n.language(code)
        template = i18n.gettext(code, SUMMARY)
        texts[code] = template.format(
            start=_day(found.period.start, language.locale, language),
            end=_day(found.period.end, language.locale, language),
            people=language.digits_of(str(found.people_total)),
            changes=language.digits_of(str(changes)),
        )
    return texts


def _day(day: date, locale: str, language: Any) -> str:
    return str(language.digits_of(format_date(day, "d MMMM y", locale=locale)))
