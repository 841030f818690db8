"""What the engine says, marked for translation, and the marker every module uses: `N_`.

A marked text is a catalog message id (locales/), translated when it is rendered for its
reader, never here. `kotha messages update` finds every `N_("...")` in the code.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when rendered, not here."""
    return message


HELP = N_(
    "Kotha lets you tell Tower Hamlets Council what you think. Send a number to choose, "
    "0 for the menu, LANGUAGE to change language, STOP to end."
)
# Said after HELP, on its own: the privacy notice's address (`links` of the step). The first
# message carries it too (the language question, or INTRODUCTION where the language is
# known); HELP, in English one GSM-7 segment, has no room left for an address, so this is a
# text of its own, sent only to whoever asks for help.
PRIVACY_LINK = N_("How we use what you tell us, and your rights: {privacy_link}")
NOT_A_CHOICE = N_("Please send one number.")
# To a question that takes several answers (flows/definitions/access.yaml).
NOT_NUMBERS = N_("Numbers only, please.")
NOT_YES_NO = N_("Please send 1 for yes or 2 for no.")
EMPTY_ANSWER = N_("Please write your answer, or send a voice note.")
# What is said first when an answer could not be taken and the question is asked again.
NOT_AN_ANSWER = frozenset({NOT_A_CHOICE, NOT_NUMBERS, NOT_YES_NO, EMPTY_ANSWER})
MEDIA_RECEIVED = N_("We have received your voice note or photo.")
# Before the question again, to a voice note or photo sent at a question it cannot answer.
MEDIA_KEPT = N_("Got it, thank you.")
# Before the question again, to a sticker, place, contact card or the like: kept, not read.
SHARED_NOT_READ = N_(
    "Thank you. I can read words, voice notes and photos, but not stickers, places or contacts."
)
# To someone who edited a message they sent: the edit is kept beside the original for staff.
CORRECTION_KEPT = N_("Thank you, we have kept your correction with your message.")
STOPPED = N_("You will get no more messages from Kotha. Send START to begin again.")
WELCOME_BACK = N_("Welcome back to Kotha.")
EXPIRED = N_(
    "We closed this conversation because we had not heard from you. Anything you told us "
    "is saved. Send 0 for the menu."
)
YES = N_("Yes")
NO = N_("No")

# Said first to someone whose language was told from their first message.
INTRODUCTION = N_(
    "This is Kotha, Tower Hamlets Council's feedback service. Send LANGUAGE to change "
    "language, STOP to stop. Privacy: {privacy_link}"
)
# Checking in before a first message's story becomes a record.
SOUNDS_LIKE = {
    "complaint": N_("It sounds like you want to make a complaint. Is that right?"),
    "comment": N_("It sounds like you want to leave a comment. Is that right?"),
    "compliment": N_("It sounds like you want to say thank you. Is that right?"),
}
# TRANSLATORS: a choice after "Is that right?": no, and show the main menu instead.
CHOICE_MENU = N_("No, show me the menu")
CONFIRM_STOP = N_("Do you want us to stop sending you messages?")
STILL_HERE = N_("We will keep in touch.")
CARRY_ON = N_("Welcome back. Would you like to carry on where you left off?")
CHOICE_CARRY_ON = N_("Carry on")
CHOICE_START_AGAIN = N_("Start again")
OLD_BUTTON = N_("That button was for an earlier question.")
# TRANSLATORS: said once, by SMS, to someone who chose Sylheti in Syloti Nagri; written in
# Sylheti in Bengali letters, as their texts will be.
NAGRI_BY_SMS = N_(
    "Many phones cannot show Syloti Nagri in a text message, so we will text you in "
    "Bengali letters. On WhatsApp or Telegram we can write in Syloti Nagri."
)
# The questions the engine asks itself (flows/engine.py CONFIRM), by the name buttons carry,
# and their choices in order: the first is yes. Answered by number or by the choices' words.
CONFIRM_CHOICES = {
    "confirm/intent": (YES, CHOICE_MENU),
    "confirm/stop": (YES, NO),
    "confirm/resume": (CHOICE_CARRY_ON, CHOICE_START_AGAIN),
}
KEPT = N_("We have kept what you told us. Your reference is {reference}.")
# Answers to a reference or STATUS: only ever about the sender's own feedback.
STATUS_NOW = N_("Your {kind} {reference}: {status} Send 0 for the menu.")
STATUS_DUE = N_(
    "Your {kind} {reference}: {status} Our response is due by {deadline}. Send 0 for the menu."
)
STATUS_UNKNOWN = N_(
    "We cannot find {reference} in the feedback you sent us. Check it and send it again, or "
    "send 0 for the menu."
)
STATUS_NONE = N_("We have no feedback from you yet. Send 0 for the menu.")
