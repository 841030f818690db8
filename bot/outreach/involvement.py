"""Survey answers, interest in taking part and what people choose to receive.

The `survey`, `interest` and `preferences` record writers of a step
(bot/pipeline/effects.py); the first two with Core INSERTs from the columns
storage/records.py gives the ORM.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from bot.pipeline.effects import Outputs, StepContext
from bot.pipeline.preferences import DEFAULT_MONTHLY_CAP
from flows.effects import Submit
from storage.models import Interest, Preference, SurveyResponse
from storage.records import interest_values, survey_response_values

_NEW_SURVEY_RESPONSE = insert(SurveyResponse)
_NEW_INTEREST = insert(Interest)


def survey_response(step: StepContext, submit: Submit) -> Outputs:
    """Keep a person's answers to a survey, finished or left part-way."""
    values = survey_response_values(
        step.owner,
        step.language,
        submit.fields["survey"],
        submit.answers,
        submit.complete,
        step.now,
    )
    step.connection.execute(_NEW_SURVEY_RESPONSE, values)
    return {}


def interest(step: StepContext, submit: Submit) -> Outputs:
    """Keep a person's wish to take part, and how and when to reach them."""
    step.connection.execute(
        _NEW_INTEREST, interest_values(step.owner, step.language, submit.answers, step.now)
    )
    return {}


def preferences(step: StepContext, submit: Submit) -> Outputs:
    """Keep what a person chose to receive: each kind from PREFERENCES, or every kind at
    once from the question after their first contribution (`news`)."""
    answers = submit.answers
    chosen = {
        name: answers[name]
        for name in ("invitations", "you_said", "surveys")
        if isinstance(answers.get(name), bool)
    }
    if isinstance(answers.get("news"), bool):
        chosen = dict.fromkeys(("invitations", "you_said", "surveys"), answers["news"])
    cap = answers.get("monthly_cap")
    session = step.session
    row = session.scalar(select(Preference).where(Preference.contact_id == step.person.contact_id))
    if row is None:
        row = Preference(contact_id=step.person.contact_id, monthly_cap=DEFAULT_MONTHLY_CAP)
        session.add(row)
    for name, value in chosen.items():
        setattr(row, name, value)
    if isinstance(cap, int) and cap > 0:
        row.monthly_cap = cap
    row.language, row.channel, row.updated_at = step.language, step.person.channel, step.now
    session.flush()
    return {}
