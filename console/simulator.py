"""A phone in the browser: talk to the bot as an SMS, WhatsApp or Telegram user.

Its phone call mode (console/simulator_call.py, on the same blueprint) calls the voice line.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.services import services
from bot.types import CHANNEL_NAMES, CHANNELS, InboundMessage
from console.auth import login_manager
from console.public import page_language, public_context
from console.wording import text_lang
from flows.texts import N_
from storage.models import SIMULATED_PREFIX, Address, Message

blueprint = Blueprint("simulator", __name__, template_folder="templates")
blueprint.context_processor(public_context)

# Simulated people get addresses that no provider would route; the dispatcher hands the
# replies to them to its console sender, so nothing said here reaches a real phone.
PREFIX = SIMULATED_PREFIX
ADDRESS = re.compile(r"sim:[0-9a-f]{8}")
MAX_SHOWN = 200
# Each message sent is a step of the bot and rows in the database: one browser may send a
# message a second on average (people type slower), in bursts of up to a minute's worth.
SENDS_PER_ADDRESS = parse("60/minute")
# The page needs no script at all: forbid every script, so a message that slipped past
# escaping still could not run.
# (The app adds the other security headers: bot/web_guards.py.)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; font-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}
# The page's words (console/public.py puts them in the language asked for).
WORDS = {
    "title": N_("Kotha simulator"),
    "intro": N_("Talk to the bot as a person would, on the phone they have."),
    "nothing_real": N_("Nothing here reaches a real phone."),
    "channel_menu": N_("Channel"),
    "conversation": N_("Conversation"),
    "you": N_("You:"),
    "kotha": N_("Kotha:"),
    "waiting": N_("(not written yet: waiting to be sent)"),
    "start": N_('Send any message to start, for example "Hello".'),
    "your_message": N_("Your message"),
    "send": N_("Send"),
    # The phone call mode (console/simulator_call.py).
    "call_mode": N_("Phone call"),
    "call_intro": N_(
        "Call the voice line as a caller would: press keys, and speak by sending a recording."
    ),
    "start_call": N_("Call the voice line"),
    "line_says": N_("The line says"),
    "prompt_recording": N_("A person's recording of these words"),
    "keypad": N_("Keypad"),
    "no_key": N_("Press no key (let the time pass)"),
    "hang_up": N_("Hang up"),
    "your_recording": N_("Your recording, as a sound file"),
    "recording_hint": N_("MP3, WAV, Ogg or M4A, up to 5 MB."),
    "send_recording": N_("Send the recording"),
    "say_nothing": N_("Say nothing (let the time pass)"),
    "record": N_("Record in the browser"),
    "stop": N_("Stop recording"),
    "recording_now": N_("Recording. Press Stop recording when you have finished."),
    "recorded": N_("Recorded. Send the recording, or record again."),
    "no_microphone": N_("The browser could not use a microphone. Choose a sound file instead."),
    "empty_file": N_("No sound was sent. Choose a sound file, or record one."),
    "too_big": N_("That file is too large. Choose one of 5 MB or less."),
    "not_audio": N_(
        "That file is not a sound Kotha can play. Choose an MP3, WAV, Ogg or M4A file."
    ),
    "ended": N_("The call has ended."),
    "transfer": N_(
        "A real call would be put through to a member of staff now."
        " The simulator puts no calls through."
    ),
    "kept_as": N_("What you said is kept as feedback {reference}."),
    "call_again": N_("Call again"),
}


def address_of(raw: str | None) -> str:
    """Return the simulated address given, or "" when it is not one the simulator made."""
    value = raw or ""
    return value if ADDRESS.fullmatch(value) else ""


def new_address() -> str:
    return f"{PREFIX}{secrets.token_hex(4)}"


def _page_url(channel: str, address: str, language: str | None = None) -> str:
    values: dict[str, Any] = {"channel": channel, "as": address}
    if language:
        values["lang"] = language
    return url_for("simulator.page", **values)


def _transcript(channel: str, address: str) -> list[Message]:
    with services().database.session() as session:
        address_id = session.scalar(
            select(Address.id).where(Address.channel == channel, Address.address == address)
        )
        if address_id is None:
            return []
        rows = session.scalars(
            select(Message)
            .where(Message.address_id == address_id)
            .order_by(Message.id.desc())
            .limit(MAX_SHOWN)
        ).all()
        return list(reversed(rows))


def init_app(app: Flask) -> None:
    """Give the app the simulator's limit on sends (in memory, or shared in Redis)."""
    redis_url = app.extensions["kotha"].settings.redis_url
    storage = storage_from_string(redis_url or "memory://")
    app.extensions["kotha_simulator_limiter"] = MovingWindowRateLimiter(storage)
    # On the app, so that it runs before the CSRF check: a simulator that is off is not there.
    app.before_request(_open_to_whom)


def allow_send() -> None:
    """Count one send from this browser's address; 429 when it has sent too many."""
    limiter: MovingWindowRateLimiter = current_app.extensions["kotha_simulator_limiter"]
    if not limiter.hit(SENDS_PER_ADDRESS, "kotha-simulator", request.remote_addr or "unknown"):
        abort(429, "Too many messages: wait a minute.")


def _open_to_whom() -> ResponseReturnValue | None:
    """Off: there is no simulator (404). Staff: only signed-in console accounts may use it."""
    if request.blueprint != blueprint.name:
        return None
    access = services().settings.simulator_access
    if access == "off":
        abort(404)
    if access == "staff" and not current_user.is_authenticated:
        sign_in_first: ResponseReturnValue = login_manager.unauthorized()
        return sign_in_first
    return None


@blueprint.after_request
def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@blueprint.get("/simulator")
def page() -> Any:
    channel = request.args.get("channel", "sms")
    if channel not in CHANNELS:
        channel = "sms"
    address = address_of(request.args.get("as"))
    if not address:
        return redirect(_page_url(channel, new_address(), request.args.get("lang")))
    return render_template(
        "simulator.html",
        channel=channel,
        channels=CHANNELS,
        channel_names=CHANNEL_NAMES,
        address=address,
        messages=_transcript(channel, address),
        words=WORDS,
        text_lang=text_lang,
        home_url=lambda other: url_for("simulator.page", channel=channel, lang=other),
    )


@blueprint.post("/simulator")
def send() -> Response:
    channel = request.form.get("channel", "")
    address = address_of(request.form.get("as"))
    if channel not in CHANNELS or not address:
        abort(400, "Choose a channel and keep the simulator's address.")
    allow_send()
    # Browsers submit a textarea's line breaks as CRLF; phones send LF.
    text = request.form.get("text", "").replace("\r\n", "\n")
    app_services = services()
    received = app_services.runner.receive(
        InboundMessage(channel=channel, address=address, text=text), process_now=True
    )
    # Under `kotha run` replies go through the job queue. A simulated person's replies go to
    # the console sender, so deliver them now and the page shows them at once; a delivery is
    # claimed atomically, so the queue's own attempt later finds it done.
    for message_id in received.outbound_ids:
        app_services.dispatcher.deliver(message_id)
    # No #latest fragment: browsers skip autofocus when the URL names an element, and the
    # message box must have the focus again for keyboard users. Focusing it scrolls the
    # newest messages, just above it, into view.
    return redirect(_page_url(channel, address, page_language().code))
