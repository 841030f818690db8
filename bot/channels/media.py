"""Fetch a file a person sent (a voice note, a photo) from its provider, and from nowhere else.

Providers keep what people send and give Kotha a reference (bot/types.py `Media`): Twilio a
MediaUrl on its API (`https://api.twilio.com/2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…`),
which needs HTTP basic auth with the account SID and auth token and answers with a redirect
to a short-lived signed address on its media CDN; Telegram a file id (`telegram-file:…`),
which `getFile` turns into a path that is downloaded from `<api>/file/bot<token>/<path>`
(valid for at least an hour, at most 20 MB). These are the only two ways in.

Every request, the first and each redirect, goes only to the provider's own hosts
(KOTHA_TWILIO_MEDIA_HOSTS; the host of KOTHA_TELEGRAM_API_URL), over https unless the host
is this machine (the tests' fakes); credentials go only to the host they were given for.
The body is read up to a size limit, and what it is comes from its first bytes (the
`filetype` library), never from what the provider or the person said: only sound and
pictures a browser can play or show are taken. Every refusal is a `MediaError` whose
message staff can read and whose status the console answers with.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import filetype
import httpx

from bot.settings import Settings

log = logging.getLogger(__name__)

TELEGRAM_FILE = "telegram-file:"
TELEGRAM_API = "https://api.telegram.org/bot"
# What the console serves, by what the bytes are (filetype's names), with the type it is
# served as. No SVG (it can carry script), nothing a browser would render as a page.
SERVED_TYPES = {
    "audio/ogg": "audio/ogg",  # WhatsApp's and Telegram's voice notes (Opus)
    "audio/mpeg": "audio/mpeg",
    "audio/mp4": "audio/mp4",  # an iPhone's voice memo (m4a)
    "audio/aac": "audio/aac",
    "audio/amr": "audio/amr",  # an MMS voice clip
    "audio/x-wav": "audio/wav",
    "audio/x-flac": "audio/flac",
    "image/jpeg": "image/jpeg",
    "image/png": "image/png",
    "image/gif": "image/gif",
    "image/webp": "image/webp",
}
# Redirects followed at most (Twilio needs one: the API to the CDN).
MAX_REDIRECTS = 3
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class MediaError(Exception):
    """A file could not be fetched or is refused; the message is for staff, the status for HTTP."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Fetched:
    """A file as its provider served it: its bytes and the type they were found to be."""

    data: bytes
    content_type: str


def served_type(data: bytes) -> str | None:
    """The type these bytes are served as, or None when they are not sound or a picture we show."""
    kind = filetype.guess(data[:8192])
    return None if kind is None else SERVED_TYPES.get(kind.mime)


def fetchable(url: str) -> bool:
    """Say whether a stored media reference is one a provider can be asked for."""
    return url.startswith((TELEGRAM_FILE, "https://", "http://"))


class MediaFetcher:
    """Fetches a provider's file for a stored reference, with the provider's credentials."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.max_bytes = settings.media_max_mb * 1024 * 1024
        self.timeout = settings.media_timeout_seconds
        self._transport = transport
        telegram = urlsplit(settings.telegram_api_url or TELEGRAM_API)
        self.telegram_hosts = frozenset({(telegram.hostname or "").lower()})
        self.twilio_hosts = frozenset(settings.twilio_media_hosts)

    def fetch(self, url: str) -> Fetched:
        """The file a stored reference names; raise MediaError saying why not."""
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, transport=self._transport
        ) as client:
            try:
                if url.startswith(TELEGRAM_FILE):
                    return self._telegram(client, url.removeprefix(TELEGRAM_FILE))
                if url.startswith(("https://", "http://")):
                    return self._twilio(client, url)
            except httpx.InvalidURL as error:
                raise MediaError("This is not a file Kotha can fetch.", 404) from error
            except httpx.TimeoutException as error:
                log.warning("media fetch: the provider did not answer in time")
                raise MediaError(
                    "The provider did not answer in time. Try again in a minute.", 504
                ) from error
            except httpx.HTTPError as error:
                log.warning("media fetch: %s", type(error).__name__)
                raise MediaError(
                    "The provider could not be reached. Try again later.", 502
                ) from error
        raise MediaError("This is not a file Kotha can fetch.", 404)

    # --- Twilio ------------------------------------------------------------------------------

    def _twilio(self, client: httpx.Client, url: str) -> Fetched:
        self._check(url, self.twilio_hosts)
        sid, token = self.settings.twilio_account_sid, self.settings.twilio_auth_token
        if not sid or not token:
            raise MediaError("Twilio's credentials are not set: its files cannot be fetched.", 503)
        return self._download(client, url, self.twilio_hosts, auth=(sid, token))

    # --- Telegram ----------------------------------------------------------------------------

    def _telegram(self, client: httpx.Client, file_id: str) -> Fetched:
        token = self.settings.telegram_bot_token
        if not token:
            raise MediaError("The Telegram bot token is not set: its files cannot be fetched.", 503)
        if not file_id or not file_id.isprintable() or len(file_id) > 256:
            raise MediaError("This is not a Telegram file.", 404)
        base = self.settings.telegram_api_url or TELEGRAM_API
        self._check(base, self.telegram_hosts)
        answer = client.get(f"{base}{token}/getFile", params={"file_id": file_id})
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if answer.status_code == 400 and "too big" in str(body.get("description", "")):
            raise MediaError("The file is too large to show here.", 413)
        if answer.status_code in (400, 404) or (answer.is_success and not body.get("ok")):
            raise MediaError("Telegram no longer has this file.", 404)
        if not answer.is_success:
            raise MediaError(f"Telegram answered {answer.status_code}. Try again later.", 502)
        result = body.get("result")
        if not isinstance(result, dict):
            result = {}
        path = result.get("file_path")
        if not isinstance(path, str) or not path or ".." in path.split("/"):
            raise MediaError("Telegram no longer has this file.", 404)
        size = result.get("file_size")
        if isinstance(size, int) and size > self.max_bytes:
            raise MediaError("The file is too large to show here.", 413)
        # The Bot API's files are at <api>/file/bot<token>/<path> (python-telegram-bot's
        # base_file_url beside its base_url).
        file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base
        return self._download(client, f"{file_base}{token}/{path}", self.telegram_hosts)

    # --- Both --------------------------------------------------------------------------------

    def _check(self, url: str, hosts: frozenset[str]) -> None:
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError as error:  # e.g. a bracket never closed: "https://[::1"
            raise MediaError("This is not a file Kotha can fetch.", 404) from error
        secure = parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK)
        if host not in hosts or not secure:
            log.warning("media fetch: refused a URL off the provider's hosts")
            raise MediaError("This file is not at the provider's own address: refused.", 403)

    def _download(
        self,
        client: httpx.Client,
        url: str,
        hosts: frozenset[str],
        auth: tuple[str, str] | None = None,
    ) -> Fetched:
        for hop in range(MAX_REDIRECTS + 1):
            self._check(url, hosts)
            # Credentials go with the first request only: where a redirect leads (Twilio's
            # signed CDN address) needs none, and must never be given them.
            with client.stream("GET", url, auth=auth if hop == 0 else None) as answer:
                if answer.is_redirect:
                    location = answer.headers.get("location", "")
                    url = urljoin(url, location)
                    continue
                if answer.status_code in (404, 410):
                    raise MediaError("The provider no longer has this file.", 404)
                if answer.status_code in (401, 403):
                    raise MediaError("The provider refused Kotha's credentials for this file.", 502)
                if not answer.is_success:
                    raise MediaError(
                        f"The provider answered {answer.status_code}. Try again later.", 502
                    )
                data = self._read(answer)
            found = served_type(data)
            if found is None:
                raise MediaError("This file is not a sound or a picture Kotha can show.", 415)
            return Fetched(data, found)
        raise MediaError("The provider sent Kotha round too many redirects.", 502)

    def _read(self, answer: httpx.Response) -> bytes:
        length = answer.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise MediaError("The file is too large to show here.", 413)
        chunks, total = [], 0
        # A provider that trickles the file is given up on too, not only one that stalls.
        deadline = time.monotonic() + 3 * self.timeout
        for chunk in answer.iter_bytes():
            if time.monotonic() > deadline:
                raise MediaError("The provider did not answer in time. Try again in a minute.", 504)
            total += len(chunk)
            if total > self.max_bytes:
                raise MediaError("The file is too large to show here.", 413)
            chunks.append(chunk)
        return b"".join(chunks)
