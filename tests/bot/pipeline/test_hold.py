"""The hold decision: opted out, quiet hours in London time, WhatsApp's 24-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.pipeline.hold import Decision, decide, end_of_quiet_hours
from bot.settings import QuietHours

LONDON = ZoneInfo("Europe/London")
QUIET = QuietHours(time(21, 0), time(8, 0))
TEMPLATES = {"en": "HX" + "e" * 32, "bn": "HX" + "b" * 32}


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def decision(now: datetime, **overrides: Any) -> Decision:
    arguments: dict[str, Any] = {
        "channel": "sms",
        "kind": "reply",
        "is_reply": False,
        "even_if_stopped": False,
        "stopped": False,
        "refused_contact": False,
        "last_inbound_at": None,
        "language": "en",
        "now": now,
        "quiet": QUIET,
        "zone": LONDON,
        "whatsapp_templates": TEMPLATES,
    }
    arguments.update(overrides)
    return decide(**arguments)


NOON = utc(2026, 11, 18, 12, 0)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, Decision()),
        ({"stopped": True}, Decision("opted-out")),
        ({"stopped": True, "is_reply": True}, Decision("opted-out")),
        # Only the confirmation of STOP itself goes to someone who has stopped.
        ({"stopped": True, "even_if_stopped": True}, Decision()),
        ({"channel": "telegram", "stopped": True}, Decision("opted-out")),
        # Opted out wins over every other reason: it is the one staff must see.
        ({"stopped": True, "now": utc(2026, 11, 18, 23, 0)}, Decision("opted-out")),
    ],
)
def test_opt_out(overrides: dict[str, Any], expected: Decision) -> None:
    assert decision(overrides.pop("now", NOON), **overrides) == expected


# (UTC moment, held until in UTC or None). Winter: London is UTC; summer: UTC+1 (BST).
QUIET_TABLE = [
    (utc(2026, 11, 18, 20, 59, 59), None),
    (utc(2026, 11, 18, 21, 0), utc(2026, 11, 19, 8, 0)),
    (utc(2026, 11, 18, 23, 59, 59), utc(2026, 11, 19, 8, 0)),
    (utc(2026, 11, 19, 0, 0), utc(2026, 11, 19, 8, 0)),  # across midnight
    (utc(2026, 11, 19, 7, 59, 59), utc(2026, 11, 19, 8, 0)),
    (utc(2026, 11, 19, 8, 0), None),
    # Summer: 20:30 UTC is 21:30 in London, and 07:30 UTC is already 08:30 there.
    (utc(2026, 7, 1, 19, 59), None),
    (utc(2026, 7, 1, 20, 30), utc(2026, 7, 2, 7, 0)),
    (utc(2026, 7, 2, 6, 59), utc(2026, 7, 2, 7, 0)),
    (utc(2026, 7, 2, 7, 30), None),
    # October: clocks go back at 02:00 BST on Sunday 25 October 2026. A message held on
    # Saturday evening (BST) waits until 08:00 GMT, which is 08:00 UTC, not 07:00.
    (utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 8, 0)),
    (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 8, 0)),  # 01:30 BST, first time round
    (utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 8, 0)),  # 01:30 GMT, second time round
    (utc(2026, 10, 25, 7, 30), utc(2026, 10, 25, 8, 0)),  # 07:30 GMT: still quiet
    # March: clocks go forward at 01:00 GMT on Sunday 29 March 2026. Held on Saturday
    # evening (GMT), it waits until 08:00 BST, which is 07:00 UTC.
    (utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 7, 0)),
    (utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 7, 0)),
    (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 7, 0)),  # 02:00 BST
    (utc(2026, 3, 29, 6, 59), utc(2026, 3, 29, 7, 0)),
    (utc(2026, 3, 29, 7, 0), None),  # 08:00 BST
    (utc(2026, 3, 29, 19, 59), None),  # 20:59 BST
    (utc(2026, 3, 29, 20, 0), utc(2026, 3, 30, 7, 0)),  # 21:00 BST
]


@pytest.mark.parametrize(("now", "until"), QUIET_TABLE, ids=lambda value: str(value))
def test_quiet_hours_in_london_time(now: datetime, until: datetime | None) -> None:
    expected = Decision() if until is None else Decision("quiet-hours", until=until)
    assert decision(now) == expected
    if until is not None:
        assert until.astimezone(LONDON).time() == time(8, 0)
        assert end_of_quiet_hours(now, QUIET, LONDON) == until


@pytest.mark.parametrize("now", [moment for moment, until in QUIET_TABLE if until is not None])
@pytest.mark.parametrize("channel", ["sms", "whatsapp", "telegram"])
def test_replies_are_never_held_for_quiet_hours(now: datetime, channel: str) -> None:
    assert decision(now, is_reply=True, channel=channel, last_inbound_at=now) == Decision()


def test_quiet_hours_in_another_zone_and_window() -> None:
    # A daytime window that does not cross midnight, in a zone far from London.
    quiet = QuietHours(time(12, 0), time(13, 30))
    zone = ZoneInfo("Asia/Dhaka")  # UTC+6
    assert decision(utc(2026, 1, 5, 5, 59), quiet=quiet, zone=zone) == Decision()
    assert decision(utc(2026, 1, 5, 6, 0), quiet=quiet, zone=zone) == Decision(
        "quiet-hours", until=utc(2026, 1, 5, 7, 30)
    )
    assert decision(utc(2026, 1, 5, 7, 30), quiet=quiet, zone=zone) == Decision()


AGO = timedelta(hours=24)


@pytest.mark.parametrize(
    ("last_inbound", "language", "expected"),
    [
        (timedelta(minutes=1), "en", Decision()),
        (timedelta(hours=23, minutes=59), "syl", Decision()),
        (AGO, "syl", Decision()),  # exactly 24 hours: still inside
        (AGO + timedelta(seconds=1), "en", Decision(template=TEMPLATES["en"])),
        (AGO + timedelta(seconds=1), "bn", Decision(template=TEMPLATES["bn"])),
        (AGO + timedelta(seconds=1), "syl", Decision("outside-whatsapp-window")),
        (timedelta(days=30), "syl-Latn", Decision("outside-whatsapp-window")),
        (None, "en", Decision(template=TEMPLATES["en"])),
        (None, "syl", Decision("outside-whatsapp-window")),
    ],
)
def test_whatsapp_window(last_inbound: timedelta | None, language: str, expected: Decision) -> None:
    last = None if last_inbound is None else NOON - last_inbound
    assert decision(NOON, channel="whatsapp", last_inbound_at=last, language=language) == expected
    # The window is WhatsApp's rule alone.
    for channel in ("sms", "telegram"):
        assert decision(NOON, channel=channel, last_inbound_at=last, language=language) == (
            Decision()
        )


def test_whatsapp_without_any_templates_holds_outside_the_window() -> None:
    late = NOON - timedelta(days=2)
    held = decision(NOON, channel="whatsapp", last_inbound_at=late, whatsapp_templates={})
    assert held == Decision("outside-whatsapp-window")


def test_quiet_hours_come_before_the_whatsapp_window() -> None:
    night = utc(2026, 11, 18, 22, 0)
    held = decision(night, channel="whatsapp", last_inbound_at=night - timedelta(days=2))
    assert held == Decision("quiet-hours", until=utc(2026, 11, 19, 8, 0))
