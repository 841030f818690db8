"""The voice line's prompts: recorded by people where staff uploaded a recording, else spoken
by Twilio's machine voice (`en-GB`, `bn-IN`).

Each prompt is something the line says with nothing filled in: a message of its own
(`voiceline.LINE_PROMPTS`), a flow's text as spoken (flows/spoken.py), one option's sentence
("For a complaint, press 1."), or a question with all its options, recorded in one go
(`recordables`). A message is said in one voice where it can be (`choose`): every part a
person's recording in one language, else the machine voice throughout; only what is filled
in (a reference, an option staff keep) mixes a machine voice into recordings.

A Sylheti caller never hears a machine voice read Sylheti: their prompt is the Sylheti
recording, else the Bengali one, else Bengali's machine voice reading the Bengali words
(bot/i18n.py `on_channel`). The console's prompts page (console/voiceprompts.py) lists each
prompt in each language, its recording and what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.pipeline.spoken import Part, SpokenMessage
from flows.library import Flows
from flows.spoken import PRESS_FOR_OPTION, option_prompt, spoken_option, voice_script, whole_prompt
from storage.models import VoicePrompt

# The languages a caller chooses by key, each recorded apart (voiceline.LANGUAGE_KEYS).
RECORDED = ("en", "bn", "syl")
# Where a language's missing recording is taken from instead of a machine voice.
RECORDING_FALLBACK = {"syl": "bn"}
# The sound files Twilio's <Play> takes that browsers play too, by their first bytes.
AUDIO_TYPES = {"audio/mpeg": "MP3", "audio/wav": "WAV"}
# A prompt is a sentence or two: a few seconds of MP3. Requests are at most 256 KiB.
MAX_BYTES = 200 * 1024


class PromptError(ValueError):
    """An upload that cannot be kept: the message says why, for staff."""


@dataclass(frozen=True)
class Voiced:
    """How one prompt is said in one language."""

    recording_id: int | None  # the recording played, if any
    recorded_in: str | None  # the language of that recording (Bengali for Sylheti)
    missing: bool  # no recording in the language itself


def sniffed_type(data: bytes) -> str | None:
    """The audio type the bytes are (MP3 or WAV), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


# A text with a placeholder has words filled in when said: no recording can say them.
PLACEHOLDER = re.compile(r"\{\w+\}")


@dataclass(frozen=True)
class Recordable:
    """One prompt staff can record: its name (the English words), what it is, and its
    words as catalog messages with their parameters, one a line (rendered per language)."""

    key: str
    kind: str
    lines: tuple[tuple[str, dict[str, Any]], ...]
    # For a question with options: the prompts its parts are (its words, each option).
    parts: tuple[str, ...] = field(default=())


KIND_LINE = "Said by the line itself"
KIND_TEXT = "A message or question on its own"
KIND_OPTION = "One option"
KIND_WHOLE = "A question with all its options, in one recording"


def recordables(line_prompts: tuple[str, ...], flows: Flows) -> tuple[Recordable, ...]:
    """Every prompt that can be recorded: the line's own, then each text a caller can
    reach as spoken, each fixed option's sentence, and each question with its options."""
    found: dict[str, Recordable] = {}

    def add(item: Recordable) -> None:
        found.setdefault(item.key, item)

    for prompt in line_prompts:
        add(Recordable(prompt, KIND_LINE, ((prompt, {}),)))
    for question in voice_script(flows):
        words = question.spoken
        if PLACEHOLDER.search(words):
            continue
        add(Recordable(words, KIND_TEXT, ((words, {}),)))
        options = [
            Recordable(
                option_prompt(label, key),
                KIND_OPTION,
                ((PRESS_FOR_OPTION, {"option": {"msgid": spoken_option(label)}, "key": key}),),
            )
            for key, label in enumerate(question.options, 1)
        ]
        for option in options:
            add(option)
        if options:
            lines = ((words, {}), *(line for option in options for line in option.lines))
            key = whole_prompt(question.text, question.options)
            parts = (words, *(option.key for option in options))
            add(Recordable(key, KIND_WHOLE, lines, parts))
    return tuple(found.values())


def chain(language: str) -> tuple[str, ...]:
    """The languages whose recordings a caller of `language` may hear, in order."""
    fallback = RECORDING_FALLBACK.get(language)
    return (language, fallback) if fallback else (language,)


@dataclass(frozen=True)
class Said:
    """One part of a message as the call says it: a recording, or words for the machine
    voice in their language."""

    text: str
    language: str
    recording: int | None


def choose(recorded: Mapping[tuple[str, str], int], said: SpokenMessage, caller: str) -> list[Said]:
    """How to say a message to a caller of `caller`, in one voice where it can be.

    In the first language of the caller's chain (Sylheti, then Bengali) that has a
    recording of every part that can be recorded (the whole question, or its words and each
    option), those recordings, with the machine voice only for what is filled in; without
    such a language, the machine voice throughout, never a recording beside it."""
    ways: list[tuple[Part, ...]] = []
    if said.whole is not None:
        words = "\n".join(part.text for part in (said.body, *said.options))
        whole = Part(words, said.body.language, said.whole)
        ways.append((*((said.lead,) if said.lead else ()), whole))
    ways.append(said.parts)
    for language in chain(caller):
        for parts in ways:
            recordable = [part for part in parts if part.prompt is not None]
            if recordable and all((p.prompt, language) in recorded for p in recordable):
                return [
                    Said(part.text, part.language, recorded.get((part.prompt, language)))
                    if part.prompt is not None
                    else Said(part.text, part.language, None)
                    for part in parts
                ]
    return [Said(part.text, part.language, None) for part in said.parts]


def recordings(session: Session) -> dict[tuple[str, str], int]:
    """The recordings kept, by (prompt, language)."""
    rows = session.execute(select(VoicePrompt.prompt, VoicePrompt.language, VoicePrompt.id))
    return {(row.prompt, row.language): row.id for row in rows}


def voiced(recorded: Mapping[tuple[str, str], int], prompt: str, language: str) -> Voiced:
    """How `prompt` is said to a caller of `language`: its recording, the fallback
    language's (Bengali's for Sylheti), or none (the machine voice)."""
    own = recorded.get((prompt, language))
    if own is not None:
        return Voiced(own, language, missing=False)
    fallback = RECORDING_FALLBACK.get(language)
    if fallback is not None and (found := recorded.get((prompt, fallback))) is not None:
        return Voiced(found, fallback, missing=True)
    return Voiced(None, None, missing=True)


def save(
    session: Session,
    prompt: str,
    language: str,
    data: bytes,
    *,
    known: tuple[str, ...],
    user_id: int | None,
    now: datetime,
) -> VoicePrompt:
    """Keep a recording of `prompt` in `language`, replacing any before it."""
    if prompt not in known:
        raise PromptError("There is no such prompt")
    if language not in RECORDED:
        raise PromptError("The voice line speaks English, Bengali and Sylheti only")
    if not data:
        raise PromptError("Choose a sound file")
    if len(data) > MAX_BYTES:
        raise PromptError(f"The file must be smaller than {MAX_BYTES // 1024} KB: record it as MP3")
    content_type = sniffed_type(data)
    if content_type is None:
        raise PromptError("The file must be an MP3 or WAV recording")
    found = session.scalar(
        select(VoicePrompt).where(VoicePrompt.prompt == prompt, VoicePrompt.language == language)
    )
    if found is None:
        found = VoicePrompt(prompt=prompt, language=language)
        session.add(found)
    found.content, found.content_type = data, content_type
    found.uploaded_at, found.uploaded_by = now, user_id
    session.flush()
    return found
