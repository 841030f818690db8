"""What a step asks the runtime to do, one small frozen type per kind.

The engine returns effects; bot/pipeline/effects.py applies each with the handler for its
type. A new kind of effect is a new type here and a handler there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SetLanguage:
    """Remember the language the person reads (a BCP 47 code of locales/languages.yaml)."""

    language: str


@dataclass(frozen=True)
class OptOut:
    """The person asked for no more messages (STOP)."""


@dataclass(frozen=True)
class OptIn:
    """The person asked for messages again (START): what was held for their STOP may go."""


@dataclass(frozen=True)
class Submit:
    """Keep what a flow gathered as a record of kind `record` (feedback, survey, interest...).

    `fields` are the flow's fixed values for the record (the kind of feedback, the survey's
    id); `answers` what the person said, by question; `complete` is False when they left
    part-way and the answers so far are kept.
    """

    record: str
    flow: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    answers: Mapping[str, Any] = field(default_factory=dict)
    complete: bool = True


Effect = SetLanguage | OptOut | OptIn | Submit
