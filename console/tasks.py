"""Staff tasks: what must be done by hand (a call, a letter), open first, each marked done.

The tasks come from bot/casework/tasks.py, opened by other features; a person's details
(the name, number and address they gave) are read from what staff took down for them
(`taken_on_behalf`), never copied into the task. Marking one done is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.casework import tasks
from bot.casework.accounts import record_audit
from bot.services import services
from console.auth import blueprint, role_required
from console.paging import PAGE_SIZE, number_in, offset, page_asked, paging
from storage.models import Feedback, StaffTask, TakenOnBehalf, User

ROLES = ("staff", "admin")


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
        rows = [_row(db, task) for task in found]
    return render_template(
        "console/tasks.html",
        rows=rows,
        total=total,
        open_count=open_count,
        paging=paging("console.task_list", page, {}, total=total),
        language_names={code: lang.name for code, lang in services().i18n.languages.items()},
        zone=services().settings.zone,
    )


def _row(db: Any, task: StaffTask) -> TaskRow:
    taken = None
    reference = language = None
    if task.feedback_id is not None:
        feedback = db.get(Feedback, task.feedback_id)
        reference = feedback.reference if feedback else None
        language = feedback.language if feedback else None
        taken = db.scalar(
            select(TakenOnBehalf).where(TakenOnBehalf.feedback_id == task.feedback_id)
        )
    done_by = db.scalar(select(User.email).where(User.id == task.done_by)) if task.done_by else None
    return TaskRow(
        id=task.id,
        kind=tasks.kind_label(task.kind),
        summary=task.summary,
        open=task.status == tasks.OPEN,
        created_at=task.created_at,
        done_at=task.done_at,
        done_by=done_by or ("Command line" if task.done_at and not task.done_by else None),
        reference=reference,
        name=taken.name if taken else None,
        phone=taken.phone if taken else None,
        postal_address=taken.postal_address if taken else None,
        language=language,
    )


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
