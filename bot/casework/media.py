"""Voice notes and photos people sent, for staff: fetched from the provider, kept a while,
written down.

A file is named by the message it came with and its place in that message's `media`
(`find_media`). Its bytes come from the provider through bot/channels/media.py (provider
hosts only, credentials, size and type checked) and are kept on disk under
`instance/media/` (`MediaCache`), up to KOTHA_MEDIA_CACHE_MB in all, the files read longest
ago going first; `MediaStore.load` is the one way to a file's bytes, fetching on a miss.
Staff write beside each file what was said and its English translation (`save_note`),
which the conversations search reads, the exports carry and an erasure deletes, with the
cached file.

A recording made in the simulator's phone call (console/simulator_call.py) is at no
provider: `MediaStore.keep_simulated` checks it as a fetch would (size, sound by its bytes)
and keeps it in the same cache under a reference of its own (`simulated-recording:` and 32
random hexadecimal digits), which only a simulated person's message may name (`find_media`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.media import Fetched, MediaError, MediaFetcher, fetchable, served_type
from bot.settings import Settings
from storage.models import Address, Contact, MediaNote, Message, is_simulated

# A transcript or translation longer than this is surely pasted by mistake (a five-minute
# voice note is about 750 words, some 5,000 letters).
NOTE_LIMIT = 20_000
CACHE_DIR = "media"
# A recording made in the simulator: kept here only, named by a random key (never a path).
SIMULATED_RECORDING = re.compile(r"simulated-recording:[0-9a-f]{32}")
# Five minutes of speech (the voice line's longest recording) is 4.8 MB as an 8 kHz WAV,
# Twilio's own format, and far less as MP3 or Ogg.
SIMULATED_MAX_BYTES = 5 * 1024 * 1024


# --- The files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A file kept on disk, ready to serve: where it is and the type its bytes are."""

    path: Path
    content_type: str


class MediaCache:
    """Files fetched from providers, on disk (owner-only), up to a total size, oldest read out."""

    def __init__(self, directory: Path, limit_bytes: int) -> None:
        self.directory = directory
        self.limit_bytes = limit_bytes

    @classmethod
    def of(cls, settings: Settings) -> MediaCache:
        return cls(settings.instance_dir / CACHE_DIR, settings.media_cache_mb * 1024 * 1024)

    def path(self, url: str) -> Path:
        """Where a reference's file is kept: named by a digest, so no URL reaches the disk."""
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / digest

    def get(self, url: str) -> Stored | None:
        """The kept file for this reference, marked as just read; None when it is not kept."""
        path = self.path(url)
        try:
            with path.open("rb") as file:
                head = file.read(8192)
            os.utime(path)
        except FileNotFoundError:
            return None
        found = served_type(head)
        if found is None:  # not what was written (a file changed on disk): fetch it again
            path.unlink(missing_ok=True)
            return None
        return Stored(path, found)

    def put(self, url: str, fetched: Fetched) -> Stored:
        """Keep a fetched file (written whole, then renamed), then make room by age."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path(url)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(fetched.data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._evict(keep=path)
        return Stored(path, fetched.content_type)

    def forget(self, urls: Iterable[str]) -> int:
        """Delete the kept files of these references (an erasure); return how many went."""
        gone = 0
        for url in urls:
            path = self.path(url)
            if path.exists():
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    def _evict(self, keep: Path) -> None:
        files = []
        for entry in os.scandir(self.directory):
            try:
                status = entry.stat()
            except FileNotFoundError:
                continue  # another process removed it meanwhile
            files.append((status.st_mtime, status.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.limit_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size


class MediaStore:
    """The one way to a file's bytes: from the cache, or fetched from its provider and kept.

    Issue #19's call recordings go the same way: keep the provider's recording URL as a
    message's (or feedback's) media, then `load(url)` fetches and keeps it (Twilio's
    recording URLs are on api.twilio.com, behind the same credentials).
    """

    def __init__(self, fetcher: MediaFetcher, cache: MediaCache) -> None:
        self.fetcher = fetcher
        self.cache = cache

    @classmethod
    def of(cls, settings: Settings) -> MediaStore:
        return cls(MediaFetcher(settings), MediaCache.of(settings))

    def load(self, url: str) -> Stored:
        """The file a stored reference names, kept on disk; raise MediaError saying why not."""
        kept = self.cache.get(url)
        if kept is not None:
            return kept
        if is_simulated_recording(url):
            # No provider has it: made room for others, or kept by another web server.
            raise MediaError("This simulated recording is no longer kept.", 404)
        return self.cache.put(url, self.fetcher.fetch(url))

    @property
    def simulated_max_bytes(self) -> int:
        """The largest recording the simulator takes (KOTHA_MEDIA_MAX_MB, if smaller)."""
        return min(SIMULATED_MAX_BYTES, self.fetcher.max_bytes)

    def keep_simulated(self, data: bytes) -> str:
        """Keep a recording made in the simulator and return its reference; MediaError
        (400 empty, 413 too large, 415 not a sound) when it is refused, and nothing kept."""
        if not data:
            raise MediaError("The file is empty.", 400)
        if len(data) > self.simulated_max_bytes:
            raise MediaError("The file is too large.", 413)
        found = served_type(data)
        if found is None or media_kind(found) != "audio":
            raise MediaError("This file is not a sound Kotha can play.", 415)
        url = f"simulated-recording:{secrets.token_hex(16)}"
        self.cache.put(url, Fetched(data, found))
        return url


# --- Which file ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaRef:
    """One file a person sent: the message it came with, its place there, what it is."""

    message_id: int
    index: int
    url: str
    content_type: str
    address_id: int
    hidden: bool  # the person is hidden by a moderator (staff do not see them)


def is_simulated_recording(url: str) -> bool:
    """Whether a media reference names a recording made in the simulator (kept here only)."""
    return SIMULATED_RECORDING.fullmatch(url) is not None


def shown(url: str) -> bool:
    """Whether the console can get a media reference's file: from its provider, or kept here."""
    return fetchable(url) or is_simulated_recording(url)


def media_kind(content_type: str) -> str | None:
    """ "audio" or "image" for a file the console plays or shows, else None."""
    family = content_type.split("/")[0]
    return family if family in ("audio", "image") and "/" in content_type else None


def media_items(media: Sequence[Any] | None) -> list[tuple[str, str]]:
    """A message's `media` column as (url, content type) pairs, whatever it holds."""
    items = []
    for item in media or ():
        if isinstance(item, Mapping):
            items.append((str(item.get("url", "")), str(item.get("content_type", ""))))
        else:
            items.append(("", ""))
    return items


def find_media(session: Session, message_id: int, index: int) -> MediaRef:
    """The file at `index` in a message people sent; MediaError (404) when there is none."""
    row = session.execute(
        select(
            Message.media, Message.direction, Message.address_id, Address.address, Contact.hidden_at
        )
        .join(Address, Address.id == Message.address_id)
        .join(Contact, Contact.id == Address.contact_id)
        .where(Message.id == message_id)
    ).first()
    if row is None or row.direction != "in":
        raise MediaError("There is no such message from a person.", 404)
    items = media_items(row.media)
    if not 0 <= index < len(items):
        raise MediaError("That message has no such file (it may have been erased).", 404)
    url, content_type = items[index]
    if media_kind(content_type) is None or not shown(url):
        raise MediaError("That is not a voice note or photo the console can show.", 404)
    if is_simulated_recording(url) and not is_simulated(row.address):
        # Only the simulator makes these, for its own people: a real person's message
        # never names a file of this machine's.
        raise MediaError("That is not a voice note or photo the console can show.", 404)
    return MediaRef(message_id, index, url, content_type, row.address_id, row.hidden_at is not None)


def message_media_urls(session: Session, address_ids: Sequence[int]) -> list[str]:
    """Every file reference on these addresses' messages (to forget their cached files)."""
    urls: list[str] = []
    for media in session.scalars(
        select(Message.media).where(Message.address_id.in_(address_ids), Message.media.is_not(None))
    ):
        urls.extend(url for url, _ in media_items(media) if shown(url))
    return urls


# --- What staff write beside it --------------------------------------------------------------


class NoteError(ValueError):
    """What staff wrote cannot be kept; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class NoteRequest:
    """A transcript and translation as staff typed them, and the language they heard."""

    transcript: str
    translation: str
    language: str


def save_note(
    session: Session,
    ref: MediaRef,
    request: NoteRequest,
    languages: Iterable[str],
    user_id: int | None,
    now: datetime,
) -> MediaNote:
    """Keep staff's transcript and translation of a file (the last written counts)."""
    transcript, translation = request.transcript.strip(), request.translation.strip()
    if not transcript and not translation:
        raise NoteError("Write what was said, its English translation, or both")
    if len(transcript) > NOTE_LIMIT or len(translation) > NOTE_LIMIT:
        raise NoteError(f"Keep each to {NOTE_LIMIT:,} characters")
    language = request.language.strip()
    if language and language not in set(languages):
        raise NoteError("Choose the language from the list")
    note = session.scalars(
        select(MediaNote).where(
            MediaNote.message_id == ref.message_id, MediaNote.media_index == ref.index
        )
    ).first()
    if note is None:
        note = MediaNote(message_id=ref.message_id, media_index=ref.index)
        session.add(note)
    note.transcript = transcript or None
    note.translation = translation or None
    note.language = language or None
    note.user_id = user_id
    note.updated_at = now
    session.flush()
    return note


def notes_of(session: Session, message_ids: Iterable[int]) -> dict[tuple[int, int], MediaNote]:
    """The notes on these messages' files, by (message id, place)."""
    ids = list(message_ids)
    if not ids:
        return {}
    return {
        (note.message_id, note.media_index): note
        for note in session.scalars(select(MediaNote).where(MediaNote.message_id.in_(ids)))
    }
