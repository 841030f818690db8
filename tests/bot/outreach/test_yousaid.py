"""'You said, we did' end to end: published through the fake providers in each person's language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach.yousaid import (
    ItemFields,
    YouSaidError,
    approve_quote,
    link,
    linked_references,
    message_texts,
    missing_languages,
    parse_references,
    publish,
    published,
    save_item,
)
from bot.services import Services
from bot.types import InboundMessage
from storage.models import Address, Contact, Feedback, YouSaidItem
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.storage.rows import yes_to_broadcasts

BENGALI_SMS = "+447700900201"
STOPPED_SMS = "+447700900203"
TELEGRAM_CHAT = "424242"
FIELDS = ItemFields(
    theme="Day centre hours",
    texts={
        "en": {"said": "The day centre closes too early.", "did": "It now opens until 6pm."},
        "bn": {"said": "ডে সেন্টার খুব তাড়াতাড়ি বন্ধ হয়।", "did": "এখন সন্ধ্যা ৬টা পর্যন্ত খোলা।"},
    },
    change="change_made",
    change_date=date(2026, 11, 1),
    quote=None,
)


def person_with_feedback(
    services: Services, channel: str, address: str, language: str, reference: str
) -> None:
    now = services.clock()
    with services.database.session() as session:
        contact = Contact(language=language, created_at=now)
        row = Address(contact=contact, channel=channel, address=address, created_at=now)
        session.add(row)
        yes_to_broadcasts(session, contact, now)
        session.flush()
        session.add(
            Feedback(
                reference=reference,
                kind="comment",
                status="received",
                language=language,
                channel=channel,
                contact_id=contact.id,
                address_id=row.id,
                created_at=now,
            )
        )


def test_an_item_reaches_each_linked_person_in_their_language_and_not_who_stopped(
    wired: Services, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    person_with_feedback(wired, "sms", BENGALI_SMS, "bn", "C-100001")
    person_with_feedback(wired, "telegram", TELEGRAM_CHAT, "en", "C-100002")
    person_with_feedback(wired, "sms", STOPPED_SMS, "en", "C-100003")
    person_with_feedback(wired, "sms", "+447700900204", "en", "C-100004")  # not linked
    wired.runner.receive(InboundMessage(channel="sms", address=STOPPED_SMS, text="STOP"))
    stop_confirmation = len(twilio.sent_to(STOPPED_SMS))
    assert wired.broadcasts is not None
    now = wired.clock()
    with wired.database.session() as session:
        item = save_item(session, wired.i18n, None, FIELDS, None, now)
        assert link(session, item, parse_references("c-100001, C-100002\nC-100003")) == []
        broadcast = publish(session, wired.broadcasts, item, None, None, now)
        broadcast_id = broadcast.id
    wired.broadcasts.launch(broadcast_id)

    [bengali] = twilio.sent_to(BENGALI_SMS)
    assert bengali.body.startswith("আপনি বলেছেন:") and "সন্ধ্যা ৬টা" in bengali.body
    [english] = [m for m in telegram.sent if m.chat_id == TELEGRAM_CHAT]
    assert english.text == (
        "You said: The day centre closes too early.\nWe did: It now opens until 6pm."
    )
    assert len(twilio.sent_to(STOPPED_SMS)) == stop_confirmation
    assert twilio.sent_to("+447700900204") == []
    with wired.database.session() as session:
        assert published(session)[0].broadcast_id == broadcast_id


def test_unknown_references_are_named_and_nothing_is_linked(services: Services) -> None:
    person_with_feedback(services, "sms", BENGALI_SMS, "bn", "C-100001")
    with services.database.session() as session:
        item = save_item(session, services.i18n, None, FIELDS, None, services.clock())
        assert link(session, item, ["C-100001", "C-999999"]) == ["C-999999"]
        assert linked_references(session, item.id) == []
        assert link(session, item, ["C-100001"]) == []
        assert linked_references(session, item.id) == ["C-100001"]


def test_missing_languages_fall_back_and_english_is_required(services: Services) -> None:
    now = services.clock()
    with services.database.session() as session:
        item = save_item(session, services.i18n, None, FIELDS, None, now)
        assert missing_languages(services.i18n, item) == ["syl", "syl-Latn"]
        assert set(message_texts(services.i18n, item)) == {"en", "bn"}
        with pytest.raises(YouSaidError, match="English"):
            save_item(
                session,
                services.i18n,
                None,
                ItemFields("Theme", {"bn": FIELDS.texts["bn"]}, "change_made", None, None),
                None,
                now,
            )


def test_a_changed_quote_needs_approval_again(services: Services) -> None:
    now = services.clock()
    fields = ItemFields(FIELDS.theme, FIELDS.texts, "change_planned", None, "Too early for us.")
    with services.database.session() as session:
        moderator = create_user(
            session,
            "mod@example.org",
            "moderator",
            "a long passphrase",
            now=datetime(2026, 11, 18, 10, 0, tzinfo=UTC),
        ).id
        item = save_item(session, services.i18n, None, fields, None, now)
        approve_quote(item, moderator)
        assert item.quote_approved_by == moderator
        save_item(session, services.i18n, item, fields, None, now)
        assert item.quote_approved_by == moderator  # unchanged quote: still approved
        changed = ItemFields(FIELDS.theme, FIELDS.texts, "change_planned", None, "Other words.")
        save_item(session, services.i18n, item, changed, None, now)
        assert item.quote_approved_by is None
        assert session.scalars(select(YouSaidItem)).one().status == "draft"
