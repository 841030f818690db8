"""How the safeguarding detector does in real use, and the disclosures it missed.

Moderators teach it: every flag they resolve records whether it was right (console/
moderation.py), and every flag they raise by hand on words the detector does not flag is
a disclosure it missed. This page shows both, and gives the missed ones as examples in the
detector's own format (flows/understanding/harm_examples/), for a reviewer, with a native
speaker for Bengali and Sylheti, to add to its examples and lists.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml
from flask import Response, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.accounts import record_audit
from bot.casework.safeguarding import CATEGORIES, CATEGORY_LABELS
from bot.services import services
from console.auth import blueprint, role_required
from console.moderation import MODERATION_ROLES
from flows.understanding import understand
from storage.models import Contact, Feedback, Message, SafeguardingFlag

# The harm examples' languages: a contact reading any other is counted as the nearest.
EXAMPLE_LANGUAGES = {"en": "en", "bn": "bn", "syl": "syl", "syl-Latn": "syl-Latn"}


@dataclass(frozen=True)
class Missed:
    """A disclosure a moderator flagged by hand that the detector does not flag."""

    flag_id: int
    raised_at: datetime
    categories: tuple[str, ...]
    language: str
    text: str


@dataclass(frozen=True)
class Record:
    """The detector's flags for one harm that moderators resolved: right and wrong."""

    category: str
    right: int
    wrong: int

    @property
    def precision(self) -> float | None:
        judged = self.right + self.wrong
        return self.right / judged if judged else None


def missed(session: Session) -> list[Missed]:
    """Hand-raised flags whose words the detector, as it is now, still does not flag."""
    rows = session.execute(
        select(SafeguardingFlag, Feedback.text, Message.body, Contact.language)
        .join(Contact, Contact.id == SafeguardingFlag.contact_id)
        .outerjoin(Feedback, Feedback.id == SafeguardingFlag.feedback_id)
        .outerjoin(Message, Message.id == SafeguardingFlag.message_id)
        .where(SafeguardingFlag.source == "moderator")
        .order_by(SafeguardingFlag.raised_at.desc())
    ).all()
    found = []
    for flag, feedback_text, body, language in rows:
        text = body or feedback_text or ""
        if not text.strip() or understand(text).safeguarding is not None:
            continue
        found.append(
            Missed(
                flag.id,
                flag.raised_at,
                tuple(flag.categories or ()),
                EXAMPLE_LANGUAGES.get(language or "en", "syl"),
                text,
            )
        )
    return found


def record(session: Session) -> list[Record]:
    """For each harm, how many of the detector's resolved flags moderators found right."""
    right: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    for categories, correct in session.execute(
        select(SafeguardingFlag.categories, SafeguardingFlag.correct).where(
            SafeguardingFlag.source == "automatic", SafeguardingFlag.correct.is_not(None)
        )
    ):
        for category in categories or ():
            (right if correct else wrong)[category] += 1
    return [Record(category, right[category], wrong[category]) for category in CATEGORIES]


@blueprint.get("/safeguarding/detector")
@role_required(*MODERATION_ROLES)
def detector() -> Any:
    """The detector's record in use, and the disclosures it missed."""
    with services().database.session() as db:
        return render_template(
            "console/detector.html",
            missed=missed(db),
            record=record(db),
            categories=CATEGORY_LABELS,
            zone=services().settings.zone,
        )


@blueprint.get("/safeguarding/detector/missed.yaml")
@role_required(*MODERATION_ROLES)
def missed_examples() -> Any:
    """The missed disclosures as harm examples, for review before they join the examples.

    They are people's own words: the download is recorded in the audit log.
    """
    now = services().clock()
    with services().database.session() as db:
        found = missed(db)
        record_audit(
            db,
            current_user.id,
            "safeguarding.missed_downloaded",
            "safeguarding_flag",
            None,
            {"count": len(found)},
            now=now,
        )
    header = (
        "# Disclosures the safeguarding detector missed, flagged by hand by moderators.\n"
        "# People's own words: review and anonymise each (names, places, numbers) before it\n"
        "# joins flows/understanding/harm_examples/, with a native speaker for bn and syl.\n"
    )
    items = [
        {"text": item.text, "language": item.language, "category": item.categories[0]}
        for item in found
        if item.categories
    ]
    body = header + (
        yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=1000) if items else ""
    )
    return Response(
        body,
        mimetype="text/yaml",
        headers={"Content-Disposition": "attachment; filename=missed-disclosures.yaml"},
    )
