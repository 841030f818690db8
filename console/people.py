"""A person's data rights in the console (admins only): everything held, and erasure.

From a conversation's page an admin opens everything held about the person (a readable
page, or the same as a JSON file: bot/casework/people.py), or erases them with a reason
(bot/casework/erasure.py). Each is in the audit log; the erasure's entry holds none of
what was erased.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.casework.accounts import record_audit
from bot.casework.erasure import (
    MAX_REASON,
    ErasureError,
    SurveyAnswers,
    erase_people,
    kept_complaint,
    scrub_files,
)
from bot.casework.media import MediaCache
from bot.casework.people import SECTIONS, export_people
from bot.services import services
from console.auth import blueprint, role_required
from storage.models import Address, Feedback

ADMIN = ("admin",)


def _contact_of(address_id: int) -> tuple[int, str]:
    """The person an address belongs to, and the address as shown; 404 if none."""
    with services().database.session() as db:
        address = db.get(Address, address_id)
        if address is None:
            abort(404)
        return address.contact_id, address.address


def _export(address_id: int, action: str) -> dict[str, Any]:
    contact_id, _ = _contact_of(address_id)
    now = services().clock()
    with services().database.session() as db:
        export = export_people(db, [contact_id], now)
        record_audit(db, current_user.id, action, "contact", contact_id, now=now)
    return export


@blueprint.get("/conversations/<int:address_id>/person")
@role_required(*ADMIN)
def person_data(address_id: int) -> Any:
    """Everything held about the person, to read (a subject access request)."""
    export = _export(address_id, "person.exported")
    return render_template(
        "console/person.html",
        address_id=address_id,
        export=export,
        sections=SECTIONS,
        shown=json.dumps,
    )


@blueprint.get("/conversations/<int:address_id>/person.json")
@role_required(*ADMIN)
def person_data_json(address_id: int) -> Any:
    """The same as a JSON file to download and give the person."""
    export = _export(address_id, "person.exported")
    body = json.dumps(export, ensure_ascii=False, indent=2)
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate someone sent: escape everything
        body = json.dumps(export, ensure_ascii=True, indent=2)
    contact_id = export["contacts"][0]["id"]
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="person-{contact_id}.json"'},
    )


def _erase_page(address_id: int, errors: dict[str, str], reason: str = "") -> Any:
    contact_id, shown = _contact_of(address_id)
    now = services().clock()
    months = services().settings.retention_complaints_months
    with services().database.session() as db:
        records = db.scalars(select(Feedback).where(Feedback.contact_id == contact_id)).all()
        kept = [found for record in records if (found := kept_complaint(record, months, now))]
    return render_template(
        "console/erase.html",
        address_id=address_id,
        shown=shown,
        kept=kept,
        errors=errors,
        reason=reason,
    ), (400 if errors else 200)


@blueprint.get("/conversations/<int:address_id>/erase")
@role_required(*ADMIN)
def erase_person(address_id: int) -> Any:
    """Ask for a reason and a confirmation before erasing the person."""
    return _erase_page(address_id, {})


@blueprint.post("/conversations/<int:address_id>/erase")
@role_required(*ADMIN)
def erase_person_confirmed(address_id: int) -> Any:
    """Erase the person: one transaction, refused whole with the reason when it cannot be."""
    reason = request.form.get("reason", "").strip()
    errors = {}
    if not reason:
        errors["reason"] = "Enter why they are erased (for example: asked by letter on 3 May)"
    elif len(reason) > MAX_REASON:
        errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
    if request.form.get("confirm") != "yes":
        errors["confirm"] = "Confirm that you want to erase this person"
    if errors:
        return _erase_page(address_id, errors, reason)
    contact_id, _ = _contact_of(address_id)
    try:
        with services().database.session() as db:
            erasure = erase_people(
                db,
                [contact_id],
                now=services().clock(),
                complaint_months=services().settings.retention_complaints_months,
                survey_answers=SurveyAnswers.of(services().flows),
                user_id=current_user.id,
                reason=reason,
            )
    except ErasureError as error:
        return _erase_page(address_id, {"confirm": f"Not erased: {error}"}, reason)
    scrub_files(services().database)
    MediaCache.of(services().settings).forget(erasure.media_urls)
    kept = " ".join(item.sentence() + "." for item in erasure.kept)
    flash(f"Erased. {kept}".strip())
    return redirect(url_for("console.conversation", address_id=address_id))
