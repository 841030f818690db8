"""Services wired to the fake Twilio and Telegram servers, as fixtures for end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.services import Services, build_services
from bot.settings import Settings
from storage.db import Database
from tests.conftest import FrozenClock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "s3cret"
SMS_FROM = "+447700900999"
WHATSAPP_FROM = "whatsapp:+447700900998"


def wire(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    **overrides: Any,
) -> Services:
    """Build full services whose senders and rate limits come from settings naming the fakes."""
    return build_services(
        settings.with_overrides(
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            sms_from=SMS_FROM,
            whatsapp_from=WHATSAPP_FROM,
            twilio_api_url=twilio.url,
            telegram_bot_token=TELEGRAM_TOKEN,
            telegram_secret=TELEGRAM_SECRET,
            telegram_api_url=telegram.base_url,
            retry_base_seconds=0.01,
            **overrides,
        ),
        clock=clock,
        database=database,
    )


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
def wired(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
) -> Iterator[Services]:
    # The limits themselves are proved in tests/bot/pipeline/test_ratelimit.py; at Telegram's
    # real one message a second per chat, a conversation here would spend most of its time waiting.
    services = wire(
        settings,
        clock,
        database,
        twilio,
        telegram,
        sms_per_second=100,
        telegram_per_chat_per_second=100,
    )
    yield services
    services.close()
