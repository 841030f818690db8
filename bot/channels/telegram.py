"""Sending to Telegram with python-telegram-bot, plus webhook set-up and long polling.

`api_url` everywhere is PTB's `base_url` (KOTHA_TELEGRAM_API_URL): PTB appends the bot token
to it and then "/<method>", so Telegram's own is "https://api.telegram.org/bot" and a fake on
127.0.0.1 is "http://127.0.0.1:<port>/bot". A "{token}" inside the URL is replaced instead
of appended (PTB ≥ 21.11), e.g. "https://api.telegram.org/bot{token}/test" for Telegram's
test environment.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import threading
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels.base import (
    ClosingSender,
    MisconfiguredError,
    OutcomeUnknownError,
    RecipientStoppedError,
    RejectedError,
    SendError,
    ThrottledError,
    TransientError,
)
from bot.channels.telegram_updates import button_data, read_parsed
from bot.types import InboundMessage, OutboundMessage, SendReceipt

# PTB 22 is migrating durations (RetryAfter.retry_after among them) from int seconds to
# timedelta and emits a deprecation warning on every access until one opts in; RetryAfter's
# own constructor reads the attribute, so without the opt-in a 429 surfaces as a warning
# (an exception under `-W error`) instead of RetryAfter. Opting in is PTB's documented way.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# httpx logs every request URL at INFO, and a Bot API URL contains the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org/bot"

# Only what Kotha reads; Telegram then stops sending the rest (chat member changes, polls...).
# An edited message is kept as a correction of the one it edits (bot/pipeline/step.py).
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

# Telegram's webhook secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

_T = TypeVar("_T")


# Telegram accepts about 30 messages a second per bot; at a typical 50-200 ms per request,
# eight connections in flight keep up with that and more.
def _bot(token: str, api_url: str | None, timeout: float, pool_size: int = 8) -> Bot:
    request = HTTPXRequest(
        connection_pool_size=pool_size,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=timeout,
        pool_timeout=timeout,
    )
    return Bot(token, base_url=api_url or DEFAULT_API_URL, request=request)


def translate_error(error: TelegramError, token: str) -> SendError:
    """Map a PTB error to Kotha's typed send errors, keeping the token out of the message."""
    text = str(error).replace(token, "<token>")
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return ThrottledError(text, retry_after=seconds)
    if isinstance(error, Forbidden):
        # "bot was blocked by the user", "user is deactivated", "bot can't initiate
        # conversation with a user": only the person can change this.
        return RecipientStoppedError(text)
    if isinstance(error, InvalidToken | EndPointNotFound):
        # PTB raises InvalidToken for 401 and 404 alike, and its message quotes the token.
        return MisconfiguredError(
            "Telegram rejected the bot token or the API URL "
            "(TELEGRAM_BOT_TOKEN, KOTHA_TELEGRAM_API_URL)"
        )
    if isinstance(error, BadRequest | ChatMigrated):
        # "chat not found", "message is too long", a group upgraded to a supergroup.
        return RejectedError(text)
    # TimedOut is a NetworkError, and PTB reports every 5xx as NetworkError too (a 502 from
    # Telegram's front end is an HTML page it cannot parse); anything unforeseen, Conflict
    # included, is also left to the dispatcher's bounded retries.
    return TransientError(text)


# httpx's failures before Telegram had the whole request: nothing can have been sent.
_NOT_WRITTEN = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
)


def _request_written(error: TelegramError) -> bool:
    """Whether a failed sendMessage may have reached Telegram: PTB raises TimedOut or
    NetworkError from httpx's error, which says how far the request got."""
    if not isinstance(error, NetworkError) or isinstance(error, RetryAfter):
        return False  # an answer from Telegram (BadRequest, Forbidden...): it said no
    cause = error.__cause__
    if cause is None or isinstance(cause, TelegramError):
        # An answer from Telegram (a 5xx, an HTML 502 page it could not parse): it failed.
        return False
    return not isinstance(cause, _NOT_WRITTEN)


class TelegramSender(ClosingSender):
    """Sends rendered messages to Telegram chats, safely from any number of threads.

    PTB is async; this wrapper runs one event loop in a daemon thread with one Bot (and its
    pool of HTTP connections) initialised once, and each `send` submits a coroutine to that
    loop and waits for it. A forked child (gunicorn, queue workers) starts its own loop on
    first use. Call `close()` (or use it as a context manager) to release the connections.
    """

    def __init__(self, token: str, api_url: str | None = None, timeout: float = 10.0) -> None:
        if not token:
            raise MisconfiguredError("Telegram needs TELEGRAM_BOT_TOKEN")
        self._token = token
        self._api_url = api_url
        self._timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: Bot | None = None
        self._ready: asyncio.Lock | None = None
        self._pid = 0

    def send(self, message: OutboundMessage) -> SendReceipt:
        """Send one message; Telegram confirms delivery in its answer, so the receipt says so."""
        # Texts are written to fit SMS budgets, so one over Telegram's limit is a mistake in
        # the content. Splitting it would leave a retry after a half-sent message to repeat
        # the first part; refusing it stores a reason staff can see and fix.
        if len(message.text) > MessageLimit.MAX_TEXT_LENGTH:
            raise RejectedError(
                f"text is {len(message.text)} characters; Telegram allows "
                f"{MessageLimit.MAX_TEXT_LENGTH}"
            )
        # The bot is made ready first, so a failure there is known not to have sent anything.
        self._run(self._initialised_bot())
        sent_id = self._run(self._send(message), sending=True)
        return SendReceipt(provider_id=str(sent_id), status="delivered")

    def probe(self) -> str:
        """Ask Telegram who the bot is (getMe): proves the URL and the token."""
        bot = self._run(self._initialised_bot())
        return f"the API answered: the bot is @{bot.username}"

    def close(self) -> None:
        """Shut the Bot's HTTP client and stop the loop thread; a later send starts again."""
        with self._lock:
            loop, thread, bot = self._loop, self._thread, self._bot
            self._loop = self._thread = self._bot = self._ready = None
        if loop is None or thread is None or self._pid != os.getpid():
            return
        if bot is not None:
            try:
                asyncio.run_coroutine_threadsafe(bot.shutdown(), loop).result(self._timeout)
            except Exception:
                log.warning("Telegram bot did not shut down cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(self._timeout)
        loop.close()

    async def _send(self, message: OutboundMessage) -> int:
        bot = await self._initialised_bot()
        markup = None
        if message.choices:
            # One button per row: long labels stay readable and each target is large.
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            f"{number} {label}",
                            callback_data=button_data(message.question, number),
                        )
                    ]
                    for number, label in enumerate(message.choices, start=1)
                ]
            )
        # No parse_mode: the text is sent exactly as rendered, never read as Markdown/HTML.
        sent = await bot.send_message(
            chat_id=message.address, text=message.text, reply_markup=markup
        )
        return sent.message_id

    async def _initialised_bot(self) -> Bot:
        if self._ready is None:
            self._ready = asyncio.Lock()
        async with self._ready:
            if self._bot is None:
                bot = _bot(self._token, self._api_url, self._timeout)
                # initialize() opens the connection pool and calls getMe once, which also
                # proves the token; on failure nothing is kept and the next send tries again.
                try:
                    await bot.initialize()
                except BaseException:
                    await bot.shutdown()
                    raise
                self._bot = bot
            return self._bot

    def _run(self, coroutine: Coroutine[Any, Any, _T], sending: bool = False) -> _T:
        """Run a coroutine on the loop; `sending` says it sends a message, so that a request
        which may have reached Telegram unanswered is reported as OutcomeUnknownError."""
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        # PTB's own timeouts bound each request; this outer bound only guards against a hung
        # loop (initialise + send, each connect + write + read, plus a margin).
        try:
            return future.result(timeout=6 * self._timeout + 5)
        except TelegramError as error:
            translated = translate_error(error, self._token)
            if sending and _request_written(error):
                raise OutcomeUnknownError(str(translated)) from None
            raise translated from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            if sending:
                raise OutcomeUnknownError("Telegram did not answer in time") from None
            raise TransientError("Telegram did not answer in time") from None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                # After a fork the parent's loop thread does not exist in the child.
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="telegram-sender", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
                self._bot = None
                self._ready = None
            return self._loop


def set_webhook(token: str, api_url: str | None, url: str, secret: str) -> None:
    """Tell Telegram to POST updates to `url` (public_url + "/webhooks/telegram")."""
    if not _SECRET_TOKEN.fullmatch(secret):
        raise MisconfiguredError(
            "KOTHA_TELEGRAM_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )

    async def register() -> None:
        async with _bot(token, api_url, timeout=30.0, pool_size=1) as bot:
            await bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
            )

    _run_once(register(), token)


def poll(
    token: str,
    api_url: str | None,
    handle: Callable[[InboundMessage], None],
    stop: threading.Event | None = None,
    *,
    wait: int = 25,
) -> None:
    """Fetch updates by long polling (for development, without a public URL) until `stop`.

    The webhook is deleted first, as Telegram refuses getUpdates while one is set. Each
    message goes to `handle` in order; an update is confirmed to Telegram (by asking for
    the next offset) only after `handle` returned, so if it raises, Telegram delivers it
    again on the next run and the runner dedupes what was already stored.
    """
    if stop is None:
        stop = threading.Event()
    _run_once(_poll(token, api_url, handle, stop, wait), token)


async def _poll(
    token: str,
    api_url: str | None,
    handle: Callable[[InboundMessage], None],
    stop: threading.Event,
    wait: int,
) -> None:
    # getUpdates holds the request for `wait` seconds; PTB adds that to its read timeout.
    async with _bot(token, api_url, timeout=10.0, pool_size=1) as bot:
        await bot.delete_webhook()
        offset: int | None = None
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                bot.get_updates(offset=offset, timeout=wait, allowed_updates=list(ALLOWED_UPDATES))
            )
            updates = await _unless_stopped(fetch, stop)
            if updates is None:
                break
            try:
                batch: tuple[Update, ...] = updates.result()
            except (RetryAfter, NetworkError) as error:
                pause = translate_error(error, token)
                delay = getattr(pause, "retry_after", None) or backoff
                backoff = min(backoff * 2, 30.0)
                log.warning("Telegram polling paused %.0fs: %s", delay, pause)
                await _sleep_unless_stopped(delay, stop)
                continue
            backoff = 1.0
            for update in batch:
                parsed = read_parsed(update)
                if parsed.callback_query_id is not None:
                    await bot.answer_callback_query(parsed.callback_query_id)
                if parsed.message is not None:
                    handle(parsed.message)
                offset = update.update_id + 1
        if offset is not None:
            # Confirm what was handled, so the next run does not receive it again.
            try:
                await bot.get_updates(offset=offset, timeout=0, limit=1)
            except TelegramError:
                log.warning("could not confirm the last Telegram updates; they will repeat")


async def _unless_stopped(
    task: asyncio.Future[_T], stop: threading.Event
) -> asyncio.Future[_T] | None:
    """Wait for `task`, checking `stop` often; cancel it and return None once stop is set."""
    while not task.done():
        if stop.is_set():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return None
        await asyncio.wait([task], timeout=0.05)
    return task


async def _sleep_unless_stopped(seconds: float, stop: threading.Event) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not stop.is_set() and loop.time() < deadline:
        await asyncio.sleep(min(0.05, deadline - loop.time()))


def _run_once(coroutine: Coroutine[Any, Any, None], token: str) -> None:
    """Run a coroutine to the end from sync code, even where this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
        nested = True
    except RuntimeError:
        nested = False
    try:
        if nested:
            # asyncio.run refuses to nest in a running loop (a caller's, or a test tool's):
            # run it in a thread of its own instead.
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(asyncio.run, coroutine).result()
        else:
            asyncio.run(coroutine)
    except TelegramError as error:
        raise translate_error(error, token) from None
