"""The voice notes and photos people sent, as the conversation and case pages show them.

Each file the console can play or show becomes a `FileView`: where the page's `<audio>` or
`<img>` loads it from (console/media.py, which fetches it through the app), and staff's
transcript and translation beside it. Files it cannot (a video, a document, a sticker) stay
words on the page ("They sent a video").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.media import media_items, media_kind, notes_of, shown
from storage.models import Message, User

LABELS = {"audio": "voice note", "image": "photo"}


@dataclass(frozen=True)
class FileView:
    """One file a person sent, with what staff wrote of it."""

    message_id: int
    index: int
    kind: str  # audio | image
    label: str  # voice note | photo
    src: str
    transcript: str | None = None
    translation: str | None = None
    language: str | None = None
    noted_by: str | None = None
    noted_at: datetime | None = None

    @property
    def anchor(self) -> str:
        return f"media-{self.message_id}-{self.index}"


def file_views(
    session: Session, messages: Iterable[tuple[int, Sequence[Any] | None]]
) -> dict[int, list[FileView]]:
    """The files of these inbound messages (id, media) the console plays or shows, by message."""
    found: dict[int, list[tuple[int, str]]] = {}
    for message_id, media in messages:
        for index, (url, content_type) in enumerate(media_items(media)):
            kind = media_kind(content_type)
            if kind is not None and shown(url):
                found.setdefault(message_id, []).append((index, kind))
    notes = notes_of(session, found)
    writers = {note.user_id for note in notes.values() if note.user_id is not None}
    emails = {
        row.id: row.email
        for row in session.execute(select(User.id, User.email).where(User.id.in_(writers)))
    }
    views: dict[int, list[FileView]] = {}
    for message_id, items in found.items():
        for index, kind in items:
            note = notes.get((message_id, index))
            views.setdefault(message_id, []).append(
                FileView(
                    message_id=message_id,
                    index=index,
                    kind=kind,
                    label=LABELS[kind],
                    src=url_for("console.media_file", message_id=message_id, index=index),
                    transcript=note.transcript if note else None,
                    translation=note.translation if note else None,
                    language=note.language if note else None,
                    noted_by=emails.get(note.user_id) if note and note.user_id else None,
                    noted_at=note.updated_at if note else None,
                )
            )
    return views


def feedback_files(
    session: Session, address_id: int, media: Sequence[Any] | None
) -> list[FileView]:
    """The files a feedback record keeps, found on the message that brought them (by URL)."""
    wanted = [url for url, _ in media_items(media) if url]
    if not wanted:
        return []
    rows = session.execute(
        select(Message.id, Message.media).where(
            Message.address_id == address_id,
            Message.direction == "in",
            Message.media.is_not(None),
        )
    ).all()
    places = {
        url: (row.id, index)
        for row in rows
        for index, (url, _) in enumerate(media_items(row.media))
    }
    views = file_views(session, [(row.id, row.media) for row in rows])
    by_place = {(view.message_id, view.index): view for items in views.values() for view in items}
    return [by_place[places[url]] for url in wanted if url in places and places[url] in by_place]
