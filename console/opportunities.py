"""Opportunities: the ways to take part the bot's "Get involved" offers, as staff keep them.

Staff write each one's title, line and time in every language, tick the support offered,
place it in an area and an order, and open or close it. What they write is checked against
each language's SMS budget before it is saved (bot/outreach/opportunities.py `check`); every
change is audited and reaches the bot at once in this process (`forget`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from bot.casework.accounts import record_audit
from bot.outreach import opportunities
from bot.outreach.opportunities import AREAS, SUPPORT, OpportunityDetails, OpportunityNotFound
from bot.services import services
from console.auth import blueprint, role_required
from console.paging import number_in
from storage.models import Opportunity

ROLES = ("staff", "admin")
TEXTS = ("title", "line", "time")


def _languages() -> dict[str, str]:
    return {code: language.name for code, language in services().i18n.languages.items()}


def _details(form: MultiDict[str, str]) -> tuple[OpportunityDetails, dict[str, str]]:
    """What the form says, and what cannot be read from it (the order)."""
    errors: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {name: {} for name in TEXTS}
    for code in _languages():
        for name in TEXTS:
            texts[name][code] = str(form.get(f"{name}-{code}", ""))
    order_text = str(form.get("position", "")).strip()
    position = 0
    if order_text:
        number = number_in(order_text, 9999)
        if number is None:
            errors["position"] = "The order must be a whole number from 0 to 9999"
        else:
            position = number
    getlist = form.getlist
    details = OpportunityDetails(
        area=str(form.get("area", "")),
        titles=texts["title"],
        lines=texts["line"],
        times=texts["time"],
        support=tuple(getlist("support")),
        needs_review=tuple(code for code in getlist("needs_review") if code in _languages()),
        position=position,
    )
    return details, errors


def _values(row: Opportunity) -> dict[str, Any]:
    """An opportunity as the form shows it."""
    values: dict[str, Any] = {
        "area": row.area,
        "support": list(row.support or ()),
        "needs_review": list(row.needs_review or ()),
        "position": str(row.position),
    }
    for name, texts in (("title", row.titles), ("line", row.lines), ("time", row.times)):
        for code, text in (texts or {}).items():
            values[f"{name}-{code}"] = text
    return values


def _form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {key: form.get(key, "") for key in form}
    values["support"] = form.getlist("support")
    values["needs_review"] = form.getlist("needs_review")
    return values


def _form_page(
    row: Opportunity | None, values: Mapping[str, Any], errors: Mapping[str, str]
) -> Any:
    return render_template(
        "console/opportunity_form.html",
        opportunity=row,
        values=values,
        errors=errors,
        languages=_languages(),
        areas=AREAS,
        support={name: label for name, (label, _) in SUPPORT.items()},
    ), (400 if errors else 200)


@blueprint.get("/opportunities")
@role_required(*ROLES)
def opportunities_list() -> Any:
    """Every way to take part, by area in the bot's order, open and closed."""
    with services().database.session() as db:
        rows = opportunities.in_order(db)
        db.expunge_all()
    by_area = {area: [row for row in rows if row.area == area] for area in AREAS}
    return render_template(
        "console/opportunities.html",
        by_area=by_area,
        areas=AREAS,
        languages=_languages(),
        fallbacks=_fallbacks(),
        support_of=_support_text,
    )


def _fallbacks() -> dict[str, str]:
    """The language each one's readers get where its words are missing (Syloti Nagri is
    written from the Sylheti)."""
    i18n = services().i18n
    found = {}
    for code, language in i18n.languages.items():
        other = language.derived_from or language.fallback
        if other is not None:
            found[code] = i18n.languages[other].name
    return found


def _support_text(row: Opportunity) -> str:
    return ", ".join(SUPPORT[name][0] for name in row.support or () if name in SUPPORT)


@blueprint.route("/opportunities/new", methods=["GET", "POST"])
@role_required(*ROLES)
def opportunity_new() -> Any:
    """Add a way to take part: open at once, offered after the others of its area."""
    if request.method == "GET":
        return _form_page(None, {}, {})
    details, errors = _details(request.form)
    errors = {**opportunities.check(details, services().opportunities.budget), **errors}
    if errors:
        return _form_page(None, _form_values(request.form), errors)
    now = services().clock()
    with services().database.session() as db:
        row = opportunities.create(db, details, current_user.id, now)
        record_audit(
            db,
            current_user.id,
            "opportunity.created",
            "opportunity",
            row.id,
            {"key": row.key},
            now=now,
        )
        title = row.titles.get("en", row.key)
    services().opportunities.forget()
    flash(f"Added “{title}”. The bot offers it now.")
    return redirect(url_for("console.opportunities_list"))


@blueprint.route("/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
@role_required(*ROLES)
def opportunity_edit(opportunity_id: int) -> Any:
    """Change what is said of a way to take part, its area, support and order."""
    with services().database.session() as db:
        try:
            row = opportunities.get(db, opportunity_id)
        except OpportunityNotFound:
            abort(404)
        db.expunge(row)
    if request.method == "GET":
        return _form_page(row, _values(row), {})
    details, errors = _details(request.form)
    errors = {**opportunities.check(details, services().opportunities.budget), **errors}
    if errors:
        return _form_page(row, _form_values(request.form), errors)
    now = services().clock()
    with services().database.session() as db:
        try:
            changed = opportunities.get(db, opportunity_id, lock=True)
        except OpportunityNotFound:
            abort(404)
        opportunities.update(changed, details, current_user.id, now)
        record_audit(
            db,
            current_user.id,
            "opportunity.changed",
            "opportunity",
            opportunity_id,
            {"key": changed.key, "needs_review": list(changed.needs_review)},
            now=now,
        )
        title = changed.titles.get("en", changed.key)
    services().opportunities.forget()
    flash(f"Saved “{title}”.")
    return redirect(url_for("console.opportunities_list"))


@blueprint.post("/opportunities/<int:opportunity_id>/open")
@role_required(*ROLES)
def opportunity_open(opportunity_id: int) -> Any:
    """Open or close a way to take part (`open` is yes or no): a closed one is not offered."""
    wanted = request.form.get("open", "")
    if wanted not in ("yes", "no"):
        abort(400)
    now = services().clock()
    with services().database.session() as db:
        try:
            row = opportunities.get(db, opportunity_id, lock=True)
        except OpportunityNotFound:
            abort(404)
        opportunities.set_open(row, wanted == "yes", current_user.id, now)
        action = "opportunity.opened" if row.open else "opportunity.closed"
        record_audit(db, current_user.id, action, "opportunity", row.id, {"key": row.key}, now=now)
        title = row.titles.get("en", row.key)
    services().opportunities.forget()
    now_is = "open: the bot offers it" if wanted == "yes" else "closed: the bot no longer offers it"
    flash(f"“{title}” is {now_is}.")
    return redirect(url_for("console.opportunities_list"))
