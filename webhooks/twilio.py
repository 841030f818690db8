"""Twilio's webhooks for SMS and WhatsApp: verify the signature, parse, hand over, answer fast."""

from __future__ import annotations

import logging
import re
from typing import Protocol
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from bot.settings import Settings
from bot.types import LOCATION, Channel, InboundMessage, Media

log = logging.getLogger(__name__)

blueprint = Blueprint("twilio_webhook", __name__, url_prefix="/webhooks/twilio")

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"

# A Body is at most 1,600 characters over SMS and 4,096 over WhatsApp. Percent-encoded UTF-8
# costs 9 bytes per Bengali letter and 12 per emoji, so the largest real body stays under
# 50 KiB with every other field (about 2 KiB); anything past 64 KiB is not Twilio.
MAX_BODY_BYTES = 64 * 1024
# Twilio attaches at most 10 media items to one message; a message has about 40 fields.
MAX_MEDIA = 10
MAX_FIELDS = 200

# Replies go out later through the REST API, so the webhook answers with nothing to say.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# The outbound states Twilio reports that the core tracks. Others (accepted, scheduled,
# canceled, partially_delivered) are acknowledged and ignored.
DELIVERY_STATUSES = frozenset(
    {"queued", "sending", "sent", "delivered", "undelivered", "failed", "read"}
)

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class MalformedRequest(ValueError):
    """The request is not one Twilio could have sent; the message says what is wrong."""


class _Received(Protocol):
    @property
    def duplicate(self) -> bool: ...

    @property
    def message_id(self) -> int: ...


class _Runner(Protocol):
    def receive(self, message: InboundMessage) -> _Received: ...


class _Delivery(Protocol):
    def record_status(self, provider_id: str, status: str, error_code: str | None) -> bool: ...


class _Services(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def runner(self) -> _Runner: ...

    @property
    def delivery(self) -> _Delivery: ...


def parse_form(body: bytes) -> MultiDict[str, str]:
    """Decode a form-encoded body strictly, raising MalformedRequest where Werkzeug would guess.

    Werkzeug keeps a bad escape such as `%FF` as literal text; a person's words must arrive
    as sent or not at all.
    """
    if _BAD_ESCAPE.search(body):
        raise MalformedRequest("bad percent-encoding")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError as error:
        raise MalformedRequest("not a UTF-8 form-encoded body") from error
    return MultiDict(pairs)


def parse_inbound(form: MultiDict[str, str]) -> InboundMessage:
    """Turn the fields of Twilio's incoming-message webhook into an InboundMessage."""
    sender = form.get("From", "")
    provider_id = form.get("MessageSid", "")
    if not sender:
        raise MalformedRequest("missing From")
    if not provider_id:
        raise MalformedRequest("missing MessageSid")
    channel: Channel = "sms"
    address = sender
    prefix, colon, rest = sender.partition(":")
    if colon:
        if prefix != "whatsapp" or not rest:
            raise MalformedRequest("From is not an SMS or WhatsApp address")
        channel, address = "whatsapp", rest
    return InboundMessage(
        channel=channel,
        address=address,
        text=form.get("Body", ""),
        provider_id=provider_id,
        media=(*_media(form), *_location(form)),
    )


def _media(form: MultiDict[str, str]) -> tuple[Media, ...]:
    count_text = form.get("NumMedia", "0") or "0"
    if not count_text.isascii() or not count_text.isdigit() or int(count_text) > MAX_MEDIA:
        raise MalformedRequest("bad NumMedia")
    media = []
    for index in range(int(count_text)):
        url = form.get(f"MediaUrl{index}", "")
        content_type = form.get(f"MediaContentType{index}", "")
        if not url or not content_type:
            raise MalformedRequest(f"missing MediaUrl{index} or MediaContentType{index}")
        media.append(Media(url=url, content_type=content_type))
    return tuple(media)


def _location(form: MultiDict[str, str]) -> tuple[Media, ...]:
    """A location shared on WhatsApp: Twilio sends it as Latitude and Longitude, no media."""
    latitude, longitude = form.get("Latitude"), form.get("Longitude")
    if latitude is None and longitude is None:
        return ()
    try:
        north, east = float(latitude or ""), float(longitude or "")
    except ValueError as error:
        raise MalformedRequest("Latitude and Longitude are not numbers") from error
    if not (-90 <= north <= 90 and -180 <= east <= 180):
        raise MalformedRequest("Latitude or Longitude out of range")
    return (Media(url=f"geo:{north},{east}", content_type=LOCATION),)


def signed_url(settings: Settings) -> str:
    """Return the URL Twilio signed: the public one when Kotha sits behind a proxy.

    A proxy changes scheme and host, so KOTHA_PUBLIC_URL (the base URL Twilio calls) wins
    over what the request says. The query is kept byte for byte: `request.url` would decode
    escapes such as `%2F`, and Twilio signs the URL exactly as it was configured.
    """
    query = request.query_string.decode("utf-8", "replace")
    suffix = f"?{query}" if query else ""
    if settings.public_url:
        return settings.public_url.rstrip("/") + request.path + suffix
    return request.base_url + suffix


def _services() -> _Services:
    services: _Services = current_app.extensions["kotha"]
    return services


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


def _read_body() -> bytes:
    """Read at most MAX_BODY_BYTES of the body, whatever MAX_CONTENT_LENGTH the app has set."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    # Without a Content-Length (chunked), read one byte past the limit to notice an overflow.
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return body


def _verified_form(settings: Settings) -> MultiDict[str, str] | Response:
    """Read, decode and verify the signed form, or return the response refusing it."""
    if not settings.twilio_auth_token:
        return _plain("Twilio is not configured", 403)
    try:
        body = _read_body()
    except RequestEntityTooLarge:
        return _plain("request body too large", 413)
    except ClientDisconnected:
        return _plain("request body incomplete", 400)
    if request.mimetype != FORM_TYPE:
        return _plain("expected a form-encoded body", 400)
    try:
        form = parse_form(body)
    except MalformedRequest as error:
        return _plain(str(error), 400)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    validator = RequestValidator(settings.twilio_auth_token)
    if not signature or not validator.validate(signed_url(settings), form, signature):
        log.warning("twilio %s: refused a request with a missing or wrong signature", request.path)
        return _plain("bad signature", 403)
    return form


def _core_failed(what: str, provider_id: str, error: Exception) -> Response:
    # The exception's text may quote SQL parameters (numbers, words), so only its type is
    # logged. Under app.testing the error is raised instead, so tests see the traceback.
    if current_app.testing:
        raise error
    log.error("twilio %s %s: the core failed (%s)", what, provider_id, type(error).__name__)
    return _plain("not stored, try again", 503)


@blueprint.post("/messages")
def messages() -> Response:
    """Receive one SMS or WhatsApp message and hand it to the runner."""
    services = _services()
    form = _verified_form(services.settings)
    if isinstance(form, Response):
        return form
    try:
        message = parse_inbound(form)
    except MalformedRequest as error:
        return _plain(str(error), 400)
    try:
        received = services.runner.receive(message)
    except Exception as error:
        return _core_failed("inbound", form["MessageSid"], error)
    log.info(
        "twilio inbound %s on %s%s",
        form["MessageSid"],
        message.channel,
        " (duplicate)" if received.duplicate else "",
    )
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@blueprint.post("/status")
def status() -> Response:
    """Receive one status callback for a message Kotha sent and hand it to delivery."""
    services = _services()
    form = _verified_form(services.settings)
    if isinstance(form, Response):
        return form
    provider_id = form.get("MessageSid") or form.get("SmsSid") or ""
    state = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not provider_id or not state:
        return _plain("missing MessageSid or MessageStatus", 400)
    if state not in DELIVERY_STATUSES:
        log.info("twilio status %s: ignored status %r", provider_id, state[:32])
        return Response(status=200)
    error_code = form.get("ErrorCode") or None
    try:
        services.delivery.record_status(provider_id, state, error_code)
    except Exception as error:
        return _core_failed("status", provider_id, error)
    return Response(status=200)
