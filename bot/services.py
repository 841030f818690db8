"""Wiring: build the database, flows, runner, dispatcher and queue for one deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from flask import current_app
from huey import Huey, crontab

from bot.casework import callers, tasks
from bot.casework.cases import CASE_UPDATE_TEMPLATE
from bot.casework.digest import CaseDigest
from bot.casework.erasure import SurveyAnswers
from bot.casework.intake import FeedbackRecords
from bot.casework.replies import STAFF_REPLY_TEMPLATE
from bot.casework.retention import Retention
from bot.casework.safeguarding import Safeguarding
from bot.casework.status import case_status
from bot.casework.voiceline import VoiceLine
from bot.channels.base import Sender
from bot.channels.console import ConsoleSender
from bot.channels.registry import close_senders, senders_from_settings
from bot.clock import Clock, utc_now
from bot.i18n import I18n
from bot.logs import as_job
from bot.outreach import access, involvement, monitoring
from bot.outreach.broadcasts import BROADCAST_TEMPLATE, Broadcasts
from bot.outreach.consultations import ChatRecords
from bot.outreach.opportunities import OpportunityLists
from bot.outreach.reminders import REMINDER_TEMPLATE, Reminders
from bot.pipeline.dispatch import Dispatcher
from bot.pipeline.effects import Effects, Outputs, RecordWriter, StepContext
from bot.pipeline.queue import HueyQueue, InlineQueue, Queue, make_huey
from bot.pipeline.ratelimit import SendLimits
from bot.pipeline.runner import Runner, Steps
from bot.pipeline.step import Stepper
from bot.pipeline.sweep import Sweeper, Waker
from bot.pipeline.templates import WhatsAppTemplates
from bot.settings import Settings
from flows.effects import Submit
from flows.library import Flows, load_flows
from flows.model import RECORDS
from flows.texts import NAGRI_BY_SMS
from storage.db import Database


@dataclass
class Services:
    """Everything a process needs, built once from its settings."""

    settings: Settings
    # What time it is: the one clock every part of a process reads.
    clock: Clock
    database: Database
    i18n: I18n
    flows: Flows
    runner: Runner
    dispatcher: Dispatcher
    queue: Queue
    sweeper: Sweeper
    senders: dict[str, Sender]
    # Fans broadcasts out; the sweep starts scheduled ones and resumes interrupted ones.
    broadcasts: Broadcasts
    # Writes event reminders when due: a Huey periodic task, or called directly.
    reminders: Reminders
    # Erases what is past its retention: a daily Huey periodic task, or `kotha retention`.
    retention: Retention
    # The ways to take part as each step offers them (staff's changes: `forget`).
    opportunities: OpportunityLists
    # Phone calls to the voice line, through the runner (webhooks/twilio_voice.py).
    voice: VoiceLine
    huey: Huey | None = None

    @property
    def delivery(self) -> Dispatcher:
        """The part the status webhooks speak to."""
        return self.dispatcher

    def close(self) -> None:
        close_senders(self.senders)
        self.database.dispose()


BOOK_INTERPRETER = "book-interpreter"


def interpreter_tasks(writer: RecordWriter, zone: ZoneInfo) -> RecordWriter:
    """The writer, then a staff task to book an interpreter for each event not yet over
    that the person said yes to and needs one for, once per person and event (the task names
    the language and the event; the tasks page reads who and how to reach them)."""

    def write(step: StepContext, submit: Submit) -> Outputs:
        outputs = writer(step, submit)
        contact_id = step.person.contact_id
        for request in access.requests_for_contact(step.session, contact_id, step.now):
            if tasks.ever_opened(step.session, BOOK_INTERPRETER, contact_id, request.event_id):
                continue
            start = request.event_start.astimezone(zone)
            tasks.open_task(
                step.session,
                BOOK_INTERPRETER,
                f"Book a {request.language or 'suitable'} interpreter for"
                f" {request.event_title or 'the event'} on {start:%a %-d %b %Y at %H:%M}",
                now=step.now,
                contact_id=contact_id,
                event_id=request.event_id,
            )
        return outputs

    return write


def build_services(
    settings: Settings,
    *,
    senders: Mapping[str, Sender] | None = None,
    clock: Clock = utc_now,
    database: Database | None = None,
    queue: Literal["inline", "huey"] = "inline",
    limits: SendLimits | None = None,
) -> Services:
    """Build the services. Without `senders`, the channels with credentials get real ones.

    Rate limits apply to real senders only (given `limits`, or built from the settings when
    the senders come from them); simulated addresses always use the console sender.
    """
    database = database or Database(settings.database_url)
    i18n = I18n(settings.locales_dir)
    flows = load_flows(settings.flows_dir, i18n.choices, translations=i18n.translations)
    if senders is None:
        chosen = senders_from_settings(settings)
        limits = limits or (SendLimits(settings) if chosen else None)
    else:
        chosen = dict(senders)
    templates = WhatsAppTemplates(
        i18n,
        (CASE_UPDATE_TEMPLATE, REMINDER_TEMPLATE, BROADCAST_TEMPLATE, STAFF_REPLY_TEMPLATE),
        settings.whatsapp_templates,
    )
    dispatcher = Dispatcher(
        database,
        i18n,
        chosen,
        clock,
        settings,
        limits=limits,
        local_sender=ConsoleSender(),
        templates=templates,
        call_instead=callers.call_instead,
    )
    huey = make_huey(settings) if queue == "huey" else None
    job_queue: Queue = HueyQueue(huey, dispatcher) if huey is not None else InlineQueue(dispatcher)
    chat_records = ChatRecords(settings.zone, settings.public_url)
    chat_writers = chat_records.writers()
    effects = Effects(
        {
            "feedback": FeedbackRecords(
                settings.zone, settings.response_working_days, clock, flows, i18n.gettext
            ),
            "survey": involvement.survey_response,
            "interest": involvement.interest,
            "preferences": involvement.preferences,
            "monitoring": monitoring.monitoring,
            **chat_writers,
            # Someone coming to an event who needs an interpreter: staff book one.
            "access": interpreter_tasks(access.record, settings.zone),
            "rsvp": interpreter_tasks(chat_writers["rsvp"], settings.zone),
        }
    )
    missing = set(RECORDS) - set(effects.records)
    if missing:
        raise RuntimeError(f"no record writer for {sorted(missing)}")
    safeguarding = Safeguarding(settings.safeguarding_alert_to, settings.public_url)
    opportunities = OpportunityLists(i18n)
    stepper = Stepper(
        flows,
        effects,
        expiry=timedelta(hours=settings.conversation_expiry_hours),
        resume_after=timedelta(hours=settings.resume_after_hours),
        watchers=(safeguarding,),
        dispatcher=dispatcher,
        told_on_sms=dict.fromkeys(i18n.sms_instead, NAGRI_BY_SMS),
        case_status=case_status,
        links={"privacy_link": chat_records.base_url + "/privacy"},
        listings=opportunities.listings,
        ask_after=access.ask_after,
    )
    # Embedded without a queue, a message is stepped as soon as it is stored. With one, the
    # web process stores it and queues its step; on PostgreSQL the database announces it to
    # the consumers instead (the Waker below), so a webhook does not talk to the queue.
    announced = database.dialect == "postgresql"
    steps: Steps = "now" if huey is None else ("announced" if announced else "queued")
    runner = Runner(database, stepper, job_queue, clock=clock, steps=steps)
    job_queue.step_with(runner.process)
    sweeper = Sweeper(dispatcher, job_queue, runner.pending, runner.expire_stale)
    broadcasts = Broadcasts(database, i18n, flows, settings, clock, job_queue.enqueue)
    sweeper.also.append(broadcasts.run_due)
    if huey is not None:
        sweeper.register(huey)
        if announced:
            Waker(database, job_queue, lambda: runner.pending(timedelta(0))).register(huey)
    reminders = Reminders(
        database,
        runner,
        clock,
        settings.reminder_offsets,
        settings.zone,
        settings.quiet_hours,
        i18n,
    )
    if huey is not None:
        # Once a minute is the finest a Huey periodic task runs; a reminder a minute late is
        # on time. Each consumer runs it: the reminders' dedupe keys make that harmless.
        huey.periodic_task(crontab(), name="kotha.event_reminders")(
            as_job("reminders", reminders.run)
        )
        # The daily case digest: each consumer checks every minute whether it is due (08:00
        # local); its dedupe keys send it once a day whatever the number of consumers.
        digest = CaseDigest(database, settings, clock)
        huey.periodic_task(crontab(), name="kotha.case_digest")(
            as_job("digest", lambda: digest.write_if_due(job_queue.enqueue))
        )
    retention = Retention(database, settings, clock, SurveyAnswers.of(flows))
    if huey is not None:
        # Daily at 03:15 (UTC, Huey's clock), when little else runs. Each consumer runs it:
        # a person already erased by another is left alone (bot/casework/erasure.py).
        huey.periodic_task(crontab(minute="15", hour="3"), name="kotha.retention")(retention.run)
    return Services(
        settings,
        clock,
        database,
        i18n,
        flows,
        runner,
        dispatcher,
        job_queue,
        sweeper,
        chosen,
        broadcasts,
        reminders,
        retention,
        opportunities,
        VoiceLine(database, runner, flows, i18n, settings, clock),
        huey,
    )


def services() -> Services:
    """Return the services of the Flask app handling this request."""
    found: Services = current_app.extensions["kotha"]
    return found
