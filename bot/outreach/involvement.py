"""Survey answers and interest in taking part: what the survey and involve flows keep.

The `survey` and `interest` record writers of a step (bot/pipeline/effects.py), written
with Core INSERTs from the columns storage/records.py gives the ORM.
"""

from __future__ import annotations

from sqlalchemy import insert

from bot.pipeline.effects import Outputs, StepContext
from flows.effects import Submit
from storage.models import Interest, SurveyResponse
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
