"""Staff tasks: what must be done by hand (a call, a letter), open first, each marked done.

The tasks come from bot/casework/tasks.py, opened by other features; a person's details
(the name, number and address they gave) are read from what staff took down for them
(`taken_on_behalf`), or for someone who called the voice line, the number they called from
(bot/casework/callers.py), never copied into the task. Marking one done is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, select

from bot.casework import callers, tasks
from bot.casework.accounts import record_audit
from bot.services import services
from console.auth import blueprint, role_required
from console.paging import PAGE_SIZE, number_in, offset, page_asked, paging
from storage.models import Address, Contact, Feedback, StaffTask, TakenOnBehalf, User

ROLES = ("staff", "admin")
# The channels whose addresses are phone numbers staff can ring.
CALLABLE = ("voice", "sms", "whatsapp")


@dataclass(frozen=True)
class TaskRow:
    """One task as the list shows it, with how to reach the person when staff took that down."""

    id: int
    kind: str
    summary: str
    open: bool
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    reference: str | None
    name: str | None
    phone: str | None
    postal_address: str | None
    language: str | None


@blueprint.get("/tasks")
@role_required(*ROLES)
def task_list() -> Any:
    """Every task, open ones first (oldest first), then the done ones; 50 a page."""
    page = page_asked(request.args)
    with services().database.session() as db:
        total = tasks.count_all(db)
        open_count = tasks.count_open(db)
        found = tasks.listing(db, offset=offset(page), limit=PAGE_SIZE)
        rows = _rows(db, found)
    return render_template(
        "console/tasks.html",
        rows=rows,
        total=total,
        open_count=open_count,
        paging=paging("console.task_list", page, {}, total=total),
        language_names={code: lang.name for code, lang in services().i18n.languages.items()},
        zone=services().settings.zone,
    )


def _rows(db: Any, found: list[StaffTask]) -> list[TaskRow]:
    """The page's tasks with their cases, what staff took down and who did each: read in
    three queries for the whole page, not three a task."""
    feedback_ids = {task.feedback_id for task in found if task.feedback_id is not None}
    cases = {
        row.id: (row.reference, row.language)
        for row in db.execute(
            select(Feedback.id, Feedback.reference, Feedback.language).where(
                Feedback.id.in_(feedback_ids)
            )
        )
    }
    taken = {
        row.feedback_id: row
        for row in db.scalars(
            select(TakenOnBehalf).where(TakenOnBehalf.feedback_id.in_(feedback_ids))
        )
    }
    contact_ids = {task.contact_id for task in found if task.contact_id is not None}
    # A number to ring and a language, for tasks about someone staff did not take details
    # from: the number they called the voice line from, else one they text from.
    called: dict[int, str] = {}
    for contact_id, address in db.execute(
        select(Address.contact_id, Address.address)
        .where(Address.contact_id.in_(contact_ids), Address.channel.in_(CALLABLE))
        .order_by(case((Address.channel == "voice", 0), else_=1), Address.id.desc())
    ):
        if (number := callers.phone_number(address)) is not None:
            called.setdefault(contact_id, number)
    speaks = {
        row.id: row.language
        for row in db.execute(
            select(Contact.id, Contact.language).where(Contact.id.in_(contact_ids))
        )
    }
    user_ids = {task.done_by for task in found if task.done_by is not None}
    emails = {
        user_id: email
        for user_id, email in db.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
    }
    rows = []
    for task in found:
        reference, language = cases.get(task.feedback_id or 0, (None, None))
        given = taken.get(task.feedback_id)
        done_by = emails.get(task.done_by) if task.done_by else None
        if task.done_at is not None and task.done_by is None:
            done_by = "Command line"
        rows.append(
            TaskRow(
                id=task.id,
                kind=tasks.kind_label(task.kind),
                summary=task.summary,
                open=task.status == tasks.OPEN,
                created_at=task.created_at,
                done_at=task.done_at,
                done_by=done_by,
                reference=reference,
                name=given.name if given else None,
                phone=given.phone if given else called.get(task.contact_id or 0),
                postal_address=given.postal_address if given else None,
                language=language or speaks.get(task.contact_id or 0),
            )
        )
    return rows


@blueprint.post("/tasks/<task_id>/done")
@role_required(*ROLES)
def task_done(task_id: str) -> Any:
    """Mark a task done, as the signed-in account (audited)."""
    number = number_in(task_id)
    if number is None:
        abort(404)
    now = services().clock()
    try:
        with services().database.session() as db:
            task = tasks.close_task(db, number, user_id=current_user.id, now=now)
            # The kind only: the summary may quote a case note.
            record_audit(
                db,
                current_user.id,
                "task.done",
                "staff_task",
                task.id,
                {"kind": task.kind},
                now=now,
            )
    except tasks.UnknownTask:
        abort(404)
    except tasks.TaskError as error:
        flash(f"{str(error)[:1].upper()}{str(error)[1:]}.")
        return redirect(url_for("console.task_list"))
    flash("Task marked done.")
    return redirect(url_for("console.task_list"))
