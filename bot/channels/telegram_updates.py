"""Telegram's updates as Kotha reads them: one place for the webhook and `kotha telegram poll`.

An update becomes an InboundMessage (a private chat's text, caption or media), a button
press to answer, both, or nothing (an update type Kotha ignores). Parsing never touches the
network, and a forged update (a number where text belongs) is refused rather than passed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Message, Update

from bot.types import CONTACT, LOCATION, STICKER, InboundMessage, Media

# Telegram's own defaults for media whose update carries no mime_type: voice notes are
# Opus in OGG, photos are always re-encoded as JPEG, video notes are MP4.
_DEFAULT_TYPES = {
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "photo": "image/jpeg",
    "video": "video/mp4",
    "video_note": "video/mp4",
    "document": "application/octet-stream",
}


class UnreadableUpdate(ValueError):
    """The body is not an update Telegram could have sent."""


@dataclass(frozen=True)
class ParsedUpdate:
    """What one update means to Kotha: a message to hand over, a button press to answer, both,
    or neither (an update type Kotha ignores)."""

    message: InboundMessage | None
    callback_query_id: str | None = None


def read_update(data: object) -> ParsedUpdate:
    """Parse a decoded update body, raising UnreadableUpdate when it is not one."""
    if not isinstance(data, dict):
        raise UnreadableUpdate("an update is a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise UnreadableUpdate("an update has an integer update_id")
    try:
        # No Bot is given: since PTB 21.4 de_json works without one (only the shortcut methods
        # such as message.reply_text need it), so parsing never touches the network.
        update = Update.de_json(data, None)
        return read_parsed(update)
    except Exception as error:
        raise UnreadableUpdate("the update's fields are not what Telegram sends") from error


def read_parsed(update: Update) -> ParsedUpdate:
    """Translate an update PTB has already parsed (the webhook's or getUpdates')."""
    provider_id = str(update.update_id)
    if update.message is not None:
        return ParsedUpdate(_from_message(update.message, provider_id))
    query = update.callback_query
    if query is not None:
        chat = query.message.chat if query.message is not None else None
        # Only our own inline buttons carry data; a press without data or without the chat
        # it came from (inline mode, games) has nothing to say, but is still answered so the
        # person's Telegram stops showing a spinner.
        if chat is None or chat.type != "private" or query.data is None:
            return ParsedUpdate(None, query.id)
        question, choice = read_button(_text(query.data))
        message = InboundMessage(
            channel="telegram",
            address=_chat_address(chat.id),
            text=choice,
            provider_id=provider_id,
            language_hint=_optional_text(query.from_user.language_code),
            question=question,
        )
        return ParsedUpdate(message, query.id)
    # edited_message is ignored on purpose: by the time someone corrects a typo the flow has
    # usually moved on, so treating the edit as a new message would answer the next question
    # with the old answer's words, and the runner has no way to amend what was recorded.
    # Everything else (my_chat_member, channel_post, poll, ...) carries nothing for a flow.
    return ParsedUpdate(None)


def parse_update(data: dict[str, Any]) -> InboundMessage | None:
    """Turn one Telegram update into the message it carries, or None for updates Kotha ignores.

    Raises UnreadableUpdate when the data is not an update at all.
    """
    return read_update(data).message


def _from_message(message: Message, provider_id: str) -> InboundMessage | None:
    # Kotha talks one to one; in a group its questions about someone's care would be read by
    # everyone, so group and channel messages are left alone.
    if message.chat.type != "private":
        return None
    media = (*_media(message), *_shared(message))
    text = message.text if message.text is not None else message.caption
    # Service messages (pins, timers, members joining) carry nothing from the person.
    if text is None and not media:
        return None
    return InboundMessage(
        channel="telegram",
        address=_chat_address(message.chat.id),
        text=_text(text or ""),
        provider_id=provider_id,
        media=media,
        language_hint=(
            _optional_text(message.from_user.language_code) if message.from_user else None
        ),
        received_at=message.date,
    )


def _media(message: Message) -> tuple[Media, ...]:
    found: list[tuple[str, str, str | None]] = []
    if message.voice:
        found.append(("voice", message.voice.file_id, message.voice.mime_type))
    if message.audio:
        found.append(("audio", message.audio.file_id, message.audio.mime_type))
    if message.photo:
        # Telegram lists a photo's sizes smallest first; take the largest by area.
        largest = max(message.photo, key=lambda size: size.width * size.height)
        found.append(("photo", largest.file_id, None))
    if message.video:
        found.append(("video", message.video.file_id, message.video.mime_type))
    if message.video_note:
        found.append(("video_note", message.video_note.file_id, None))
    if message.document:
        found.append(("document", message.document.file_id, message.document.mime_type))
    return tuple(
        Media(
            url=f"telegram-file:{_text(file_id)}",
            content_type=_optional_text(mime) or _DEFAULT_TYPES[kind],
        )
        for kind, file_id, mime in found
    )


def _shared(message: Message) -> tuple[Media, ...]:
    """A sticker, a location or a contact card: kept and acknowledged, never read as words."""
    found = []
    if message.sticker:
        found.append(Media(f"telegram-file:{_text(message.sticker.file_id)}", STICKER))
    if message.location:
        latitude, longitude = message.location.latitude, message.location.longitude
        found.append(Media(f"geo:{_number(latitude)},{_number(longitude)}", LOCATION))
    if message.contact:
        found.append(Media(f"tel:{_text(message.contact.phone_number)}", CONTACT))
    return tuple(found)


# PTB builds objects from whatever JSON it is given without checking types; these few checks
# keep a forged update from handing the runner a number where it expects text.
def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _number(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError("expected a number")
    return float(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _chat_address(chat_id: object) -> str:
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise TypeError("expected an integer chat id")
    return str(chat_id)


# A button's data is the question it answers and its number, "complaint/service#2" (Telegram
# allows 64 bytes), so a press of an old button can be told from an answer to the question
# the person is at now. Buttons sent before questions were named carry the number alone.
_BUTTON_SEPARATOR = "#"
_MAX_BUTTON_DATA = 64


def button_data(question: str | None, number: int) -> str:
    """The callback data of a numbered choice's button."""
    data = f"{question}{_BUTTON_SEPARATOR}{number}" if question else str(number)
    return data if len(data.encode("utf-8")) <= _MAX_BUTTON_DATA else str(number)


def read_button(data: str) -> tuple[str | None, str]:
    """(the question a button answers, if it says, and the text of its answer)."""
    question, separator, choice = data.rpartition(_BUTTON_SEPARATOR)
    if not separator or not question:
        return None, data
    return question, choice
