"""Telegram's updates read in one place, for the webhook and for `kotha telegram poll`."""

from __future__ import annotations

import pytest

from bot.channels.telegram_updates import UnreadableUpdate, parse_update
from bot.types import InboundMessage
from tests.webhooks.test_telegram import HANDED_OVER, IGNORED, fixture


@pytest.mark.parametrize(("name", "expected"), HANDED_OVER)
def test_each_real_update_becomes_the_message_it_carries(
    name: str, expected: InboundMessage
) -> None:
    assert parse_update(fixture(name)) == expected


@pytest.mark.parametrize("name", IGNORED)
def test_updates_kotha_does_not_read_become_nothing(name: str) -> None:
    assert parse_update(fixture(name)) is None


def test_unreadable_update_raises_for_the_polling_loop() -> None:
    with pytest.raises(UnreadableUpdate):
        parse_update({"update_id": 1, "message": {"chat": None}})


@pytest.mark.parametrize("date", [10**12, 2**62, -(2**62)])
def test_a_date_no_clock_can_hold_is_unreadable_not_a_crash(date: int) -> None:
    # Year 33658 raises ValueError; 2**62 seconds raises OSError from the platform's clock
    # (found by the mangled-update property test).
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": date,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            "text": "hi",
        },
    }
    with pytest.raises(UnreadableUpdate):
        parse_update(update)
