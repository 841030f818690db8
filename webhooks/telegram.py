"""The Telegram webhook: verify the secret token, parse the update, hand it to the runner."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Protocol

from flask import Blueprint, Response, current_app, jsonify, request

from bot.channels.telegram_updates import UnreadableUpdate, read_update
from bot.types import InboundMessage

log = logging.getLogger(__name__)

blueprint = Blueprint("telegram_webhook", __name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# A real update is a few KiB at most (media arrive as file ids, never as bytes); the limit
# keeps a hostile caller from making us buffer and parse megabytes.
MAX_BODY_BYTES = 256 * 1024


class _Runner(Protocol):
    def receive(self, message: InboundMessage) -> Any: ...


def _secret_matches(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    # compare_digest refuses non-ASCII str, and a header may hold any Latin-1 character.
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _refuse(status: int, reason: str) -> Response:
    """Answer an update Kotha will not take, and log why (the reason, never a value sent)."""
    log.warning("telegram webhook refused (%d): %s", status, reason)
    return Response(reason + "\n", status=status, mimetype="text/plain")


@blueprint.post("/webhooks/telegram")
def receive() -> Response:
    """Receive one update Telegram pushes to us."""
    services = current_app.extensions["kotha"]
    settings = services.settings
    if not settings.telegram_bot_token or not settings.telegram_secret:
        return _refuse(403, "Telegram is not configured")
    # The secret token is a header: checked before the body is read, let alone parsed.
    if not _secret_matches(request.headers.get(SECRET_HEADER), settings.telegram_secret):
        return _refuse(403, "wrong secret token")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refuse(413, "update too large")
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _refuse(413, "update too large")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON and bad UTF-8.
        return _refuse(400, "not JSON")
    try:
        parsed = read_update(data)
    except UnreadableUpdate as error:
        return _refuse(400, f"not a Telegram update ({error})")

    runner: _Runner = services.runner
    if parsed.message is not None:
        # A runner failure is deliberately not caught: the 500 makes Telegram deliver the
        # update again, and the runner dedupes on provider_id.
        runner.receive(parsed.message)
    # What the update was, by kind only (never its words, names or numbers).
    log.info("telegram update %s: %s", data["update_id"], parsed.note)

    if parsed.callback_query_id is not None:
        # Telegram lets a webhook reply carry one Bot API call; answering the button press
        # here stops the spinner on the person's phone without a request of our own.
        return jsonify(method="answerCallbackQuery", callback_query_id=parsed.callback_query_id)
    return Response(status=200)
