"""Demo data on first start: every demo conversation completes, and only once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.cli.demo import seed_demo
from bot.services import Services
from storage.models import Feedback, Interest, Message, SurveyResponse


def test_demo_conversations_complete_once(services: Services) -> None:
    assert seed_demo(services) is True
    with services.database.session() as session:
        kinds = sorted(session.scalars(select(Feedback.kind)).all())
        surveys = session.scalar(select(func.count()).select_from(SurveyResponse))
        interests = session.scalar(select(func.count()).select_from(Interest))
        unsent = session.scalar(
            select(func.count()).where(Message.direction == "out", Message.status != "delivered")
        )
    assert kinds == ["complaint", "compliment"]
    assert (surveys, interests, unsent) == (1, 1, 0)
    assert seed_demo(services) is False
