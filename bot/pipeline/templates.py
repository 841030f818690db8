"""WhatsApp templates: one approved template per kind of message and language.

Outside WhatsApp's 24-hour window only a template Meta approved may be sent. Kotha has one
per kind of message it starts a conversation with (a case update, an event reminder, a
broadcast, a staff reply), each in every language it is approved in, with named variables
for what changes (`{{reference}}`, `{{status}}`, `{{when}}`, `{{place}}`, `{{text}}`...)
and the words around them fixed. The words are a catalog text (`TemplateKind.wording`),
so the template registered for a language is that text in that language, its `{name}`
placeholders written `{{name}}` (`kotha messages templates` prints them all).

A reader whose language has no template of the kind gets the next one along the fallback
chain (syl-Sylo -> syl -> bn -> en), the whole message then in that language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import I18n
from flows.model import placeholders

# What a kind computes its variables from: the catalog, the template's language, the row's
# parameters and its text as rendered in that language (staff's own words for their rows).
Variables = Callable[[I18n, str, Mapping[str, Any], str], dict[str, str]]


@dataclass(frozen=True)
class TemplateKind:
    """A kind of message that may start a WhatsApp conversation, as a template."""

    name: str  # as in KOTHA_WHATSAPP_TEMPLATES: case_update, reminder, broadcast, staff_reply
    wording: str  # the catalog text the template is registered with, in each language
    variables: Variables
    # The catalog messages sent as this kind (none for broadcasts and staff's replies,
    # which are known by their row).
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class FoundTemplate:
    """The template a message goes as: its kind, language and Content SID."""

    kind: TemplateKind
    language: str
    content_sid: str


@dataclass(frozen=True)
class Filled:
    """A template with its variables: what Twilio is sent, and the text the person reads."""

    variables: Mapping[str, str]
    text: str
    language: str


class WhatsAppTemplates:
    """The deployment's approved templates (`kind.language` -> Content SID), by kind."""

    BROADCAST = "broadcast"
    STAFF_REPLY = "staff_reply"

    def __init__(
        self, i18n: I18n, kinds: Iterable[TemplateKind], content_sids: Mapping[str, str]
    ) -> None:
        self.i18n = i18n
        self.kinds = {kind.name: kind for kind in kinds}
        self.by_message = {
            message: kind for kind in self.kinds.values() for message in kind.messages
        }
        self.content_sids = dict(content_sids)

    def kind_of(
        self, template: str | None, broadcast_id: int | None, sent_by: int | None
    ) -> TemplateKind | None:
        """The kind of an outbound row: a broadcast, staff's reply, or by its message id."""
        if broadcast_id is not None:
            return self.kinds.get(self.BROADCAST)
        if sent_by is not None:
            return self.kinds.get(self.STAFF_REPLY)
        return self.by_message.get(template) if template is not None else None

    def find(self, kind: TemplateKind | None, language: str) -> FoundTemplate | None:
        """The template of this kind for a reader of `language`, along its fallback chain."""
        if kind is None:
            return None
        code: str | None = self.i18n.language(language).code
        while code is not None:
            content_sid = self.content_sids.get(f"{kind.name}.{code}")
            if content_sid:
                return FoundTemplate(kind, code, content_sid)
            code = self.i18n.languages[code].fallback
        return None

    def fill(self, found: FoundTemplate, params: Mapping[str, Any], text: str) -> Filled | None:
        """The variables and the text read, in the template's language; None when a variable
        would be empty (Twilio refuses those: error 21656)."""
        variables = found.kind.variables(self.i18n, found.language, params, text)
        if set(variables) != placeholders(found.kind.wording) or not all(variables.values()):
            return None
        read = self.i18n.render(found.language, found.kind.wording, variables).text
        return Filled(variables, read, found.language)

    def registration(self, kind: TemplateKind, language: str) -> str:
        """The words to register for `kind` in `language`, variables written `{{name}}`."""
        words = self.i18n.gettext(language, kind.wording)
        return words.format(**{name: f"{{{{{name}}}}}" for name in placeholders(kind.wording)})


def formatted(i18n: I18n, language: str, value: Any) -> str:
    """A parameter as a reader of `language` reads it (a date, a translated word...)."""
    return i18n.format_param(i18n.language(language), value)


def whole_text(i18n: I18n, language: str, params: Mapping[str, Any], text: str) -> dict[str, str]:
    """Variables of a kind whose one variable is the message itself (written by staff)."""
    return {"text": text.strip()}
