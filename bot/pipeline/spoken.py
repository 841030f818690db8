"""A message as the voice line says it: its spoken words (flows/spoken.py), in parts.

Each part is a sentence or a few: the lead, the text itself, then one sentence per numbered
option ("For a complaint, press 1."). Each names the prompt a person's recording of it is
kept under (bot/casework/voiceprompts.py), unless something is filled in (a reference, an
option staff keep), which only a machine voice can say. A question whose options are all
fixed may also be recorded whole (`whole`).

The words are in the language the call speaks for the caller (bot/i18n.py `on_channel`:
Bengali for Sylheti), never Sylheti words for a Bengali machine voice. The dispatcher keeps
the parts' words as the row's body, so staff read what the caller heard; the voice line
says them (bot/casework/voiceline.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import I18n
from bot.types import VOICE
from flows.listing import Choice
from flows.spoken import (
    LANGUAGE_NAMES,
    PRESS_FOR_OPTION,
    VOICE_LANGUAGES,
    option_prompt,
    spoken,
    spoken_option,
    whole_prompt,
)


@dataclass(frozen=True)
class Part:
    """Words said in one go, in `language`, and the prompt a recording of them is kept
    under (None: something is filled in, so only the machine voice can say them)."""

    text: str
    language: str
    prompt: str | None


@dataclass(frozen=True)
class SpokenMessage:
    """A message as said on the phone: its lead, its words, its options one by one, and
    the prompt of the question with all its options (None when any is filled in)."""

    lead: Part | None
    body: Part
    options: tuple[Part, ...]
    whole: str | None

    @property
    def parts(self) -> tuple[Part, ...]:
        return (*((self.lead,) if self.lead else ()), self.body, *self.options)

    @property
    def text(self) -> str:
        return "\n".join(part.text for part in self.parts if part.text)


def render_spoken(
    i18n: I18n,
    reader: str,
    template: str,
    params: Mapping[str, Any] | None = None,
    lead: str | None = None,
    choices: Sequence[Choice] = (),
    raw_choices: bool = False,
) -> SpokenMessage:
    """`template` (a catalog message) as said to a caller who speaks `reader`."""
    code = i18n.on_channel(reader, VOICE)
    said_lead = None
    if lead:
        said_lead = Part(i18n.render(code, spoken(lead)).text, code, spoken(lead))
    words = spoken(template)
    body = Part(i18n.render(code, words, params).text, code, None if params else words)
    labels: list[Choice] = list(choices)
    if raw_choices:
        # The languages' names, each written in itself: on the phone, the line's languages
        # named in the caller's own (keys 1 to 3 are the same languages as in the list).
        names = [LANGUAGE_NAMES[language] for language in VOICE_LANGUAGES]
        labels = list(names[: len(labels)])
    options = []
    for key, label in enumerate(labels, 1):
        option = {"msgid": spoken_option(label)} if isinstance(label, str) else label
        text = i18n.render(code, PRESS_FOR_OPTION, {"option": option, "key": key}).text
        prompt = option_prompt(label, key) if isinstance(label, str) else None
        options.append(Part(text, code, prompt))
    fixed_options = all(isinstance(label, str) for label in labels)
    whole = None
    if labels and body.prompt is not None and fixed_options:
        whole = whole_prompt(template, tuple(str(label) for label in labels))
    return SpokenMessage(said_lead, body, tuple(options), whole)
