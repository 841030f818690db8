"""Staff tasks: things someone at the council must do by hand, open until marked done.

Any feature that finds work no message can do opens a task here: a case update for someone
who gave their feedback on the phone and has no mobile (bot/casework/onbehalf.py), an
interpreter to book, a caller to ring back. Staff see the open ones first on the console's
task page, and the daily digest counts them.

The API, for other features:

    open_task(session, kind, summary, *, now, contact_id=None, feedback_id=None,
              event_id=None, created_by=None) -> StaffTask
    close_task(session, task_id, *, user_id, now) -> StaffTask
    open_tasks(session, *, kind=None, contact_id=None, feedback_id=None) -> list[StaffTask]
    count_open(session) -> int
    count_all(session) -> int
    listing(session, *, offset=0, limit=50) -> list[StaffTask]   (open first, then done)
    kind_label(kind) -> str                                      (KIND_LABELS, or the name)

A task's summary says what to do and may name a case reference; it never holds a phone
number or a postal address (the task page reads those from the person's records, so an
erasure removes them once) and it is never logged. Each function works in the caller's
transaction; the caller audits (the console and the command line know who did it).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import StaffTask

OPEN, DONE = "open", "done"
# The kinds Kotha opens, with the words staff read. Other features add theirs here.
KIND_LABELS: dict[str, str] = {
    "call-with-update": "Call with an update",
    "book-interpreter": "Book an interpreter",
    "write-with-update": "Write with an update",
    "call-back": "Call back",
    "call-with-reminder": "Call with a reminder",
    "call-about-event": "Call about an event",
}
# A kind is a short name in lower-case letters, digits and dashes (it is a column of 32).
KIND_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")
# Long enough for a case update with staff's note (bot/casework/cases.py MAX_NOTE is less).
MAX_SUMMARY = 2_000


class TaskError(ValueError):
    """A task cannot be opened or closed as asked; the message says why, for staff."""


class UnknownTask(LookupError):
    """No task has that id."""


def kind_label(kind: str) -> str:
    """The kind as staff read it; a kind added elsewhere without a label reads as its name."""
    return KIND_LABELS.get(kind, kind.replace("-", " ").capitalize())


def open_task(
    session: Session,
    kind: str,
    summary: str,
    *,
    now: datetime,
    contact_id: int | None = None,
    feedback_id: int | None = None,
    event_id: int | None = None,
    created_by: int | None = None,
) -> StaffTask:
    """Open a task in the caller's transaction; `created_by` is None for Kotha itself."""
    if not KIND_PATTERN.fullmatch(kind):
        raise TaskError(f"a task's kind is a short name like call-with-update, not {kind!r}")
    summary = summary.strip()
    if not summary:
        raise TaskError("say what the task is")
    if len(summary) > MAX_SUMMARY:
        raise TaskError(f"a task's summary must be {MAX_SUMMARY:,} characters or fewer")
    task = StaffTask(
        kind=kind,
        summary=summary,
        contact_id=contact_id,
        feedback_id=feedback_id,
        event_id=event_id,
        status=OPEN,
        created_at=now,
        created_by=created_by,
    )
    session.add(task)
    session.flush()
    return task


def close_task(session: Session, task_id: int, *, user_id: int | None, now: datetime) -> StaffTask:
    """Mark a task done by `user_id` (None: the command line); a done task stays as it was."""
    task = session.scalar(select(StaffTask).where(StaffTask.id == task_id).with_for_update())
    if task is None:
        raise UnknownTask(task_id)
    if task.status == DONE:
        raise TaskError("this task is already done")
    task.status, task.done_at, task.done_by = DONE, now, user_id
    session.flush()
    return task


def ever_opened(session: Session, kind: str, contact_id: int, event_id: int) -> bool:
    """Whether a task of this kind was opened for this person and event, open or done."""
    found = select(StaffTask.id).where(
        StaffTask.kind == kind, StaffTask.contact_id == contact_id, StaffTask.event_id == event_id
    )
    return session.scalar(found.limit(1)) is not None


def open_tasks(
    session: Session,
    *,
    kind: str | None = None,
    contact_id: int | None = None,
    feedback_id: int | None = None,
) -> list[StaffTask]:
    """The open tasks, oldest first, of one kind, person or case when asked."""
    query = select(StaffTask).where(StaffTask.status == OPEN)
    if kind is not None:
        query = query.where(StaffTask.kind == kind)
    if contact_id is not None:
        query = query.where(StaffTask.contact_id == contact_id)
    if feedback_id is not None:
        query = query.where(StaffTask.feedback_id == feedback_id)
    return list(session.scalars(query.order_by(StaffTask.created_at, StaffTask.id)))


def count_open(session: Session) -> int:
    """How many tasks are open."""
    query = select(func.count()).select_from(StaffTask).where(StaffTask.status == OPEN)
    return int(session.scalar(query) or 0)


def count_all(session: Session) -> int:
    """How many tasks there are, open or done (for the list's pages)."""
    return int(session.scalar(select(func.count()).select_from(StaffTask)) or 0)


def listing(session: Session, *, offset: int = 0, limit: int = 50) -> list[StaffTask]:
    """A page of every task: the open ones first, oldest first; then the done, newest first."""
    is_done = case((StaffTask.status == OPEN, 0), else_=1)
    query = (
        select(StaffTask)
        .order_by(
            is_done,
            case((StaffTask.status == OPEN, StaffTask.created_at), else_=None),
            StaffTask.done_at.desc(),
            StaffTask.id,
        )
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))
