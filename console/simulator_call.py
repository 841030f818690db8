"""The simulator's phone call: call the voice line from the browser, with a keypad.

A simulated call is a call to the voice line by a simulated caller (`sim:…`, channel
`voice`), run by the same `VoiceLine` methods Twilio's webhooks call
(webhooks/twilio_voice.py): `answer`, `pressed`, `recorded`, `ended`. So it goes through
the same flows and engine, keeps the same feedback and reference, and its recording becomes
the feedback's media as a real call's does.

The page works without script, like the rest of the simulator. Each answer is a page of
its own: what the line says (its words, in their language, and a person's recording of them
where staff uploaded one), then what it waits for: a key (form buttons, "no key" among
them), a recording (a sound file chosen; or, with script, recorded in the browser by
static/simulator-record.js, which puts the recording in the same file field), or nothing
(the call has ended). As Twilio does, each form carries the call, the turn it answers and
the keys missed in a row; a turn sent twice is stored once.

A recording is checked as a provider's file is (size, and sound by its bytes) and kept in
the console's media cache under a random key (bot/casework/media.py `keep_simulated`); the
console's media path serves it for simulated people only. Nothing here reaches a phone: a
simulated caller has no number, so no reference goes by SMS, and a call put through to
staff is only said.
"""

from __future__ import annotations

import io
import re
import secrets
import struct
import wave
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import Flask, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from bot.casework.voiceline import MIN_RECORDING_SECONDS, Turn
from bot.channels.media import MediaError
from bot.services import services
from bot.types import CHANNEL_NAMES, CHANNELS, VOICE
from console import simulator
from console.media import inline_file, media_store
from console.simulator import WORDS, address_of, allow_send, blueprint, new_address
from storage.models import Address, Feedback, VoiceCall, VoicePrompt

# The simulator's call ids: never a Twilio CallSid ("CA" and 32 hexadecimal digits), so no
# webhook can name a simulated call, nor this page a real one.
CALL_SID = re.compile(r"SIM[0-9a-f]{32}")
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
# Turns and misses travel in the forms, as in Twilio's action URLs: small whole numbers.
MAX_TURN = 10_000
# A recording's form: the file, and room for the rest of a multipart body.
FORM_ROOM = 64 * 1024
# The call's pages play the line's recordings from this app and run no script; the page
# that waits for a recording runs one of the app's own (recording in the browser) and may
# ask for the microphone. Nothing else.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; font-src 'self'; "
    "media-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": POLICY,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
RECORDING_HEADERS = {
    "Content-Security-Policy": f"{POLICY}; script-src 'self'",
    "Permissions-Policy": "camera=(), microphone=(self), geolocation=(), payment=()",
}
# Why a file was refused (bot/casework/media.py `keep_simulated`), in the page's words.
REFUSALS = {400: WORDS["empty_file"], 413: WORDS["too_big"], 415: WORDS["not_audio"]}


@dataclass(frozen=True)
class Call:
    """A simulated call as a form names it: its caller, its id, the turn it answers and the
    keys missed in a row before it."""

    address: str
    sid: str
    turn: int
    misses: int


@dataclass(frozen=True)
class Said:
    """One thing the line says, as the page shows it."""

    text: str
    language: str
    audio: str | None  # where the page plays a person's recording of it, if there is one


def init_app(app: Flask) -> None:
    """The simulator's set-up, and room for a recording in the one form that sends one."""
    simulator.init_app(app)
    # On the app, before the CSRF check reads the body: the app's limit is far smaller.
    app.before_request(_room_for_a_recording)


def _room_for_a_recording() -> None:
    if request.endpoint == "simulator.call_recording":
        request.max_content_length = media_store().simulated_max_bytes + FORM_ROOM


def _number(raw: str | None) -> int | None:
    value = raw or ""
    if not value.isascii() or not value.isdigit() or int(value) > MAX_TURN:
        return None
    return int(value)


def _call_in(values: Mapping[str, str]) -> Call | None:
    """The call a form (or a recording form's address) names, if it is well formed."""
    address = address_of(values.get("as"))
    sid = values.get("call", "")
    turn, misses = _number(values.get("n")), _number(values.get("miss"))
    if not address or not CALL_SID.fullmatch(sid) or turn is None or misses is None:
        return None
    return Call(address, sid, turn, misses)


def _known(call: Call) -> VoiceCall | None:
    """The call's row, if this simulated caller made it."""
    with services().database.session() as session:
        found = session.scalars(
            select(VoiceCall)
            .join(Address, Address.id == VoiceCall.address_id)
            .where(
                VoiceCall.call_sid == call.sid,
                Address.channel == VOICE,
                Address.address == call.address,
            )
        ).first()
        if found is not None:
            session.expunge(found)
        return found


def _asked_call() -> tuple[Call, VoiceCall]:
    """The call the request names (in its form, or a recording's address); 400 otherwise."""
    values = request.args if request.endpoint == "simulator.call_recording" else request.form
    call = _call_in(values)
    row = _known(call) if call is not None else None
    if call is None or row is None:
        abort(400, "Keep the simulated call's address.")
    return call, row


def _feedback_since(address_id: int, started: datetime) -> list[str]:
    """The references of what the caller told us in this call."""
    with services().database.session() as session:
        return list(
            session.scalars(
                select(Feedback.reference)
                .where(Feedback.address_id == address_id, Feedback.created_at >= started)
                .order_by(Feedback.id)
            )
        )


def _said(turn: Turn) -> list[Said]:
    return [
        Said(
            spoken.text,
            spoken.language,
            None
            if spoken.recording is None
            else url_for("simulator.call_prompt", prompt_id=spoken.recording),
        )
        for spoken in turn.say
    ]


def _page(
    address: str,
    *,
    call: Call | None = None,
    turn: Turn | None = None,
    ended: VoiceCall | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The call page: the line's last words and what it waits for, or how to call."""
    references = _feedback_since(ended.address_id, ended.started_at) if ended else []
    listen = None if ended is not None or turn is None else turn.listen
    html = render_template(
        "simulator_call.html",
        channel="call",
        channels=CHANNELS,
        channel_names=CHANNEL_NAMES,
        address=address,
        call=call,
        said=_said(turn) if turn is not None else [],
        listen=listen,
        transferred=turn is not None and turn.listen == "transfer",
        ended=ended is not None,
        references=references,
        error=error,
        keys=KEYS,
        words=WORDS,
        home_url=lambda other: url_for("simulator.call_page", **{"as": address, "lang": other}),
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(RECORDING_HEADERS if listen == "record" else SECURITY_HEADERS)
    return response


def _answered(call: Call, row: VoiceCall, turn: Turn | None, missed: int) -> Response:
    """The page after the line answered: the next turn's form, or the end of the call when
    the line hung up (or would put the caller through to staff, which the simulator never
    does), ended as Twilio's status callback would end it."""
    if turn is None or turn.listen in ("hangup", "transfer"):
        services().voice.ended(call.sid, "completed")
        return _page(call.address, turn=turn, ended=row)
    after = replace(call, turn=call.turn + 1, misses=missed)
    return _page(call.address, call=after, turn=turn)


def recording_seconds(data: bytes) -> int:
    """A recording's length in whole seconds, rounded down as Twilio's are: read from a
    WAV's header; a sound of another kind is taken as long enough to keep."""
    try:
        with wave.open(io.BytesIO(data)) as sound:
            frames: int = sound.getnframes()
            rate: int = sound.getframerate()
    except (wave.Error, EOFError, struct.error, ValueError):
        return MIN_RECORDING_SECONDS
    return frames // rate if rate else MIN_RECORDING_SECONDS


@blueprint.get("/simulator/call")
def call_page() -> ResponseReturnValue:
    """How to start a call, for this simulated caller."""
    address = address_of(request.args.get("as"))
    if not address:
        values: dict[str, Any] = {"as": new_address(), "lang": request.args.get("lang") or None}
        return redirect(url_for("simulator.call_page", **values))
    return _page(address)


@blueprint.post("/simulator/call")
def call_start() -> Response:
    """Call the voice line: it answers as a real call's first webhook is answered."""
    address = address_of(request.form.get("as"))
    if not address:
        abort(400, "Keep the simulator's address.")
    allow_send()
    sid = f"SIM{secrets.token_hex(16)}"
    turn = services().voice.answer(sid, address)
    return _page(address, call=Call(address, sid, 1, 0), turn=turn)


@blueprint.post("/simulator/call/turn")
def call_turn() -> Response:
    """A key pressed, no key before the time ran out, or the caller hanging up."""
    call, row = _asked_call()
    allow_send()
    line = services().voice
    if row.ended_at is not None:
        return _page(call.address, ended=row)
    if "hangup" in request.form:
        line.ended(call.sid, "completed")
        return _page(call.address, ended=row)
    key = request.form.get("key")
    if key == "":
        missed = call.misses + 1
        return _answered(call, row, line.pressed(call.sid, "", str(call.turn), missed), missed)
    if key not in KEYS:
        abort(400, "Press one of the keypad's keys.")
    return _answered(call, row, line.pressed(call.sid, key, str(call.turn), 0), 0)


@blueprint.post("/simulator/call/recording")
def call_recording() -> Response:
    """What the caller said: a sound file, kept as the caller's recording."""
    call, row = _asked_call()
    allow_send()
    if row.ended_at is not None:
        return _page(call.address, ended=row)
    upload = request.files.get("recording")
    data = upload.read(media_store().simulated_max_bytes + 1) if upload is not None else b""
    try:
        url = media_store().keep_simulated(data)
    except MediaError as error:
        return _refused(call, REFUSALS.get(error.status, WORDS["not_audio"]), error.status)
    recording_sid = f"SIMRE{secrets.token_hex(16)}"
    turn = services().voice.recorded(
        call.sid, recording_sid, url, recording_seconds(data), live=True
    )
    return _answered(call, row, turn, 0)


def _refused(call: Call, why: str, status: int) -> Response:
    """The question asked again (the line's `*`: nothing stored) with why the file was
    refused; the call goes on where it was."""
    turn = services().voice.pressed(call.sid, "*", str(call.turn), call.misses)
    return _page(call.address, call=call, turn=turn, error=why, status=status)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A recording far over the limit is refused before it is read: the call goes on."""
    if request.endpoint == "simulator.call_recording":
        call = _call_in(request.args)
        if call is not None and _known(call) is not None:
            return _refused(call, WORDS["too_big"], 413)
    return Response("Too large.\n", status=413, mimetype="text/plain")


@blueprint.get("/simulator/prompts/<int:prompt_id>")
def call_prompt(prompt_id: int) -> Any:
    """A person's recording of words the line says (the council's words, nobody's data)."""
    with services().database.session() as session:
        found = session.get(VoicePrompt, prompt_id)
        if found is None:
            abort(404)
        content, content_type = found.content, found.content_type
    return inline_file(content, content_type, "private, no-cache")
