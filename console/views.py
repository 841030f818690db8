"""Console pages: the home page for every role, and the accounts and audit log for admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import Select, and_, func, select

from bot.casework.accounts import ROLES
from bot.outreach.charts import Series, bar_chart
from bot.outreach.impact import people_by_day
from bot.services import services
from console.auth import blueprint as blueprint
from console.auth import role_required
from console.paging import PAGE_SIZE, number_in, offset, page_asked, paging
from flows.engine import IDLE_NODE
from flows.library import MENU_FLOW
from storage.models import AuditEvent, Conversation, Feedback, Message, User

# The home page's chart: people who wrote each day, over this many days.
RECENT_DAYS = 14

# What each role does in the console; pages still to come are named without links.
ROLE_TASKS = {
    "admin": ["Manage accounts", "Read and filter the audit log", "Change settings"],
    "staff": [
        "Answer feedback and record outcomes",
        "Reply to people",
        "Follow cases",
        "Follow up people who want to take part",
    ],
    "moderator": ["Review the conversation queue", "Redact personal details", "Raise safeguarding"],
}


@dataclass(frozen=True)
class AuditFilters:
    """The audit log's filters as given in the query string, with any errors in them."""

    user_id: int | None
    action: str
    start: date | None
    end: date | None
    errors: dict[str, str]

    @classmethod
    def from_args(cls, args: Any) -> AuditFilters:
        errors: dict[str, str] = {}
        user_text = args.get("user", "").strip()
        user_id = number_in(user_text)
        start = _parse_date(args.get("from", ""), "from", "start", errors)
        end = _parse_date(args.get("to", ""), "to", "end", errors)
        if start and end and end < start:
            errors["to"] = "The end date must be the same as or after the start date"
            end = None
        return cls(user_id, args.get("action", "").strip(), start, end, errors)

    def apply(self, query: Select[Any], zone: ZoneInfo) -> Select[Any]:
        if self.user_id is not None:
            query = query.where(AuditEvent.user_id == self.user_id)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.start:
            query = query.where(AuditEvent.at >= datetime.combine(self.start, time(), zone))
        if self.end:
            after = self.end + timedelta(days=1)
            query = query.where(AuditEvent.at < datetime.combine(after, time(), zone))
        return query

    def as_args(self) -> dict[str, str]:
        shown = {
            "user": "" if self.user_id is None else str(self.user_id),
            "action": self.action,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
        }
        return {key: value for key, value in shown.items() if value}


def _parse_date(text: str, field: str, name: str, errors: dict[str, str]) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = f"The {name} date must be a real date, like 2026-11-18"
        return None


def _count(query: Select[Any]) -> int:
    with services().database.session() as db:
        return db.scalar(query) or 0


@blueprint.get("/")
@role_required(*ROLES)
def home() -> Any:
    """What the signed-in role can do, with the work waiting."""
    services_ = services()
    now = services_.clock()
    # In progress: half-way through a question, and not yet left long enough to expire.
    since = now - timedelta(hours=services_.settings.conversation_expiry_hours)
    waiting = {
        "conversations": _count(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.updated_at >= since,
                ~and_(Conversation.flow == MENU_FLOW, Conversation.node == IDLE_NODE),
            )
        ),
        "feedback": _count(
            select(func.count()).select_from(Feedback).where(Feedback.status == "received")
        ),
        "messages": _count(
            select(func.count())
            .select_from(Message)
            .where(Message.direction == "out", Message.status.in_(("failed", "held", "unknown")))
        ),
    }
    with services_.database.session() as db:
        days = people_by_day(db, RECENT_DAYS, now, services_.settings.zone)
    chart = bar_chart(
        f"People who wrote to us, each of the last {RECENT_DAYS} days",
        [f"{day:%a %-d %b}" for day, _ in days],
        [Series("People", [people for _, people in days])],
    )
    return render_template(
        "console/home.html",
        tasks=ROLE_TASKS[current_user.role],
        waiting=waiting,
        expiry_hours=services_.settings.conversation_expiry_hours,
        days=days,
        chart=chart,
    )


@blueprint.get("/users")
@role_required("admin")
def users() -> Any:
    """Every account, newest first."""
    with services().database.session() as db:
        rows = db.scalars(select(User).order_by(User.created_at.desc(), User.id.desc())).all()
    return render_template("console/users.html", users=rows, zone=services().settings.zone)


@blueprint.get("/audit")
@role_required("admin")
def audit() -> Any:
    """The audit log, newest first, filtered by account, action and dates, a page at a time."""
    filters = AuditFilters.from_args(request.args)
    page = page_asked(request.args)
    zone = services().settings.zone
    with services().database.session() as db:
        total = db.scalar(filters.apply(select(func.count()).select_from(AuditEvent), zone)) or 0
        events = db.scalars(
            filters.apply(select(AuditEvent), zone)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(PAGE_SIZE)
            .offset(offset(page))
        ).all()
        accounts = db.execute(select(User.id, User.email).order_by(User.email)).all()
        actions = db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        action_names = list(actions)
    emails = {row.id: row.email for row in accounts}
    args: dict[str, Any] = filters.as_args()
    return render_template(
        "console/audit.html",
        events=events,
        emails=emails,
        accounts=accounts,
        actions=action_names,
        filters=filters,
        total=total,
        page=page,
        paging=paging("console.audit", page, args, total=total),
        zone=zone,
    )
