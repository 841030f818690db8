"""The small frozen types the core speaks; providers are translated to and from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

Channel = Literal["sms", "whatsapp", "telegram", "voice"]
# The channels Kotha sends and receives messages on: each has a sender and a webhook.
CHANNELS: tuple[Channel, ...] = ("sms", "whatsapp", "telegram")
# A phone call to the voice line (webhooks/twilio_voice.py): a conversation like the others,
# stepped by the same engine, but what the bot says is spoken in the call (TwiML) as it is
# written, never sent: no sender has this channel. The caller's reference and later updates
# go by SMS to a mobile, or become a staff task to call them (bot/casework/voiceline.py).
VOICE: Channel = "voice"
# How staff took feedback on someone's behalf (bot/casework/onbehalf.py): a phone call, a
# drop-in, a letter. Records carry these channels, so reports count them; nothing is ever
# sent on one (no sender has them): an update goes by SMS to a mobile the person gave, or
# becomes a staff task to call or write (bot/casework/tasks.py).
OFFLINE_CHANNELS: tuple[str, ...] = ("phone", "in_person", "letter")
# Each channel's name as people write it, for staff pages and the command line.
CHANNEL_NAMES: dict[str, str] = {
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "phone": "Phone call",
    "in_person": "In person",
    "letter": "Letter",
    "voice": "Voice line",
}
# Only the channels a message can go on, for choices that send (a broadcast's segment).
MESSAGING_CHANNEL_NAMES: dict[str, str] = {channel: CHANNEL_NAMES[channel] for channel in CHANNELS}


@dataclass(frozen=True)
class Media:
    """Something a person sent besides words, kept as a reference, never fetched by Kotha.

    A file (voice note, photo, video, document) is its provider's URL and MIME type. The
    rest have a type of their own: a sticker (its Telegram file), a location (a `geo:` URI,
    RFC 5870) and a contact card (a `tel:` URI).
    """

    url: str
    content_type: str


STICKER, LOCATION, CONTACT = "sticker", "location", "contact"
# A place picked from a map (a `geo:` URI), and what a Telegram web app sent (a `data:` URI).
VENUE, WEB_APP_DATA = "venue", "web-app-data"
# Anything else a person can send that Kotha cannot read (a Telegram dice or poll:
# `telegram:dice`).
OTHER = "other"
# What a person shared that is not words and not a file: kept with the conversation, and
# the person told what the bot can read (flows/texts.py SHARED_NOT_READ).
SHARED_TYPES = frozenset({STICKER, LOCATION, CONTACT, VENUE, WEB_APP_DATA, OTHER})
# A file whose provider did not say its type (a Twilio MMS without MediaContentType).
UNKNOWN_FILE_TYPE = "application/octet-stream"


class Kind(StrEnum):
    """What an outbound message is, kept on its row: a person's No to contact and their
    preferences hold some kinds and never others (bot/pipeline/hold.py)."""

    REPLY = "reply"  # the bot answering someone who wrote, or asking the next question
    CASE_UPDATE = "case-update"  # a change to their case, told by staff
    STAFF_REPLY = "staff-reply"  # staff writing to them from the conversation page
    BROADCAST = "broadcast"  # news from staff to many
    YOU_SAID = "you-said"  # "you said, we did"
    SURVEY = "survey"  # a survey's first question, sent as a broadcast
    REMINDER = "reminder"  # of an event they asked to be reminded of
    EVENT_NOTICE = "event-notice"  # an event they said they would come to changed
    THANKS = "thanks"  # thank you for coming to an event, sent by staff after it
    SAFEGUARDING_ALERT = "safeguarding-alert"  # to an on-call colleague
    DIGEST = "digest"  # the daily digest of overdue cases, to a colleague


@dataclass(frozen=True)
class InboundMessage:
    """One message a person sent, as any provider's webhook parses it.

    `address` is the person's address on the channel: E.164 for SMS and WhatsApp (without
    the `whatsapp:` prefix), the chat id for Telegram. `text` is exactly what they sent.
    """

    channel: Channel
    address: str
    text: str
    provider_id: str | None = None
    media: tuple[Media, ...] = ()
    language_hint: str | None = None
    received_at: datetime | None = None
    # A button press: the question its button belonged to ("complaint/service").
    question: str | None = None
    # The provider's id of the message in the person's chat (Telegram's message_id), and
    # whether this is the person's edit of that message, kept as a correction of it.
    chat_message_id: str | None = None
    edited: bool = False
    # WhatsApp: the person's business-scoped user id (Twilio's ExternalUserId, "US.1349..."),
    # which stays theirs if they hide their number behind a user name.
    external_user_id: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """One rendered message ready for a sender: text plus optional choices for buttons.

    `choices` are the numbered options already written into `text` as lines
    ("1 Home care"); a channel with buttons may show them as buttons instead, each
    answering with its number.
    """

    id: int
    channel: Channel
    address: str
    text: str
    choices: tuple[str, ...] = field(default=())
    # An approved WhatsApp template (its Content SID) to send outside the 24-hour window,
    # with its named variables; `text` is then what the person reads, for the records.
    template: str | None = None
    variables: Mapping[str, str] | None = None
    # The question the message asks, for buttons to say what they answer.
    question: str | None = None


@dataclass(frozen=True)
class SendReceipt:
    """What a provider said when it accepted a message."""

    provider_id: str
    status: Literal["sent", "delivered"] = "sent"
