"""Office hours said in words, in the caller's language: "Monday to Friday, 9 am to 5 pm".

The setting is written for staff (`KOTHA_VOICE_OFFICE_HOURS`, "Mon-Fri 09:00-17:00"); read
out as written, a machine voice says "Mon hyphen Fri zero nine hundred". The days' names
come from Babel (CLDR) in the language's locale, and each time from a CLDR pattern that is
itself a catalog entry, so each language says the time its own way: English "9 am",
Bengali "সকাল ৯টা" (the part of the day, then the hour). Digits are the language's own.
"""

from __future__ import annotations

from datetime import time

from babel.dates import format_time, get_day_names

from bot.i18n import I18n
from bot.settings import OfficeHours
from flows.texts import N_

# TRANSLATORS: spoken on the voice line: office hours, e.g. "Monday to Friday, 9 am to 5 pm".
DAYS_AND_HOURS = N_("{first_day} to {last_day}, {opens} to {closes}")
# TRANSLATORS: spoken on the voice line: office hours on one day, e.g. "Saturday, 9 am to 1 pm".
DAY_AND_HOURS = N_("{first_day}, {opens} to {closes}")
# TRANSLATORS: not words but a CLDR time pattern, for saying an hour on the phone: h is
# the hour (1-12), a is am or pm, B the part of the day ("in the morning"); text in quotes
# is kept as it is. English "h a" says "9 am"; Bengali "B h'টা'" says "সকাল ৯টা".
HOUR_PATTERN = N_("h a")
# TRANSLATORS: as the pattern before, for a time with minutes (mm): English "h:mm a" says
# "9:30 am"; Bengali "B h:mm" says "সকাল ৯:৩০".
HOUR_MINUTES_PATTERN = N_("h:mm a")


def said_time(i18n: I18n, code: str, moment: time) -> str:
    """A time of day as said in language `code`."""
    language = i18n.language(code)
    pattern = HOUR_MINUTES_PATTERN if moment.minute else HOUR_PATTERN
    text = format_time(moment, i18n.gettext(code, pattern), locale=language.locale)
    return language.digits_of(text)


def said_hours(i18n: I18n, code: str, hours: OfficeHours) -> str:
    """The office hours as said in language `code`: days and times in words."""
    language = i18n.language(code)
    days = get_day_names("wide", locale=language.locale)
    template = DAYS_AND_HOURS if hours.first_day != hours.last_day else DAY_AND_HOURS
    return i18n.gettext(code, template).format(
        first_day=days[hours.first_day],
        last_day=days[hours.last_day],
        opens=said_time(i18n, code, hours.start),
        closes=said_time(i18n, code, hours.end),
    )
