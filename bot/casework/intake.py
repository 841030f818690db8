"""A complaint, comment or compliment becomes a case: its record, reference and deadlines.

The `feedback` record writer of a step (bot/pipeline/effects.py): it runs in the step's
transaction for every feedback flow that ends or is left part-way, so it writes with one
Core INSERT from the same columns storage/records.py gives the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.casework.cases import complaint_deadlines
from bot.pipeline.effects import Outputs, StepContext
from flows.effects import Submit
from storage.models import Feedback
from storage.records import feedback_values, new_reference


class FeedbackRecords:
    """Writes the feedback a flow gathered; a complaint gets its statutory deadlines."""

    def __init__(
        self, zone: ZoneInfo, response_working_days: int, clock: Callable[[], datetime]
    ) -> None:
        self.zone = zone
        self.response_working_days = response_working_days
        self._insert = insert(Feedback)
        # Reading the bank holiday tables takes a few hundred milliseconds: a process pays
        # that when it starts, rather than the first person to complain after it started.
        complaint_deadlines(clock(), zone, response_working_days)

    def __call__(self, step: StepContext, submit: Submit) -> Outputs:
        kind = submit.fields["kind"]
        deadline = respond_by = None
        if kind == "complaint":
            deadline, respond_by = complaint_deadlines(
                step.now, self.zone, self.response_working_days
            )
        reference = new_reference(step.connection, kind)
        values = feedback_values(
            reference,
            step.owner,
            step.language,
            kind,
            submit.answers,
            submit.complete,
            step.now,
            deadline,
            respond_by,
        )
        step.connection.execute(self._insert, values)
        outputs: dict[str, object] = {"reference": reference}
        if deadline is not None:
            outputs["deadline"] = {"date": deadline.isoformat()}
        return outputs
