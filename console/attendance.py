"""Who came to an event, marked by staff on its page once it has started; a thank-you.

Staff tick who came among those who said yes (and untick), add someone who came anyway by a
reference of theirs or their phone number, count those who came without being known, and
may thank everyone marked by message (bot/outreach/attendance.py). Each change is audited.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.accounts import record_audit
from bot.casework.people import PersonError, find_people
from bot.outreach.attendance import (
    MAX_EXTRA,
    AttendanceError,
    add_walk_in,
    attended,
    save_ticks,
    set_extra,
    thank,
)
from bot.outreach.consultations import EventNotFound, get_event
from bot.services import services
from bot.web_guards import MAX_ID
from console.auth import blueprint, role_required
from console.calendar import EDITORS, event_page
from console.paging import number_in
from console.wording import people
from flows.answers import reference_in
from storage.models import Consultation, Contact, Feedback

# A reference or a phone number, typed: anything longer is neither.
MAX_PERSON = 64


def _event(db: Session, event_id: int) -> Consultation:
    try:
        found = get_event(db, event_id)
    except EventNotFound:
        abort(404)
    return found


def _not_yet(event_id: int, field: str) -> Any | None:
    """The page with an error when the event has not started or was cancelled, else None."""
    with services().database.session() as db:
        found = _event(db, event_id)
        started = found.start_at <= services().clock()
        cancelled = found.status == "cancelled"
    if cancelled:
        return event_page(event_id, {field: "This event was cancelled"}, status=400)
    if not started:
        return event_page(
            event_id, {field: "You can mark who came once the event has started"}, status=400
        )
    return None


def _ids(values: list[str]) -> set[int] | None:
    found = {number_in(value, MAX_ID) for value in values}
    return None if None in found else {value for value in found if value is not None}


@blueprint.post("/calendar/events/<int:event_id>/attendance")
@role_required(*EDITORS)
def attendance_save(event_id: int) -> Any:
    """Save the ticks of who came, and how many came without being known."""
    refused = _not_yet(event_id, "came")
    if refused is not None:
        return refused
    shown = _ids(request.form.getlist("shown"))
    ticked = _ids(request.form.getlist("came"))
    typed = request.form.get("extra", "").strip()
    extra = number_in(typed or "0", MAX_EXTRA)
    if shown is None or ticked is None:
        return event_page(event_id, {"came": "Tick the people who came"}, status=400)
    if extra is None:
        return event_page(
            event_id,
            {"extra": f"Enter how many came unknown as a whole number from 0 to {MAX_EXTRA:,}"},
            {"extra": typed[:20]},
            status=400,
        )
    now = services().clock()
    with services().database.session() as db:
        found = _event(db, event_id)
        came = save_ticks(db, found, shown, ticked, current_user.id, now)
        set_extra(found, extra)
        detail = {"came": came, "extra": extra}
        record_audit(db, current_user.id, "event.attendance", "event", event_id, detail, now=now)
    flash(f"Attendance saved: {people(came)} marked, and {extra:,} more who were not known.")
    return redirect(url_for("console.event", event_id=event_id) + "#attendance")


def contact_of(db: Session, typed: str) -> int:
    """The person a reference of theirs or a phone number names; PersonError says why not."""
    text = typed.strip()
    if not text:
        raise PersonError("Enter a reference, like C-482173, or a phone number")
    if len(text) > MAX_PERSON:
        raise PersonError("Enter a reference, like C-482173, or a phone number")
    reference = reference_in(text)
    if reference is not None:
        found = db.scalar(select(Feedback.contact_id).where(Feedback.reference == reference))
        if found is None:
            raise PersonError(f"No feedback has the reference {reference}")
        return found
    matches = [
        contact_id
        for contact_id in find_people(db, text)
        if (contact := db.get(Contact, contact_id)) is not None and not contact.staff
    ]
    if not matches:
        raise PersonError("Nobody we hear from has that reference or number")
    if len(matches) > 1:
        raise PersonError("That number belongs to more than one person: enter a reference")
    return matches[0]


@blueprint.post("/calendar/events/<int:event_id>/attendance/add")
@role_required(*EDITORS)
def attendance_add(event_id: int) -> Any:
    """Mark someone known to us who came, whether or not they had said yes."""
    refused = _not_yet(event_id, "person")
    if refused is not None:
        return refused
    typed = request.form.get("person", "")
    now = services().clock()
    try:
        with services().database.session() as db:
            found = _event(db, event_id)
            contact_id = contact_of(db, typed)
            added = add_walk_in(db, found, contact_id, current_user.id, now)
            if added:
                detail = {"contact_id": contact_id}
                record_audit(
                    db, current_user.id, "event.attendance", "event", event_id, detail, now=now
                )
    except (PersonError, AttendanceError) as error:
        kept = typed[:MAX_PERSON]
        return event_page(event_id, {"person": str(error)}, {"person": kept}, status=400)
    flash(
        f"Contact {contact_id} is marked as having come." if added else "They were marked already."
    )
    return redirect(url_for("console.event", event_id=event_id) + "#attendance")


@blueprint.post("/calendar/events/<int:event_id>/thanks")
@role_required(*EDITORS)
def attendance_thanks(event_id: int) -> Any:
    """Thank everyone marked as having come, by message, once each."""
    refused = _not_yet(event_id, "thanks")
    if refused is not None:
        return refused
    now = services().clock()
    with services().database.session() as db:
        nobody = not attended(db, event_id)
    if nobody:
        return event_page(event_id, {"thanks": "Mark who came before thanking them"}, status=400)
    with services().database.session() as db:
        found = _event(db, event_id)
        written = [row.id for row in thank(db, found, now, services().settings.zone)]
        detail = {"messages": len(written)}
        record_audit(db, current_user.id, "event.thanked", "event", event_id, detail, now=now)
    services().queue.enqueue(written)
    if written:
        flash(f"A thank-you is going to {people(len(written))}.")
    else:
        flash("Everyone marked has been thanked already.")
    return redirect(url_for("console.event", event_id=event_id) + "#attendance")
