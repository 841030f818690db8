"""Broadcast pages: compose in every language, preview the cost, send or schedule, watch, cancel.

Sending needs a preview of exactly what is sent: the preview form carries a fingerprint of
the fields it priced, and a send whose fields differ shows the preview again instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.casework.accounts import record_audit
from bot.outreach.broadcasts import (
    LEFT_OUT,
    SEGMENT_KEYS,
    BroadcastError,
    Preview,
    describe_segment,
    preview,
    progress,
    surveys,
)
from bot.services import services
from bot.staff_text import CONFIRM_OVER
from bot.types import MESSAGING_CHANNEL_NAMES
from console.auth import blueprint, role_required
from console.previews import digest
from storage.models import Broadcast

SENDERS = ("staff", "admin")
PAGE_SIZE = 50


@dataclass(frozen=True)
class ComposeForm:
    """The compose form as posted: texts per language, segment, survey and when to send."""

    values: dict[str, str]

    @classmethod
    def posted(cls, form: Any) -> ComposeForm:
        return cls({key: str(value) for key, value in form.items() if key != "csrf_token"})

    @property
    def title(self) -> str:
        return self.values.get("title", "").strip()

    def texts(self, languages: list[str]) -> dict[str, str]:
        return {code: self.values.get(f"text-{code}", "") for code in languages}

    @property
    def segment(self) -> dict[str, Any]:
        chosen = {key: self.values.get(key, "").strip() for key in SEGMENT_KEYS}
        return {key: value for key, value in chosen.items() if value} or {"kind": "all"}

    @property
    def survey(self) -> str | None:
        return self.values.get("survey") or None

    def fingerprint(self) -> str:
        """A digest of everything the preview priced, so a changed form is previewed again."""
        unpriced = ("action", "previewed", "confirm_long")
        priced = {k: v for k, v in self.values.items() if k not in unpriced}
        return digest(f"{key}={value}" for key, value in sorted(priced.items()))

    def send_at(self, zone: ZoneInfo, errors: dict[str, str]) -> datetime | None:
        if self.values.get("when") != "later":
            return None
        text = self.values.get("send_at", "").strip()
        try:
            return datetime.fromisoformat(text).replace(tzinfo=zone)
        except ValueError:
            errors["send_at"] = "Enter the date and time to send it, like 2026-11-25 09:30"
            return None


@blueprint.get("/broadcasts")
@role_required(*SENDERS)
def broadcasts() -> Any:
    """Every broadcast, newest first."""
    with services().database.session() as db:
        rows = db.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(PAGE_SIZE)).all()
    return render_template(
        "console/broadcasts.html", broadcasts=rows, zone=services().settings.zone
    )


@blueprint.route("/broadcasts/new", methods=["GET", "POST"])
@role_required(*SENDERS)
def broadcast_new() -> Any:
    """Compose a broadcast; preview it per language; then send it now or at a set time."""
    if request.method == "GET":
        return _compose(ComposeForm({"when": "now"}), {}, None)
    form = ComposeForm.posted(request.form)
    errors: dict[str, str] = {}
    if not form.title:
        errors["title"] = "Enter a title (only staff see it)"
    zone = services().settings.zone
    send_at = form.send_at(zone, errors)
    now = services().clock()
    if send_at is not None and send_at <= now:
        errors["send_at"] = "The time to send it must be in the future"
    services_ = services()
    try:
        with services_.database.session() as db:
            shown = preview(
                db,
                services_.i18n,
                services_.flows,
                services_.settings,
                form.texts(list(services_.i18n.written)),
                form.segment,
                form.survey,
                now=now,
            )
    except BroadcastError as error:
        reason = str(error)
        errors[f"text-{services_.i18n.default}"] = reason[:1].upper() + reason[1:]
        shown = None
    if errors or shown is None:
        return _compose(form, errors, None), 400
    if form.values.get("action") != "send" or form.values.get("previewed") != form.fingerprint():
        return _compose(form, {}, shown)
    if shown.recipients == 0:
        return _compose(form, {"language": "Nobody is in this segment: choose another"}, shown), 400
    if shown.long_by_sms and form.values.get("confirm_long") != "yes":
        too_long = (
            f"Some people get this as more than {CONFIRM_OVER} text messages: shorten it, "
            "or confirm you want to send it"
        )
        return _compose(form, {"confirm_long": too_long}, shown), 400
    return _send(form, send_at)


def _send(form: ComposeForm, send_at: datetime | None) -> Any:
    service = services().broadcasts
    languages = list(services().i18n.written)
    with services().database.session() as db:
        created = service.create(
            db,
            title=form.title,
            texts=form.texts(languages),
            segment=form.segment,
            survey=form.survey,
            created_by=current_user.id,
        )
        broadcast_id = created.id
        detail = {"segment": form.segment, "send_at": send_at.isoformat() if send_at else None}
        record_audit(
            db,
            current_user.id,
            "broadcast.created",
            "broadcast",
            broadcast_id,
            detail,
            now=services().clock(),
        )
    if send_at is not None:
        service.schedule(broadcast_id, send_at)
        flash("Broadcast scheduled.")
    else:
        service.launch_in_background(broadcast_id)
        flash("Broadcast sending.")
    return redirect(url_for("console.broadcast", broadcast_id=broadcast_id))


def _compose(form: ComposeForm, errors: dict[str, str], shown: Preview | None) -> str:
    services_ = services()
    return render_template(
        "console/broadcast_new.html",
        form=form,
        values=form.values,
        errors=errors,
        preview=shown,
        fingerprint=form.fingerprint() if shown else "",
        languages={code: lang.name for code, lang in services_.i18n.written.items()},
        channels=MESSAGING_CHANNEL_NAMES,
        surveys=surveys(services_.flows),
        left_out_reasons=LEFT_OUT,
        confirm_over=CONFIRM_OVER,
    )


def _load(broadcast_id: int) -> Broadcast:
    with services().database.session() as db:
        found = db.get(Broadcast, broadcast_id)
    if found is None:
        abort(404)
    return found


@blueprint.get("/broadcasts/<int:broadcast_id>")
@role_required(*SENDERS)
def broadcast(broadcast_id: int) -> Any:
    """One broadcast: its texts, who it reaches, and its progress, live."""
    services_ = services()
    with services_.database.session() as db:
        found = db.get(Broadcast, broadcast_id)
        if found is None:
            abort(404)
        state = progress(db, found)
    return render_template(
        "console/broadcast.html",
        broadcast=found,
        progress=state,
        segment=describe_segment(found.segment),
        languages={code: lang.name for code, lang in services_.i18n.written.items()},
        zone=services_.settings.zone,
    )


@blueprint.get("/broadcasts/<int:broadcast_id>/progress")
@role_required(*SENDERS)
def broadcast_progress(broadcast_id: int) -> Any:
    """The broadcast's counts as JSON, for the page's progress script."""
    with services().database.session() as db:
        found = db.get(Broadcast, broadcast_id)
        if found is None:
            abort(404)
        return jsonify(progress(db, found).as_json())


@blueprint.post("/broadcasts/<int:broadcast_id>/cancel")
@role_required(*SENDERS)
def broadcast_cancel(broadcast_id: int) -> Any:
    """Cancel a broadcast: nobody not yet sent it receives it."""
    _load(broadcast_id)
    stopped = services().broadcasts.cancel(broadcast_id, current_user.id)
    with services().database.session() as db:
        detail = {"stopped": stopped}
        record_audit(
            db,
            current_user.id,
            "broadcast.cancelled",
            "broadcast",
            broadcast_id,
            detail,
            now=services().clock(),
        )
    flash(f"Broadcast cancelled. {stopped} messages not yet sent were stopped.")
    return redirect(url_for("console.broadcast", broadcast_id=broadcast_id))
