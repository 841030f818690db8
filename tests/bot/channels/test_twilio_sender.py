"""TwilioSender driving the official SDK against the fake Twilio on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.base import (
    MisconfiguredError,
    OutcomeUnknownError,
    RecipientStoppedError,
    RejectedError,
    SendError,
    ThrottledError,
    TransientError,
)
from bot.channels.twilio import TwilioSender
from bot.types import Channel, OutboundMessage
from tests.fakes.twilio_api import FakeTwilio, Fault

SMS_FROM = "+447700900500"
WHATSAPP_FROM = "whatsapp:+447700900501"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
PERSON = "+447700900123"
BENGALI = "আপনার মতামতের জন্য ধন্যবাদ। আপনার রেফারেন্স নম্বর KT-1234।\n১ হ্যাঁ\n২ না"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as running:
        yield running


def make_sender(
    fake: FakeTwilio,
    sms_from: str | None = SMS_FROM,
    whatsapp_from: str | None = WHATSAPP_FROM,
    **options: object,
) -> TwilioSender:
    return TwilioSender(
        fake.account_sid,
        options.pop("auth_token", fake.auth_token),  # type: ignore[arg-type]
        sms_from,
        whatsapp_from,
        api_url=fake.url,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def sender(fake: FakeTwilio) -> Iterator[TwilioSender]:
    with make_sender(fake) as made:
        yield made


def message(
    text: str = "Hello", channel: Channel = "sms", address: str = PERSON
) -> OutboundMessage:
    return OutboundMessage(id=1, channel=channel, address=address, text=text)


def test_sms_is_sent_from_our_number(fake: FakeTwilio, sender: TwilioSender) -> None:
    receipt = sender.send(message(BENGALI))

    [sent] = fake.sent
    assert (sent.to, sent.from_, sent.messaging_service_sid) == (PERSON, SMS_FROM, None)
    assert sent.body == BENGALI
    assert re.fullmatch(r"SM[0-9a-f]{32}", receipt.provider_id)
    assert receipt.provider_id == sent.sid
    assert receipt.status == "sent"


def test_whatsapp_gets_the_prefix_on_both_ends(fake: FakeTwilio, sender: TwilioSender) -> None:
    sender.send(message("আফনারে ধন্যবাদ 🙏", channel="whatsapp"))

    [sent] = fake.sent_to(PERSON)
    assert (sent.to, sent.from_) == ("whatsapp:" + PERSON, WHATSAPP_FROM)
    assert sent.body == "আফনারে ধন্যবাদ 🙏"
    assert sent.channel == "whatsapp"


def test_a_whatsapp_from_without_its_prefix_is_given_one(fake: FakeTwilio) -> None:
    with make_sender(fake, whatsapp_from="+447700900501") as sender:
        sender.send(message(channel="whatsapp"))

    assert fake.sent[0].from_ == WHATSAPP_FROM


def test_a_messaging_service_sid_is_sent_as_such(fake: FakeTwilio) -> None:
    with make_sender(fake, sms_from=SERVICE_SID) as sender:
        sender.send(message())

    [sent] = fake.sent
    assert (sent.from_, sent.messaging_service_sid) == (None, SERVICE_SID)


def test_status_callback_is_passed_on(fake: FakeTwilio) -> None:
    callback = "https://kotha.example.org/webhooks/twilio/status"
    with make_sender(fake, status_callback=callback) as sender:
        sender.send(message())

    assert fake.sent[0].status_callback == callback


def test_the_sdk_ignores_twilio_region_in_the_environment(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    with make_sender(fake) as sender:
        sender.send(message())

    assert len(fake.sent) == 1


def test_one_sender_is_shared_by_many_threads(fake: FakeTwilio, sender: TwilioSender) -> None:
    errors: list[BaseException] = []
    addresses = [f"+4477009001{n:02d}" for n in range(40)]

    def send(address: str) -> None:
        try:
            sender.send(message(f"to {address}", address=address))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(m.to for m in fake.sent) == addresses
    assert all(fake.sent_to(a)[0].body == f"to {a}" for a in addresses)


ERRORS: dict[str, tuple[Fault, type[SendError]]] = {
    "500": (Fault.server_error(), TransientError),
    "429": (Fault.throttle(), ThrottledError),
    "20003 in a 403": (Fault.error(403, 20003, "Permission denied"), MisconfiguredError),
    "21606 bad From": (Fault.error(400, 21606, "From is not capable"), MisconfiguredError),
    "21212 invalid From": (Fault.error(400, 21212, "Invalid From Number"), MisconfiguredError),
    "21614 not a mobile": (Fault.error(400, 21614, "'To' number is not mobile"), RejectedError),
    "21617 too long": (Fault.error(400, 21617, "body exceeds 1600"), RejectedError),
    "63016 outside window": (Fault.error(400, 63016, "outside the window"), RejectedError),
    "63018 WhatsApp rate": (Fault.error(400, 63018, "rate limit exceeded"), ThrottledError),
    "503": (Fault.error(503, 20503, "Service Unavailable"), TransientError),
}


@pytest.mark.parametrize(("fault", "expected"), ERRORS.values(), ids=ERRORS.keys())
def test_twilio_errors_map_to_ours(
    fake: FakeTwilio, sender: TwilioSender, fault: Fault, expected: type[SendError]
) -> None:
    fake.script(fault)

    with pytest.raises(expected) as raised:
        sender.send(message())

    assert type(raised.value) is expected
    assert fake.sent == []
    sender.send(message())  # the fault was one answer; the next send goes through
    assert len(fake.sent) == 1


def test_throttled_carries_retry_after(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.script(Fault.throttle(retry_after=7))

    with pytest.raises(ThrottledError) as raised:
        sender.send(message())

    assert raised.value.retry_after == 7.0


def test_a_stopped_number_is_recipient_stopped(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.stop_number(PERSON)

    with pytest.raises(RecipientStoppedError):
        sender.send(message())
    with pytest.raises(RecipientStoppedError):
        sender.send(message(channel="whatsapp"))
    assert fake.sent == []


def test_an_invalid_to_is_rejected_without_quoting_it(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    # Twilio's 21211 message quotes the number; ours must not, it ends up in logs.
    with pytest.raises(RejectedError) as raised:
        sender.send(message(address="07700 900123"))

    assert "21211" in str(raised.value)
    assert "900123" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_wrong_auth_token_is_misconfigured(fake: FakeTwilio) -> None:
    with make_sender(fake, auth_token="wrong") as sender, pytest.raises(MisconfiguredError):
        sender.send(message())
    assert fake.sent == []


def test_a_slow_twilio_leaves_the_outcome_unknown(fake: FakeTwilio) -> None:
    fake.script(Fault.timeout(0.6))
    with make_sender(fake, timeout=0.2) as sender:
        with pytest.raises(OutcomeUnknownError) as raised:
            sender.send(message("slow"))
        # Looked up no sooner than Twilio had twice the client's timeout again.
        assert raised.value.look_after == pytest.approx(0.4)
        time.sleep(0.6)
        # Twilio did accept it, and the look-up finds it.
        [accepted] = fake.sent
        found = sender.find_sent(message("slow"), datetime.now(UTC) - timedelta(minutes=1))
        assert found is not None and found.provider_id == accepted.sid


def test_a_server_error_is_transient_not_unknown(fake: FakeTwilio) -> None:
    fake.script(Fault.server_error())
    with make_sender(fake) as sender, pytest.raises(TransientError) as raised:
        sender.send(message())
    assert not isinstance(raised.value, OutcomeUnknownError)


def test_nothing_listening_is_transient(fake: FakeTwilio) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        TwilioSender(
            fake.account_sid, fake.auth_token, SMS_FROM, None, api_url=f"http://127.0.0.1:{port}"
        ) as sender,
        pytest.raises(TransientError) as raised,
    ):
        sender.send(message())
    # Nothing was written: no look-up is called for.
    assert not isinstance(raised.value, OutcomeUnknownError)


@pytest.mark.parametrize(
    ("sms_from", "whatsapp_from", "channel"),
    [
        (None, WHATSAPP_FROM, "sms"),
        (SMS_FROM, None, "whatsapp"),
        (SMS_FROM, WHATSAPP_FROM, "telegram"),
    ],
)
def test_a_channel_without_a_sender_is_misconfigured(
    fake: FakeTwilio, sms_from: str | None, whatsapp_from: str | None, channel: Channel
) -> None:
    with make_sender(fake, sms_from, whatsapp_from) as sender, pytest.raises(MisconfiguredError):
        sender.send(message(channel=channel))
    assert fake.attempts == 0


def test_random_faults_are_seeded_and_the_rest_go_through(fake: FakeTwilio) -> None:
    def run() -> list[str]:
        outcomes = []
        with FakeTwilio(fault_rate=0.3, seed=42) as flaky, make_sender(flaky) as sender:
            for n in range(30):
                try:
                    sender.send(message(f"n{n}"))
                    outcomes.append("ok")
                except SendError as error:
                    outcomes.append(error.reason)
            assert len(flaky.sent) == outcomes.count("ok")
        return outcomes

    first = run()
    assert first == run()
    assert {"ok", "transient", "throttled"} <= set(first)


def test_sends_per_second_are_counted(fake: FakeTwilio, sender: TwilioSender) -> None:
    for n in range(5):
        sender.send(message(f"n{n}"))

    assert fake.max_per_second() == 5
    assert fake.max_per_second(window=1e-9) == 1
