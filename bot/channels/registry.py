"""Choosing a sender for each channel from the settings: real providers when configured."""

from __future__ import annotations

from bot.channels.base import ClosingSender, Sender
from bot.settings import Settings


def senders_from_settings(settings: Settings) -> dict[str, Sender]:
    """Return the real senders this deployment has credentials for; other channels have none."""
    senders: dict[str, Sender] = {}
    if settings.twilio_account_sid and settings.twilio_auth_token:
        from bot.channels.twilio import TwilioSender

        callback = f"{settings.public_url}/webhooks/twilio/status" if settings.public_url else None
        twilio = TwilioSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.sms_from,
            settings.whatsapp_from,
            api_url=settings.twilio_api_url,
            status_callback=callback,
        )
        if settings.sms_from:
            senders["sms"] = twilio
        if settings.whatsapp_from:
            senders["whatsapp"] = twilio
    if settings.telegram_bot_token:
        from bot.channels.telegram import TelegramSender

        senders["telegram"] = TelegramSender(
            settings.telegram_bot_token, api_url=settings.telegram_api_url
        )
    return senders


def close_senders(senders: dict[str, Sender]) -> None:
    """Release the connection pools of senders that hold them."""
    for sender in {id(s): s for s in senders.values()}.values():
        if isinstance(sender, ClosingSender):
            sender.close()
