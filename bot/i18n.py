"""Languages, gettext catalogs and rendering a message in the reader's language."""

from __future__ import annotations

import gettext
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date

from flows.library import LanguageChoice
from flows.listing import Choice
from flows.scripts import to_syloti_nagri
from flows.yamlfile import read_yaml

DOMAIN = "messages"
# What a catalog read on its own answers for a message it lacks (see `I18n.gettext_in`).
_MISSING = "\x00missing"
BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


@dataclass(frozen=True)
class Language:
    """One supported language, as configured by its line in locales/languages.yaml."""

    code: str
    dir: str
    name: str
    locale: str
    digits: str
    fallback: str | None
    segments: int
    sms: str | None = None
    derived_from: str | None = None
    # The language a phone call speaks instead where there is no voice for this one
    # (Twilio has none for Sylheti): the voice line (bot/casework/voiceline.py).
    voice: str | None = None

    def digits_of(self, text: str) -> str:
        return text.translate(BENGALI_DIGITS) if self.digits == "beng" else text


def load_languages(locales_dir: Path) -> dict[str, Language]:
    """Read the language registry; a language needs its line there and a catalog beside it."""
    path = locales_dir / "languages.yaml"
    raw = read_yaml(path)
    languages: dict[str, Language] = {}
    for code, entry in raw.items():
        try:
            languages[code] = Language(code=code, **entry)
        except TypeError as error:
            raise ValueError(f"{path.name}: language {code!r}: {error}") from error
    for language in languages.values():
        for other in (language.fallback, language.sms, language.derived_from, language.voice):
            if other is not None and other not in languages:
                raise ValueError(f"{path.name}: {language.code} names unknown language {other}")
    return languages


@dataclass(frozen=True)
class Rendered:
    """A message as the reader will see it, with its choices as separate labels for buttons."""

    text: str
    choices: tuple[str, ...]
    language: str


class I18n:
    """Translates and formats messages for each configured language, with fallbacks."""

    def __init__(self, locales_dir: Path) -> None:
        self.locales_dir = locales_dir
        self.languages = load_languages(locales_dir)
        # The languages staff write in; the rest (Syloti Nagri) are written from one of them.
        self.written = {
            code: language
            for code, language in self.languages.items()
            if language.derived_from is None
        }
        # The languages SMS cannot show, each with the one it writes instead (`sms:`).
        self.sms_instead = {
            code: language.sms for code, language in self.languages.items() if language.sms
        }
        self.default = next(iter(self.languages))
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        self._own_catalogs: dict[str, gettext.NullTranslations] = {}

    @property
    def choices(self) -> tuple[LanguageChoice, ...]:
        return tuple(LanguageChoice(code, lang.name) for code, lang in self.languages.items())

    def language(self, code: str | None) -> Language:
        return self.languages.get(code or self.default) or self.languages[self.default]

    def on_channel(self, code: str, channel: str) -> str:
        """The language to write to someone reading `code` on `channel`: Syloti Nagri goes
        by SMS in Bengali script (`sms:` in languages.yaml), as many phones lack its font; a
        call speaks Sylheti's prompts in Bengali where no Sylheti voice exists (`voice:`)."""
        language = self.language(code)
        if channel == "voice":
            return language.voice or language.code
        if channel != "sms":
            return language.code
        return self.sms_instead.get(language.code, language.code)

    def catalog(self, code: str) -> gettext.NullTranslations:
        """Return the translations for `code`, falling back along its chain (syl -> bn -> en)."""
        if code not in self._catalogs:
            language = self.languages[code]
            catalog = gettext.translation(
                DOMAIN, self.locales_dir, languages=[language.dir], fallback=True
            )
            if language.fallback is not None:
                catalog.add_fallback(self.catalog(language.fallback))
            self._catalogs[code] = catalog
        return self._catalogs[code]

    def _own_catalog(self, code: str) -> gettext.NullTranslations:
        """The catalog of `code` alone, answering _MISSING for what it lacks."""
        if code not in self._own_catalogs:
            catalog = gettext.translation(
                DOMAIN, self.locales_dir, languages=[self.languages[code].dir], fallback=True
            )
            catalog.add_fallback(_Lacking())
            self._own_catalogs[code] = catalog
        return self._own_catalogs[code]

    def gettext(self, code: str | None, message: str) -> str:
        return self.catalog(self.language(code).code).gettext(message)

    def gettext_in(self, code: str | None, message: str) -> tuple[str, str]:
        """A message for a reader of `code`, and the language it is really written in: the
        first along the fallback chain whose catalog has it (for a page's `lang`)."""
        language: Language | None = self.language(code)
        while language is not None:
            text = self._own_catalog(language.code).gettext(message)
            if text != _MISSING:
                return text, language.code
            language = self.languages.get(language.fallback) if language.fallback else None
        return message, self.default

    def translations(self, message: str) -> list[str]:
        """A message in every language, for recognising answers that quote it."""
        return [self.gettext(code, message) for code in self.languages]

    def format_param(self, language: Language, value: Any) -> str:
        """Format one parameter: {"date": ISO} as a local date, {"msgid": text} translated.

        Also {"datetime": ISO with its UTC offset} as the local day and time,
        {"by_language": {code: text}} as the text in the reader's language (along the
        fallback chain), {"lines": [[part, ...], ...]} as lines of parts, each part
        formatted like a parameter and each line ending with a line break (the next few
        events, one a line), and {"list": [part, ...]} as its parts formatted so, between
        commas (the support a way to take part offers; a venue's access details).
        """
        if isinstance(value, Mapping) and "msgid" in value:
            return self.gettext(language.code, value["msgid"])
        if isinstance(value, Mapping) and "date" in value:
            day = date.fromisoformat(value["date"])
            return language.digits_of(format_date(day, "EEEE d MMMM", locale=language.locale))
        if isinstance(value, Mapping) and "datetime" in value:
            moment = datetime.fromisoformat(value["datetime"])
            shown = format_date(moment.date(), "EEEE d MMMM", locale=language.locale)
            return language.digits_of(f"{shown}, {moment:%H:%M}")
        if isinstance(value, Mapping) and "by_language" in value:
            return self.in_language(language.code, value["by_language"])
        if isinstance(value, Mapping) and "list" in value:
            return ", ".join(self.format_param(language, part) for part in value["list"])
        if isinstance(value, Mapping) and "lines" in value:
            return "".join(
                ", ".join(self.format_param(language, part) for part in line) + "\n"
                for line in value["lines"]
            )
        return str(value)

    def in_language(self, code: str | None, texts: Mapping[str, str]) -> str:
        """Pick the text for `code` from texts written per language, following the fallbacks
        (a language written from another, Syloti Nagri, has it written over letter by letter)."""
        return self.in_language_tagged(code, texts)[0]

    def in_language_tagged(self, code: str | None, texts: Mapping[str, str]) -> tuple[str, str]:
        """As `in_language`, with the language the text picked is in (its BCP 47 tag)."""
        reader = self.language(code)
        language: Language | None = reader
        while language is not None:
            if texts.get(language.code):
                text = self.written_over(reader.code, language.code, texts[language.code])
                return text, reader.code if text != texts[language.code] else language.code
            language = self.languages.get(language.fallback) if language.fallback else None
        return next(((text, lang) for lang, text in texts.items() if text), ("", self.default))

    def written_over(self, code: str, source: str, text: str) -> str:
        """`text`, written in `source`, as a reader of `code` gets it: Syloti Nagri readers
        get Sylheti in their script (`derived_from:` in languages.yaml)."""
        if self.languages[code].derived_from == source:
            return to_syloti_nagri(text)
        return text

    def render(
        self,
        code: str | None,
        template: str,
        params: Mapping[str, Any] | None = None,
        lead: str | None = None,
        choices: Sequence[Choice] = (),
        raw_choices: bool = False,
        channel: str | None = None,
    ) -> Rendered:
        """Render a message id with its parameters, lead line and numbered choices.

        By SMS, the language menu leaves off the languages SMS cannot show (Syloti Nagri)
        where they come last, so that every other language keeps its number.
        """
        language = self.language(code)
        if raw_choices and channel == "sms":
            unshown = {lang.name for lang in self.languages.values() if lang.sms}
            choices = list(choices)
            while choices and choices[-1] in unshown:
                choices.pop()
        translate = self.catalog(language.code).gettext
        values = {k: self.format_param(language, v) for k, v in (params or {}).items()}
        body = translate(template).format(**values) if values else translate(template)
        labels = tuple(
            self.format_param(language, label)
            if isinstance(label, Mapping)
            else label
            if raw_choices
            else translate(label)
            for label in choices
        )
        # A choice menu shown before a language is chosen mixes scripts: keep its numbers
        # in ASCII digits, which every reader knows.
        number = language.digits_of if not raw_choices else str
        lines = [translate(lead)] if lead else []
        lines.append(body)
        lines.extend(f"{number(str(index))} {label}" for index, label in enumerate(labels, 1))
        return Rendered("\n".join(lines), labels, language.code)


class _Lacking(gettext.NullTranslations):
    """The end of a catalog read on its own: says the message is not in it."""

    def gettext(self, message: str) -> str:
        return _MISSING
