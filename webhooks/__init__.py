"""The endpoints providers call: verify the request, parse it, hand it to bot/, answer fast."""

from __future__ import annotations

from bot.app import WebPart
from webhooks import telegram, twilio, twilio_voice

# Providers sign their requests (Twilio's signature, Telegram's secret token) instead of
# carrying a CSRF token, which they could not have.
PARTS = (
    WebPart(twilio.blueprint, csrf_exempt=True),
    WebPart(twilio_voice.blueprint, csrf_exempt=True),
    WebPart(telegram.blueprint, csrf_exempt=True),
)
