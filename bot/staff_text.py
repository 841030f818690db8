"""Words staff write to one person: checked, made SMS-safe, read for language, priced.

A case note or the words saying what changed, told to the person, and a reply written on
the conversation page all pass here before they become an outbound row, and so does the
preview the console and `kotha feedback update` show. The checks, in order:

- nothing written, or more than MAX_CHARS, or emoji: refused with a message staff can act
  on (emoji make a whole SMS UCS-2 and many older phones show them as boxes);
- characters GSM-7 lacks but has a plain equal for are replaced (bot/smssafe.py);
- the words are read for their script and language (flows/understanding, as for what people
  write): words in a language or script the person does not read, or mixing two scripts,
  are not sent mixed but held "awaiting translation" until staff give them in the person's
  language (bot/casework/translations.py);
- the whole message, as the person will receive it, is priced (bot/sms.py); more than
  CONFIRM_OVER segments asks staff to confirm before it goes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from bot.sms import SmsCost, sms_cost
from bot.smssafe import SmsSafe, sms_safe
from flows.understanding import understand

# Longer is refused: ten SMS segments is already a letter, better sent as one.
MAX_CHARS = 1_600
# More segments than this is a long text message: staff confirm they mean to send it.
CONFIRM_OVER = 3
# The script each language is read in. Syloti Nagri readers get SMS in Bengali script
# (locales/languages.yaml), so they read both.
SCRIPTS = {
    "en": ("latin",),
    "syl-Latn": ("latin",),
    "bn": ("bengali",),
    "syl": ("bengali",),
    "syl-Sylo": ("syloti_nagri", "bengali"),
}
# In the order staff are told of them.
SCRIPT_NAMES = {
    "bengali": "Bengali script",
    "syloti_nagri": "Syloti Nagri",
    "latin": "Latin letters",
}
LANGUAGE_NAMES = {
    "en": "English",
    "bn": "Bengali",
    "syl": "Sylheti",
    "syl-Latn": "Sylheti in Latin letters",
    "syl-Sylo": "Sylheti in Syloti Nagri",
}
# A case reference or a code inside other words is not a word of another script.
_REFERENCE = re.compile(r"\b[A-Z]{1,3}-\d+\b")
_WORD = re.compile(r"[^\W\d_]{2,}")


class StaffTextError(ValueError):
    """Staff's words cannot be sent as written; the message says why, for staff to read."""


def has_emoji(text: str) -> bool:
    """Whether the text holds an emoji (pictographs, dingbats, the emoji variation selector)."""
    return any(ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF or ch == "\ufe0f" for ch in text)


def checked(text: str | None, what: str = "note") -> SmsSafe:
    """Staff's words trimmed and made SMS-safe, or StaffTextError saying what is wrong."""
    written = (text or "").strip()
    if not written:
        raise StaffTextError(f"Enter the {what}")
    if len(written) > MAX_CHARS:
        raise StaffTextError(
            f"The {what} must be {MAX_CHARS:,} characters or fewer (it has {len(written):,})"
        )
    if has_emoji(written):
        raise StaffTextError(
            f"Take the emoji out of the {what}: by text message they make it cost two or three "
            "times as much, and many phones show them as empty boxes"
        )
    return sms_safe(written)


def _script_words(text: str) -> dict[str, int]:
    """How many words of two letters or more each script has (references left out)."""
    counts = {"latin": 0, "bengali": 0, "syloti_nagri": 0}
    for word in _WORD.findall(_REFERENCE.sub(" ", text)):
        first = word[0]
        if "\u0980" <= first <= "\u09ff":
            counts["bengali"] += 1
        elif "\ua800" <= first <= "\ua82f":
            counts["syloti_nagri"] += 1
        elif first.isascii() or "LATIN" in unicodedata.name(first, ""):
            counts["latin"] += 1
    return counts


def language_problem(text: str, reader: str) -> str | None:
    """Why these words are not in the language the person reads, or None when they are.

    `reader` is the language they read on the channel it goes by. Words mixing two scripts
    (more than one word of the lesser one), words in a script they do not read, and Latin
    letters the understanding is sure are English to a reader of romanised Sylheti (or the
    other way round) are not in their language.
    """
    counts = _script_words(text)
    used = sorted((script for script, n in counts.items() if n), key=lambda s: -counts[s])
    if not used:
        return None  # only numbers or a reference: every reader reads them
    if len(used) > 1 and counts[used[1]] > 1:
        mixed = [name for script, name in SCRIPT_NAMES.items() if script in used[:2]]
        return f"it mixes {mixed[0]} and {mixed[1]}"
    script = used[0]
    readable = SCRIPTS.get(reader, ("latin",))
    name = LANGUAGE_NAMES.get(reader, reader)
    if script not in readable:
        return f"it is written in {SCRIPT_NAMES[script]} and they read {name}"
    if script == "latin":
        found = understand(text)
        if (
            found.language_sure
            and found.language in ("en", "syl-Latn")
            and found.language != reader
        ):
            return f"it reads as {LANGUAGE_NAMES[found.language]} and they read {name}"
    return None


@dataclass(frozen=True)
class Priced:
    """A whole message as the person will receive it: its text, cost and whether to confirm."""

    text: str
    cost: SmsCost
    price: Decimal  # by SMS; nothing on a chat channel
    channel: str

    @property
    def needs_confirming(self) -> bool:
        return self.channel == "sms" and self.cost.segments > CONFIRM_OVER

    def describe(self) -> str:
        """Say what it costs, for staff: "1 text message (GSM-7), £0.04"."""
        if self.channel != "sms":
            return "1 message (no charge per segment on this channel)"
        count = self.cost.segments
        noun = "text message" if count == 1 else "text messages"
        return f"{count} {noun} ({self.cost.encoding}), £{self.price:.2f}"


@dataclass(frozen=True)
class WordsPreview:
    """A message with staff's words as the person will read it, priced, before it is sent."""

    priced: Priced
    replaced: str = ""  # what was made plain in staff's words, for staff
    awaiting: str | None = None  # why it will be held for a translation, if it will


def priced(text: str, channel: str, price_per_segment: Decimal) -> Priced:
    """Price a whole message as it will go on `channel`."""
    cost = sms_cost(text)
    price = price_per_segment * cost.segments if channel == "sms" else Decimal(0)
    return Priced(text, cost, price, channel)
