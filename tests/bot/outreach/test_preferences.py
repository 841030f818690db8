"""People choose what they get in bulk: asked once after a first contribution, PREFERENCES
in any language, and broadcasts only to those who said yes, within their monthly cap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.outreach.broadcasts import preview
from bot.pipeline.preferences import month_start
from bot.services import Services
from storage.models import Address, Broadcast, Message, Preference
from tests.conftest import Bot, FrozenClock
from tests.console import test_access as access
from tests.console.test_access import sign_in

# The access tests' fixtures: quick password hashes, and the app with an account per role.
_quick_hashes = access._quick_hashes
app = access.app
client = access.client

PERSON = "+447700900510"
COMMENT = ("hi", "1", "2", "1", "The day centre is lovely.")


def choices(services: Services) -> Preference:
    with services.database.session() as session:
        found = session.scalars(select(Preference)).one()
        session.expunge(found)
        return found


def test_the_one_question_comes_once_after_a_first_contribution(bot: Bot) -> None:
    replies = bot.conversation(PERSON, *COMMENT)
    assert "Thank you for your comment" in replies[-2]
    assert replies[-1] == (
        "May we send you news of changes and chances to have a say? At most 4 a month.\n1 Yes\n2 No"
    )
    asked = choices(bot.services)
    assert (asked.invitations, asked.you_said, asked.surveys) == (None, None, None)

    # Then the optional monitoring questions (tests/bot/outreach/test_monitoring.py).
    [thanks, monitoring] = bot.receive(PERSON, "yes")
    assert thanks == "Thank you. Send PREFERENCES any time to change this."
    assert monitoring.startswith("May we ask 7 short questions about you?")
    chose = choices(bot.services)
    assert (chose.invitations, chose.you_said, chose.surveys, chose.monthly_cap) == (
        True,
        True,
        True,
        4,
    )
    # A second contribution is not followed by the question again.
    again = bot.conversation(PERSON, "0", "2", "1", "Still lovely.")
    assert "Thank you for your comment" in again[-1]


def test_ignoring_the_question_is_never_a_yes_and_it_is_not_asked_again(bot: Bot) -> None:
    bot.conversation(PERSON, *COMMENT, "0")
    more = bot.conversation(PERSON, "2", "1", "Another thought.")
    assert not any("May we send you news" in reply for reply in more)
    asked = choices(bot.services)
    assert asked.invitations is None and asked.you_said is None and asked.surveys is None


@pytest.mark.parametrize(
    ("keyword", "answers"),
    [
        ("PREFERENCES", ("1", "2", "1", "1")),
        ("পছন্দ", ("১", "২", "১", "১")),
        ("posondo", ("ha", "na", "ha", "1")),
    ],
)
def test_preferences_in_any_language_change_each_kind_and_the_cap(
    bot: Bot, keyword: str, answers: tuple[str, ...]
) -> None:
    bot.conversation(PERSON, *COMMENT, "2")  # no to news at first
    assert choices(bot.services).invitations is False
    replies = bot.conversation(PERSON, keyword, *answers)
    assert len(replies) == 5
    chose = choices(bot.services)
    assert (chose.invitations, chose.you_said, chose.surveys, chose.monthly_cap) == (
        True,
        False,
        True,
        1,
    )


def test_a_broadcast_reaches_only_who_said_yes_and_only_up_to_their_cap(
    bot: Bot, clock: FrozenClock
) -> None:
    services = bot.services
    yes, no, silent = "+447700900511", "+447700900512", "+447700900513"
    bot.conversation(yes, *COMMENT, "PREFERENCES", "1", "1", "1", "1")  # cap: 1 a month
    bot.conversation(no, *COMMENT, "2")
    bot.conversation(silent, *COMMENT, "0")

    def broadcast(title: str) -> tuple[int, dict[str, int]]:
        assert services.broadcasts is not None
        with services.database.session() as session:
            shown = preview(
                session,
                services.i18n,
                services.flows,
                services.settings,
                {"en": title},
                {"kind": "all"},
                now=clock.now,
            )
            made = services.broadcasts.create(
                session, title=title, texts={"en": title}, segment={"kind": "all"}
            )
            made_id = made.id
        services.broadcasts.launch(made_id)
        return shown.recipients, dict(shown.left_out)

    assert broadcast("Saturday opening") == (1, {"not-chosen": 2})
    assert bot.replies[-1] == "Saturday opening\nSend STOP to get no more messages."
    # Their one a month has gone: the next waits for next month, and the preview says so.
    assert broadcast("Sunday opening") == (0, {"not-chosen": 2, "monthly-cap": 1})
    clock.advance(timedelta(days=31))
    assert month_start(clock.now, services.settings.zone) > month_start(
        clock.now - timedelta(days=31), services.settings.zone
    )
    assert broadcast("Monday opening") == (1, {"not-chosen": 2})
    with services.database.session() as session:
        sent = session.execute(
            select(Broadcast.title, Message.status)
            .join(Broadcast, Broadcast.id == Message.broadcast_id)
            .order_by(Message.id)
        ).all()
    assert sent == [("Saturday opening", "delivered"), ("Monday opening", "delivered")]


def test_staff_see_a_persons_choices(bot: Bot, client: FlaskClient) -> None:
    bot.conversation(PERSON, *COMMENT, "PREFERENCES", "1", "2", "1", "3")
    with bot.services.database.session() as session:
        address_id = session.scalars(select(Address.id).where(Address.address == PERSON)).one()
    assert sign_in(client, "staff@example.org") == 302
    page = client.get(f"/console/conversations/{address_id}").text
    assert (
        "news and invitations: yes; \u201cyou said, we did\u201d: no; surveys: yes; "
        "at most 4 a month"
    ) in page
