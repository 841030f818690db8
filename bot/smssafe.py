"""SMS-safe staff text: characters GSM-7 lacks but which have a plain equal, replaced.

Staff type in word processors and mail clients, which turn "-" into "–" and "'" into "’".
One such character makes a whole SMS UCS-2 (bot/sms.py): 70 characters a segment instead
of 160, so a broadcast to thousands costs twice or three times as much. GOV.UK Notify,
which councils already use, replaces these characters before it sends a text message; the
characters it replaces, and what with, are taken from its `SanitiseSMS` list
(alphagov/notifications-utils, `notifications_utils/sanitise_text.py`,
`SanitiseText.REPLACEMENT_CHARACTERS`): the non-breaking hyphen, en and em dashes and the
minus sign become "-"; the ellipsis "..."; the curly and low-9 single quotes "'" and double
quotes '"'; the no-break and narrow no-break spaces and the tab a space; the Mongolian
vowel separator, zero-width space and non-joiner, word joiner, byte order mark, and the line
and paragraph separators are removed. Notify replaces no bullets (a bullet "•" keeps a
message Unicode there too), and neither do we. To Notify's list we add what it leaves out
but has the same plain equal: the hyphen and figure dash ("-"), the prime and double prime
("'" and '"'), and the other fixed-width spaces of Unicode's General Punctuation block (a
space).

Only text written in Latin letters is changed. Text with any Bengali or Syloti Nagri letter
is sent as UCS-2 whatever its punctuation, so a replacement saves nothing, and "…" -> "..."
would even cost two more units: it is left exactly as written. What people write to us is
never passed through here: only text staff write to send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# character -> (its replacement, what staff are told was replaced: singular, plural)
_DASH = ("dash", "dashes")
_QUOTE = ("curly quote", "curly quotes")
_ELLIPSIS = ("ellipsis", "ellipses")
_SPACE = ("special space", "special spaces")
_TAB = ("tab", "tabs")
_INVISIBLE = ("invisible character", "invisible characters")

REPLACEMENTS: dict[str, tuple[str, tuple[str, str]]] = {
    # GOV.UK Notify's list (SanitiseText.REPLACEMENT_CHARACTERS).
    "\u2011": ("-", _DASH),  # non-breaking hyphen
    "\u2013": ("-", _DASH),  # en dash
    "\u2014": ("-", _DASH),  # em dash
    "\u2212": ("-", _DASH),  # minus sign
    "\u2026": ("...", _ELLIPSIS),  # horizontal ellipsis
    "\u2018": ("'", _QUOTE),  # left single quotation mark
    "\u2019": ("'", _QUOTE),  # right single quotation mark (the curly apostrophe)
    "\u201a": ("'", _QUOTE),  # single low-9 quotation mark
    "\u201c": ('"', _QUOTE),  # left double quotation mark
    "\u201d": ('"', _QUOTE),  # right double quotation mark
    "\u201e": ('"', _QUOTE),  # double low-9 quotation mark
    "\u180e": ("", _INVISIBLE),  # Mongolian vowel separator
    "\u200b": ("", _INVISIBLE),  # zero width space
    "\u200c": ("", _INVISIBLE),  # zero width non-joiner
    "\u2060": ("", _INVISIBLE),  # word joiner
    "\ufeff": ("", _INVISIBLE),  # zero width no-break space (byte order mark)
    "\u2028": ("", _INVISIBLE),  # line separator
    "\u2029": ("", _INVISIBLE),  # paragraph separator
    "\u00a0": (" ", _SPACE),  # no-break space
    "\u202f": (" ", _SPACE),  # narrow no-break space
    "\t": (" ", _TAB),
    # Ours: the same plain equals for characters Notify's list does not name.
    "\u2010": ("-", _DASH),  # hyphen
    "\u2012": ("-", _DASH),  # figure dash
    "\u2032": ("'", _QUOTE),  # prime
    "\u2033": ('"', _QUOTE),  # double prime
    **{chr(code): (" ", _SPACE) for code in range(0x2000, 0x200B)},  # en quad .. hair space
    "\u205f": (" ", _SPACE),  # medium mathematical space
    "\u3000": (" ", _SPACE),  # ideographic space
}
# The characters GOV.UK Notify itself replaces (its list, as above), for the tests.
NOTIFY_REPLACES = frozenset("\u2011\u2013\u2014\u2212\u2026\u2018\u2019\u201a\u201c\u201d\u201e")
NOTIFY_REPLACES |= frozenset("\u180e\u200b\u200c\u2060\ufeff\u2028\u2029\u00a0\u202f\t")

_TABLE = {ord(char): replacement for char, (replacement, _) in REPLACEMENTS.items()}


@dataclass(frozen=True)
class SmsSafe:
    """Staff's text as it will be sent, and how many characters of each sort were replaced."""

    text: str
    replaced: tuple[tuple[str, int], ...] = ()  # (what, how many), the most replaced first

    @property
    def changed(self) -> bool:
        return bool(self.replaced)

    def summary(self) -> str:
        """Say what was replaced, for staff: "2 curly quotes and 1 dash replaced", or ""."""
        if not self.replaced:
            return ""
        parts = [f"{count} {_name(what, count)}" for what, count in self.replaced]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"{listed} replaced"


def _name(what: str, count: int) -> str:
    for singular, plural in {names for _, names in REPLACEMENTS.values()}:
        if singular == what:
            return singular if count == 1 else plural
    return what


def has_bengali_or_syloti_nagri(text: str) -> bool:
    """Whether any character is of the Bengali (U+0980-09FF) or Syloti Nagri (U+A800-A82F)
    blocks: such a text is UCS-2 whatever else it holds."""
    return any("\u0980" <= ch <= "\u09ff" or "\ua800" <= ch <= "\ua82f" for ch in text)


def sms_safe(text: str) -> SmsSafe:
    """Replace in staff's text the characters GSM-7 lacks but has a plain equal for.

    Text with Bengali or Syloti Nagri in it is returned exactly as written.
    """
    if has_bengali_or_syloti_nagri(text):
        return SmsSafe(text)
    counts: Counter[str] = Counter()
    for ch in text:
        found = REPLACEMENTS.get(ch)
        if found is not None:
            counts[found[1][0]] += 1
    if not counts:
        return SmsSafe(text)
    # The most replaced first (Counter keeps first-met order among equals).
    return SmsSafe(text.translate(_TABLE), tuple(counts.most_common()))


def replaced_in(texts: Iterable[str | None]) -> str:
    """Say what making each of several texts SMS-safe replaced, all told: for a form of many
    fields ("3 curly quotes replaced"), or ""."""
    counts: Counter[str] = Counter()
    for text in texts:
        for what, count in sms_safe(text or "").replaced:
            counts[what] += count
    return SmsSafe("", tuple(counts.most_common())).summary()
