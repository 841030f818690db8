"""The voice line's prompts, for staff: each prompt in each language it is spoken in, its
words, whether a person recorded it (played in the page) or a machine voice says it, what is
missing, and a form to upload a recording (bot/casework/voiceprompts.py keeps it).

`GET /console/voice-prompts` lists them; `POST` uploads one (an MP3 or WAV file, CSRF-checked,
audited as `voice_prompt.uploaded`); `GET /console/voice-prompts/<id>/audio` plays one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.casework import voiceprompts
from bot.casework.accounts import record_audit
from bot.casework.voiceline import LINE_PROMPTS
from bot.services import services
from console.auth import blueprint, role_required
from console.media import inline_file
from storage.models import VoicePrompt

ROLES = ("staff", "admin")
# The Twilio voice each language falls back to (webhooks/twilio_voice.py VOICES).
MACHINE = {"en": "English machine voice", "bn": "Bengali machine voice"}
LANGUAGE_NAMES = {"en": "English", "bn": "Bengali", "syl": "Sylheti"}


@dataclass(frozen=True)
class Cell:
    """One prompt in one language, as the page shows it."""

    language: str
    words: str
    recording_id: int | None
    status: str
    missing: bool


def _prompts() -> tuple[voiceprompts.Recordable, ...]:
    return voiceprompts.recordables(LINE_PROMPTS, services().flows)


def _covered(
    recorded: dict[tuple[str, str], int],
    prompt: voiceprompts.Recordable,
    by_key: dict[str, voiceprompts.Recordable],
    language: str,
) -> str | None:
    """Why a prompt without its own recording in `language` needs none: a question's part
    when the whole question is recorded, or a whole question whose parts all are."""
    if prompt.parts and all((part, language) in recorded for part in prompt.parts):
        return "Not needed: each part is recorded"
    for whole in by_key.values():
        if prompt.key in whole.parts and (whole.key, language) in recorded:
            return "Not needed: the whole question is recorded"
    return None


def _cells(
    recorded: dict[tuple[str, str], int],
    prompt: voiceprompts.Recordable,
    by_key: dict[str, voiceprompts.Recordable],
) -> list[Cell]:
    i18n = services().i18n
    cells = []
    for language in voiceprompts.RECORDED:
        found = voiceprompts.voiced(recorded, prompt.key, language)
        covered = _covered(recorded, prompt, by_key, language) if found.missing else None
        if not found.missing:
            status = "Recorded"
        elif covered is not None:
            status = covered
        elif found.recording_id is not None:
            status = "Missing: the Bengali recording is played"
        else:
            # A Sylheti caller hears the Bengali words (bot/i18n.py on_channel): never a
            # machine voice reading Sylheti.
            spoken = i18n.on_channel(language, "voice")
            status = f"Missing: the {MACHINE.get(spoken, 'machine voice')} says it"
        words = "\n".join(i18n.render(language, text, params).text for text, params in prompt.lines)
        cells.append(
            Cell(
                language,
                words,
                recorded.get((prompt.key, language)),
                status,
                found.missing and covered is None,
            )
        )
    return cells


@dataclass(frozen=True)
class Shown:
    """Which prompts the page lists: in one language or all, and only what is missing."""

    language: str  # "" for every language
    only_missing: bool

    @classmethod
    def asked(cls, args: Any) -> Shown:
        language = args.get("show_language", "")
        return cls(
            language if language in voiceprompts.RECORDED else "",
            args.get("only_missing") == "yes",
        )

    def cells(self, cells: list[Cell]) -> list[Cell]:
        return [cell for cell in cells if not self.language or cell.language == self.language]

    def keeps(self, cells: list[Cell]) -> bool:
        return not self.only_missing or any(cell.missing for cell in cells)


def _page(errors: dict[str, str] | None = None, status: int = 200) -> Any:
    with services().database.session() as db:
        recorded = voiceprompts.recordings(db)
    prompts = _prompts()
    by_key = {prompt.key: prompt for prompt in prompts}
    every = [
        (index, prompt, _cells(recorded, prompt, by_key)) for index, prompt in enumerate(prompts)
    ]
    missing = {
        language: sum(
            1 for _, _, cells in every for c in cells if c.language == language and c.missing
        )
        for language in voiceprompts.RECORDED
    }
    shown = Shown.asked(request.args)
    rows = [
        (index, prompt, shown.cells(cells))
        for index, prompt, cells in every
        if shown.keeps(shown.cells(cells))
    ]
    # A prompt's "Upload" link names it and its language, which the form then has chosen.
    chosen = request.form if errors else request.args
    return (
        render_template(
            "console/voice_prompts.html",
            every=every,
            rows=rows,
            shown=shown,
            missing=missing,
            names=LANGUAGE_NAMES,
            errors=errors or {},
            form=chosen,
            max_kb=voiceprompts.MAX_BYTES // 1024,
        ),
        status,
    )


@blueprint.get("/voice-prompts")
@role_required(*ROLES)
def voice_prompts() -> Any:
    """Every prompt in English, Bengali and Sylheti, recorded or not; `?show_language=`
    and `?only_missing=yes` list fewer, and `?prompt=&language=` choose one to upload."""
    return _page()


@blueprint.post("/voice-prompts")
@role_required(*ROLES)
def voice_prompt_upload() -> Any:
    """Keep an uploaded recording of one prompt in one language."""
    prompts = _prompts()
    chosen = request.form.get("prompt", "")
    language = request.form.get("language", "")
    errors: dict[str, str] = {}
    prompt = prompts[int(chosen)] if chosen.isdigit() and int(chosen) < len(prompts) else None
    if prompt is None:
        errors["prompt"] = "Choose the prompt the recording says"
    if language not in voiceprompts.RECORDED:
        errors["language"] = "Choose the language it is spoken in"
    upload = request.files.get("recording")
    data = upload.read(voiceprompts.MAX_BYTES + 1) if upload is not None else b""
    if errors:
        return _page(errors, 400)
    assert prompt is not None
    now = services().clock()
    try:
        with services().database.session() as db:
            known = tuple(item.key for item in prompts)
            kept = voiceprompts.save(
                db, prompt.key, language, data, known=known, user_id=current_user.id, now=now
            )
            record_audit(
                db,
                current_user.id,
                "voice_prompt.uploaded",
                "voice_prompt",
                kept.id,
                {"language": language},
                now=now,
            )
    except voiceprompts.PromptError as error:
        return _page({"recording": str(error)}, 400)
    flash(f"Recording kept: {LANGUAGE_NAMES[language]}.")
    return redirect(url_for("console.voice_prompts") + f"#prompt-{chosen}")


@blueprint.get("/voice-prompts/<int:prompt_id>/audio")
@role_required(*ROLES)
def voice_prompt_audio(prompt_id: int) -> Any:
    """One recording, played in the page."""
    with services().database.session() as db:
        found = db.get(VoicePrompt, prompt_id)
        if found is None:
            abort(404)
        return inline_file(found.content, found.content_type, "private, no-store")
