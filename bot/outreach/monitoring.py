"""The optional equality monitoring answers, as the flow keeps them: the `monitoring` record.

Only the fixed values the flow offers are kept (flows/definitions/monitoring.yaml); the row
was written when the person was asked (bot/pipeline/monitoring.py), and is filled in here.
Nothing here or anywhere shows one person's answers to staff: the impact page and reports
count them (bot/outreach/impact.py).
"""

from __future__ import annotations

from sqlalchemy import update

from bot.pipeline.effects import Outputs, StepContext
from bot.pipeline.monitoring import ask_once
from flows.effects import Submit
from storage.models import EqualityMonitoring

# The questions' answers, as the flow saves them and the table's columns name them.
ANSWERS = (
    "carer",
    "age_band",
    "sex",
    "ethnic_group",
    "ethnicity",
    "disability",
    "religion",
    "area",
)


def monitoring(step: StepContext, submit: Submit) -> Outputs:
    """Keep a person's answers (all, some before they left, or none: they skipped all)."""
    person = step.person
    # Asked already, as a rule; a row is made if a flow reached the questions another way.
    ask_once(step.connection, person.contact_id, step.language, person.channel, step.now)
    values = {
        name: str(submit.answers[name])
        for name in ANSWERS
        if isinstance(submit.answers.get(name), str)
    }
    skipped = bool(submit.fields.get("skipped"))
    step.connection.execute(
        update(EqualityMonitoring)
        .where(EqualityMonitoring.contact_id == person.contact_id)
        .values(
            **values,
            skipped=skipped,
            answered_at=None if skipped else step.now,
            language=step.language,
            channel=person.channel,
        )
    )
    return {}
