"""The impact page (`/console/impact`), its printable report and the draft broadcast that
summarises it, for staff and admins.

The figures are bot/outreach/impact.py's and the body bot/outreach/report.py's, the same as
`kotha report` prints. Nothing here shows one person: the equality monitoring answers are
counts, and any under 5 reads "fewer than 5".
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.casework.accounts import record_audit
from bot.outreach.broadcasts import BroadcastError
from bot.outreach.impact import (
    Indicators,
    Period,
    PeriodError,
    default_period,
    indicators,
    load_census,
    parse_period,
)
from bot.outreach.report import STYLESHEET, body, summary_texts
from bot.services import services
from console.auth import blueprint, role_required

READERS = ("staff", "admin")


def _period(values: Any) -> tuple[Period, dict[str, str]]:
    """The period asked for (the last six months and this one when none is), and any error."""
    start, end = values.get("from", "").strip(), values.get("to", "").strip()
    today = services().clock().astimezone(services().settings.zone).date()
    if not start and not end:
        return default_period(today), {}
    try:
        return parse_period(start, end), {}
    except PeriodError as error:
        field = "to" if "end" in str(error) else "from"
        return default_period(today), {field: str(error)}


def _indicators(period: Period) -> Indicators:
    services_ = services()
    zone = services_.settings.zone
    with services_.database.session() as db:
        return indicators(
            db, period, zone, services_.clock().astimezone(zone).date(), load_census()
        )


def _asked(values: Any) -> dict[str, Any]:
    """What was typed in the period's fields, to show again as typed (at most a date's length)."""
    return {name: values.get(name, "")[:40] for name in ("from", "to")}


@blueprint.get("/impact")
@role_required(*READERS)
def impact() -> Any:
    """The indicators for a period, each chart with its table."""
    period, errors = _period(request.args)
    found = _indicators(period)
    asked = (
        _asked(request.args)
        if errors
        else {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
        }
    )
    page = render_template(
        "console/impact.html",
        found=found,
        body=body(found),
        errors=errors,
        asked=asked,
        period_args={"from": period.start.isoformat(), "to": period.end.isoformat()},
    )
    return (page, 400) if errors else page


@blueprint.get("/impact/report")
@role_required(*READERS)
def impact_report() -> Any:
    """The report to print: the same indicators, without the console's menus on paper."""
    period, errors = _period(request.args)
    if errors:
        return redirect(url_for("console.impact", **_asked(request.args)))
    found = _indicators(period)
    return render_template(
        "console/impact_report.html",
        found=found,
        body=body(found),
        made=services().clock().astimezone(services().settings.zone),
        period_args={"from": period.start.isoformat(), "to": period.end.isoformat()},
    )


@blueprint.get("/impact/report.css")
@role_required(*READERS)
def impact_stylesheet() -> Response:
    """The report's styles, from the one file `kotha report` also writes into its HTML."""
    return Response(STYLESHEET.read_text(encoding="utf-8"), mimetype="text/css")


@blueprint.post("/impact/broadcast")
@role_required(*READERS)
def impact_broadcast() -> Any:
    """A draft broadcast, in every language, telling everyone who asked for news what came
    of their words in the period. It is not sent: staff read it on its page first."""
    try:
        period = parse_period(request.form.get("from", ""), request.form.get("to", ""))
    except PeriodError as error:
        # Sent without a period (or a wrong one): the page again, saying what is missing.
        shown, _ = _period({})
        found = _indicators(shown)
        field = "to" if "end" in str(error) else "from"
        page = render_template(
            "console/impact.html",
            found=found,
            body=body(found),
            errors={field: str(error)},
            asked=_asked(request.form),
            period_args={"from": shown.start.isoformat(), "to": shown.end.isoformat()},
        )
        return page, 400
    found = _indicators(period)
    services_ = services()
    assert services_.broadcasts is not None  # the web app always has them
    try:
        with services_.database.session() as db:
            draft = services_.broadcasts.create(
                db,
                title=f"Impact summary, {period.label()}",
                texts=summary_texts(services_.i18n, found),
                # Everyone who chose news and invitations (bot/pipeline/preferences.py).
                segment={"kind": "all"},
                created_by=current_user.id,
            )
            draft_id = draft.id
            record_audit(
                db,
                current_user.id,
                "broadcast.drafted",
                "broadcast",
                draft_id,
                {"from": period.start.isoformat(), "to": period.end.isoformat()},
                now=services_.clock(),
            )
    except BroadcastError as error:
        flash(f"The summary could not be drafted: {error}")
        return redirect(url_for("console.impact", **_asked(request.form)))
    flash("A draft broadcast summarising the report was written. It has not been sent.")
    return redirect(url_for("console.broadcast", broadcast_id=draft_id))
