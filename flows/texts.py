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
NOT_A_CHOICE = N_("Please send one number.")
NOT_YES_NO = N_("Please send 1 for yes or 2 for no.")
EMPTY_ANSWER = N_("Please write your answer, or send a voice note.")
MEDIA_RECEIVED = N_("We have received your voice note or photo.")
STOPPED = N_("You will get no more messages from Kotha. Send START to begin again.")
WELCOME_BACK = N_("Welcome back to Kotha.")
EXPIRED = N_(
    "We closed this conversation because we had not heard from you. Anything you told us "
    "is saved. Send 0 for the menu."
)
YES = N_("Yes")
NO = N_("No")
