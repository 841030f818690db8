"""Whether a message may go now: one function that returns the reason to hold it, or None.

The reasons, first match wins: `opted-out` (STOP), `no-contact` (the person said No when
asked whether we may contact them: it covers NO_CONTACT_COVERS), `not-chosen` and
`monthly-cap` (a broadcast of a kind they did not say yes to, or past their monthly cap:
bot/pipeline/preferences.py), `quiet-hours`, `outside-whatsapp-window`. Every outbound
message, whoever wrote it, is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.settings import QuietHours
from bot.types import Kind

# WhatsApp lets a business send free-form messages only within 24 hours of the person's
# last message; after that only an approved template may start the conversation again.
WHATSAPP_WINDOW = timedelta(hours=24)
# What a No to "may we contact you about your complaint?" stops: everything that reaches out
# to them about what they told us, and a thank-you for coming to an event (which they did
# not ask for). Not the bot's answers while they write to us, nor the reminders they asked
# for, nor (while their safeguarding flag is open) a staff follow-up.
NO_CONTACT_COVERS = frozenset({Kind.CASE_UPDATE, Kind.STAFF_REPLY, Kind.YOU_SAID, Kind.THANKS})


@dataclass(frozen=True)
class Decision:
    """Send now (reason None), send as a WhatsApp template, or hold with a reason until a time."""

    reason: str | None = None
    until: datetime | None = None
    template: str | None = None


def end_of_quiet_hours(moment: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime:
    """Return the next moment after `moment` when quiet hours end, in UTC."""
    local = moment.astimezone(zone)
    day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
    # Built from the wall clock, so a clock change overnight still gives 08:00 local time.
    return datetime.combine(day, quiet.end, tzinfo=zone).astimezone(UTC)


def decide(
    *,
    channel: str,
    kind: str,
    is_reply: bool,
    even_if_stopped: bool,
    stopped: bool,
    refused_contact: bool,
    last_inbound_at: datetime | None,
    language: str,
    now: datetime,
    quiet: QuietHours,
    zone: ZoneInfo,
    whatsapp_templates: Mapping[str, str],
    urgent: bool = False,
    chose_kind: bool = True,
    over_monthly_cap: bool = False,
) -> Decision:
    """Decide about one outbound message. Replies to someone who just wrote are never quiet.

    Nor are urgent messages: a safeguarding alert to the on-call moderators goes at 23:00.
    """
    if stopped and not even_if_stopped:
        return Decision("opted-out")
    if refused_contact and kind in NO_CONTACT_COVERS and not even_if_stopped:
        return Decision("no-contact")
    if not chose_kind:
        return Decision("not-chosen")
    if over_monthly_cap:
        return Decision("monthly-cap")
    if not (is_reply or urgent) and quiet.contains(now.astimezone(zone).time()):
        return Decision("quiet-hours", until=end_of_quiet_hours(now, quiet, zone))
    if channel == "whatsapp" and (
        last_inbound_at is None or now - last_inbound_at > WHATSAPP_WINDOW
    ):
        template = whatsapp_templates.get(language)
        if template is None:
            return Decision("outside-whatsapp-window")
        return Decision(template=template)
    return Decision()
