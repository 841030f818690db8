"""Telegram's updates as Kotha reads them: one place for the webhook and `kotha telegram poll`.

An update becomes an InboundMessage (a private chat's text, caption, media or shared item,
or an edit of one), a button press to answer, both, or nothing (an update type Kotha
ignores), with a note saying which for the log. Parsing never touches the network.

The update's JSON is read here field by field rather than through python-telegram-bot's
`Update.de_json`: PTB refuses a whole update when a field Telegram documents as always
there is missing (`from.is_bot`, `chat.type`: "User.__init__() missing ... 'is_bot'"), and
updates replayed from other projects' tests lack them, so a person's words would be lost
over a field Kotha never reads. Only what Kotha uses is required, and its type checked: a
forged update (a number where text belongs) is refused rather than passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from telegram import Update

from bot.types import (
    CONTACT,
    LOCATION,
    OTHER,
    STICKER,
    VENUE,
    WEB_APP_DATA,
    InboundMessage,
    Media,
)

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
_FILES = ("voice", "audio", "photo", "video", "video_note", "document")
# Things a person can send in a private chat that are neither words, a file nor one of the
# shared items Kotha keeps by kind: each kept as `telegram:<kind>` and answered the same way.
_OTHER_KINDS = (
    "dice",
    "poll",
    "game",
    "story",
    "invoice",
    "paid_media",
    "checklist",
    "users_shared",
    "chat_shared",
)


class UnreadableUpdate(ValueError):
    """The body is not an update Telegram could have sent."""


@dataclass(frozen=True)
class ParsedUpdate:
    """What one update means to Kotha: a message to hand over, a button press to answer, both,
    or neither (an update type Kotha ignores); `note` says which, for the log (no values)."""

    message: InboundMessage | None
    callback_query_id: str | None = None
    note: str = "message"


def read_update(data: object) -> ParsedUpdate:
    """Parse a decoded update body, raising UnreadableUpdate when it is not one."""
    if not isinstance(data, dict):
        raise UnreadableUpdate("an update is a JSON object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or not _fits(update_id):
        raise UnreadableUpdate("an update has an integer update_id")
    try:
        return _read(data, str(update_id))
    except UnreadableUpdate:
        raise
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise UnreadableUpdate("the update's fields are not what Telegram sends") from error


def read_parsed(update: Update) -> ParsedUpdate:
    """Translate an update PTB has already parsed (`kotha telegram poll`'s getUpdates)."""
    return read_update(update.to_dict())


def parse_update(data: dict[str, Any]) -> InboundMessage | None:
    """Turn one Telegram update into the message it carries, or None for updates Kotha ignores.

    Raises UnreadableUpdate when the data is not an update at all.
    """
    return read_update(data).message


def _read(data: Mapping[str, Any], provider_id: str) -> ParsedUpdate:
    if data.get("message") is not None:
        return _from_message(_object(data["message"]), provider_id, edited=False)
    if data.get("edited_message") is not None:
        # Kept as a correction of the message it edits, never stepped as an answer: by the
        # time someone corrects a typo the flow has usually moved on (bot/pipeline/step.py).
        return _from_message(_object(data["edited_message"]), provider_id, edited=True)
    if data.get("callback_query") is not None:
        return _from_button(_object(data["callback_query"]), provider_id)
    # my_chat_member, channel_post, poll, ... carry nothing from a person to a flow.
    kinds = sorted(key for key in data if key != "update_id")
    return ParsedUpdate(None, note=f"ignored: {kinds[0][:32] if kinds else 'empty'} update")


def _from_button(query: Mapping[str, Any], provider_id: str) -> ParsedUpdate:
    query_id = _text(query["id"])
    message = _optional_object(query.get("message"))
    chat = _optional_object(message.get("chat")) if message is not None else None
    data = query.get("data")
    # Only our own inline buttons carry data; a press without data or without the chat it
    # came from (inline mode, games) has nothing to say, but is still answered so the
    # person's Telegram stops showing a spinner.
    if chat is None or not _private(chat) or data is None:
        return ParsedUpdate(None, query_id, note="ignored: a button press without our data")
    if len(_text(data).encode("utf-8", "surrogatepass")) > _MAX_BUTTON_DATA:
        raise UnreadableUpdate("a button's data is at most 64 bytes")
    question, choice = read_button(data)
    message_in = InboundMessage(
        channel="telegram",
        address=_chat_address(chat.get("id")),
        text=choice,
        provider_id=provider_id,
        language_hint=_language(query),
        question=question,
    )
    return ParsedUpdate(message_in, query_id, note="button press")


def _from_message(message: Mapping[str, Any], provider_id: str, *, edited: bool) -> ParsedUpdate:
    chat = _object(message["chat"])
    address = _chat_address(chat.get("id"))
    # Kotha talks one to one; in a group its questions about someone's care would be read by
    # everyone, so group and channel messages are left alone.
    if not _private(chat):
        return ParsedUpdate(None, note="ignored: not a private chat")
    media, kinds = _media(message)
    shared, shared_kinds = _shared(message)
    text = message.get("text")
    if text is None:
        text = message.get("caption")
    # Service messages (pins, timers) carry nothing from the person.
    if text is None and not media and not shared:
        return ParsedUpdate(None, note="ignored: a service message")
    message_id = message.get("message_id")
    chat_message_id = None if message_id is None else str(_identifier(message_id))
    if edited and chat_message_id is None:
        raise UnreadableUpdate("an edited message has its message_id")
    parsed = InboundMessage(
        channel="telegram",
        address=address,
        text=_text(text or ""),
        provider_id=provider_id,
        media=(*media, *shared),
        language_hint=_language(message),
        received_at=_date(message.get("date")),
        chat_message_id=chat_message_id,
        edited=edited,
    )
    what = "edited message" if edited else "message"
    found = [*kinds, *shared_kinds]
    return ParsedUpdate(parsed, note=f"{what} with {', '.join(found)}" if found else what)


def _media(message: Mapping[str, Any]) -> tuple[tuple[Media, ...], list[str]]:
    found: list[Media] = []
    kinds: list[str] = []
    for kind in _FILES:
        value = message.get(kind)
        if not value:
            continue
        if kind == "photo":
            if not isinstance(value, list):
                raise TypeError("expected a list of photo sizes")
            # Telegram lists a photo's sizes smallest first; take the largest by area.
            sizes = [_object(size) for size in value]
            item = max(
                sizes, key=lambda size: _dimension(size, "width") * _dimension(size, "height")
            )
            mime = None
        else:
            item = _object(value)
            mime = _optional_text(item.get("mime_type"))
        found.append(_file(item, mime or _DEFAULT_TYPES[kind]))
        kinds.append(kind.replace("_", " "))
    return tuple(found), kinds


def _file(item: Mapping[str, Any], content_type: str) -> Media:
    return Media(url=f"telegram-file:{_text(item['file_id'])}", content_type=content_type)


def _shared(message: Mapping[str, Any]) -> tuple[tuple[Media, ...], list[str]]:
    """What a person shared that is not words or a file: kept, and the person told what the
    bot reads (flows/engine.py), never taken as words."""
    found: list[Media] = []
    kinds: list[str] = []
    sticker = _optional_object(message.get("sticker"))
    if sticker is not None:
        found.append(Media(f"telegram-file:{_text(sticker['file_id'])}", STICKER))
        kinds.append("sticker")
    venue = _optional_object(message.get("venue"))
    # A venue's message carries its location as well; the venue says more.
    location = _optional_object(venue["location"] if venue is not None else message.get("location"))
    if location is not None:
        where = f"geo:{_number(location['latitude'])},{_number(location['longitude'])}"
        found.append(Media(where, VENUE if venue is not None else LOCATION))
        kinds.append("venue" if venue is not None else "location")
    contact = _optional_object(message.get("contact"))
    if contact is not None:
        found.append(Media(f"tel:{_text(contact['phone_number'])}", CONTACT))
        kinds.append("contact")
    web_app = _optional_object(message.get("web_app_data"))
    if web_app is not None:
        # RFC 2397: the data exactly as the web app sent it, percent-encoded.
        found.append(Media(f"data:,{quote(_text(web_app['data']), safe='')}", WEB_APP_DATA))
        kinds.append("web app data")
    for kind in _OTHER_KINDS:
        if message.get(kind) is not None:
            found.append(Media(f"telegram:{kind}", OTHER))
            kinds.append(kind.replace("_", " "))
    return tuple(found), kinds


# -- the few checks that keep a forged update from handing the runner the wrong types ----------


def _object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("expected an object")
    return value


def _optional_object(value: object) -> Mapping[str, Any] | None:
    return None if value is None else _object(value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("expected an integer")
    return value


def _number(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError("expected a number")
    return float(value)


def _dimension(size: Mapping[str, Any], name: str) -> float:
    value = size.get(name)
    return 0.0 if value is None else _number(value)


def _date(value: object) -> datetime | None:
    """When the person sent it; missing is allowed (the time it is stored is used)."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(_integer(value), UTC)
    except OSError as error:  # a time the platform's clock cannot hold (year 10,000 and on)
        raise ValueError("a date out of range") from error


def _private(chat: Mapping[str, Any]) -> bool:
    kind = chat.get("type")
    if kind is None:
        # Telegram's ids: a person's chat is positive, groups and channels are negative.
        return _integer(chat.get("id")) > 0
    return _text(kind) == "private"


def _language(holder: Mapping[str, Any]) -> str | None:
    """The language the person's app says they use: a hint, dropped when it is not an IETF
    tag of the length Telegram sends ("en", "pt-br")."""
    sender = _optional_object(holder.get("from"))
    code = None if sender is None else _optional_text(sender.get("language_code"))
    return code if code is not None and len(code) <= _MAX_LANGUAGE else None


def _chat_address(chat_id: object) -> str:
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or not _fits(abs(chat_id)):
        raise TypeError("expected an integer chat id")
    return str(chat_id)


def _identifier(value: object) -> int:
    number = _integer(value)
    if not _fits(number):
        raise ValueError("an id out of Telegram's range")
    return number


def _fits(number: int) -> bool:
    """Whether an id is one Telegram could send: its ids fit in 64 bits (chat ids in 52)."""
    return 0 <= number < 2**63


# Telegram sends IETF language tags of a few letters; the messages table keeps 16.
_MAX_LANGUAGE = 16


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
