"""Awaiting translation: staff's words held because they are not in the person's language.

Each held message (bot/casework/translations.py) is listed with staff's words and the
language the person reads; staff give the words in that language and the message is queued.
Audited like every change staff make to what a person receives.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.casework.accounts import record_audit
from bot.casework.translations import TranslationError, awaiting, give_translation, preview
from bot.services import services
from bot.staff_text import LANGUAGE_NAMES
from bot.types import CHANNEL_NAMES
from console.auth import blueprint, role_required
from console.previews import Preview

ROLES = ("staff", "admin")


def _page(
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    shown: dict[int, Preview] | None = None,
) -> Any:
    with services().database.session() as db:
        waiting = awaiting(db)
    return render_template(
        "console/translations.html",
        waiting=waiting,
        language_names=LANGUAGE_NAMES,
        channels=CHANNEL_NAMES,
        errors=errors or {},
        form=form or {},
        shown=shown or {},
        zone=services().settings.zone,
    ), (400 if errors else 200)


@blueprint.get("/translations")
@role_required(*ROLES)
def translations() -> Any:
    """Every message held until staff give its words in the person's language, oldest first."""
    return _page()


@blueprint.post("/translations/<int:message_id>")
@role_required(*ROLES)
def translation_give(message_id: int) -> Any:
    """Use the words given in the person's language and send the message, shown first as the
    person will read it with its cost (console/previews.py)."""
    text = request.form.get("text", "")
    field = f"text-{message_id}"
    try:
        with services().database.session() as db:
            row = give_translation(db, message_id, text)
            price = services().settings.sms_segment_price
            shown = Preview([preview(db, services().i18n, row, text, price)])
            if shown.must_show(request.form):
                db.rollback()
                return _page(form={field: text}, shown={message_id: shown})
            record_audit(
                db,
                current_user.id,
                "message.translated",
                "message",
                message_id,
                {"kind": row.kind},
                now=services().clock(),
            )
    except TranslationError as error:
        return _page({field: str(error)}, {field: text})
    services().queue.enqueue([message_id])
    flash("Translation saved. The message is queued to send.")
    return redirect(url_for("console.translations"))
