"""The public pages' language: which one was asked for, and their words in it.

The public pages (`/events`, `/you-said-we-did`, the simulator) are read by anyone, in the
language asked for with `?lang=` (every language, Syloti Nagri included). Every word of
the page comes from the catalogs, and each text carries the `lang` of the language it is
really written in: a text that fell back (to Bengali for a Sylheti reader, or to English)
is marked as such, so screen readers and fonts read it right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from flask import request, url_for
from markupsafe import Markup, escape

from bot.i18n import I18n
from bot.services import services
from flows.texts import N_

# The words of the public pages' frame: skip link, header, footer, language menu.
FRAME = {
    "skip_link": N_("Skip to main content"),
    "council": N_("Tower Hamlets Council"),
    "service": N_("Have your say: adult social care"),
    "service_information": N_("Service information"),
    "footer": N_("Kotha: feedback for adult social care"),
    "language_menu": N_("Language"),
}


@dataclass(frozen=True)
class PageLanguage:
    """The language a public page is written in, and its words in that language."""

    code: str
    i18n: I18n

    def __call__(self, message: str, **params: Any) -> Markup:
        """The catalog's text for `message`, marked with its language where that differs
        from the page's (it fell back); parameters are escaped."""
        text, language = self.i18n.gettext_in(self.code, message)
        if params:
            text = escape(text).format(**params)
        return self.marked(text, language)

    def plain(self, message: str) -> str:
        """The text alone, for an attribute (aria-label, title): no markup may go there."""
        return self.i18n.gettext_in(self.code, message)[0]

    def of(self, texts: Mapping[str, Any], part: str | None = None) -> Markup:
        """A text written per language (an event's title; with `part`, that part of each
        language's texts), in this page's language or its fallback, marked with the
        language it is in."""
        if part is not None:
            texts = {code: (parts or {}).get(part, "") for code, parts in texts.items()}
        text, language = self.i18n.in_language_tagged(self.code, texts)
        return self.marked(text, language)

    def marked(self, text: str, language: str) -> Markup:
        if language == self.code:
            return Markup(escape(text))
        return Markup('<span lang="{}">{}</span>').format(language, text)

    def date_time(self, moment: datetime) -> Markup:
        """A day, date and time as this language's locale writes them (its digits too),
        marked with the locale's language (Babel has no Sylheti: Bengali or English)."""
        language = self.i18n.language(self.code)
        day = format_date(moment.date(), "EEEE d MMMM y", locale=language.locale)
        return self.marked(language.digits_of(f"{day}, {moment:%H:%M}"), self._locale_language)

    def date(self, day: date) -> Markup:
        language = self.i18n.language(self.code)
        text = format_date(day, "d MMMM y", locale=language.locale)
        return self.marked(language.digits_of(text), self._locale_language)

    @property
    def _locale_language(self) -> str:
        return self.i18n.language(self.code).locale.split("_")[0]

    def time(self, moment: datetime) -> Markup:
        digits = self.i18n.language(self.code).digits_of(f"{moment:%H:%M}")
        return self.marked(digits, self._locale_language)

    def number(self, value: int) -> Markup:
        """A number in this language's digits, marked with its locale's language (as dates)."""
        digits = self.i18n.language(self.code).digits_of(str(value))
        return self.marked(digits, self._locale_language)

    @property
    def names(self) -> dict[str, str]:
        """Every language by its own name, for the language menu."""
        return {code: language.name for code, language in self.i18n.languages.items()}


def page_language() -> PageLanguage:
    """The language asked for (`?lang=`), or the default when none or an unknown one is."""
    i18n = services().i18n
    asked = request.args.get("lang", "")
    return PageLanguage(asked if asked in i18n.languages else i18n.default, i18n)


def language_url(code: str) -> str:
    """This page again, in another language (its other arguments kept)."""
    assert request.endpoint is not None
    # url_for reads arguments starting with "_" itself (_external, _scheme, _anchor): a
    # query string must not choose where the link goes.
    kept = {key: value for key, value in request.args.items() if not key.startswith("_")}
    arguments = {**kept, **(request.view_args or {}), "lang": code}
    return url_for(request.endpoint, **arguments)


def public_context() -> dict[str, Any]:
    """What every public page's templates use: `t` (its words), `frame`, `language_url`."""
    return {"t": page_language(), "frame": FRAME, "language_url": language_url}
