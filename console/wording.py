"""Small helpers for the words on the console's pages."""

from __future__ import annotations

import re
from datetime import tzinfo

from storage.models import Consent, Preference

SYLOTI_NAGRI = re.compile("[\ua800-\ua82f]")
BENGALI_SCRIPT = re.compile("[\u0980-\u09ff]")
LATIN_LETTER = re.compile("[A-Za-z]")


def text_lang(text: str, language: str | None) -> str:
    """The BCP 47 tag for a message's text, so screen readers and fonts read it right.

    The person's language, unless the script says otherwise: Syloti Nagri is Sylheti,
    Bengali script from someone with an English setting is taken as Bengali, and Latin
    letters from a Bengali or Sylheti reader are their language romanised.
    """
    if SYLOTI_NAGRI.search(text):
        return "syl-Sylo"
    if BENGALI_SCRIPT.search(text):
        return language if language in ("bn", "syl") else "bn"
    if LATIN_LETTER.search(text) and language in ("bn", "syl"):
        return f"{language}-Latn"
    return language or "en"


def people(count: int) -> str:
    """ "1 person", "2 people": a count of people as staff would say it."""
    return f"{count:,} person" if count == 1 else f"{count:,} people"


# What staff read when a person said No to "may we contact you about your complaint?".
NO_CONTACT = "the person asked not to be contacted"
# Why an outbound message did not go, in words staff can act on.
REASONS = {
    "opted-out": "the person asked for no more messages (they sent STOP or blocked us)",
    "no-contact": f"{NO_CONTACT} (they said no when asked whether we may contact them)",
    "quiet-hours": "quiet hours: it goes in the morning",
    "outside-whatsapp-window": (
        "it is over 24 hours since they last wrote on WhatsApp and there is no approved "
        "template for their language"
    ),
    "no-sender": "this channel is not set up",
    "requeued-after-lease": "sent again after a worker stopped",
    "outcome-unknown": (
        "the provider did not answer after the message was sent, so it may have arrived: "
        "Twilio is asked before it is sent again; Telegram cannot be asked, so read the "
        "conversation before sending it again"
    ),
    "not-chosen": "the person has not said yes to this kind of message",
    "monthly-cap": "the person has had as many messages this month as they allow",
    "awaiting-translation": (
        "awaiting translation: it is not in the language the person reads; give it in their "
        "language on the translations page and it goes"
    ),
}


def reason_text(reason: str | None) -> str:
    """Why a message is held or failed, for staff."""
    if reason is None:
        return ""
    if reason.startswith("provider-error"):
        code = reason.removeprefix("provider-error").lstrip("-")
        return "the provider could not deliver it" + (f" (error {code})" if code else "")
    return REASONS.get(reason, reason)


def no_contact_text(answer: Consent | None, zone: tzinfo, language_names: dict[str, str]) -> str:
    """What staff read when the person's newest answer to "may we contact you?" is No;
    empty otherwise."""
    if answer is None or answer.answer:
        return ""
    when = answer.given_at.astimezone(zone).strftime("%-d %b %Y")
    language = language_names.get(answer.language, answer.language)
    return (
        f"{NO_CONTACT[:1].upper()}{NO_CONTACT[1:]}. They said no on {when} ({language}) when "
        f"asked \u201c{answer.question}\u201d Case updates, staff replies and \u201cyou said, "
        "we did\u201d are held for them; they can still ask where their feedback is."
    )


# Each kind of broadcast a person chooses, as staff read it.
CHOICE_NAMES = {
    "invitations": "news and invitations",
    "you_said": "\u201cyou said, we did\u201d",
    "surveys": "surveys",
}


def choices_text(chose: Preference | None) -> str:
    """What a person chose to receive in bulk, in one line for staff."""
    if chose is None:
        return "Not asked yet: they get no broadcasts"
    said = {name: getattr(chose, name) for name in CHOICE_NAMES}
    if all(value is None for value in said.values()):
        return "Asked, not answered: they get no broadcasts"
    parts = [
        f"{CHOICE_NAMES[name]}: {'not answered' if value is None else 'yes' if value else 'no'}"
        for name, value in said.items()
    ]
    return "; ".join(parts) + f"; at most {chose.monthly_cap} a month"
