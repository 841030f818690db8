"""Feedback taken on someone's behalf: the form staff fill in after a call, a drop-in or a letter.

What the form holds is checked and kept by bot/casework/onbehalf.py (the same as `kotha
feedback record`); a mistake shows the form again with every field as typed and each
problem named, and nothing is saved until all is right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.casework import onbehalf
from bot.services import services
from bot.types import CHANNEL_NAMES, OFFLINE_CHANNELS
from console.auth import blueprint, role_required

ROLES = ("staff", "admin")
# The form's field for each kind's topic: one list each, the one that fits the kind is read.
TOPIC_FIELD = {"survey": "survey", "interest": "opportunity"}
FIELDS = (
    "kind",
    "channel",
    "language",
    "words",
    "service",
    "survey",
    "opportunity",
    "name",
    "phone",
    "postal_address",
    "updates_by",
    "consent",
)


def _radios(choices: Mapping[str, str], chosen: str | None) -> list[dict[str, Any]]:
    return [
        {"value": value, "text": label, "checked": chosen == value}
        for value, label in choices.items()
    ]


def _select(choices: Mapping[str, str], chosen: str | None, first: str) -> list[dict[str, Any]]:
    return [{"value": "", "text": first}] + [
        {"value": value, "text": label, "selected": chosen == value}
        for value, label in choices.items()
    ]


def _form_page(values: Mapping[str, str], errors: Mapping[str, str] | None = None) -> Any:
    flows = services().flows
    languages = {code: lang.name for code, lang in services().i18n.languages.items()}
    channels = {channel: CHANNEL_NAMES[channel] for channel in OFFLINE_CHANNELS}
    with services().database.session() as db:
        items = {
            "kind": _radios(onbehalf.KIND_LABELS, values.get("kind")),
            "channel": _radios(channels, values.get("channel")),
            "language": _select(languages, values.get("language"), "Choose a language"),
            "service": _select(
                onbehalf.topics(db, flows, "complaint"), values.get("service"), "Choose a service"
            ),
            "survey": _select(
                onbehalf.topics(db, flows, "survey"), values.get("survey"), "Choose a survey"
            ),
            "opportunity": _select(
                onbehalf.topics(db, flows, "interest"), values.get("opportunity"), "Choose one"
            ),
            "updates_by": _radios(onbehalf.UPDATES_BY, values.get("updates_by")),
        }
    return render_template(
        "console/feedback_new.html",
        values=values,
        errors=errors or {},
        items=items,
        max_words=onbehalf.MAX_WORDS,
    ), (400 if errors else 200)


@blueprint.get("/feedback/new")
@role_required(*ROLES)
def feedback_new() -> Any:
    """The empty form."""
    return _form_page({})


@blueprint.post("/feedback/new")
@role_required(*ROLES)
def feedback_take() -> Any:
    """Keep what staff took down, or show the form again saying what is wrong."""
    values = {field: request.form.get(field, "") for field in FIELDS}
    kind = values["kind"]
    topic_field = TOPIC_FIELD.get(kind, "service")
    given = onbehalf.Given(
        kind=kind,
        channel=values["channel"],
        language=values["language"],
        words=values["words"],
        service=values[topic_field],
        name=values["name"],
        phone=values["phone"],
        postal_address=values["postal_address"],
        updates_by=values["updates_by"],
        consent=values["consent"],
    )
    try:
        with services().database.session() as db:
            taken = onbehalf.record(
                db,
                given,
                user_id=current_user.id,
                now=services().clock(),
                i18n=services().i18n,
                flows=services().flows,
                settings=services().settings,
            )
    except onbehalf.TakeError as error:
        errors = dict(error.errors)
        if "service" in errors:
            errors[topic_field] = errors.pop("service")
        return _form_page(values, errors)
    how = {
        "sms": "Updates go to them by text message.",
        "call": "Updates become tasks to call them.",
        "letter": "Updates become tasks to write to them.",
        "none": "They will not be sent updates.",
    }[given.updates_by.strip()]
    if taken.reference is not None:
        flash(f"{onbehalf.KIND_LABELS[taken.kind]} {taken.reference} recorded. {how}")
        return redirect(url_for("console.case", reference=taken.reference))
    flash(f"{onbehalf.KIND_LABELS[taken.kind]} recorded. {how}")
    return redirect(url_for("console.feedback_new"))
