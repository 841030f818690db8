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

from bot.channels.base import SendError
from bot.channels.twilio import delivery_error
from bot.settings import Settings
from bot.types import LOCATION, UNKNOWN_FILE_TYPE, Channel, InboundMessage, Media

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
# The longest values Kotha takes: Twilio's SIDs are 34 characters; an address is stored in 64
# (E.164 is at most 16); a status or error code is a word or a number. A longer value is
# not Twilio's, and is refused with 400: a 5xx would have Twilio try again and again.
MAX_SID = 64
MAX_ADDRESS = 64
MAX_STATUS = 32
MAX_MEDIA_URL = 2048
MAX_CONTENT_TYPE = 255
WHATSAPP_PREFIX = "whatsapp:"
# WhatsApp's business-scoped user id: a country code, a dot, letters and digits (up to 128);
# a parent id shared across businesses has ".ENT" after the country ("US.ENT.1181...").
BSUID = re.compile(r"[A-Z]{2}(?:\.ENT)?\.[A-Za-z0-9]{1,128}")

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
    def record_status(
        self,
        provider_id: str,
        status: str,
        error_code: str | None,
        *,
        error: SendError | None = None,
    ) -> bool: ...


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
    sender = form_field(form, "From", MAX_ADDRESS + len(WHATSAPP_PREFIX))
    provider_id = form_field(form, "MessageSid", MAX_SID)
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
    if len(address) > MAX_ADDRESS:
        raise MalformedRequest(f"From is longer than {MAX_ADDRESS} characters")
    return InboundMessage(
        channel=channel,
        address=address,
        text=form.get("Body", ""),
        provider_id=provider_id,
        media=(*_media(form), *_location(form)),
        external_user_id=_external_user_id(form, channel, address),
    )


def form_field(form: MultiDict[str, str], name: str, limit: int) -> str:
    """A field's value, refused when longer than any Twilio sends or holding a control
    character, which no id, number, status or URL of Twilio's has (a NUL cannot even be
    stored). The value is not quoted back."""
    value = form.get(name, "")
    if len(value) > limit:
        raise MalformedRequest(f"{name} is longer than {limit} characters")
    if not value.isprintable():
        raise MalformedRequest(f"{name} has characters Twilio never sends")
    return value


def _external_user_id(form: MultiDict[str, str], channel: Channel, address: str) -> str | None:
    """The WhatsApp user's business-scoped user id (BSUID), if Twilio sent a well-formed one.

    Twilio sends it as `ExternalUserId=whatsapp:US.1349...`, and puts it in `From` too when
    the person hides their number behind a user name. A malformed one is ignored, not refused:
    the message is still theirs (RapidPro's courier does the same).
    """
    if channel != "whatsapp":
        return None
    given = form.get("ExternalUserId", "").removeprefix(WHATSAPP_PREFIX)
    if BSUID.fullmatch(given):
        return given
    if given:
        log.info("twilio inbound: ignored an ExternalUserId that is not a business-scoped id")
    return address if BSUID.fullmatch(address) else None


def _media(form: MultiDict[str, str]) -> tuple[Media, ...]:
    count_text = form.get("NumMedia", "0") or "0"
    if not count_text.isascii() or not count_text.isdigit() or int(count_text) > MAX_MEDIA:
        raise MalformedRequest("bad NumMedia")
    media = []
    for index in range(int(count_text)):
        url = form_field(form, f"MediaUrl{index}", MAX_MEDIA_URL)
        content_type = form_field(form, f"MediaContentType{index}", MAX_CONTENT_TYPE)
        if not url:
            # Nothing to keep a reference to; the words of the message are still kept.
            log.warning("twilio inbound: MediaUrl%d missing, that item left out", index)
            continue
        if not content_type:
            # Seen in other projects' payloads: an MMS whose item has no type. The file is
            # kept with a type that says so rather than the whole message refused.
            log.info("twilio inbound: MediaContentType%d missing, kept as unknown", index)
        media.append(Media(url=url, content_type=content_type or UNKNOWN_FILE_TYPE))
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


def refuse(text: str, status: int) -> Response:
    """Answer a request Kotha will not take, and log why (the reason, never a value sent)."""
    log.warning("twilio %s refused (%d): %s", request.path, status, text)
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


def _signed_params(body: bytes) -> MultiDict[str, str]:
    """The form's fields as the signature covers them, decoded only as far as that needs.

    Twilio signs the URL followed by every field's name and value; nothing here judges the
    values, which are read strictly (parse_form) only once the signature holds. A body that
    is not UTF-8 is decoded with replacement characters, so its signature cannot match.
    """
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError as error:  # more fields than any Twilio request
        raise MalformedRequest("too many fields") from error
    return MultiDict(pairs)


def verified_form(settings: Settings) -> MultiDict[str, str] | Response:
    """Verify and decode the signed form, or return the response refusing it.

    In order, each step before any work the next costs: Twilio configured, a signature
    given, the size (before the body is read), the type, the signature over the bounded
    body, and only then the fields decoded strictly.
    """
    if not settings.twilio_auth_token:
        return refuse("Twilio is not configured", 403)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return refuse("missing signature", 403)
    if request.mimetype != FORM_TYPE:
        return refuse("expected a form-encoded body", 400)
    try:
        body = _read_body()
    except RequestEntityTooLarge:
        return refuse("request body too large", 413)
    except ClientDisconnected:
        return refuse("request body incomplete", 400)
    try:
        params = _signed_params(body)
    except MalformedRequest as error:
        return refuse(str(error), 400)
    validator = RequestValidator(settings.twilio_auth_token)
    if not validator.validate(signed_url(settings), params, signature):
        return refuse("bad signature", 403)
    try:
        return parse_form(body)
    except MalformedRequest as error:
        return refuse(str(error), 400)


def short_id(value: str) -> str:
    """A provider id as logs show it: at most its first 40 characters (Twilio's are 34)."""
    return value[:40]


def core_failed(what: str, provider_id: str, error: Exception) -> Response:
    # The exception's text may quote SQL parameters (numbers, words), so only its type is
    # logged. Under app.testing the error is raised instead, so tests see the traceback.
    if current_app.testing:
        raise error
    log.error(
        "twilio %s %s: the core failed (%s)", what, short_id(provider_id), type(error).__name__
    )
    return Response("not stored, try again\n", status=503, mimetype="text/plain")


@blueprint.post("/messages")
def messages() -> Response:
    """Receive one SMS or WhatsApp message and hand it to the runner."""
    services = _services()
    form = verified_form(services.settings)
    if isinstance(form, Response):
        return form
    try:
        message = parse_inbound(form)
    except MalformedRequest as error:
        return refuse(str(error), 400)
    try:
        received = services.runner.receive(message)
    except Exception as error:
        return core_failed("inbound", message.provider_id or "", error)
    log.info(
        "twilio inbound %s on %s%s",
        short_id(message.provider_id or ""),
        message.channel,
        " (duplicate)" if received.duplicate else "",
    )
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@blueprint.post("/status")
def status() -> Response:
    """Receive one status callback for a message Kotha sent and hand it to delivery."""
    services = _services()
    form = verified_form(services.settings)
    if isinstance(form, Response):
        return form
    try:
        provider_id = form_field(form, "MessageSid", MAX_SID) or form_field(form, "SmsSid", MAX_SID)
        state = form_field(form, "MessageStatus", MAX_STATUS) or form_field(
            form, "SmsStatus", MAX_STATUS
        )
        error_code = form_field(form, "ErrorCode", MAX_STATUS) or None
    except MalformedRequest as error:
        return refuse(str(error), 400)
    state = state.lower()
    if not provider_id or not state:
        return refuse("missing MessageSid or MessageStatus", 400)
    if state not in DELIVERY_STATUSES:
        log.info("twilio status %s: ignored status %r", short_id(provider_id), state)
        return Response(status=200)
    try:
        services.delivery.record_status(
            provider_id, state, error_code, error=delivery_error(error_code)
        )
    except Exception as error:
        return core_failed("status", provider_id, error)
    return Response(status=200)
