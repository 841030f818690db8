"""Cases: feedback as staff work it, overdue and due-soon first; one case; the CSV for the report.

The list is ordered in the database (bot/casework/cases.py `ordered`): cases whose
acknowledgement or response is overdue come first, then those due within two working days,
each by the nearest deadline, then the rest newest first. Every change goes through
bot/casework/cases.py, is audited, and the message telling the person (when staff tick the
box) is queued after the commit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.routing import BuildError

from bot.casework.accounts import record_audit
from bot.casework.cases import (
    KINDS,
    OUTCOME_LABELS,
    OUTCOMES,
    STATUS_LABELS,
    CaseError,
    UnknownFeedback,
    allowed_statuses,
    change_status,
    checked_move,
    clock_of,
    find,
    ordered_page,
    outcome_tellings,
    preview_tellings,
    record_outcome,
    status_tellings,
    update_route,
)
from bot.casework.onbehalf import UPDATES_BY
from bot.pipeline import consent
from bot.services import services
from bot.types import CHANNEL_NAMES, OFFLINE_CHANNELS
from console.auth import blueprint, role_required
from console.media_view import feedback_files
from console.paging import PAGE_SIZE, offset, page_asked, paging
from console.previews import Preview
from console.wording import no_contact_text, reason_text
from storage.exports import case_row, csv_safe
from storage.models import (
    CaseEvent,
    Contact,
    Feedback,
    Message,
    StaffTask,
    TakenOnBehalf,
    User,
)

ROLES = ("staff", "admin")
# Moderators and admins see what people wrote before a moderator redacted it; staff never do.
SEE_ORIGINAL_ROLES = ("moderator", "admin")
CSV_CHUNK = 64 * 1024
CSV_BATCH = 500


# --- The list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """The list's filters as given in the query string; unknown values are ignored."""

    kind: str
    status: str
    service: str
    page: int

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CaseFilters:
        kind = args.get("kind", "")
        status = args.get("status", "")
        return cls(
            kind=kind if kind in KINDS else "",
            status=status if status in STATUS_LABELS else "",
            service=args.get("service", "").strip()[:32],
            page=page_asked(args),
        )

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.kind:
            query = query.where(Feedback.kind == self.kind)
        if self.status:
            query = query.where(Feedback.status == self.status)
        if self.service:
            query = query.where(Feedback.service == self.service)
        return query

    def as_args(self) -> dict[str, str]:
        shown = {"kind": self.kind, "status": self.status, "service": self.service}
        return {key: value for key, value in shown.items() if value}


@dataclass(frozen=True)
class Row:
    """One case in the list."""

    reference: str
    kind: str
    service: str | None
    status: str
    acknowledge_by: date | None
    acknowledge_state: str | None
    respond_by: date | None
    respond_state: str | None
    created_at: datetime
    simulated: bool


@blueprint.get("/cases")
@role_required(*ROLES)
def cases() -> Any:
    """Every case, overdue and due soon first, filtered by kind, status and service; 50 a page."""
    filters = CaseFilters.from_args(request.args)
    today = _today()
    with services().database.session() as db:
        total = db.scalar(filters.apply(select(func.count()).select_from(Feedback))) or 0
        found = ordered_page(
            db, filters.apply(select(Feedback)), today, offset(filters.page), PAGE_SIZE
        )
        rows = [_row(feedback, today) for feedback in found]
        service_names = [
            name
            for name in db.scalars(select(Feedback.service).distinct().order_by(Feedback.service))
            if name
        ]
    args: dict[str, Any] = filters.as_args()
    return render_template(
        "console/cases.html",
        rows=rows,
        total=total,
        filters=filters,
        kinds=KINDS,
        statuses=STATUS_LABELS,
        services=service_names,
        paging=paging("console.cases", filters.page, args, total=total),
        csv_url=url_for("console.cases_csv", **args),
        zone=services().settings.zone,
    )


def _row(feedback: Feedback, today: date) -> Row:
    clock = clock_of(feedback, today)
    return Row(
        reference=feedback.reference,
        kind=feedback.kind,
        service=feedback.service,
        status=feedback.status,
        acknowledge_by=feedback.acknowledge_by,
        acknowledge_state=clock.acknowledge,
        respond_by=feedback.respond_by,
        respond_state=clock.respond,
        created_at=feedback.created_at,
        simulated=feedback.simulated,
    )


# --- The CSV for the complaints annual report ------------------------------------------------


def csv_chunks(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> Iterator[str]:
    """The CSV text of these rows, header first, in pieces of about 64 kB, formulas defused."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_safe(value) for key, value in row.items()})
        if buffer.tell() > CSV_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@blueprint.get("/cases.csv")
@role_required(*ROLES)
def cases_csv() -> Any:
    """The cases as the list filters them, oldest first, with every deadline, time and outcome.

    Streamed as it is read, CSV_BATCH cases to a short transaction each (on SQLite every
    transaction holds the write lock, so a slow download must not keep one open). What
    people wrote is left out: the annual report counts and times cases, and the words may
    hold personal details a moderator has not yet redacted.
    """
    filters = CaseFilters.from_args(request.args)
    today = _today()
    zone = services().settings.zone
    with services().database.session() as db:
        record_audit(
            db,
            current_user.id,
            "cases.exported",
            None,
            None,
            filters.as_args() or None,
            now=services().clock(),
        )
    # The columns, named by an empty record, so an empty export still has its header.
    columns = list(case_row(Feedback(), zone))
    database = services().database

    def rows() -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            with database.session() as db:
                batch = [
                    (feedback.id, case_row(feedback, zone))
                    for feedback in db.scalars(
                        filters.apply(select(Feedback))
                        .where(Feedback.id > after)
                        .order_by(Feedback.id)
                        .limit(CSV_BATCH)
                    )
                ]
            for _, row in batch:
                yield row
            if len(batch) < CSV_BATCH:
                return
            after = batch[-1][0]

    return Response(
        stream_with_context(csv_chunks(rows(), columns)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="cases-{today.isoformat()}.csv"'},
    )


# --- One case --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One change in a case's history, as staff read it."""

    at: datetime
    who: str
    from_status: str | None
    to_status: str
    note: str | None
    told: str  # "Yes" (a message), "By a task" (staff to call or write), or "No"


def _see_original() -> bool:
    return bool(current_user.role in SEE_ORIGINAL_ROLES)


def conversation_url(address_id: int) -> str:
    """The conversation page for this address: by its endpoint when the console has one."""
    if "console.conversation" in current_app.view_functions:
        try:
            return url_for("console.conversation", address_id=address_id)
        except BuildError:
            pass
    return f"/console/conversations/{address_id}"


@dataclass(frozen=True)
class Readable:
    """Words a person wrote as this role may read them: redacted, and the original if allowed."""

    text: str | None
    original: str | None  # only for moderators and admins, when a moderator redacted it
    redacted: bool


def _readable(text: str | None, redacted: str | None, see_original: bool) -> Readable:
    if redacted is None:
        return Readable(text, None, False)
    return Readable(redacted, text if see_original else None, True)


def case_page(
    reference: str,
    errors: dict[str, str] | None = None,
    form: Mapping[str, str] | None = None,
    previews: Mapping[str, Preview] | None = None,
) -> Any:
    see_original = _see_original()
    today = _today()
    with services().database.session() as db:
        try:
            feedback = find(db, reference)
        except UnknownFeedback:
            abort(404)
        events = db.execute(
            select(CaseEvent, User.email)
            .outerjoin(User, User.id == CaseEvent.user_id)
            .where(CaseEvent.feedback_id == feedback.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        # A change told by a task (a call or a letter) opened it at the change's moment.
        tasked = set(
            db.scalars(select(StaffTask.created_at).where(StaffTask.feedback_id == feedback.id))
        )
        history = [
            HistoryLine(
                at=event.at,
                who=email or ("Command line" if event.user_id is None else "Deleted account"),
                from_status=event.from_status,
                to_status=event.to_status,
                note=event.note,
                told="Yes"
                if event.message_id is not None
                else ("By a task" if event.at in tasked else "No"),
            )
            for event, email in events
        ]
        # Staff read a moderator's redacted words when there are some, never the original.
        shown = {
            "text": _readable(feedback.text, feedback.redacted_text, see_original),
            "desired_outcome": _readable(
                feedback.desired_outcome, feedback.redacted_desired_outcome, see_original
            ),
        }
        record_audit(
            db,
            current_user.id,
            "case.viewed",
            "feedback",
            feedback.reference,
            now=services().clock(),
        )
        details = {
            "reference": feedback.reference,
            "kind": feedback.kind,
            "status": feedback.status,
            "service": feedback.service,
            "topic": feedback.topic,
            "language": feedback.language,
            "channel": feedback.channel,
            "created_at": feedback.created_at,
            "acknowledge_by": feedback.acknowledge_by,
            "respond_by": feedback.respond_by,
            "acknowledged_at": feedback.acknowledged_at,
            "in_progress_at": feedback.in_progress_at,
            "decided_at": feedback.decided_at,
            "closed_at": feedback.closed_at,
            "outcome": feedback.outcome,
            "outcome_change": feedback.outcome_change,
            "wants_callback": feedback.wants_callback,
            "tell_how": _tell_how(db, feedback),
            "taken": _taken(db, feedback),
            "address_id": feedback.address_id,
            "erased_at": feedback.erased_at,
            "simulated": feedback.simulated,
            "no_contact": no_contact_text(
                consent.latest(db, feedback.contact_id),
                services().settings.zone,
                {code: lang.name for code, lang in services().i18n.languages.items()},
            ),
            # A moderator hid the person for abuse: staff answer the case without the chat.
            "conversation_hidden": not see_original
            and db.scalar(select(Contact.hidden_at).where(Contact.id == feedback.contact_id))
            is not None,
        }
        clock = clock_of(feedback, today)
        moves = allowed_statuses(feedback)
        # Their voice notes and photos, unless a moderator hid them from staff.
        files = (
            []
            if details["conversation_hidden"]
            else feedback_files(db, feedback.address_id, feedback.media)
        )
    return render_template(
        "console/case.html",
        case=details,
        files=files,
        can_note=details["erased_at"] is None,
        shown=shown,
        clock=clock,
        history=history,
        moves=moves,
        statuses=STATUS_LABELS,
        outcomes=OUTCOME_LABELS,
        outcome_keys=OUTCOMES,
        conversation_url=conversation_url(feedback.address_id),
        channels=CHANNEL_NAMES,
        language_names={code: lang.name for code, lang in services().i18n.languages.items()},
        errors=errors or {},
        form=form or {},
        previews=previews or {},
        zone=services().settings.zone,
    ), (400 if errors else 200)


# How an update reaches someone staff took feedback from, by what they asked for.
TAKEN_TELL = {
    "sms": "Tell the person, in their language, by text message to the mobile they gave",
    "call": "Tell the person: a task to call them opens under Tasks",
    "letter": "Tell the person: a task to write to them opens under Tasks",
    "none": "They asked for no updates: nothing is sent, and no task opens",
}


def _taken(db: Any, feedback: Feedback) -> dict[str, Any] | None:
    """What staff took down for the person with this feedback, when they did, for the page."""
    found = db.execute(
        select(TakenOnBehalf, User.email)
        .outerjoin(User, User.id == TakenOnBehalf.recorded_by)
        .where(TakenOnBehalf.feedback_id == feedback.id)
    ).first()
    if found is None:
        return None
    taken, email = found
    return {
        "by": email or ("Command line" if taken.recorded_by is None else "Deleted account"),
        "updates": UPDATES_BY.get(taken.updates_by, taken.updates_by),
        "name": taken.name,
        "phone": taken.phone,
        "postal_address": taken.postal_address,
    }


def _tell_how(db: Any, feedback: Feedback) -> dict[str, str]:
    """What ticking "tell the person" does for this case (update_route decides), and a hint."""
    route, how = update_route(db, feedback)
    if route == "message":
        channel = CHANNEL_NAMES.get(how, how)
        return {
            "text": f"Tell the person, in their language, by {channel}",
            "hint": "You see the message and what it costs before it is sent.",
        }
    if route == "task":
        return {"text": TAKEN_TELL[how], "hint": ""}
    if feedback.channel in OFFLINE_CHANNELS:
        return {"text": TAKEN_TELL["none"], "hint": ""}
    return {"text": "They said No to contact: nothing is sent, and no task opens", "hint": ""}


@blueprint.get("/cases/<reference>")
@role_required(*ROLES)
def case(reference: str) -> Any:
    """One case: what the person said, its deadlines, its history, and the forms to move it on."""
    return case_page(reference)


def _preview(reference: str, tellings_of: Any) -> Preview:
    """The messages the form would send to the person, as they will read them, priced.

    Raises CaseError (staff's words refused) and UnknownFeedback like the change itself.
    """
    with services().database.session() as db:
        feedback = find(db, reference)
        tellings = tellings_of(db, feedback)
        return Preview(
            preview_tellings(
                db, services().i18n, feedback, tellings, services().settings.sms_segment_price
            )
        )


@blueprint.post("/cases/<reference>/status")
@role_required(*ROLES)
def case_status(reference: str) -> Any:
    """Change a case's status, noting why, and tell the person if staff ticked the box.

    A message to the person is shown first, as they will read it with its cost, and nothing
    changes until staff submit again having seen exactly it (console/previews.py).
    """
    status = request.form.get("status", "")
    note = request.form.get("note", "")
    tell = request.form.get("tell") == "yes"
    if not status:
        return case_page(reference, {"status": "Choose the new status"}, request.form)
    now = services().clock()
    settings = services().settings
    try:
        if tell:
            shown = _preview(
                reference,
                lambda db, feedback: status_tellings(
                    db,
                    feedback,
                    status,
                    checked_move(feedback, status, note),
                    settings.ombudsman_contact,
                ),
            )
            if shown.items and shown.must_show(request.form):
                return case_page(reference, form=request.form, previews={"status": shown})
        with services().database.session() as db:
            feedback = find(db, reference, lock=True)
            before = feedback.status
            change = change_status(
                db,
                feedback,
                status,
                user_id=current_user.id,
                note=note,
                tell=tell,
                now=now,
                ombudsman=settings.ombudsman_contact,
            )
            message_ids = [message.id for message in change.messages]
            task_id = change.task.id if change.task else None
            record_audit(
                db,
                current_user.id,
                "case.status_changed",
                "feedback",
                feedback.reference,
                {"from": before, "to": status, "told": bool(message_ids)}
                | ({"task": task_id} if task_id else {}),
                reason=change.event.note,
                now=now,
            )
            reference = feedback.reference
    except UnknownFeedback:
        abort(404)
    except CaseError as error:
        message = _sentence(str(error))
        return case_page(reference, {_field(message): message}, request.form)
    told = _queue(message_ids) + _task_opened(task_id)
    flash(f"Status changed to {STATUS_LABELS[status].lower()}.{told}")
    return redirect(url_for("console.case", reference=reference))


@blueprint.post("/cases/<reference>/outcome")
@role_required(*ROLES)
def case_outcome(reference: str) -> Any:
    """Record what changed because of this feedback, and tell the person if staff ticked the box
    (shown first, as for a change of status)."""
    outcome = request.form.get("outcome", "")
    change = request.form.get("change", "")
    tell = request.form.get("tell_outcome") == "yes"
    if outcome not in OUTCOMES:
        return case_page(reference, {"outcome": "Choose what changed"}, request.form)
    if outcome != "no_change" and not change.strip():
        return case_page(reference, {"change": "Say what the change is"}, request.form)
    now = services().clock()
    try:
        if tell:
            shown = _preview(
                reference, lambda db, feedback: outcome_tellings(db, feedback, outcome, change)
            )
            if shown.items and shown.must_show(request.form):
                return case_page(reference, form=request.form, previews={"outcome": shown})
        with services().database.session() as db:
            feedback = find(db, reference, lock=True)
            recorded = record_outcome(
                db, feedback, outcome, change, user_id=current_user.id, tell=tell, now=now
            )
            message_ids = [message.id for message in recorded.messages]
            task_id = recorded.task.id if recorded.task else None
            record_audit(
                db,
                current_user.id,
                "case.outcome_recorded",
                "feedback",
                feedback.reference,
                {"outcome": outcome, "told": bool(message_ids)}
                | ({"task": task_id} if task_id else {}),
                reason=feedback.outcome_change,
                now=now,
            )
            reference = feedback.reference
    except UnknownFeedback:
        abort(404)
    except CaseError as error:
        return case_page(reference, {"change": _sentence(str(error))}, request.form)
    told = _queue(message_ids) + _task_opened(task_id)
    flash(f"Outcome recorded: {OUTCOME_LABELS[outcome].lower()}.{told}")
    return redirect(url_for("console.case", reference=reference))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _field(error: str) -> str:
    """The form field a lifecycle error belongs to."""
    return "note" if "note" in error else "status"


def _queue(message_ids: list[int]) -> str:
    """Queue the messages telling the person, after the commit; say what became of them."""
    if not message_ids:
        return ""
    services().queue.enqueue(message_ids)
    with services().database.session() as db:
        sent = db.get_one(Message, message_ids[0])
        status, reason, segments = sent.status, sent.reason, sent.segments
    cost = f" It went as {segments} text message{'s' if segments != 1 else ''}." if segments else ""
    also = (
        " How to take it further (the ombudsman) follows in a second message."
        if len(message_ids) > 1
        else ""
    )
    if status == "held":
        return f" The message to the person is held: {reason_text(reason)}.{also}"
    if status == "failed":
        return f" The message to the person could not be sent: {reason_text(reason)}."
    if status == "unknown":
        return f" The message to the person may not have arrived: {reason_text(reason)}."
    if status == "queued":
        return f" The message to the person is queued to send.{also}"
    return f" The message to the person is {status}.{cost}{also}"


def _task_opened(task_id: int | None) -> str:
    """Say that a task to call or write to the person is open, when one is."""
    return "" if task_id is None else " A task to tell them is open under Tasks."


def _today() -> date:
    return services().clock().astimezone(services().settings.zone).date()
