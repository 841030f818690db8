"""WhatsApp templates end to end: each kind of message outside the 24-hour window goes as
its kind's approved template, named variables filled in the template's language (along the
fallback chain), through the real Twilio SDK to a fake Twilio that takes them as Twilio does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from bot.casework.accounts import create_user
from bot.casework.cases import update_status
from bot.casework.replies import SAVED_REPLIES
from bot.channels.twilio import TwilioSender
from bot.outreach.reminders import REMINDER
from bot.pipeline.dispatch import Outcome
from bot.services import Services, build_services
from bot.settings import TEMPLATE_KINDS, Settings, load
from storage.db import Database
from storage.models import Broadcast
from tests.bot.pipeline.test_dispatch import (
    add_address,
    add_feedback,
    add_outbound,
    queue_update,
    row,
)
from tests.conftest import FrozenClock
from tests.fakes.twilio_api import FakeTwilio, Fault

WHATSAPP_FROM = "whatsapp:+447700900500"
# One Content SID per kind and language registered at the fake (not every pair: the
# fallback chain must find the next one).
REGISTERED = {
    "case_update.en": "HX" + "1" * 32,
    "case_update.bn": "HX" + "2" * 32,
    "reminder.en": "HX" + "3" * 32,
    "reminder.syl": "HX" + "4" * 32,
    "broadcast.en": "HX" + "5" * 32,
    "broadcast.bn": "HX" + "6" * 32,
    "staff_reply.en": "HX" + "7" * 32,
}


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def app_services(
    fake: FakeTwilio, database: Database, clock: FrozenClock, settings: Settings
) -> Iterator[Services]:
    sender = TwilioSender(
        fake.account_sid, fake.auth_token, None, WHATSAPP_FROM, api_url=fake.url, timeout=0.3
    )
    services = build_services(
        settings.with_overrides(whatsapp_templates=REGISTERED, retry_base_seconds=0.01),
        senders={"whatsapp": sender},
        clock=clock,
        database=database,
    )
    # Registered at Twilio in the words `kotha messages templates` prints.
    templates = services.dispatcher.templates
    for key, content_sid in REGISTERED.items():
        kind, language = key.split(".")
        fake.register_template(content_sid, templates.registration(templates.kinds[kind], language))
    try:
        yield services
    finally:
        services.close()


def whatsapp_reader(database: Database, clock: FrozenClock, number: str, language: str) -> int:
    return add_address(
        database,
        clock.now,
        channel="whatsapp",
        address=number,
        language=language,
        last_inbound_at=clock.now - timedelta(days=2),
    )


def test_a_case_update_goes_as_its_template_along_the_fallback_chain(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    i18n = app_services.i18n
    readers = {
        "bn": ("+447700900601", "case_update.bn"),
        "syl": ("+447700900602", "case_update.bn"),  # no Sylheti template: Bengali's
        "syl-Sylo": ("+447700900603", "case_update.bn"),
        "syl-Latn": ("+447700900604", "case_update.en"),  # romanised Sylheti falls to English
        "en": ("+447700900605", "case_update.en"),
    }
    for language, (number, key) in readers.items():
        address_id = whatsapp_reader(database, clock, number, language)
        reference = add_feedback(database, address_id, clock.now)
        message_id = queue_update(app_services, reference)

        [sent] = fake.sent_to(number)
        template_language = key.split(".")[1]
        assert sent.content_sid == REGISTERED[key]
        assert sent.content_variables == {
            "kind": i18n.gettext(template_language, "complaint"),
            "reference": reference,
            "status": i18n.gettext(template_language, "we are working on it."),
        }
        # The person reads the approved words with the variables in, and so do staff.
        stored = row(database, message_id)
        assert (stored.status, stored.provider_id) == ("sent", sent.sid)
        assert stored.body == sent.body and stored.language == template_language
        assert reference in sent.body and "{" not in sent.body


def test_a_note_and_an_outcome_go_in_the_status_variable(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    address_id = whatsapp_reader(database, clock, "+447700900611", "en")
    reference = add_feedback(database, address_id, clock.now)
    with app_services.database.session() as session:
        update = update_status(
            session, reference, "in_progress", "A carer visits on Monday.", clock.now
        )
        assert update is not None
        update_id = update.id
    app_services.queue.enqueue([update_id])
    [sent] = fake.sent_to("+447700900611")
    assert sent.content_variables is not None
    assert sent.content_variables["status"] == "we are working on it. A carer visits on Monday."


def test_a_reminder_goes_with_title_date_and_place(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    address_id = whatsapp_reader(database, clock, "+447700900621", "syl-Sylo")
    params = {
        "title": {"by_language": {"en": "Carers forum", "syl": "কেয়ারার ফোরাম"}},
        "when": {"datetime": "2026-11-25T10:00:00+00:00"},
        "place": "Town Hall",
    }
    message_id = add_outbound(
        database,
        address_id,
        clock.now,
        body=None,
        template=REMINDER,
        params=params,
        language=None,
        choices=["Yes", "No"],
    )
    assert app_services.dispatcher.deliver(message_id) == Outcome("sent")

    [sent] = fake.sent_to("+447700900621")
    assert sent.content_sid == REGISTERED["reminder.syl"]  # Syloti Nagri falls to Sylheti
    assert sent.content_variables is not None
    assert sent.content_variables["title"] == "কেয়ারার ফোরাম"
    assert sent.content_variables["place"] == "Town Hall"
    assert "২৫" in sent.content_variables["when"]  # the date, with Bengali digits
    assert row(database, message_id).body == sent.body


def test_a_broadcast_and_a_staff_reply_go_with_their_words_as_the_variable(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    with database.session() as session:
        broadcast = Broadcast(
            title="Warm spaces",
            texts={"bn": "উষ্ণ জায়গা খোলা আছে।"},
            segment={"kind": "all"},
            status="sent",
            fanout_after=0,
            recipients=1,
            created_at=clock.now,
        )
        session.add(broadcast)
        user = create_user(
            session, "staff@example.org", "staff", "correct horse battery", clock.now
        )
        session.flush()
        broadcast_id, user_id = broadcast.id, user.id
    syl_reader = whatsapp_reader(database, clock, "+447700900631", "syl")
    news = add_outbound(
        database,
        syl_reader,
        clock.now,
        body="উষ্ণ জায়গা খোলা আছে।",
        language="bn",
        broadcast_id=broadcast_id,
    )
    en_reader = whatsapp_reader(database, clock, "+447700900632", "en")
    reply = add_outbound(
        database,
        en_reader,
        clock.now,
        body="We have booked the visit for Monday.",
        language="en",
        sent_by=user_id,
    )
    saved = add_outbound(
        database,
        en_reader,
        clock.now,
        body=None,
        template=SAVED_REPLIES["thank_you"],
        language=None,
        sent_by=user_id,
    )
    for message_id in (news, reply, saved):
        assert app_services.dispatcher.deliver(message_id) == Outcome("sent")

    [to_syl] = fake.sent_to("+447700900631")
    assert to_syl.content_sid == REGISTERED["broadcast.bn"]
    assert to_syl.content_variables == {"text": "উষ্ণ জায়গা খোলা আছে।"}
    first, second = fake.sent_to("+447700900632")
    assert first.content_sid == second.content_sid == REGISTERED["staff_reply.en"]
    assert first.content_variables == {"text": "We have booked the visit for Monday."}
    assert second.content_variables == {
        "text": "Thank you for telling us. What you say helps us improve care."
    }
    assert first.body.startswith("Tower Hamlets Council replied to you: We have booked")


def test_a_kind_without_a_template_in_the_chain_waits(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    # Staff replies have only an English template; a Bengali reader's chain ends in English.
    with database.session() as session:
        user_id = create_user(
            session, "staff2@example.org", "staff", "correct horse battery", clock.now
        ).id
    bengali = whatsapp_reader(database, clock, "+447700900641", "bn")
    reply = add_outbound(database, bengali, clock.now, body="উত্তর", language="bn", sent_by=user_id)
    assert app_services.dispatcher.deliver(reply) == Outcome("sent")  # en is on its chain
    # A message of no kind (a digest to a colleague) has no template: it waits.
    other = add_outbound(database, bengali, clock.now, body="Digest", language="en")
    assert app_services.dispatcher.deliver(other) == Outcome("held", "outside-whatsapp-window")
    assert len(fake.sent_to("+447700900641")) == 1


def test_a_template_send_that_times_out_is_found_not_sent_twice(
    app_services: Services, fake: FakeTwilio, database: Database, clock: FrozenClock
) -> None:
    address_id = whatsapp_reader(database, clock, "+447700900651", "bn")
    fake.script(Fault.timeout(0.8))  # accepted, but after the client's 0.3 s
    message_id = queue_update(app_services, add_feedback(database, address_id, clock.now))
    first = row(database, message_id)
    assert (first.status, first.reason) == ("queued", "outcome-unknown")
    time.sleep(0.8)
    assert first.next_attempt_at is not None
    clock.advance(first.next_attempt_at - clock.now)
    assert app_services.dispatcher.deliver(message_id) == Outcome("sent")
    [sent] = fake.sent_to("+447700900651")
    assert row(database, message_id).provider_id == sent.sid


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"ContentVariables": json.dumps({"text": "x"}), "Body": "x"}, 21654),
        ({"ContentSid": "HX" + "f" * 32, "ContentVariables": "{}"}, 21655),
        ({"ContentSid": "HX" + "7" * 32, "ContentVariables": "not json"}, 21656),
        ({"ContentSid": "HX" + "7" * 32, "ContentVariables": json.dumps({"text": ""})}, 21656),
        ({"ContentSid": "HX" + "7" * 32, "ContentVariables": json.dumps({"other": "x"})}, 21656),
        ({"ContentSid": "HX" + "7" * 32, "ContentVariables": json.dumps(["x"])}, 21656),
    ],
    ids=["variables-without-sid", "unknown-sid", "not-json", "empty", "missing", "not-object"],
)
def test_the_fake_refuses_template_sends_as_twilio_does(
    fake: FakeTwilio, fields: dict[str, str], code: int
) -> None:
    fake.register_template("HX" + "7" * 32, "Tower Hamlets Council replied to you: {{text}}")
    answer = requests.post(
        f"{fake.url}/2010-04-01/Accounts/{fake.account_sid}/Messages.json",
        data={"To": "whatsapp:+447700900123", "From": WHATSAPP_FROM, **fields},
        auth=(fake.account_sid, fake.auth_token),
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert fake.sent == []


@pytest.mark.parametrize(
    "value",
    [
        "en=HX" + "1" * 32,
        "case_update=HX" + "1" * 32,
        "letters.en=HX" + "1" * 32,
        "case_update.en=SM" + "1" * 32,
        "case_update.en=HX123",
    ],
)
def test_templates_set_up_wrongly_are_refused_with_the_reason(value: str) -> None:
    with pytest.raises(ValueError, match="KOTHA_WHATSAPP_TEMPLATES"):
        load({"KOTHA_WHATSAPP_TEMPLATES": value})


def test_every_kind_has_its_words_in_every_language(app_services: Services) -> None:
    templates = app_services.dispatcher.templates
    assert set(templates.kinds) == set(TEMPLATE_KINDS)
    for kind in templates.kinds.values():
        for language in app_services.i18n.languages:
            words = templates.registration(kind, language)
            assert "{{" in words and "{" not in words.replace("{{", "").replace("}}", "")
            if language != "en":
                assert words != templates.registration(kind, "en"), (kind.name, language)
