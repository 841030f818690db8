"""What the voice line says instead of texts written to be read, and every text it can say.

A text that asks someone to send, reply, type or write, or that points to a link, makes no
sense heard on a phone. The voice line (bot/casework/voiceline.py) says each such text's
spoken rendering instead: a catalog entry of its own, kept short (`SPOKEN`). A question's
numbered options are said one a sentence, slowly: "For a complaint, press 1."
(`PRESS_FOR_OPTION`), with the option's spoken words where its written label would not
suit that sentence (`SPOKEN_OPTIONS`). A text not listed here is said as written.

`voice_script` lists every text a caller can reach by key: what the prompts page offers
staff to record (bot/casework/voiceprompts.py) and what the tests check for words that
only make sense written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flows.library import LANGUAGE_FLOW, MENU_FLOW, Flows
from flows.listing import MORE, NONE_OPEN
from flows.model import Node
from flows.texts import (
    EMPTY_ANSWER,
    HELP,
    KEPT,
    MEDIA_KEPT,
    MEDIA_RECEIVED,
    N_,
    NO,
    NOT_A_CHOICE,
    NOT_YES_NO,
    PRIVACY_LINK,
    YES,
)

# TRANSLATORS: spoken on the voice line, once for each numbered option of a question:
# {option} is what the option is, {key} the key to press (a digit on the phone's keypad).
PRESS_FOR_OPTION = N_("For {option}, press {key}.")

# The languages a caller can choose by key (1 English, 2 Bengali, 3 Sylheti: the order of
# locales/languages.yaml), each named in the caller's own language when a question asks
# for a language (which language to call back in).
VOICE_LANGUAGES: tuple[str, ...] = ("en", "bn", "syl")
LANGUAGE_NAMES: dict[str, str] = {
    # TRANSLATORS: spoken on the voice line: a language's name, as an option.
    "en": N_("English"),
    # TRANSLATORS: spoken on the voice line: a language's name, as an option.
    "bn": N_("Bengali"),
    # TRANSLATORS: spoken on the voice line: a language's name, as an option.
    "syl": N_("Sylheti"),
}

SPOKEN: dict[str, str] = {
    # TRANSLATORS: spoken on the voice line when the caller pressed a key that is not offered.
    NOT_A_CHOICE: N_("That key is not one of the choices."),
    # TRANSLATORS: spoken on the voice line.
    NOT_YES_NO: N_("Press 1 for yes, or 2 for no."),
    # TRANSLATORS: spoken on the voice line, after the caller's recording.
    MEDIA_RECEIVED: N_("Thank you. We have your recording."),
    # TRANSLATORS: spoken on the voice line, after a recording with nothing in it.
    EMPTY_ANSWER: N_("We did not hear anything. Please try again."),
    HELP: N_(
        # TRANSLATORS: spoken on the voice line, when the caller chose Help.
        "Kotha lets you tell Tower Hamlets Council what you think. Press the number of"
        " what you want. Press 0 to talk to a person."
    ),
    # TRANSLATORS: spoken on the voice line, after Help: the privacy notice, not its address.
    PRIVACY_LINK: N_("How we use what you tell us is in our privacy notice, on our website."),
    "What happened? Tell us in your own words. You can also send a voice note.": N_(
        # TRANSLATORS: spoken on the voice line: the complaint's question.
        "What happened? Tell us in your own words."
    ),
    "What would you like to happen now? Send SKIP if you are not sure.": N_(
        # TRANSLATORS: spoken on the voice line: silence passes over the question.
        "What would you like to happen now? If you are not sure, say nothing."
    ),
    "What would you like to tell us? You can also send a voice note.": N_(
        # TRANSLATORS: spoken on the voice line: the comment's question.
        "What would you like to tell us?"
    ),
    "Thank you. Your reference is {reference}. We will contact you by {deadline}. "
    "Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line: the reference is read letter by letter.
        "Thank you. Your reference is {reference}. We will contact you by {deadline}."
    ),
    "Thank you. We will not contact you. Your reference is {reference}: send it to us any "
    "time to hear where it is. Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line.
        "Thank you. We will not contact you. Your reference is {reference}."
    ),
    "Thank you for your comment. Your reference is {reference}. Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line.
        "Thank you for your comment. Your reference is {reference}."
    ),
    "Thank you, we will pass on your kind words. Your reference is {reference}. "
    "Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line.
        "Thank you, we will pass on your kind words. Your reference is {reference}."
    ),
    "Thank you. We will contact you about taking part. Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line, after someone asked to take part.
        "Thank you. We will contact you about taking part."
    ),
    "Thank you. We will remind you before each event. Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line, after someone asked for event reminders.
        "Thank you. We will remind you before each event."
    ),
    # TRANSLATORS: spoken on the voice line: {events} is the next events, one a sentence.
    "{events}Send 0 for the menu.": N_("{events}"),
    "Add our events to your phone calendar: {link}": N_(
        # TRANSLATORS: spoken on the voice line: a link cannot be heard, so where it is.
        "You can see our events on the council's website."
    ),
    "What would make it easier for you to take part? Send SKIP to leave this out.": N_(
        # TRANSLATORS: spoken on the voice line: silence passes over the question.
        "What would make it easier for you to take part? To leave this out, say nothing."
    ),
    "Thank you for answering. Your answers help us plan. Send 0 for the menu.": N_(
        # TRANSLATORS: spoken on the voice line, at the end of the survey.
        "Thank you for answering. Your answers help us plan."
    ),
}

# Option labels that do not suit "For ..., press 1." as written: the words said instead.
SPOKEN_OPTIONS: dict[str, str] = {
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Make a complaint".
    "Make a complaint": N_("a complaint"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Leave a comment".
    "Leave a comment": N_("a comment"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Say thank you".
    "Say thank you": N_("saying thank you"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Short survey".
    "Short survey": N_("a short survey"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Get involved".
    "Get involved": N_("getting involved"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Events".
    "Events": N_("council events"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the menu's
    # "Change language".
    "Change language": N_("another language"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the events
    # question's "Add to my phone calendar".
    "Add to my phone calendar": N_("our events calendar"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": the survey's
    # "Messages like these" (ways of taking part).
    "Messages like these": N_("calls or messages like this one"),
    # TRANSLATORS: spoken on the voice line in "For {option}, press {key}.": more choices
    # follow.
    MORE: N_("more choices"),
}

# Texts of the engine's own and of the runner that a caller can reach by key, beside the
# flows' questions and thanks: answers to a wrong key or an empty recording, Help, a list
# with nothing open, and the reference of what a call left half-way.
ENGINE_TEXTS: tuple[str, ...] = (
    NOT_A_CHOICE,
    NOT_YES_NO,
    EMPTY_ANSWER,
    MEDIA_RECEIVED,
    MEDIA_KEPT,
    HELP,
    PRIVACY_LINK,
    NONE_OPEN,
    KEPT,
)


def spoken(message: str) -> str:
    """The words the voice line says for a text: its spoken rendering, or the text itself."""
    return SPOKEN.get(message, message)


def spoken_option(label: str) -> str:
    """What an option is called in "For ..., press 1.": its spoken words, or its label."""
    return SPOKEN_OPTIONS.get(label, label)


@dataclass(frozen=True)
class Question:
    """A text the voice line can say, with the labels of its numbered options (none for a
    message, or a question whose options staff keep: only its words are fixed)."""

    text: str
    options: tuple[str, ...] = ()

    @property
    def spoken(self) -> str:
        return spoken(self.text)


def voice_flows(flows: Flows) -> tuple[str, ...]:
    """The flows a caller reaches by key: the language, the menu and what the menu offers."""
    reached = [LANGUAGE_FLOW, MENU_FLOW]
    for node in flows[MENU_FLOW].nodes.values():
        reached.extend(o.goto for o in node.options if o.goto and o.goto in flows.flows)
    return tuple(dict.fromkeys(reached))


def _options(node: Node) -> tuple[str, ...]:
    if node.type == "yesno":
        return (YES, NO)
    if node.type == "language":
        return tuple(LANGUAGE_NAMES[code] for code in VOICE_LANGUAGES)
    return tuple(option.label for option in node.options)


def voice_script(flows: Flows) -> Iterator[Question]:
    """Every text a caller can reach by key, once each: the flows' questions (with their
    options) and thanks, then the engine's own texts. The language flow's question is the
    line's own greeting (voiceline.LINE_PROMPTS), not the text channels' one."""
    seen: set[Question] = set()
    for flow_id in voice_flows(flows):
        if flow_id == LANGUAGE_FLOW:
            continue
        for node in flows[flow_id].nodes.values():
            found = [Question(node.ask, _options(node))] if node.ask else []
            found.extend(Question(said) for said in (node.say, node.say_no_contact) if said)
            for question in found:
                if question not in seen:
                    seen.add(question)
                    yield question
    for text in ENGINE_TEXTS:
        if Question(text) not in seen:
            yield Question(text)


def option_prompt(label: str, key: int) -> str:
    """The English words of one option's sentence ("For a complaint, press 1."): the name a
    recording of it is kept under, in each language."""
    return PRESS_FOR_OPTION.format(option=spoken_option(label), key=key)


def whole_prompt(text: str, options: tuple[str, ...]) -> str:
    """The English words of a question said with all its options, one a line: the name a
    recording of the whole question is kept under."""
    lines = [spoken(text), *(option_prompt(label, key) for key, label in enumerate(options, 1))]
    return "\n".join(lines)
