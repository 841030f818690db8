"""Safeguarding: the word lists in every language and script, flags and the on-call alert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.casework.replies import ReplyRequest, queue_reply
from bot.casework.safeguarding import (
    ALERT_TEXT_NO_LINK,
    Safeguarding,
    alert_text,
)
from bot.channels.console import RecordingSender
from bot.pipeline import conversation
from bot.services import Services, build_services
from bot.settings import Settings
from bot.sms import sms_cost
from bot.types import CHANNELS
from storage.db import Database
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag, User
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"
ON_CALL = "telegram:9001"


def test_the_alert_never_carries_the_message_and_fits_one_sms() -> None:
    for text in (alert_text("https://kotha.example/"), alert_text(None)):
        cost = sms_cost(text)
        assert (cost.encoding, cost.segments) == ("GSM-7", 1), text
    assert alert_text("https://kotha.example/").endswith("https://kotha.example/console/moderation")
    assert alert_text(None) == ALERT_TEXT_NO_LINK


# -- in the runner -----------------------------------------------------------------------


@pytest.fixture
def alerting(settings: Settings, database: Database, clock: FrozenClock) -> Bot:
    """A bot whose deployment sends safeguarding alerts to one on-call moderator."""
    sender = RecordingSender()
    built = build_services(
        settings.with_overrides(
            safeguarding_alert_to=(ON_CALL,), public_url="https://kotha.example"
        ),
        senders={c: sender for c in CHANNELS},
        clock=clock,
        database=database,
    )
    return Bot(built, sender)


def flags(services: Services) -> list[SafeguardingFlag]:
    with services.database.session() as session:
        return list(session.scalars(select(SafeguardingFlag).order_by(SafeguardingFlag.id)))


def test_a_risk_message_raises_a_flag_and_alerts_the_on_call_moderator(
    alerting: Bot, clock: FrozenClock
) -> None:
    alerting.conversation(PERSON, "hi", "1", "1", "1")
    sent = alerting.receive(PERSON, "My son hits me and takes my money")
    [flag] = flags(alerting.services)
    assert flag.categories == ["abuse"]  # the more urgent of the two harms it tells of
    assert (flag.source, flag.status, flag.alerted_at) == ("automatic", "open", clock.now)
    assert flag.feedback_id is None  # the complaint is not submitted yet
    [alert] = [m for m in alerting.sender.sent if m.text.startswith("Kotha safeguarding")]
    assert (alert.channel, alert.address) == ("telegram", "9001")
    assert alert.text == "Kotha safeguarding alert: a message needs review now. " + (
        "Open the console: https://kotha.example/console/moderation"
    )
    assert "money" not in alert.text and PERSON not in alert.text
    # Harm outranks every other reading: the alert is handed on before the step's reply.
    assert sent.index(alert.text) == 0
    with alerting.services.database.session() as session:
        message = session.get_one(Message, flag.message_id)
        assert message.body == "My son hits me and takes my money"
        staff = session.scalars(select(Address).where(Address.address == "9001")).one()
        assert staff.contact.staff is True and staff.contact.language == "en"
        person = session.scalars(select(Contact).where(Contact.id == flag.contact_id)).one()
        assert person.staff is False


def test_the_alert_is_not_held_at_23_00(alerting: Bot, clock: FrozenClock) -> None:
    clock.now = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)  # London is on UTC in November
    alerting.receive(PERSON, "I want to end my life")
    with alerting.services.database.session() as session:
        [alert] = session.scalars(
            select(Message).where(
                Message.direction == "out", Message.body.like("Kotha safeguarding%")
            )
        ).all()
        assert (alert.status, alert.reason, alert.is_reply) == ("delivered", None, False)
        assert alert.urgent and alert.params is None
        # A message to the same colleague that is not urgent waits for the morning.
        ordinary = Message(
            address_id=alert.address_id,
            channel="telegram",
            direction="out",
            status="queued",
            body="Daily digest",
            language="en",
            created_at=clock.now,
        )
        session.add(ordinary)
        session.flush()
        ordinary_id = ordinary.id
    outcome = alerting.services.dispatcher.deliver(ordinary_id)
    assert (outcome.status, outcome.reason) == ("held", "quiet-hours")


def test_an_alert_to_a_colleague_on_whatsapp_goes_by_sms_outside_the_window(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    # The colleague has never written to the bot on WhatsApp, and no template is set up:
    # WhatsApp would refuse the alert, so it goes to the same number by SMS at once.
    sender = RecordingSender()
    built = build_services(
        settings.with_overrides(safeguarding_alert_to=("whatsapp:+447700900777",)),
        senders={c: sender for c in CHANNELS},
        clock=clock,
        database=database,
    )
    alerting = Bot(built, sender)
    alerting.receive(PERSON, "I want to end my life")
    [alert] = [m for m in alerting.sender.sent if m.text.startswith("Kotha safeguarding")]
    assert (alert.channel, alert.address) == ("sms", "+447700900777")
    assert alert.text.startswith("Kotha safeguarding alert")
    with database.session() as session:
        row = session.scalars(select(Message).where(Message.body.like("Kotha safeguarding%"))).one()
        assert (row.channel, row.status, row.reason) == ("sms", "delivered", None)


def test_repeated_worrying_messages_flag_each_but_alert_once(
    alerting: Bot, clock: FrozenClock
) -> None:
    alerting.receive(PERSON, "I want to die")
    alerting.receive(PERSON, "I will kill myself")
    first, second = flags(alerting.services)
    assert first.alerted_at == clock.now and second.alerted_at is None
    assert sum("safeguarding alert" in text for text in alerting.replies) == 1


def test_no_recipients_configured_still_flags(bot: Bot) -> None:
    bot.receive(PERSON, "my carer abused me")
    [flag] = flags(bot.services)
    assert flag.alerted_at is None and flag.categories == ["abuse"]
    assert not any("safeguarding alert" in text for text in bot.replies)


# With an on-call phone to ring the flag is written with the alert; without one, by a
# statement of its own: both link it alike.
@pytest.mark.parametrize("bot_of", ["alerting", "bot"])
def test_the_flag_names_the_feedback_holding_the_words(
    bot_of: str, database: Database, request: pytest.FixtureRequest
) -> None:
    alerting: Bot = request.getfixturevalue(bot_of)
    # The words come before the record is submitted: the flag cannot name it yet.
    alerting.conversation(PERSON, "hi", "1", "1", "1")
    alerting.receive(PERSON, "I am neglected")
    alerting.conversation(PERSON, "SKIP", "2", "1")
    with alerting.services.database.session() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.text == "I am neglected"
    [flag] = flags(alerting.services)
    assert flag.feedback_id is None
    # A later message repeating words of a stored record is linked to that record.
    alerting.receive(PERSON, "I am neglected")
    assert flags(alerting.services)[-1].feedback_id == feedback.id


def test_a_failed_step_leaves_neither_flag_nor_alert(
    alerting: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug after the flag was written")

    monkeypatch.setattr(conversation, "save", broken)
    alerting.receive(PERSON, "He beat me")
    assert flags(alerting.services) == []
    with alerting.services.database.session() as session:
        outbound = session.scalars(select(Message).where(Message.direction == "out")).all()
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert outbound == [] and inbound.status == "failed"
    assert alerting.replies == []


def test_an_address_already_known_becomes_staff(alerting: Bot) -> None:
    alerting.receive("9001", "hello", channel="telegram")
    alerting.receive(PERSON, "he threatened to kill me")
    with alerting.services.database.session() as session:
        addresses = session.scalars(select(Address).where(Address.address == "9001")).all()
        assert len(addresses) == 1 and addresses[0].contact.staff is True


def test_every_deployment_checks_messages_even_without_recipients(services: Services) -> None:
    [watcher] = services.runner.stepper.watchers
    assert isinstance(watcher, Safeguarding) and watcher.alert_to == ()


def test_urgent_messages_skip_quiet_hours_but_not_an_opt_out() -> None:
    from zoneinfo import ZoneInfo

    from bot.pipeline.hold import Decision, decide
    from bot.settings import QuietHours

    arguments = {
        "channel": "sms",
        "kind": "safeguarding-alert",
        "is_reply": False,
        "even_if_stopped": False,
        "refused_contact": False,
        "last_inbound_at": None,
        "language": "en",
        "now": datetime(2026, 11, 18, 23, 0, tzinfo=UTC),
        "quiet": QuietHours.parse("21:00-08:00"),
        "zone": ZoneInfo("Europe/London"),
        "whatsapp_templates": {},
    }
    assert decide(stopped=False, urgent=True, **arguments) == Decision()
    assert decide(stopped=False, **arguments).reason == "quiet-hours"
    assert decide(stopped=True, urgent=True, **arguments) == Decision("opted-out")


# -- harm outranks every other reading ----------------------------------------------------

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def moderator(session: Session) -> int:
    user = User(email="mod@example.org", role="moderator", password_hash="-", created_at=NOW)
    session.add(user)
    session.flush()
    return user.id


def test_harm_and_an_opt_out_together_flag_and_alert_then_stop_the_rest(
    alerting: Bot, services: Services
) -> None:
    sent = alerting.receive(PERSON, "I want to die, stop texting me")
    assert sent[0].startswith("Kotha safeguarding alert")
    assert "no more messages" in sent[-1]
    [flag] = flags(alerting.services)
    assert flag.categories == ["self_harm"] and flag.alerted_at is not None
    with alerting.services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == PERSON)).one()
        assert address.stopped_at is not None
        # The opt-out holds for everything else, but a moderator's follow-up still goes.
        follow_up = queue_reply(
            session, address, ReplyRequest(saved="call_us", text=""), moderator(session), NOW
        )
        bulk = Message(
            address_id=address.id,
            channel="sms",
            direction="out",
            status="queued",
            body="Our day centre opens on Saturdays",
            language="en",
            created_at=NOW,
        )
        session.add(bulk)
        session.flush()
        ids = (follow_up.id, bulk.id)
    assert alerting.services.dispatcher.deliver(ids[0]).status == "delivered"
    assert alerting.services.dispatcher.deliver(ids[1]).reason == "opted-out"


def test_once_the_flag_is_resolved_the_opt_out_holds_replies_too(alerting: Bot) -> None:
    alerting.receive(PERSON, "I want to die, stop texting me")
    with alerting.services.database.session() as session:
        [flag] = session.scalars(select(SafeguardingFlag)).all()
        flag.status = "confirmed"
        address = session.scalars(select(Address).where(Address.address == PERSON)).one()
        reply = queue_reply(
            session, address, ReplyRequest(saved="call_us", text=""), moderator(session), NOW
        )
        reply_id = reply.id
    assert alerting.services.dispatcher.deliver(reply_id).reason == "opted-out"


def test_a_complaint_that_discloses_abuse_is_a_complaint_and_a_flag(alerting: Bot) -> None:
    alerting.conversation(PERSON, "hi", "1")
    replies = alerting.receive(
        PERSON, "i want to complain, the carer slapped my mum and shouts at her every day"
    )
    assert any("sounds like you want to make a complaint" in reply for reply in replies)
    [flag] = flags(alerting.services)
    assert flag.categories == ["abuse"]


def test_harm_only_the_classifier_finds_is_flagged_for_a_moderator_not_the_phone(
    alerting: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.understanding import Understanding

    unsure = Understanding(
        "complaint", "en", 0.9, safeguarding="neglect", safeguarding_confidence=0.6
    )
    monkeypatch.setattr(alerting.services.runner.stepper, "understand", lambda text: unsure)
    sent = alerting.receive(PERSON, "she has gone very quiet since the new helper started")
    [flag] = flags(alerting.services)
    assert flag.categories == ["neglect"] and flag.status == "open"
    assert flag.alerted_at is None
    assert not any("safeguarding alert" in text for text in sent)
