"""A fake Telegram Bot API on 127.0.0.1, for driving python-telegram-bot in tests.

    with FakeTelegram("123:TEST") as fake:
        bot = Bot("123:TEST", base_url=fake.base_url)
        ...
        assert fake.sent[0].text == "Hello"

It speaks the Bot API's envelope (`{"ok": true, "result": ...}` or `{"ok": false,
"error_code": ..., "description": ..., "parameters": ...}`), accepts parameters as a query
string, a form or a JSON body like the real API does, and can be told to fail: scripted
faults per method (`fake.script("sendMessage", Fault.throttle(3))`), a random fault rate
from a seeded RNG, blocked chats (`fake.block_chat(id)`) and optional rate limits that answer
429 the way Telegram's flood control does.

Files people sent: `fake.add_file(file_id, data)` keeps one; `getFile` answers its
`file_path` (and `file_size`), and `/file/bot<token>/<file_path>` serves its bytes, as the
Bot API does. An unknown file id gets Telegram's 400.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Kotha",
    "username": "kotha_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

_JSON_PARAMETERS = {"reply_markup", "allowed_updates"}
_INT_PARAMETERS = {"offset", "limit", "timeout", "max_connections"}


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour of the fake API."""

    kind: str  # "error", "timeout" or "html"
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int, description: str) -> Fault:
        return cls("error", status, description)

    @classmethod
    def server_error(cls) -> Fault:
        return cls("error", 500, "Internal Server Error")

    @classmethod
    def bad_gateway(cls) -> Fault:
        """A 502 with nginx's HTML page, which is what Telegram's front end really returns."""
        return cls("html", 502, "Bad Gateway")

    @classmethod
    def throttle(cls, retry_after: int) -> Fault:
        return cls("error", 429, f"Too Many Requests: retry after {retry_after}", retry_after)

    @classmethod
    def timeout(cls, seconds: float) -> Fault:
        """Hold the request this long before answering normally (set it past the client's)."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def chat_not_found(cls) -> Fault:
        return cls("error", 400, "Bad Request: chat not found")


@dataclass(frozen=True)
class Call:
    """One request that reached the fake (with a valid token)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass(frozen=True)
class SentMessage:
    """One message the fake accepted."""

    message_id: int
    chat_id: str
    text: str
    reply_markup: dict[str, Any] | None
    at: float


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    send_attempts: list[tuple[float, str]] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    scripts: dict[str, deque[Fault]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    webhook: dict[str, Any] | None = None
    answered_callbacks: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id: (path, data)


class FakeTelegram:
    """A threaded fake Bot API server; use it as a context manager."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        fault_rate: float = 0.0,
        random_faults: Iterable[Fault] = (Fault.server_error(), Fault.bad_gateway()),
        seed: int = 0,
        global_limit: int | None = None,
        chat_limit: int | None = None,
    ) -> None:
        """`fault_rate` is the chance that any sendMessage fails with one of `random_faults`;
        `global_limit` / `chat_limit` make the fake answer 429 above that many sendMessage
        requests per second overall / per chat, as Telegram's flood control would."""
        self.token = token
        self.fault_rate = fault_rate
        self.random_faults = tuple(random_faults)
        self.global_limit = global_limit
        self.chat_limit = chat_limit
        self._random = random.Random(seed)
        self._state = _State()
        self._lock = threading.Lock()
        self._new_update = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._message_ids = itertools.count(1000)
        self._update_ids = itertools.count(900000001)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (which waits for the next poll) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing.set()
        with self._new_update:
            self._new_update.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give PTB as `base_url`: PTB appends the token to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- set-up from tests -------------------------------------------------------------------

    def script(self, method: str, *faults: Fault) -> None:
        """Make the next calls of `method` fail in this order, one fault per call."""
        with self._lock:
            self._state.scripts.setdefault(method, deque()).extend(faults)

    def block_chat(self, chat_id: int | str) -> None:
        """Answer sendMessage to this chat with 403 "bot was blocked by the user"."""
        with self._lock:
            self._state.blocked.add(str(chat_id))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (an update_id is given if it has none)."""
        with self._new_update:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            self._state.updates.append(update)
            # Telegram hands updates out in update_id order.
            self._state.updates.sort(key=lambda pending: int(pending["update_id"]))
            self._new_update.notify_all()
            return int(update["update_id"])

    def add_file(self, file_id: str, data: bytes, file_path: str | None = None) -> None:
        """Keep a file a person sent, for getFile and the file download."""
        with self._lock:
            self._state.files[file_id] = (
                file_path or f"voice/file_{len(self._state.files)}.oga",
                data,
            )

    def file_data(self, file_path: str) -> bytes | None:
        with self._lock:
            for path, data in self._state.files.values():
                if path == file_path:
                    return data
        return None

    # -- records -----------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._state.calls)

    @property
    def sent(self) -> list[SentMessage]:
        with self._lock:
            return list(self._state.sent)

    @property
    def webhook(self) -> dict[str, Any] | None:
        with self._lock:
            return None if self._state.webhook is None else dict(self._state.webhook)

    @property
    def answered_callbacks(self) -> list[str]:
        with self._lock:
            return list(self._state.answered_callbacks)

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._state.updates)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sends_per_chat(self) -> Counter[str]:
        """How many messages were accepted for each chat."""
        return Counter(message.chat_id for message in self.sent)

    def sends_per_second(self, chat_id: int | str | None = None) -> Counter[int]:
        """sendMessage requests (accepted or not) bucketed by whole seconds since the first."""
        times = self._send_times(chat_id)
        if not times:
            return Counter()
        return Counter(int(at - times[0]) for at in times)

    def max_sends_in_window(self, window: float = 1.0, chat_id: int | str | None = None) -> int:
        """The most sendMessage requests that reached the fake within any `window` seconds."""
        times = self._send_times(chat_id)
        best = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def _send_times(self, chat_id: int | str | None) -> list[float]:
        wanted = None if chat_id is None else str(chat_id)
        with self._lock:
            attempts = list(self._state.send_attempts)
        return sorted(at for at, chat in attempts if wanted is None or chat == wanted)

    # -- the API -----------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, bytes, str]:
        """Answer one API call: (status, body, content type)."""
        now = time.monotonic()
        fault = self._fault_for(method, params, now)
        if fault is not None and fault.kind == "timeout":
            self._closing.wait(fault.seconds)
            fault = None
        if fault is not None:
            self._record(Call(method, params, now, fault.status))
            if fault.kind == "html":
                page = f"<html><body><h1>{fault.status} {fault.description}</h1></body></html>"
                return fault.status, page.encode(), "text/html"
            return _failure(fault.status, fault.description, fault.retry_after)

        if method == "getUpdates":
            return self._get_updates(params, now)
        answer = getattr(self, "_api_" + method, None)
        if answer is None:
            self._record(Call(method, params, now, 404))
            return _failure(404, "Not Found")
        status, body = answer(params, now)
        self._record(Call(method, params, now, status))
        return status, body, "application/json"

    def _record(self, call: Call) -> None:
        with self._lock:
            self._state.calls.append(call)

    def _fault_for(self, method: str, params: dict[str, Any], now: float) -> Fault | None:
        with self._lock:
            chat_id = str(params.get("chat_id"))
            if method == "sendMessage":
                # Flood control below needs the count and this attempt recorded atomically.
                throttled = self._flood_control(chat_id, now)
                self._state.send_attempts.append((now, chat_id))
            script = self._state.scripts.get(method)
            if script:
                return script.popleft()
            if method != "sendMessage":
                return None
            if self.fault_rate and self._random.random() < self.fault_rate:
                return self._random.choice(self.random_faults)
            return throttled

    def _flood_control(self, chat_id: str, now: float) -> Fault | None:
        # Counts requests in the last second, as Telegram's documented limits are phrased
        # (about 30 messages a second overall, about one a second per chat).
        recent = [chat for at, chat in self._state.send_attempts if now - at < 1.0]
        if self.global_limit is not None and len(recent) >= self.global_limit:
            return Fault.throttle(1)
        if self.chat_limit is not None and recent.count(chat_id) >= self.chat_limit:
            return Fault.throttle(1)
        return None

    def _api_getMe(self, params: dict[str, Any], now: float) -> tuple[int, bytes]:  # noqa: N802
        return _success(BOT_USER)

    def _api_sendMessage(self, params: dict[str, Any], now: float) -> tuple[int, bytes]:  # noqa: N802
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text")
        if not chat_id.lstrip("-").isdigit():
            return _failure(400, "Bad Request: chat not found")[:2]
        if not isinstance(text, str) or not text:
            return _failure(400, "Bad Request: message text is empty")[:2]
        if len(text) > 4096:
            return _failure(400, "Bad Request: message is too long")[:2]
        with self._lock:
            if chat_id in self._state.blocked:
                return _failure(403, "Forbidden: bot was blocked by the user")[:2]
            message_id = next(self._message_ids)
            markup = params.get("reply_markup")
            self._state.sent.append(SentMessage(message_id, chat_id, text, markup, now))
        result: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": int(chat_id), "first_name": "Test", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        if markup:
            result["reply_markup"] = markup
        return _success(result)

    def _api_getFile(self, params: dict[str, Any], now: float) -> tuple[int, bytes]:  # noqa: N802
        with self._lock:
            found = self._state.files.get(str(params.get("file_id", "")))
        if found is None:
            return _failure(400, "Bad Request: invalid file_id")[:2]
        path, data = found
        return _success(
            {
                "file_id": params["file_id"],
                "file_unique_id": "U" + str(abs(hash(path)))[:10],
                "file_size": len(data),
                "file_path": path,
            }
        )

    def _api_setWebhook(self, params: dict[str, Any], now: float) -> tuple[int, bytes]:  # noqa: N802
        url = params.get("url")
        with self._lock:
            self._state.webhook = dict(params) if url else None
        return _success(True)

    def _api_deleteWebhook(self, params: dict[str, Any], now: float) -> tuple[int, bytes]:  # noqa: N802
        with self._lock:
            self._state.webhook = None
        return _success(True)

    def _api_answerCallbackQuery(  # noqa: N802
        self, params: dict[str, Any], now: float
    ) -> tuple[int, bytes]:
        with self._lock:
            self._state.answered_callbacks.append(str(params.get("callback_query_id")))
        return _success(True)

    def _get_updates(self, params: dict[str, Any], now: float) -> tuple[int, bytes, str]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = now + timeout
        with self._new_update:
            self._state.calls.append(Call("getUpdates", params, now))
            if self._state.webhook is not None:
                return _failure(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            while True:
                # Asking with an offset confirms every earlier update: Telegram forgets them.
                self._state.updates = [
                    update for update in self._state.updates if update["update_id"] >= offset
                ]
                if self._state.updates or self._closing.is_set():
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._new_update.wait(left)
            batch = self._state.updates[:limit]
        status, body = _success(batch)
        return status, body, "application/json"


def _success(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


def _failure(
    status: int, description: str, retry_after: int | None = None
) -> tuple[int, bytes, str]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return status, json.dumps(body).encode(), "application/json"


def _decode(name: str, value: Any) -> Any:
    """Undo PTB's form encoding: complex values arrive as JSON strings, numbers as text."""
    if isinstance(value, str) and name in _JSON_PARAMETERS:
        return json.loads(value)
    if isinstance(value, str) and name in _INT_PARAMETERS:
        return int(value)
    return value


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, each answer on a kept-alive
        # connection waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            self._answer(b"")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(self.rfile.read(length))

        def _answer(self, body: bytes) -> None:
            url = urlsplit(self.path)
            file_prefix = f"/file/bot{fake.token}/"
            if url.path.startswith(file_prefix):
                data = fake.file_data(url.path.removeprefix(file_prefix))
                if data is None:
                    self._reply(*_failure(404, "Not Found"))
                else:
                    self._reply(200, data, "application/octet-stream")
                return
            prefix, _, method = url.path.rpartition("/")
            if prefix != f"/bot{fake.token}":
                self._reply(*_failure(401, "Unauthorized"))
                return
            params: dict[str, Any] = dict(parse_qsl(url.query))
            content_type = self.headers.get("Content-Type", "")
            try:
                if content_type.startswith("application/json") and body:
                    params.update(json.loads(body))
                elif body:
                    params.update(parse_qsl(body.decode(), keep_blank_values=True))
                params = {name: _decode(name, value) for name, value in params.items()}
            except ValueError:
                self._reply(*_failure(400, "Bad Request: can't parse parameters"))
                return
            self._reply(*fake.handle(method, params))

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
