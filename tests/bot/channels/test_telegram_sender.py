"""TelegramSender, set_webhook and poll, driving python-telegram-bot against FakeTelegram."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
from bot.channels.telegram import TelegramSender, poll, set_webhook
from bot.types import InboundMessage, OutboundMessage, SendReceipt
from tests.fakes.telegram_api import FakeTelegram, Fault

TOKEN = "123456:TEST-token"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"


def message(text: str = "Hello", address: str = "5000000001", **kwargs: Any) -> OutboundMessage:
    return OutboundMessage(id=1, channel="telegram", address=address, text=text, **kwargs)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def _sender_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "telegram-sender"}


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(TOKEN) as server:
        yield server


@pytest.fixture
def sender(fake: FakeTelegram) -> Iterator[TelegramSender]:
    with TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.5) as telegram_sender:
        yield telegram_sender


def test_text_is_sent_exactly_and_delivered(fake: FakeTelegram, sender: TelegramSender) -> None:
    text = "ধন্যবাদ! *not bold* <b>not html</b>"

    receipt = sender.send(message(text))

    [sent] = fake.sent
    assert (sent.chat_id, sent.text, sent.reply_markup) == ("5000000001", text, None)
    assert receipt.provider_id == str(sent.message_id)
    assert receipt.status == "delivered"
    assert "parse_mode" not in fake.calls_to("sendMessage")[0].params


def test_choices_become_one_button_per_row(fake: FakeTelegram, sender: TelegramSender) -> None:
    text = "What is it about?\n1 Home care\n2 Day centre\n3 Something else"

    sender.send(message(text, choices=("Home care", "Day centre", "Something else")))

    [sent] = fake.sent
    assert sent.text == text  # the numbered lines stay, for screen readers
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "1 Home care", "callback_data": "1"}],
            [{"text": "2 Day centre", "callback_data": "2"}],
            [{"text": "3 Something else", "callback_data": "3"}],
        ]
    }


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.throttle(3), ThrottledError),
        (Fault.server_error(), TransientError),
        (Fault.bad_gateway(), TransientError),
        (Fault.error(503, "Service Unavailable"), TransientError),
        (Fault.chat_not_found(), RejectedError),
        (Fault.error(400, "Bad Request: message is too long"), RejectedError),
        (Fault.error(403, "Forbidden: user is deactivated"), RecipientStoppedError),
    ],
    ids=["429", "500", "502", "503", "chat-not-found", "too-long", "deactivated"],
)
def test_provider_errors_become_typed_send_errors(
    fake: FakeTelegram, sender: TelegramSender, fault: Fault, error: type[SendError]
) -> None:
    sender.send(message("warm up"))  # getMe and the connection are behind us
    fake.script("sendMessage", fault)

    with pytest.raises(error) as raised:
        sender.send(message())

    # Telegram answered: it did not send the message, so no look-up is called for.
    assert not isinstance(raised.value, OutcomeUnknownError)
    # The sender is still usable afterwards.
    assert sender.send(message("after")).status == "delivered"


def test_throttling_carries_retry_after(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.script("sendMessage", Fault.throttle(3))

    with pytest.raises(ThrottledError) as caught:
        sender.send(message())

    assert caught.value.retry_after == 3.0


def test_timeout_gives_up_at_the_senders_timeout(fake: FakeTelegram) -> None:
    with TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.3) as quick:
        quick.send(message("warm up"))
        fake.script("sendMessage", Fault.timeout(2.0))
        started = time.monotonic()

        with pytest.raises(OutcomeUnknownError):
            quick.send(message())

        assert time.monotonic() - started < 1.5


def test_a_slow_getme_is_transient_not_unknown(fake: FakeTelegram) -> None:
    # The bot is made ready before the message goes: a timeout there sent nothing.
    fake.script("getMe", Fault.timeout(2.0))
    with TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.3) as quick:
        with pytest.raises(TransientError) as raised:
            quick.send(message())
        assert not isinstance(raised.value, OutcomeUnknownError)
        assert [m.text for m in fake.sent] == []
        assert quick.send(message("after")).status == "delivered"


def test_nothing_listening_is_transient_not_unknown() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with TelegramSender(TOKEN, api_url=f"http://127.0.0.1:{port}/bot", timeout=0.3) as quick:
        with pytest.raises(TransientError) as raised:
            quick.send(message())
        assert not isinstance(raised.value, OutcomeUnknownError)


def test_blocked_chat_means_the_recipient_stopped(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    fake.block_chat(5000000009)

    with pytest.raises(RecipientStoppedError, match="blocked"):
        sender.send(message(address="5000000009"))

    assert sender.send(message(address="5000000001")).status == "delivered"


def test_wrong_token_is_misconfiguration_and_never_echoes_the_token(fake: FakeTelegram) -> None:
    with TelegramSender("999:WRONG-token", api_url=fake.base_url, timeout=0.5) as wrong:
        with pytest.raises(MisconfiguredError) as caught:
            wrong.send(message())

    assert "WRONG-token" not in str(caught.value)
    assert fake.sent == []


def test_text_over_telegrams_limit_is_rejected_without_a_request(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    with pytest.raises(RejectedError, match="4096"):
        sender.send(message("x" * 4097))

    assert fake.calls_to("sendMessage") == []
    assert sender.send(message("x" * 4096)).status == "delivered"


def test_many_threads_share_one_bot_and_one_loop(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    before = _sender_threads()

    def send(number: int) -> SendReceipt:
        return sender.send(message(f"message {number}", address=str(5000000000 + number % 7)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda n: send(n).provider_id, range(200)))

    assert len(set(receipts)) == 200
    assert sorted(m.text for m in fake.sent) == sorted(f"message {n}" for n in range(200))
    assert len(fake.calls_to("getMe")) == 1  # the Bot was initialised once
    assert len(_sender_threads() - before) == 1  # one loop thread served every caller
    assert fake.sends_per_chat()["5000000000"] == len(range(0, 200, 7))


def test_close_releases_the_loop_and_a_later_send_starts_again(fake: FakeTelegram) -> None:
    before = _sender_threads()
    sender = TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.5)
    sender.send(message())
    sender.close()

    assert _sender_threads() == before
    sender.send(message("again"))
    sender.close()
    assert [m.text for m in fake.sent] == ["Hello", "again"]


def test_fake_flood_control_is_reported_as_throttling() -> None:
    with (
        FakeTelegram(TOKEN, chat_limit=1) as fake,
        TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.5) as sender,
    ):
        sender.send(message(address="5000000001"))
        sender.send(message(address="5000000002"))
        with pytest.raises(ThrottledError) as caught:
            sender.send(message(address="5000000001"))

        assert caught.value.retry_after == 1.0
        assert fake.max_sends_in_window(1.0, chat_id="5000000001") == 2
        assert fake.max_sends_in_window(1.0) == 3
        assert fake.sends_per_chat() == {"5000000001": 1, "5000000002": 1}
        assert sum(fake.sends_per_second().values()) == 3


def _outcomes(seed: int) -> list[str]:
    with (
        FakeTelegram(TOKEN, fault_rate=0.5, seed=seed) as fake,
        TelegramSender(TOKEN, api_url=fake.base_url, timeout=0.5) as sender,
    ):
        outcomes = []
        for number in range(20):
            try:
                sender.send(message(f"{number}"))
                outcomes.append("ok")
            except TransientError:
                outcomes.append("transient")
        assert len(fake.sent) == outcomes.count("ok")
        return outcomes


def test_random_faults_are_reproducible_from_the_seed() -> None:
    first = _outcomes(seed=7)

    assert first == _outcomes(seed=7)
    assert {"ok", "transient"} == set(first)


def test_set_webhook_registers_url_secret_and_update_types(fake: FakeTelegram) -> None:
    set_webhook(TOKEN, fake.base_url, "https://kotha.example/webhooks/telegram", "s3cret_Token-1")

    assert fake.webhook == {
        "url": "https://kotha.example/webhooks/telegram",
        "secret_token": "s3cret_Token-1",
        "allowed_updates": ["message", "edited_message", "callback_query"],
    }


@pytest.mark.parametrize("secret", ["", "has space", "x" * 257, "ünïcode"])
def test_set_webhook_refuses_a_secret_telegram_would_refuse(
    fake: FakeTelegram, secret: str
) -> None:
    with pytest.raises(MisconfiguredError):
        set_webhook(TOKEN, fake.base_url, "https://kotha.example/webhooks/telegram", secret)

    assert fake.calls == []


def test_set_webhook_with_a_wrong_token_is_misconfiguration(fake: FakeTelegram) -> None:
    with pytest.raises(MisconfiguredError):
        set_webhook("999:WRONG", fake.base_url, "https://kotha.example/webhooks/telegram", "s")


def _poll_in_thread(
    fake: FakeTelegram, handle: Any, stop: threading.Event
) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            poll(TOKEN, fake.base_url, handle, stop, wait=2)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def _wait_for(condition: Any, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_poll_hands_pushed_updates_over_and_stops(fake: FakeTelegram) -> None:
    set_webhook(TOKEN, fake.base_url, "https://kotha.example/webhooks/telegram", "s")
    for name in ("text_en.json", "my_chat_member.json", "callback_query.json", "text_bn.json"):
        fake.push_update(fixture(name))
    received: list[InboundMessage] = []
    stop = threading.Event()

    thread, errors = _poll_in_thread(fake, received.append, stop)
    _wait_for(lambda: len(received) == 3)
    stop.set()
    thread.join(2)

    assert not thread.is_alive() and errors == []
    assert [m.provider_id for m in received] == ["731000101", "731000102", "731000105"]
    assert received[1].text == fixture("text_bn.json")["message"]["text"]
    assert (received[2].text, received[2].address) == ("2", "5000000002")
    assert fake.webhook is None  # deleted first: Telegram refuses getUpdates while one is set
    assert fake.answered_callbacks == ["4382bfdwdsb323b2d9"]
    assert fake.pending_updates == 0  # everything handled was confirmed


def test_poll_stops_promptly_while_waiting(fake: FakeTelegram) -> None:
    stop = threading.Event()
    received: list[InboundMessage] = []
    thread, errors = _poll_in_thread(fake, received.append, stop)
    _wait_for(lambda: len(fake.calls_to("getUpdates")) >= 1)

    fake.push_update(fixture("text_en.json"))
    _wait_for(lambda: len(received) == 1)
    started = time.monotonic()
    stop.set()
    thread.join(2)

    assert not thread.is_alive() and errors == []
    assert time.monotonic() - started < 1.0


def test_poll_leaves_an_update_unconfirmed_when_handle_fails(fake: FakeTelegram) -> None:
    fake.push_update(fixture("text_en.json"))

    def handle(message: InboundMessage) -> None:
        raise RuntimeError("database down")

    thread, errors = _poll_in_thread(fake, handle, threading.Event())
    thread.join(3)

    assert [type(error) for error in errors] == [RuntimeError]
    assert fake.pending_updates == 1  # Telegram will deliver it again
