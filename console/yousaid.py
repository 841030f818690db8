"""'You said, we did' pages: staff write and publish items, moderators approve quotes.

The public page (/you-said-we-did, no sign-in) is a blueprint of its own: it lists
published items in plain words, shows no personal data, and a quote only once approved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.casework.accounts import record_audit
from bot.outreach.broadcasts import BroadcastError, count_by_language, resolve_texts
from bot.outreach.yousaid import (
    CHANGE_NAMES,
    ItemFields,
    YouSaidError,
    approve_quote,
    link,
    linked_references,
    message_texts,
    missing_languages,
    parse_references,
    publish,
    published,
    save_item,
    segment_of,
)
from bot.pipeline.preferences import month_start
from bot.services import services
from bot.sms import SmsCost
from bot.smssafe import replaced_in
from bot.staff_text import CONFIRM_OVER
from bot.types import MESSAGING_CHANNEL_NAMES, Kind
from console.auth import blueprint, role_required
from console.public import public_context
from console.wording import text_lang
from flows.texts import N_
from storage.models import YouSaidItem

EDITORS = ("staff", "admin")
APPROVERS = ("moderator", "admin")

public = Blueprint("you_said_public", __name__, template_folder="templates")
public.context_processor(public_context)
# The public page's words (console/public.py puts them in the reader's language).
PUBLIC_WORDS = {
    "title": N_("You said, we did"),
    "intro": N_(
        "What people who use adult social care told us, and what we changed or plan to "
        "change because of it."
    ),
    "none": N_("Nothing is published yet."),
}


def _languages() -> dict[str, str]:
    return {code: lang.name for code, lang in services().i18n.written.items()}


@blueprint.get("/you-said")
@role_required(*EDITORS)
def you_said() -> Any:
    """Every item, drafts first."""
    with services().database.session() as db:
        items = db.scalars(
            select(YouSaidItem).order_by(YouSaidItem.status, YouSaidItem.id.desc())
        ).all()
    return render_template(
        "console/you_said.html", items=items, changes=CHANGE_NAMES, zone=services().settings.zone
    )


def _fields(form: Any, languages: list[str]) -> tuple[ItemFields, dict[str, str]]:
    errors: dict[str, str] = {}
    change_date = None
    date_text = form.get("change_date", "").strip()
    if date_text:
        try:
            change_date = date.fromisoformat(date_text)
        except ValueError:
            errors["change_date"] = "Enter a real date, like 2026-11-25"
    texts = {
        code: {"said": form.get(f"said-{code}", ""), "did": form.get(f"did-{code}", "")}
        for code in languages
    }
    fields = ItemFields(
        theme=form.get("theme", ""),
        texts=texts,
        change=form.get("change", ""),
        change_date=change_date,
        quote=form.get("quote", ""),
    )
    return fields, errors


def _values(item: YouSaidItem | None, references: list[str]) -> dict[str, str]:
    if item is None:
        return {"change": "change_made"}
    values = {
        "theme": item.theme,
        "change": item.change,
        "change_date": item.change_date.isoformat() if item.change_date else "",
        "quote": item.quote or "",
        "references": "\n".join(references),
    }
    for code, parts in item.texts.items():
        values[f"said-{code}"], values[f"did-{code}"] = parts.get("said", ""), parts.get("did", "")
    return values


@blueprint.route("/you-said/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def you_said_new() -> Any:
    """Write a new item."""
    if request.method == "GET":
        return _form(None, _values(None, []), {})
    return _save(None)


@blueprint.route("/you-said/<int:item_id>", methods=["GET", "POST"])
@role_required(*EDITORS)
def you_said_item(item_id: int) -> Any:
    """Change an item and its linked feedback; publish it from here."""
    with services().database.session() as db:
        item = db.get(YouSaidItem, item_id)
        if item is None:
            abort(404)
        references = linked_references(db, item_id)
    if request.method == "GET":
        return _form(item, _values(item, references), {})
    if item.status == "published":
        abort(400)
    return _save(item_id)


def _save(item_id: int | None) -> Any:
    services_ = services()
    languages = list(services_.i18n.written)
    fields, errors = _fields(request.form, languages)
    errors.update(fields.errors(services_.i18n))
    values = {k: str(v) for k, v in request.form.items() if k != "csrf_token"}
    if errors:
        return _form(_item_or_none(item_id), values, errors), 400
    now = services().clock()
    try:
        with services_.database.session() as db:
            item = db.get(YouSaidItem, item_id) if item_id is not None else None
            item = save_item(db, services_.i18n, item, fields, current_user.id, now)
            missing = link(db, item, parse_references(request.form.get("references", "")))
            if missing:
                # Raised to roll the whole save back: nothing changes until all are found.
                raise _Refused("references", "No feedback has the reference " + ", ".join(missing))
            saved_id = item.id
            action = "you_said.created" if item_id is None else "you_said.updated"
            record_audit(db, current_user.id, action, "you_said_item", saved_id, now=now)
    except (_Refused, YouSaidError) as error:
        field, message = error.args if isinstance(error, _Refused) else ("theme", str(error))
        return _form(_item_or_none(item_id), values, {field: message}), 400
    replaced = replaced_in(part for parts in fields.texts.values() for part in parts.values())
    if replaced:
        replaced = f" {replaced[:1].upper()}{replaced[1:]} to keep it a plain text message."
    flash(f"Item saved.{replaced}")
    return redirect(url_for("console.you_said_item", item_id=saved_id))


class _Refused(Exception):
    """A form field that stops a save, raised inside its transaction to roll it back."""


def _item_or_none(item_id: int | None) -> YouSaidItem | None:
    if item_id is None:
        return None
    with services().database.session() as db:
        return db.get(YouSaidItem, item_id)


def _form(item: YouSaidItem | None, values: dict[str, str], errors: dict[str, str]) -> str:
    services_ = services()
    missing: list[str] = []
    fallback = 0
    linked = 0
    costs: dict[str, SmsCost] = {}
    if item is not None:
        missing = missing_languages(services_.i18n, item)
        with services_.database.session() as db:
            counts = count_by_language(
                db,
                services_.i18n,
                segment_of(item.id, None),
                Kind.YOU_SAID,
                month_start(services_.clock(), services_.settings.zone),
            )
        linked = sum(sum(by_channel.values()) for by_channel in counts.values())
        fallback = sum(sum(counts[code].values()) for code in missing)
        costs = _costs(item)
    return render_template(
        "console/you_said_form.html",
        item=item,
        values=values,
        errors=errors,
        languages=_languages(),
        changes=CHANGE_NAMES,
        channels=MESSAGING_CHANNEL_NAMES,
        missing=missing,
        fallback=fallback,
        linked=linked,
        costs=costs,
        confirm_over=CONFIRM_OVER,
    )


def _costs(item: YouSaidItem) -> dict[str, SmsCost]:
    """What the item costs by SMS in each language it is read in, as its broadcast sends it."""
    try:
        texts = resolve_texts(services().i18n, message_texts(services().i18n, item))
    except BroadcastError:
        return {}  # not written in English yet: the form says so
    return {code: text.cost for code, text in texts.items()}


@blueprint.post("/you-said/<int:item_id>/publish")
@role_required(*EDITORS)
def you_said_publish(item_id: int) -> Any:
    """Publish the item: the public page lists it and its broadcast goes out."""
    service = services().broadcasts
    now = service.clock()
    also_keys = ("language", "channel", "service", "topic", "opportunity")
    chosen = {key: request.form.get(key, "").strip() for key in also_keys}
    also: dict[str, Any] | None = {k: v for k, v in chosen.items() if v} or None
    if request.form.get("everyone") == "yes":
        also = {**(also or {}), "kind": "all"}
    try:
        with services().database.session() as db:
            item = db.get(YouSaidItem, item_id)
            if item is None:
                abort(404)
            long = any(cost.segments > CONFIRM_OVER for cost in _costs(item).values())
            if long and request.form.get("confirm_long") != "yes":
                raise YouSaidError(
                    f"by SMS it is more than {CONFIRM_OVER} text messages in some languages: "
                    "shorten it, or confirm you want to send it"
                )
            broadcast = publish(db, service, item, also, current_user.id, now)
            broadcast_id = broadcast.id
            detail = {"broadcast": broadcast_id, "also": also}
            record_audit(
                db,
                current_user.id,
                "you_said.published",
                "you_said_item",
                item_id,
                detail,
                now=services().clock(),
            )
    except YouSaidError as error:
        flash(f"Not published: {error}")
        return redirect(url_for("console.you_said_item", item_id=item_id))
    service.launch_in_background(broadcast_id)
    flash("Published. The people whose feedback it answers are being told.")
    return redirect(url_for("console.broadcast", broadcast_id=broadcast_id))


@blueprint.get("/you-said/quotes")
@role_required(*APPROVERS)
def you_said_quotes() -> Any:
    """Quotes waiting for a moderator to confirm they are anonymised."""
    with services().database.session() as db:
        items = db.scalars(
            select(YouSaidItem)
            .where(YouSaidItem.quote.is_not(None), YouSaidItem.quote_approved_by.is_(None))
            .order_by(YouSaidItem.id)
        ).all()
    return render_template("console/you_said_quotes.html", items=items)


@blueprint.post("/you-said/<int:item_id>/approve-quote")
@role_required(*APPROVERS)
def you_said_approve(item_id: int) -> Any:
    """A moderator confirms a quote holds no personal details: the public page may show it."""
    now = services().clock()
    with services().database.session() as db:
        item = db.get(YouSaidItem, item_id)
        if item is None:
            abort(404)
        try:
            approve_quote(item, current_user.id)
        except YouSaidError:
            abort(400)
        record_audit(
            db, current_user.id, "you_said.quote_approved", "you_said_item", item_id, now=now
        )
    flash("Quote approved for the public page.")
    return redirect(url_for("console.you_said_quotes"))


@public.get("/you-said-we-did")
def public_page() -> Any:
    """Published items for everyone: no personal data, quotes only once approved."""
    with services().database.session() as db:
        items = published(db)
    return render_template(
        "you_said/public.html",
        items=items,
        words=PUBLIC_WORDS,
        changes=CHANGE_NAMES,
        text_lang=text_lang,
    )
