"""A fake Twilio REST API on 127.0.0.1, for driving the official SDK in tests.

    with FakeTwilio() as fake:
        sender = TwilioSender(fake.account_sid, fake.auth_token, "+447700900500", None,
                              api_url=fake.url)
        ...
        assert fake.sent_to("+447700900123")[0].body == "Hello"

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` like Twilio (and `GET` on it, to
list what was sent, filtered by To, From and DateSent>): HTTP basic auth with
the account SID and auth token (401 and error 20003 otherwise), a 201 with the message
resource as JSON, and Twilio's error bodies (`{"code", "message", "more_info", "status"}`)
for the checks it makes (To, From, Body, numbers that texted STOP). A WhatsApp template is
sent as Twilio takes it: `ContentSid` (a template registered here with
`fake.register_template(sid, "Hello {{name}}")`) and `ContentVariables` (a JSON object of
named, non-empty strings) with no Body; the message then reads as the template filled in,
and its variables are recorded. Twilio's refusals: 21654 (variables without a ContentSid),
21655 (a ContentSid it does not have), 21656 (variables that are not such an object, or that
leave one of the template's empty or missing). Faults can be scripted
(`fake.script(Fault.server_error(), Fault.throttle(2))`) or drawn at a rate from a seeded
RNG. Every accepted message is recorded with the monotonic time it arrived.

It keeps media as Twilio does: `url = fake.add_media(data, "audio/ogg")` gives a MediaUrl
like Twilio's (`/2010-04-01/Accounts/{sid}/Messages/MM…/Media/ME…`), which answers HTTP
basic auth with a 307 to a signed address on its "CDN" (`/cdn/ME…` on the host given, by
default this fake's own), which serves the bytes with no auth. `fake.media_fault(url, fault)`
makes the MediaUrl answer a fault (a 404, a 500, or a delay) instead.
"""

from __future__ import annotations

import json
import math
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token-0000000000"

WHATSAPP_PREFIX = "whatsapp:"
_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_MEDIA_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<message>MM[0-9a-f]{32})/Media/"
    r"(?P<media>ME[0-9a-f]{32})$"
)
_CDN_PATH = re.compile(r"^/cdn/(?P<media>ME[0-9a-f]{32})$")
_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
_VARIABLE = re.compile(r"\{\{([A-Za-z0-9_]+)\}\}")

# GSM 03.38: the basic set, and the extension set whose characters cost two septets.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def segments(body: str) -> int:
    """Count the SMS segments Twilio would bill for this body (GSM-7 or UCS-2)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        septets = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


@dataclass(frozen=True)
class Fault:
    """One misbehaviour of the fake API, answered instead of (or before) the real thing."""

    status: int = 500
    code: int | None = None
    message: str = "Internal Server Error"
    retry_after: float | None = None
    delay: float = 0.0

    @classmethod
    def server_error(cls) -> Fault:
        return cls(500, 20500, "Internal Server Error")

    @classmethod
    def throttle(cls, retry_after: float | None = None) -> Fault:
        return cls(429, 20429, "Too Many Requests", retry_after)

    @classmethod
    def error(cls, status: int, code: int, message: str) -> Fault:
        return cls(status, code, message)

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Hold the request this long, then accept it normally, as Twilio does when slow.

        Set it past the client's timeout: the client gives up, yet the message is sent.
        """
        return cls(201, None, "", None, seconds)


@dataclass(frozen=True)
class SentMessage:
    """One message the fake accepted, as the SDK posted it."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    num_segments: int
    at: float  # time.monotonic() when it was accepted
    content_sid: str | None = None
    content_variables: dict[str, str] | None = None
    # Wall-clock time it was accepted, for the list API's DateSent filter.
    accepted_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def channel(self) -> str:
        return "whatsapp" if self.to.startswith(WHATSAPP_PREFIX) else "sms"

    @property
    def address(self) -> str:
        return self.to.removeprefix(WHATSAPP_PREFIX)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class FakeTwilio:
    """A threaded fake of Twilio's Messages API, started by `with` and stopped on exit."""

    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        *,
        fault_rate: float = 0.0,
        random_faults: Iterable[Fault] = (Fault.server_error(), Fault.throttle(1)),
        seed: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.fault_rate = fault_rate
        self._random_faults = tuple(random_faults)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._script: deque[Fault] = deque()
        self._sent: list[SentMessage] = []
        self._stopped: set[str] = set()
        self._templates: dict[str, str] = {}
        self._attempts = 0
        # Media: bytes, content type and the host its redirect names, by media SID.
        self._media: dict[str, tuple[bytes, str, str]] = {}
        self._media_faults: dict[str, Fault] = {}
        self.media_requests: list[tuple[str, bool]] = []  # (path, had basic auth)
        self._closing = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The base URL to give the SDK (KOTHA_TWILIO_API_URL)."""
        if self._server is None:
            raise RuntimeError("FakeTwilio is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- steering --------------------------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, one each, in order."""
        with self._lock:
            self._script.extend(faults)

    def register_template(self, content_sid: str, wording: str) -> None:
        """Have a Content Template: its words, with `{{name}}` where a variable goes."""
        assert _CONTENT_SID.match(content_sid), content_sid
        with self._lock:
            self._templates[content_sid] = wording

    def stop_number(self, address: str) -> None:
        """Make sends to this number fail with 21610, as after the person texted STOP."""
        with self._lock:
            self._stopped.add(address.removeprefix(WHATSAPP_PREFIX))

    def add_media(self, data: bytes, content_type: str, *, cdn_host: str = "127.0.0.1") -> str:
        """Keep a file as received media; return its MediaUrl (as a webhook would give it)."""
        media_sid = "ME" + secrets.token_hex(16)
        with self._lock:
            self._media[media_sid] = (data, content_type, cdn_host)
        message_sid = "MM" + secrets.token_hex(16)
        messages = f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages"
        return f"{messages}/{message_sid}/Media/{media_sid}"

    def media_fault(self, media_url: str, fault: Fault) -> None:
        """Answer requests for this MediaUrl with a fault (an error status, or a delay first)."""
        with self._lock:
            self._media_faults[media_url.rsplit("/", 1)[-1]] = fault

    # -- looking -------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    @property
    def attempts(self) -> int:
        """How many message requests arrived, whatever the answer."""
        with self._lock:
            return self._attempts

    def sent_to(self, address: str) -> list[SentMessage]:
        """The messages accepted for this number (with or without `whatsapp:`)."""
        address = address.removeprefix(WHATSAPP_PREFIX)
        return [message for message in self.sent if message.address == address]

    def max_per_second(self, window: float = 1.0) -> int:
        """The most messages accepted within any `window` seconds."""
        times = sorted(message.at for message in self.sent)
        most, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            most = max(most, end - start + 1)
        return most

    # -- the API -------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self._handle(Request(environ))
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        media = _MEDIA_PATH.match(request.path) or _CDN_PATH.match(request.path)
        if media is not None:
            return self._media_answer(request, media)
        match = _MESSAGES_PATH.match(request.path)
        if match is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if request.method not in ("POST", "GET"):
            return _error(405, 20004, "Method not allowed")
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or auth.username != self.account_sid
            or auth.password != self.auth_token
        ):
            response = _error(401, 20003, "Authentication Error - invalid username")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if match["sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if request.method == "GET":
            return self._list(request)
        with self._lock:
            self._attempts += 1
            fault = self._next_fault()
        if fault is not None and fault.delay:
            self._closing.wait(fault.delay)
        elif fault is not None:
            response = _error(fault.status, fault.code or fault.status, fault.message)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        return self._create(request)

    def _media_answer(self, request: Request, match: re.Match[str]) -> Response:
        auth = request.authorization
        authorised = (
            auth is not None
            and auth.type == "basic"
            and auth.username == self.account_sid
            and auth.password == self.auth_token
        )
        with self._lock:
            self.media_requests.append((request.path, auth is not None))
            kept = self._media.get(match["media"])
            fault = self._media_faults.get(match["media"])
        if request.path.startswith("/cdn/"):
            # The signed CDN address: no credentials needed (or wanted).
            if kept is None:
                return Response("Not Found", status=404)
            return Response(kept[0], status=200, mimetype=kept[1])
        if not authorised:
            response = _error(401, 20003, "Authentication Error - invalid username")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if fault is not None and fault.delay:
            self._closing.wait(fault.delay)
        elif fault is not None:
            return _error(fault.status, fault.code or fault.status, fault.message)
        if kept is None or match["sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        port = self._server.server_port if self._server is not None else 0
        response = Response("", status=307)
        response.headers["Location"] = f"http://{kept[2]}:{port}/cdn/{match['media']}"
        return response

    def _next_fault(self) -> Fault | None:
        if self._script:
            return self._script.popleft()
        if self.fault_rate and self._rng.random() < self.fault_rate:
            return self._rng.choice(self._random_faults)
        return None

    def _create(self, request: Request) -> Response:
        form = request.form
        to = form.get("To", "")
        sender = form.get("From") or None
        service = form.get("MessagingServiceSid") or None
        body = form.get("Body", "")
        content_sid = form.get("ContentSid") or None
        variables: dict[str, str] | None = None
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if sender is None and service is None:
            return _error(400, 21603, "A 'From' phone number is required.")
        if "ContentVariables" in form and content_sid is None:
            return _error(
                400,
                21654,
                "A ContentSid must be specified if ContentVariables are provided in the request.",
            )
        if content_sid is not None:
            filled = self._fill(content_sid, form.get("ContentVariables"))
            if isinstance(filled, Response):
                return filled
            body, variables = filled
        if not body and "MediaUrl" not in form:
            return _error(400, 21602, "Message body is required.")
        whatsapp = to.startswith(WHATSAPP_PREFIX)
        if not whatsapp and len(body) > 1600:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        number = to.removeprefix(WHATSAPP_PREFIX)
        if not _E164.match(number):
            return _error(400, 21211, f"The 'To' number {number} is not a valid phone number.")
        if sender is not None and whatsapp != sender.startswith(WHATSAPP_PREFIX):
            return _error(
                400,
                21910,
                "Invalid From and To pair. From and To should be of the same channel",
            )
        with self._lock:
            stopped = number in self._stopped
        if stopped:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient")
        message = SentMessage(
            sid="SM" + secrets.token_hex(16),
            to=to,
            from_=sender,
            messaging_service_sid=service,
            body=body,
            status_callback=form.get("StatusCallback") or None,
            num_segments=1 if whatsapp else segments(body),
            at=time.monotonic(),
            content_sid=content_sid,
            content_variables=variables,
        )
        with self._lock:
            self._sent.append(message)
        return _json(201, self._resource(message))

    def _fill(self, content_sid: str, given: str | None) -> tuple[str, dict[str, str]] | Response:
        """The template's words with the variables put in, or Twilio's refusal."""
        with self._lock:
            wording = self._templates.get(content_sid)
        if wording is None or not _CONTENT_SID.match(content_sid):
            return _error(400, 21655, "The ContentSid is Invalid")
        invalid = _error(400, 21656, "The ContentVariables Parameter is invalid")
        try:
            variables = json.loads(given) if given is not None else {}
        except ValueError:
            return invalid
        if not isinstance(variables, dict) or not all(
            isinstance(key, str) and isinstance(value, str) and value
            for key, value in variables.items()
        ):
            return invalid
        if not set(_VARIABLE.findall(wording)) <= set(variables):
            return invalid
        return _VARIABLE.sub(lambda match: variables[match.group(1)], wording), variables

    def _list(self, request: Request) -> Response:
        """List messages like `GET .../Messages.json?To=&From=&DateSent>=` (one page)."""
        to, sender = request.args.get("To"), request.args.get("From")
        after_text = request.args.get("DateSent>")
        after = datetime.fromisoformat(after_text.replace("Z", "+00:00")) if after_text else None
        with self._lock:
            found = [
                message
                for message in self._sent
                if (to is None or message.to == to)
                and (sender is None or message.from_ == sender)
                and (after is None or message.accepted_at >= after)
            ]
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return _json(
            200,
            {
                "messages": [self._resource(message, listed=True) for message in found],
                "page": 0,
                "page_size": 50,
                "start": 0,
                "end": max(len(found) - 1, 0),
                "uri": path,
                "first_page_uri": path,
                "next_page_uri": None,
                "previous_page_uri": None,
            },
        )

    def _resource(self, message: SentMessage, listed: bool = False) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": message.body,
            "date_created": now,
            "date_sent": format_datetime(message.accepted_at) if listed else None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(message.num_segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            # A Messaging Service picks the sender later, so Twilio answers "accepted".
            "status": "accepted" if message.messaging_service_sid else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _error(status: int, code: int, message: str) -> Response:
    return _json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )
