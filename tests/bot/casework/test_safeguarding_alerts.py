"""The on-call alert end to end: a signed webhook in, a real `kotha worker`, the fake Twilio out.

A message telling of harm reaches the web app as Twilio posts it; the embedded queue hands
its step to a worker process, whose step raises the flag and whose sender texts the on-call
number through the official SDK to the fake Twilio on 127.0.0.1. The time from the webhook
to the alert at the fake is measured and printed; it must be under a minute. More messages
from the same person inside the alert window are flagged, and ring once.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot import settings as settings_module
from bot.services import Services, build_services
from kotha import create_app
from storage.migrate import upgrade
from storage.models import SafeguardingFlag
from tests.bot.pipeline.test_workers import SMS_FROM, wait_for, worker, worker_env
from tests.fakes.twilio_api import FakeTwilio

ON_CALL = "+447700900555"
PERSON = "+447700900001"
WITHIN = 60.0  # seconds: what issue #17 asks


def test_an_alert_reaches_the_on_call_number_within_a_minute_and_repeats_ring_once(
    tmp_path: Path,
) -> None:
    with FakeTwilio() as fake:
        env = worker_env(
            fake,
            KOTHA_INSTANCE_DIR=str(tmp_path / "instance"),
            KOTHA_SAFEGUARDING_ALERT_TO=f"sms:{ON_CALL}",
            KOTHA_SWEEP_SECONDS="3600",  # the queue, not the sweep, must carry it
        )
        services = build_services(settings_module.load(env), queue="huey")
        upgrade(services.database)
        web = create_app(services=services).test_client()
        validator = RequestValidator(fake.auth_token)

        def webhook(text: str) -> None:
            form = {"MessageSid": f"SM{secrets.token_hex(16)}", "From": PERSON, "Body": text}
            form |= {"To": SMS_FROM, "NumMedia": "0", "AccountSid": fake.account_sid}
            url = "http://localhost/webhooks/twilio/messages"
            signature = validator.compute_signature(url, form)
            assert (
                web.post(url, data=form, headers={"X-Twilio-Signature": signature}).status_code
                == 200
            )

        def alerts() -> list[str]:
            return [m.body for m in fake.sent if m.to == ON_CALL]

        try:
            with worker(env, tmp_path / "worker.log"):
                started = time.monotonic()
                webhook("I want to end my life, nobody would miss me")
                wait_for(lambda: len(alerts()) == 1, WITHIN, "the on-call alert")
                took = time.monotonic() - started
                print(f"\nwebhook to on-call alert at the fake: {took:.2f} s (within {WITHIN:g} s)")
                assert took < WITHIN
                # More from the same person inside the window: flagged, no second call.
                webhook("i have been saving my tablets")
                webhook("the carer slapped me yesterday")
                wait_for(lambda: _flags(services) == 3, 30, "all three flags")
                time.sleep(1.0)  # time for a wrong second alert to arrive, if one were sent
            assert len(alerts()) == 1
            assert alerts()[0].startswith("Kotha safeguarding alert")
            assert "tablets" not in alerts()[0] and PERSON not in alerts()[0]
        finally:
            services.close()


def _flags(services: Services) -> int:
    with services.database.session() as session:
        return len(session.scalars(select(SafeguardingFlag)).all())
