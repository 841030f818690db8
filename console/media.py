"""The voice notes and photos people sent, served to the console, and staff's notes of them.

`GET /console/media/<message_id>/<n>` answers with the n-th file (from 0) of a message a person
sent, fetched through the app with the provider's credentials from the provider's own hosts
and kept a while (bot/casework/media.py), served as the sound or picture its bytes are:
`Content-Disposition: inline`, `nosniff`, a policy that runs nothing, never cached by the
browser. Anything else gets a short sentence saying why, as plain text, with a 4xx or 5xx
status the browser's player shows as a failure to load. Each look is in the audit log.

`POST /console/media/<message_id>/<n>/note` keeps staff's transcript and English
translation of it, and shows the page the form was on again.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, request, url_for
from flask_login import current_user

from bot.casework.accounts import record_audit
from bot.casework.media import MediaRef, MediaStore, NoteError, NoteRequest, find_media, save_note
from bot.channels.media import MediaError
from bot.services import services
from console import cases, conversations
from console.auth import blueprint, role_required

VIEW_ROLES = conversations.VIEW_ROLES
# Staff who answer people write down what they said; moderators read it.
NOTE_ROLES = conversations.NOTE_ROLES
# The served file runs nothing and is shown only inside the console's own pages.
FILE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"


def media_store() -> MediaStore:
    """The app's media store, made once from its settings."""
    found: MediaStore | None = current_app.extensions.get("kotha_media")
    if found is None:
        found = current_app.extensions["kotha_media"] = MediaStore.of(services().settings)
    return found


def _refusal(error: MediaError) -> Response:
    response = Response(str(error) + "\n", status=error.status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _find(message_id: int, index: int) -> MediaRef:
    """The file asked for, if this role may see it (hidden people only for moderators)."""
    with services().database.session() as db:
        ref = find_media(db, message_id, index)
    if ref.hidden and current_user.role not in conversations.SEE_ORIGINAL_ROLES:
        raise MediaError("There is no such message from a person.", 404)
    return ref


@blueprint.get("/media/<int:message_id>/<int:index>")
@role_required(*VIEW_ROLES)
def media_file(message_id: int, index: int) -> Any:
    """One file a person sent, fetched from its provider (or the cache) and served safely."""
    try:
        ref = _find(message_id, index)
        # A player asks again for each part it plays: the first ask is the look.
        if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
            with services().database.session() as db:
                record_audit(
                    db,
                    current_user.id,
                    "media.viewed",
                    "address",
                    ref.address_id,
                    {"message_id": message_id, "index": index},
                    now=services().clock(),
                )
        # Outside any transaction: a slow provider must not hold the database.
        stored = media_store().load(ref.url)
    except MediaError as error:
        return _refusal(error)
    try:
        data = stored.path.read_bytes()
    except FileNotFoundError:  # made room for another meanwhile: the next look fetches it
        return _refusal(MediaError("The file was just cleared away. Try again.", 503))
    return inline_file(data, stored.content_type, "private, no-store")


def inline_file(data: bytes, content_type: str, cache_control: str) -> Response:
    """A sound or picture file for a page's player, whole in memory (files are at most
    KOTHA_MEDIA_MAX_MB): a player's Range asks are answered from it (206), and it can run
    nothing and be framed by nobody."""
    response = Response(data, mimetype=content_type)
    response.make_conditional(request, accept_ranges=True, complete_length=len(data))
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = cache_control
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@blueprint.post("/media/<int:message_id>/<int:index>/note")
@role_required(*NOTE_ROLES)
def media_note(message_id: int, index: int) -> Any:
    """Keep staff's transcript and translation of a file; show the page it was written on."""
    back = request.form.get("back", "")
    reference = back.removeprefix("case:") if back.startswith("case:") else None
    note = NoteRequest(
        transcript=request.form.get("transcript", ""),
        translation=request.form.get("translation", ""),
        language=request.form.get("language", ""),
    )
    try:
        ref = _find(message_id, index)
    except MediaError as error:
        return _refusal(error)
    field = f"note-{message_id}-{index}"
    try:
        with services().database.session() as db:
            now = services().clock()
            save_note(db, ref, note, services().i18n.languages, current_user.id, now)
            record_audit(
                db,
                current_user.id,
                "media.noted",
                "address",
                ref.address_id,
                {"message_id": message_id, "index": index, "language": note.language or None},
                now=now,
            )
    except NoteError as error:
        errors = {f"{field}-transcript": str(error)}
        form = {"note": field, **request.form}
        if reference is not None:
            return cases.case_page(reference, errors, form)
        return conversations.conversation_page(ref.address_id, errors, form)
    flash("What was said is kept beside the file.")
    if reference is not None:
        return redirect(url_for("console.case", reference=reference, _anchor=field))
    return redirect(url_for("console.conversation", address_id=ref.address_id, _anchor=field))
