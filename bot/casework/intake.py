"""A complaint, comment or compliment becomes a case: its record, reference and deadlines.

When the flow asked whether we may contact them (the answer saved as
flows/model.py CONSENT_TO_CONTACT), the answer is kept as a consent record too
(bot/pipeline/consent.py), with the words they read, in the same transaction. Someone who
asked us to phone them (and did not say No to contact) gets a staff task to call them back,
in the language they chose.

The `feedback` record writer of a step (bot/pipeline/effects.py): it runs in the step's
transaction for every feedback flow that ends or is left part-way, so it writes with one
Core INSERT from the same columns storage/records.py gives the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.casework import tasks
from bot.casework.callers import CALL_BACK
from bot.casework.cases import complaint_deadlines
from bot.pipeline import consent
from bot.pipeline.effects import Outputs, StepContext
from bot.staff_text import LANGUAGE_NAMES
from flows.effects import Submit
from flows.library import Flows
from flows.model import CONSENT_TO_CONTACT
from storage.models import Feedback
from storage.records import feedback_values, new_reference


class FeedbackRecords:
    """Writes the feedback a flow gathered; a complaint gets its statutory deadlines."""

    def __init__(
        self,
        zone: ZoneInfo,
        response_working_days: int,
        clock: Callable[[], datetime],
        flows: Flows,
        gettext: Callable[[str, str], str],
    ) -> None:
        self.zone = zone
        self.response_working_days = response_working_days
        self.flows = flows
        # The words of a message in a language, as the person read it.
        self.gettext = gettext
        self._insert = insert(Feedback).returning(Feedback.id)
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
        feedback_id = step.connection.execute(self._insert, values).scalar_one()
        answer = submit.answers.get(CONSENT_TO_CONTACT)
        if isinstance(answer, bool):
            self._keep_consent(step, submit, answer, feedback_id)
        if values.get("wants_callback") is True and answer is not False:
            # A phone call speaks a language, not a script: "syl-Latn" is Sylheti.
            chosen = str(values.get("callback_language") or step.language).split("-")[0]
            tasks.open_task(
                step.session,
                CALL_BACK,
                f"Call them about their {kind} {reference}: they asked us to phone them."
                f" Speak {LANGUAGE_NAMES.get(chosen, chosen)}.",
                now=step.now,
                contact_id=step.person.contact_id,
                feedback_id=feedback_id,
            )
        outputs: dict[str, object] = {"reference": reference}
        if deadline is not None:
            outputs["deadline"] = {"date": deadline.isoformat()}
        return outputs

    def _keep_consent(
        self, step: StepContext, submit: Submit, answer: bool, feedback_id: int
    ) -> None:
        flow = self.flows[submit.flow]
        question = next(node.ask for node in flow.nodes.values() if node.save == CONSENT_TO_CONTACT)
        assert question is not None  # flows/model.py: every question node has its `ask`
        consent.record(
            step.connection,
            consent.Asked(
                contact_id=step.person.contact_id,
                address_id=step.person.address_id,
                purpose=consent.CONTACT,
                question=question,
                wording=self.gettext(step.language, question),
                language=step.language,
                channel=step.person.channel,
                answer=answer,
                given_at=step.now,
                feedback_id=feedback_id,
            ),
        )
