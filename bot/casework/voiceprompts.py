"""The voice line's prompts: recorded by people where staff uploaded a recording, else spoken
by Twilio's machine voice (`en-GB`, `bn-IN`).

Each prompt is a catalog message the line says on its own (`voiceline.LINE_PROMPTS`) or in
place of a text (flows/texts.py `SPOKEN`). A Sylheti caller never hears a machine voice
read Sylheti: their prompt is the Sylheti recording, else the Bengali one, else Bengali's
machine voice reading the Bengali words (bot/i18n.py `on_channel`). The console's prompts
page (console/voiceprompts.py) lists each prompt in each language, its recording and what
is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.texts import SPOKEN
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


def all_prompts(line_prompts: tuple[str, ...]) -> tuple[str, ...]:
    """Every prompt that can be recorded: the line's own, then the spoken renderings."""
    return (*line_prompts, *dict.fromkeys(SPOKEN.values()))


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
