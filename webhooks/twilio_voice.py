"""Twilio's voice webhooks: a call to the voice line, its keys, recordings and status.

Each request is verified exactly as the message webhooks are (webhooks/twilio.py
`verified_form`: the signature over KOTHA_PUBLIC_URL and the form), handed to the voice line
(bot/casework/voiceline.py), and answered with TwiML built by the twilio SDK.

The routes, all under /webhooks/twilio/voice:
- `` (the number's "a call comes in" URL): the greeting and the languages, then a Gather.
- `/gather`: the keys pressed (a Gather's action), or a recording finished while the caller
  is still on the line (a Record's action, which names the recording).
- `/recording`: a recording is ready (recordingStatusCallback), also after a hang-up.
- `/status`: the call's status changed (the number's status callback URL).
- `GET /prompts/<id>`: a prompt's recording, which a <Play> names (the council's words,
  nobody's data: Twilio fetches it without credentials).

The turn (`n`) and the keys missed in a row (`miss`) travel in each action's query, which
Twilio signs with the rest: a replayed request is the same turn, stored once.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from flask import Blueprint, Response, current_app, request, url_for
from twilio.twiml.voice_response import Gather, VoiceResponse
from werkzeug.datastructures import MultiDict

from bot.casework.voiceline import Spoken, Turn
from bot.settings import Settings
from storage.db import Database
from storage.models import VoicePrompt
from webhooks.twilio import (
    MAX_ADDRESS,
    MAX_MEDIA_URL,
    MAX_SID,
    MAX_STATUS,
    MalformedRequest,
    core_failed,
    form_field,
    refuse,
    short_id,
    verified_form,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_voice_webhook", __name__, url_prefix="/webhooks/twilio/voice")

# Twilio's text-to-speech for each language the line speaks: the language and a voice that
# speaks it (Twilio has no Sylheti one: bot/i18n.py `on_channel`). <Say>'s `voice` takes
# "Any of the Twilio-supported Google Voices, e.g. Google.en-GB-Standard-A", and a voice
# must match its `language` (https://www.twilio.com/docs/voice/twiml/say; the list is on
# https://www.twilio.com/docs/voice/twiml/say/text-speech). Recent copies of that list give
# bn-IN only Google.bn-IN-Standard-C and -D and Wavenet-C and -D; -A appears only in older
# ones, so the line uses Standard-C, in every copy. Check it in Twilio's console at set-up.
VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-GB", "Google.en-GB-Standard-A"),
    "bn": ("bn-IN", "Google.bn-IN-Standard-C"),
}
# How long the line waits for a key, and for the caller to start speaking after the tone.
KEY_TIMEOUT_SECONDS = 8
SILENCE_TIMEOUT_SECONDS = 5
# A recording is at most 5 minutes: what happened, in the caller's own words.
MAX_RECORDING_SECONDS = 300
# The turn numbers and counts an action's query carries: small whole numbers.
MAX_TURN = 10_000
# A reference ("C-123456") read as a number would be "one hundred and twenty-three
# thousand...": it is read a character at a time, a pause between each, and then again, so a
# caller with no pen at hand the first time can write it down the second.
REFERENCE = re.compile(r"\b([A-Z])-(\d{4,10})\b")
# Twilio's call and recording SIDs: two letters and 32 hexadecimal digits. The core keys
# what it stores on them (a turn is "CallSid/n"), so nothing else is taken.
# The states Twilio reports for a call; any other value is acknowledged and ignored.
CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "no-answer",
        "failed",
        "canceled",
    }
)
# What Twilio puts in From when the caller withheld their number. Such callers cannot be
# told apart, so each call is a caller of its own ("withheld:CA…"), never one conversation
# shared by strangers.
WITHHELD = frozenset(
    {
        "anonymous",
        "restricted",
        "unknown",
        "private",
        "+266696687",
        "+7378742833",
        "+2562533",
        "+86282452253",
    }
)
# A caller's number as Twilio gives it: E.164, or a SIP or client identity; no controls.
CALLER = re.compile(r"[^\x00-\x1f\x7f]+")
CALL_SID = re.compile(r"CA[0-9a-f]{32}")
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")


class _Line(Protocol):
    def answer(self, call_sid: str, caller: str) -> Turn: ...

    def pressed(self, call_sid: str, digits: str, turn: str, misses: int) -> Turn: ...

    def recorded(
        self, call_sid: str, recording_sid: str, url: str, duration: int, *, live: bool
    ) -> Turn | None: ...

    def ended(self, call_sid: str, status: str) -> None: ...


class _Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def voice(self) -> _Line: ...

    @property
    def database(self) -> Database: ...


def _services() -> _Services:
    services: _Services = current_app.extensions["kotha"]
    return services


def spelled(text: str) -> str:
    """The text with each reference spelled out a character at a time, twice, for a voice."""

    def twice(match: re.Match[str]) -> str:
        once = ", ".join((match[1], *match[2]))
        return f"{once}. {once}"

    return REFERENCE.sub(twice, text)


def _say(parent: VoiceResponse | Gather, spoken: Spoken) -> None:
    """A person's recording of the words where staff uploaded one, else the machine voice."""
    if spoken.recording is not None:
        parent.play(_callback("prompt_audio", prompt_id=spoken.recording))
        return
    language, voice = VOICES.get(spoken.language, VOICES["en"])
    parent.say(spelled(spoken.text), language=language, voice=voice)


def _callback(endpoint: str, **query: Any) -> str:
    """The URL Twilio calls back (and signs): on KOTHA_PUBLIC_URL behind a proxy."""
    path = url_for(f"twilio_voice_webhook.{endpoint}", **query)
    base = _services().settings.public_url or request.host_url
    return base.rstrip("/") + path


def _action(turn: int, misses: int) -> str:
    """The URL Twilio calls with what happened at this turn."""
    return _callback("gather", n=turn, miss=misses)


def twiml(turn: Turn, number: int, misses: int) -> Response:
    """TwiML for one turn of the call: its words, then a Gather, a Record, a Dial or Hangup."""
    response = VoiceResponse()
    if turn.listen == "digits":
        gather = Gather(
            num_digits=1,
            timeout=KEY_TIMEOUT_SECONDS,
            action=_action(number + 1, misses),
            method="POST",
            action_on_empty_result=True,
        )
        for spoken in turn.say:
            _say(gather, spoken)
        response.append(gather)
    else:
        for spoken in turn.say:
            _say(response, spoken)
    if turn.listen == "record":
        response.record(
            action=_action(number + 1, 0),
            method="POST",
            max_length=MAX_RECORDING_SECONDS,
            timeout=SILENCE_TIMEOUT_SECONDS,
            finish_on_key="#",
            play_beep=True,
            recording_status_callback=_callback("recording"),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        # Nothing recorded (silence to the timeout): Twilio goes on to the next verb, which
        # counts as no key pressed.
        response.redirect(_action(number + 1, misses), method="POST")
    elif turn.listen == "transfer" and turn.transfer_to:
        response.dial(turn.transfer_to)
    elif turn.listen == "hangup":
        response.hangup()
    return Response(str(response), status=200, mimetype="text/xml")


def _recording_url(form: MultiDict[str, str]) -> str:
    """The recording's URL: a web address (fetched later from Twilio's hosts only,
    bot/channels/media.py), or "" when there is none."""
    url = form_field(form, "RecordingUrl", MAX_MEDIA_URL)
    web = url.startswith(("https://", "http://"))
    if url and not (web and CALLER.fullmatch(url) and " " not in url):
        raise MalformedRequest("RecordingUrl is not a web address")
    return url


def _small_number(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > MAX_TURN:
        raise MalformedRequest(f"bad {name}")
    return int(text)


def _form() -> MultiDict[str, str] | Response:
    return verified_form(_services().settings)


def _sid(form: MultiDict[str, str], name: str, pattern: re.Pattern[str]) -> str:
    """A SID Twilio sent, or "" when there is none; MalformedRequest when it is not one."""
    value = form_field(form, name, MAX_SID)
    if value and not pattern.fullmatch(value):
        raise MalformedRequest(f"{name} is not a Twilio SID")
    return value


@blueprint.post("")
def incoming() -> Response:
    """A call comes in: the greeting and the choice of language."""
    form = _form()
    if isinstance(form, Response):
        return form
    try:
        call_sid = _sid(form, "CallSid", CALL_SID)
        caller = form_field(form, "From", MAX_ADDRESS)
    except MalformedRequest as error:
        return refuse(str(error), 400)
    if not call_sid or not caller:
        return refuse("missing CallSid or From", 400)
    if not CALLER.fullmatch(caller):
        return refuse("From is not a caller's number", 400)
    if caller.lower() in WITHHELD:
        caller = f"withheld:{call_sid}"
    try:
        turn = _services().voice.answer(call_sid, caller)
    except Exception as error:
        return core_failed("call", call_sid, error)
    log.info("twilio call %s answered", short_id(call_sid))
    return twiml(turn, 0, 0)


@blueprint.post("/gather")
def gather() -> Response:
    """The keys a caller pressed, or a recording they finished, at turn `n`."""
    form = _form()
    if isinstance(form, Response):
        return form
    try:
        call_sid = _sid(form, "CallSid", CALL_SID)
        digits = form_field(form, "Digits", MAX_STATUS).strip()
        recording_sid = _sid(form, "RecordingSid", RECORDING_SID)
        url = _recording_url(form)
        duration = _small_number(form.get("RecordingDuration", "0") or "0", "RecordingDuration")
        number = _small_number(request.args.get("n", "0"), "turn")
        misses = _small_number(request.args.get("miss", "0"), "miss")
    except MalformedRequest as error:
        return refuse(str(error), 400)
    if not call_sid:
        return refuse("missing CallSid", 400)
    line = _services().voice
    try:
        turn: Turn | None
        if recording_sid:
            turn = line.recorded(call_sid, recording_sid, url, duration, live=True)
        else:
            missed = misses + 1 if not digits else 0
            turn = line.pressed(call_sid, digits[:1], str(number), missed)
            misses = missed
    except Exception as error:
        return core_failed("keys", call_sid, error)
    if turn is None:  # a call not known: nothing to say
        response = VoiceResponse()
        response.hangup()
        return Response(str(response), status=200, mimetype="text/xml")
    return twiml(turn, number, misses)


@blueprint.post("/recording")
def recording() -> Response:
    """A recording is ready: kept as the caller's answer even if they hung up after it."""
    form = _form()
    if isinstance(form, Response):
        return form
    try:
        call_sid = _sid(form, "CallSid", CALL_SID)
        recording_sid = _sid(form, "RecordingSid", RECORDING_SID)
        url = _recording_url(form)
        duration = _small_number(form.get("RecordingDuration", "0") or "0", "RecordingDuration")
        state = form_field(form, "RecordingStatus", MAX_STATUS)
    except MalformedRequest as error:
        return refuse(str(error), 400)
    if not call_sid or not recording_sid:
        return refuse("missing CallSid or RecordingSid", 400)
    if state and state != "completed":
        log.info("twilio recording %s: status %r ignored", short_id(recording_sid), state)
        return Response(status=200)
    try:
        _services().voice.recorded(call_sid, recording_sid, url, duration, live=False)
    except Exception as error:
        return core_failed("recording", recording_sid, error)
    return Response(status=200)


@blueprint.post("/status")
def status() -> Response:
    """The call's status: once it has ended, what the caller said so far is kept."""
    form = _form()
    if isinstance(form, Response):
        return form
    try:
        call_sid = _sid(form, "CallSid", CALL_SID)
        state = form_field(form, "CallStatus", MAX_STATUS).lower()
    except MalformedRequest as error:
        return refuse(str(error), 400)
    if not call_sid or not state:
        return refuse("missing CallSid or CallStatus", 400)
    if state not in CALL_STATUSES:
        log.info("twilio call %s: ignored status %r", short_id(call_sid), state[:MAX_STATUS])
        return Response(status=200)
    try:
        _services().voice.ended(call_sid, state)
    except Exception as error:
        return core_failed("call status", call_sid, error)
    return Response(status=200)


@blueprint.get("/prompts/<int:prompt_id>")
def prompt_audio(prompt_id: int) -> Response:
    """A recording of one of the line's prompts, for Twilio's <Play>."""
    with _services().database.session() as session:
        found = session.get(VoicePrompt, prompt_id)
        if found is None:
            return Response("no such prompt\n", status=404, mimetype="text/plain")
        response = Response(found.content, status=200, mimetype=found.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
