"""The privacy notice: `/privacy`, public, in every language (UK GDPR art. 13).

Every word comes from the catalogs; the data controller's name and contact and the
retention periods come from the settings, so the notice says what this deployment does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from markupsafe import Markup

from bot.services import services
from console.public import public_context
from flows.texts import N_

public = Blueprint("privacy_public", __name__, template_folder="templates")
public.context_processor(public_context)

WORDS = {
    "title": N_("Privacy notice"),
    "intro": N_("How the council uses what you tell Kotha, and your rights."),
    "who_heading": N_("Who is responsible"),
    "who": N_("{controller} is responsible for what you tell us (the data controller)."),
    "contact": N_("To ask about your information, or to use your rights: {contact}"),
    "what_heading": N_("What we keep"),
    "what": N_(
        "Your phone number or Telegram chat, the language you chose, and every message you "
        "send and we send you."
    ),
    "what_told": N_(
        "What you tell us: complaints, comments, compliments, survey answers, interest in "
        "taking part, replies about events, and what you agreed to receive."
    ),
    "why_heading": N_("Why we keep it"),
    "why": N_(
        "To answer you, to deal with complaints as the law requires, to keep people safe, "
        "and to improve adult social care."
    ),
    "why_lawful": N_(
        "The law lets us do this because it is part of the council's public task and legal duties."
    ),
    "who_sees_heading": N_("Who sees it"),
    "who_sees": N_("Council staff who deal with feedback and keep people safe."),
    "carriers": N_(
        "Your messages pass through the companies that carry them ({twilio} for text "
        "messages and WhatsApp, Telegram). We never sell your information."
    ),
    "how_long_heading": N_("How long we keep it"),
    "how_long": N_(
        "We erase a conversation {conversations} months after your last message, and a "
        "complaint {complaints} months after it closes. Counts that say nothing about who "
        "you are stay."
    ),
    "rights_heading": N_("Your rights"),
    "rights": N_(
        "You can ask for a copy of everything we hold about you, ask us to correct it or to "
        "erase it, and object to how we use it."
    ),
    "choices": N_("Send {stop} to get no more messages, or {preferences} to choose what you get."),
    "complain_heading": N_("If you are unhappy"),
    "complain": N_(
        "You can complain to the Information Commissioner's Office: {ico}, telephone 0303 123 1113."
    ),
}


# The settings are written in English: marked so, inside a text in the reader's language.
IN_ENGLISH = Markup('<span lang="en">{}</span>')


@public.get("/privacy")
def privacy_page() -> Any:
    """The privacy notice, in the language asked for (`?lang=`)."""
    settings = services().settings
    return render_template(
        "privacy/public.html",
        words=WORDS,
        controller=IN_ENGLISH.format(settings.data_controller),
        contact=IN_ENGLISH.format(settings.data_controller_contact),
        conversations=settings.retention_conversations_months,
        complaints=settings.retention_complaints_months,
        # Names, keywords and an address that stay in English in every language.
        twilio=IN_ENGLISH.format("Twilio"),
        ico=IN_ENGLISH.format("ico.org.uk"),
        stop=IN_ENGLISH.format("STOP"),
        preferences=IN_ENGLISH.format("PREFERENCES"),
    )
