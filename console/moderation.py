"""Moderation: the review queue, redaction, tags, hiding a contact, and safeguarding flags.

New free-text feedback waits here until a moderator reviews it. People with an open
safeguarding flag come first, marked urgent; then the oldest waits least. Every change is
audited with who made it and why; the person's own words are never changed (redactions sit
beside them, in Feedback.redacted_* and Message.redacted_body).

It runs past 500 lines on purpose: the review page and the safeguarding page share the open
flags, their messages and the decision form, and a flag is resolved from either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from bot.casework.accounts import record_audit
from bot.casework.redaction import suggest
from bot.casework.safeguarding import CATEGORIES, CATEGORY_LABELS
from bot.services import services
from console.auth import blueprint, role_required
from console.paging import number_in
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag, User

MODERATION_ROLES = ("moderator", "admin")
TOPICS_FILE = Path(__file__).with_name("topics.yaml")
# The oldest waiting feedback shown at once; urgent items are always shown, whatever their age.
QUEUE_SIZE = 200
RECENTLY_RESOLVED = 50
MAX_REASON = 2000
TOO_LONG = f"The reason must be {MAX_REASON} characters or less"
DECISIONS = {
    "cleared": "Cleared as a false positive",
    "confirmed": "Confirmed: a real concern, handled here",
    "escalated": "Escalated",
}
# Whether each decision says the flag was right: the detector's record in real use.
RIGHT = {"cleared": False, "confirmed": True, "escalated": True}
# Hiding keeps abuse from staff, not a complaint from its answer: the cases list keeps it.
HIDDEN_NOTICE = (
    "Staff can no longer see this person's conversations. Their complaints stay on the cases "
    "list, so they are still answered on time."
)


@cache
def topics() -> dict[str, str]:
    """Feedback topics (code: label) from console/topics.yaml."""
    data = yaml.safe_load(TOPICS_FILE.read_text(encoding="utf-8"))
    return {str(code): str(label) for code, label in data["topics"].items()}


def service_labels() -> dict[str, str]:
    """The services people choose from in the feedback flows (value: English label)."""
    labels: dict[str, str] = {}
    flows = services().flows
    for flow_id in ("complaint", "comment", "compliment"):
        try:
            flow = flows[flow_id]
        except KeyError:
            continue
        for node in flow.nodes.values():
            if node.save == "service":
                for option in node.options:
                    if option.value is not None:
                        labels.setdefault(str(option.value), option.label)
    return labels


@dataclass
class QueueItem:
    """One line of the queue: a feedback record to review, or a flagged message on its own."""

    at: datetime
    urgent: bool
    title: str
    href: str
    preview: str
    language: str
    categories: list[str] = field(default_factory=list)
    hidden: bool = False
    kind: str = ""
    simulated: bool = False


def _has_free_text() -> Any:
    return or_(
        (Feedback.text.is_not(None)) & (Feedback.text != ""),
        (Feedback.desired_outcome.is_not(None)) & (Feedback.desired_outcome != ""),
    )


def _open_flags(session: Session) -> list[SafeguardingFlag]:
    return list(
        session.scalars(
            select(SafeguardingFlag)
            .where(SafeguardingFlag.status == "open")
            .order_by(SafeguardingFlag.raised_at, SafeguardingFlag.id)
        )
    )


def _categories(flags: Iterable[SafeguardingFlag]) -> list[str]:
    found = {category for flag in flags for category in flag.categories or ()}
    return [CATEGORY_LABELS[c] for c in CATEGORIES if c in found]


def queue_items(session: Session) -> list[QueueItem]:
    """The queue in order: urgent (an open safeguarding flag) first, then oldest first."""
    flags = _open_flags(session)
    flags_by_contact: dict[int, list[SafeguardingFlag]] = {}
    for flag in flags:
        flags_by_contact.setdefault(flag.contact_id, []).append(flag)
    waiting = (
        select(Feedback, Contact.hidden_at)
        .join(Contact, Contact.id == Feedback.contact_id)
        .where(Feedback.reviewed_at.is_(None), _has_free_text())
    )
    oldest = session.execute(
        waiting.order_by(Feedback.created_at, Feedback.id).limit(QUEUE_SIZE)
    ).all()
    flagged = (
        session.execute(waiting.where(Feedback.contact_id.in_(list(flags_by_contact)))).all()
        if flags_by_contact
        else []
    )
    items: dict[int, QueueItem] = {}
    for feedback, hidden_at in [*flagged, *oldest]:
        contact_flags = flags_by_contact.get(feedback.contact_id, [])
        items[feedback.id] = QueueItem(
            at=feedback.created_at,
            urgent=bool(contact_flags),
            title=f"{feedback.reference} ({feedback.kind})",
            href=url_for("console.review", feedback_id=feedback.id),
            preview=feedback.text or feedback.desired_outcome or "",
            language=feedback.language,
            categories=_categories(contact_flags),
            hidden=hidden_at is not None,
            kind="feedback",
            simulated=feedback.simulated,
        )
    with_feedback = {feedback.contact_id for feedback, _ in flagged}
    queue = list(items.values())
    # A worrying message outside any feedback waiting here is still urgent work.
    bodies = _flag_messages(session, flags)
    for flag in flags:
        if flag.contact_id not in with_feedback:
            message = bodies.get(flag.id)
            queue.append(
                QueueItem(
                    at=flag.raised_at,
                    urgent=True,
                    title=f"Flagged message {flag.id}",
                    href=url_for("console.safeguarding", _anchor=f"flag-{flag.id}"),
                    preview=message.body if message else "",
                    language=message.language if message else "en",
                    categories=_categories([flag]),
                    kind="flag",
                    simulated=bool(message and message.simulated),
                )
            )
    queue.sort(key=lambda item: (not item.urgent, item.at))
    return queue


@dataclass(frozen=True)
class FlagMessage:
    """The message that raised a flag: its words, the person's language, their conversation."""

    body: str
    language: str
    conversation_href: str | None
    simulated: bool = False


def _flag_messages(session: Session, flags: Iterable[SafeguardingFlag]) -> dict[int, FlagMessage]:
    """For each flag raised by a message, that message as the flag's card shows it."""
    message_ids = {flag.message_id for flag in flags if flag.message_id is not None}
    if not message_ids:
        return {}
    rows = session.execute(
        select(Message.id, Message.body, Message.address_id, Contact.language, Address.simulated)
        .join(Address, Address.id == Message.address_id)
        .join(Contact, Contact.id == Address.contact_id)
        .where(Message.id.in_(message_ids))
    ).all()
    found = {
        row.id: FlagMessage(
            row.body or "", row.language or "en", _conversation_href(row.address_id), row.simulated
        )
        for row in rows
    }
    return {
        flag.id: found[flag.message_id]
        for flag in flags
        if flag.message_id is not None and flag.message_id in found
    }


@blueprint.get("/moderation")
@role_required(*MODERATION_ROLES)
def moderation() -> Any:
    """The review queue: urgent safeguarding first, then the oldest feedback first."""
    with services().database.session() as db:
        items = queue_items(db)
    return render_template(
        "console/moderation.html",
        items=items,
        urgent=sum(item.urgent for item in items),
        zone=services().settings.zone,
    )


# -- one feedback record -----------------------------------------------------------------


def _feedback_or_404(db: Session, feedback_id: int) -> Feedback:
    feedback = db.get(Feedback, feedback_id)
    if feedback is None:
        abort(404)
    return feedback


def _review_page(
    feedback_id: int,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        contact = db.get_one(Contact, feedback.contact_id)
        flags = list(
            db.scalars(
                select(SafeguardingFlag)
                .where(SafeguardingFlag.contact_id == feedback.contact_id)
                .order_by(SafeguardingFlag.raised_at.desc(), SafeguardingFlag.id.desc())
            )
        )
        bodies = _flag_messages(db, flags)
        emails = _emails(db)
        if not errors:
            record_audit(
                db,
                current_user.id,
                "moderation.viewed",
                "feedback",
                feedback.reference,
                now=services().clock(),
            )
        page = render_template(
            "console/review.html",
            feedback=feedback,
            contact=contact,
            open_flags=[flag for flag in flags if flag.status == "open"],
            resolved_flags=[flag for flag in flags if flag.status != "open"],
            bodies=bodies,
            emails=emails,
            suggested_text=(
                feedback.redacted_text
                if feedback.redacted_text is not None
                else suggest(feedback.text)
            ),
            suggested_outcome=(
                feedback.redacted_desired_outcome
                if feedback.redacted_desired_outcome is not None
                else suggest(feedback.desired_outcome)
            ),
            service_options=service_labels(),
            conversation_href=_conversation_href(feedback.address_id),
            topics=topics(),
            categories=CATEGORY_LABELS,
            decisions=DECISIONS,
            errors=dict(errors or {}),
            values=dict(values or {}),
            zone=services().settings.zone,
        )
    return page, status


@blueprint.get("/moderation/<int:feedback_id>")
@role_required(*MODERATION_ROLES)
def review(feedback_id: int) -> Any:
    """One feedback record: its words, suggested redactions, tags, flags and actions."""
    return _review_page(feedback_id)


def _reason(field_name: str = "reason") -> str:
    return request.form.get(field_name, "").strip()


def _too_long(text: str) -> bool:
    return len(text) > MAX_REASON


@blueprint.post("/moderation/<int:feedback_id>/redaction")
@role_required(*MODERATION_ROLES)
def redact(feedback_id: int) -> Any:
    """Save the redacted words beside the originals, on the record and its inbound messages."""
    text = request.form.get("redacted_text", "")
    outcome = request.form.get("redacted_desired_outcome", "")
    now = services().clock()
    with services().database.session() as db:
        has_text = bool(_feedback_or_404(db, feedback_id).text)
    if has_text and not text.strip():
        return _review_page(
            feedback_id,
            {"redacted_text": "Enter the text with personal details removed"},
            {"redacted_text": text, "redacted_desired_outcome": outcome},
            400,
        )
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        pairs = []
        if feedback.text:
            feedback.redacted_text = text
            pairs.append((feedback.text, text))
        if feedback.desired_outcome:
            feedback.redacted_desired_outcome = outcome
            pairs.append((feedback.desired_outcome, outcome))
        messages = _redact_messages(db, feedback, pairs)
        record_audit(
            db,
            current_user.id,
            "moderation.redacted",
            "feedback",
            feedback.reference,
            {"messages": messages},
            now=now,
        )
    flash("Redaction saved. The original words are kept.")
    return redirect(url_for("console.review", feedback_id=feedback_id))


def _redact_messages(db: Session, feedback: Feedback, pairs: list[tuple[str, str]]) -> list[int]:
    """Set redacted_body on the person's inbound messages that carried these words."""
    changed: list[int] = []
    addresses = select(Address.id).where(Address.contact_id == feedback.contact_id)
    for original, redacted in pairs:
        rows = db.scalars(
            select(Message).where(
                Message.address_id.in_(addresses),
                Message.direction == "in",
                Message.body == original,
            )
        )
        for message in rows:
            message.redacted_body = redacted
            changed.append(message.id)
    return sorted(changed)


@blueprint.post("/moderation/<int:feedback_id>/tags")
@role_required(*MODERATION_ROLES)
def tag(feedback_id: int) -> Any:
    """Tag the service and the topic the feedback is about."""
    service = request.form.get("service", "")
    topic = request.form.get("topic", "")
    errors: dict[str, str] = {}
    if service and service not in service_labels():
        errors["service"] = "Select a service from the list"
    if topic and topic not in topics():
        errors["topic"] = "Select a topic from the list"
    if errors:
        return _review_page(feedback_id, errors, {"service": service, "topic": topic}, 400)
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        before = {"service": feedback.service, "topic": feedback.topic}
        feedback.service = service or None
        feedback.topic = topic or None
        after = {"service": feedback.service, "topic": feedback.topic}
        record_audit(
            db,
            current_user.id,
            "moderation.tagged",
            "feedback",
            feedback.reference,
            {"before": before, "after": after},
            now=services().clock(),
        )
    flash("Service and topic saved.")
    return redirect(url_for("console.review", feedback_id=feedback_id))


@blueprint.post("/moderation/<int:feedback_id>/reviewed")
@role_required(*MODERATION_ROLES)
def mark_reviewed(feedback_id: int) -> Any:
    """Mark the feedback reviewed: it leaves the queue."""
    now = services().clock()
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        feedback.reviewed_at, feedback.reviewed_by = now, current_user.id
        record_audit(
            db, current_user.id, "moderation.reviewed", "feedback", feedback.reference, now=now
        )
        reference = feedback.reference
    flash(f"{reference} marked as reviewed.")
    return redirect(url_for("console.moderation"))


@blueprint.post("/moderation/<int:feedback_id>/hide")
@role_required(*MODERATION_ROLES)
def hide_contact(feedback_id: int) -> Any:
    """Hide the person who wrote it (abusive), or show them again; a reason is required."""
    reason = _reason("hide_reason")
    if not reason or _too_long(reason):
        message = "Enter why you are doing this" if not reason else TOO_LONG
        return _review_page(feedback_id, {"hide_reason": message}, {"hide_reason": reason}, 400)
    now = services().clock()
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        contact = db.get_one(Contact, feedback.contact_id)
        if contact.hidden_at is None:
            contact.hidden_at, contact.hidden_by = now, current_user.id
            contact.hidden_reason = reason
            action, done = "contact.hidden", HIDDEN_NOTICE
        else:
            contact.hidden_at = contact.hidden_by = contact.hidden_reason = None
            action, done = "contact.unhidden", "Staff can see this person's conversations again."
        record_audit(
            db, current_user.id, action, "contact", contact.id, {"feedback": feedback.reference},
            reason=reason, now=now,
        )  # fmt: skip
    flash(done)
    return redirect(url_for("console.review", feedback_id=feedback_id))


@blueprint.post("/moderation/<int:feedback_id>/flag")
@role_required(*MODERATION_ROLES)
def raise_flag(feedback_id: int) -> Any:
    """Raise a safeguarding flag by hand, with the kinds of harm and why."""
    chosen = [c for c in request.form.getlist("categories") if c in CATEGORY_LABELS]
    reason = _reason("flag_reason")
    errors: dict[str, str] = {}
    if not chosen:
        errors["categories"] = "Select at least one kind of harm"
    if not reason:
        errors["flag_reason"] = "Enter why you are raising a flag"
    elif _too_long(reason):
        errors["flag_reason"] = TOO_LONG
    if errors:
        return _review_page(feedback_id, errors, {"flag_reason": reason}, 400)
    now = services().clock()
    with services().database.session() as db:
        feedback = _feedback_or_404(db, feedback_id)
        flag = SafeguardingFlag(
            contact_id=feedback.contact_id,
            feedback_id=feedback.id,
            categories=[c for c in CATEGORIES if c in chosen],
            source="moderator",
            raised_at=now,
            raised_by=current_user.id,
            status="open",
        )
        db.add(flag)
        db.flush()
        record_audit(
            db, current_user.id, "safeguarding.raised", "safeguarding_flag", flag.id,
            {"feedback": feedback.reference, "categories": flag.categories},
            reason=reason, now=now,
        )  # fmt: skip
    flash("Safeguarding flag raised. It is at the top of the queue until it is resolved.")
    return redirect(url_for("console.review", feedback_id=feedback_id))


# -- safeguarding flags ------------------------------------------------------------------


@blueprint.get("/safeguarding")
@role_required(*MODERATION_ROLES)
def safeguarding() -> Any:
    """Open flags (urgent), and the recently cleared or escalated with who and why."""
    return _safeguarding_page()


def _safeguarding_page(
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    with services().database.session() as db:
        open_flags = _open_flags(db)
        resolved = list(
            db.scalars(
                select(SafeguardingFlag)
                .where(SafeguardingFlag.status != "open")
                .order_by(SafeguardingFlag.resolved_at.desc(), SafeguardingFlag.id.desc())
                .limit(RECENTLY_RESOLVED)
            )
        )
        bodies = _flag_messages(db, open_flags)
        feedback_ids = {f.feedback_id for f in [*open_flags, *resolved] if f.feedback_id}
        references = {
            row.id: row.reference
            for row in db.execute(
                select(Feedback.id, Feedback.reference).where(Feedback.id.in_(feedback_ids))
            )
        }
        page = render_template(
            "console/safeguarding.html",
            open_flags=open_flags,
            resolved=resolved,
            bodies=bodies,
            references=references,
            emails=_emails(db),
            categories=CATEGORY_LABELS,
            decisions=DECISIONS,
            errors=dict(errors or {}),
            values=dict(values or {}),
            zone=services().settings.zone,
        )
    return page, status


@blueprint.post("/safeguarding/<int:flag_id>")
@role_required(*MODERATION_ROLES)
def resolve_flag(flag_id: int) -> Any:
    """Clear a flag as a false positive, confirm it or escalate it; always with a reason,
    and recording whether the flag was right."""
    decision = request.form.get("decision", "")
    reason = _reason(f"reason-{flag_id}")
    back = request.form.get("back", "")
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        errors[f"decision-{flag_id}"] = "Select whether to clear, confirm or escalate the flag"
    if not reason:
        errors[f"reason-{flag_id}"] = "Enter the reason for your decision"
    elif _too_long(reason):
        errors[f"reason-{flag_id}"] = TOO_LONG
    now = services().clock()
    with services().database.session() as db:
        flag = db.get(SafeguardingFlag, flag_id)
        if flag is None:
            abort(404)
        if not errors and flag.status != "open":
            errors[f"decision-{flag_id}"] = "This flag was already resolved by someone else"
        if not errors:
            flag.status, flag.resolved_at, flag.resolved_by = decision, now, current_user.id
            flag.resolution_note, flag.correct = reason, RIGHT[decision]
            record_audit(
                db, current_user.id, f"safeguarding.{decision}", "safeguarding_flag", flag.id,
                {"categories": flag.categories}, reason=reason, now=now,
            )  # fmt: skip
    values = {f"reason-{flag_id}": reason, f"decision-{flag_id}": decision}
    back_to = number_in(back)
    if back_to is not None:
        if errors:
            return _review_page(back_to, errors, values, 400)
        flash(f"Safeguarding flag {flag_id}: {DECISIONS[decision].lower()}.")
        return redirect(url_for("console.review", feedback_id=back_to))
    if errors:
        return _safeguarding_page(errors, values, 400)
    flash(f"Safeguarding flag {flag_id}: {DECISIONS[decision].lower()}.")
    return redirect(url_for("console.safeguarding"))


def _conversation_href(address_id: int) -> str | None:
    """The conversation page for this address, where the console has one."""
    try:
        return url_for("console.conversation", address_id=address_id)
    except BuildError:
        return None


def _emails(db: Session) -> dict[int, str]:
    return {row.id: row.email for row in db.execute(select(User.id, User.email))}
