"""Outcome updates reach people in their language on their channel, and respect STOP and START.

Expected texts are built from the .po files read with Babel, not through bot.i18n, so the
rendering is checked against the translations themselves.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

import pytest
from babel.messages.pofile import read_po

from bot.casework.cases import (
    KIND_TEXT,
    STATUS_TEXT,
    UPDATE,
    UPDATE_WITH_NOTE,
    CaseError,
    UnknownFeedback,
)
from bot.casework.cases import update_status as apply_update
from bot.i18n import load_languages
from bot.services import Services
from bot.settings import LOCALES_DIR
from bot.sms import is_gsm7, sms_cost
from bot.types import Channel, InboundMessage
from flows.texts import STOPPED
from storage.models import Address, Feedback, Message
from storage.records import create_feedback
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio

LANGUAGES = load_languages(LOCALES_DIR)


@cache
def _catalog(code: str) -> dict[str, str]:
    path = LOCALES_DIR / LANGUAGES[code].dir / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def translated(code: str, msgid: str) -> str:
    """The translation of `msgid` along the language's fallback chain (syl -> bn -> en)."""
    language: str | None = code
    while language is not None:
        found = _catalog(language).get(msgid)
        if found:
            return found
        language = LANGUAGES[language].fallback
    return msgid


def expected_update(code: str, reference: str, status: str, note: str | None = None) -> str:
    values = {
        "kind": translated(code, KIND_TEXT["complaint"]),
        "reference": reference,
        "status": translated(code, STATUS_TEXT[status]),
    }
    if note is None:
        return translated(code, UPDATE).format(**values)
    return translated(code, UPDATE_WITH_NOTE).format(note=note, **values)


class Person:
    """One person on one channel, talking through the runner and read at the fake provider."""

    def __init__(
        self,
        services: Services,
        twilio: FakeTwilio,
        telegram: FakeTelegram,
        channel: Channel,
        address: str,
    ) -> None:
        self.services = services
        self.twilio = twilio
        self.telegram = telegram
        self.channel = channel
        self.address = address

    @property
    def received(self) -> list[str]:
        if self.channel == "telegram":
            return [m.text for m in self.telegram.sent if m.chat_id == self.address]
        assert all(m.channel == self.channel for m in self.twilio.sent_to(self.address))
        return [m.body for m in self.twilio.sent_to(self.address)]

    def says(self, text: str) -> list[str]:
        before = len(self.received)
        self.services.runner.receive(InboundMessage(self.channel, self.address, text))
        return self.received[before:]

    def feedback(self) -> str:
        with self.services.database.session() as session:
            address = session.query(Address).filter_by(address=self.address).one()
            language = address.contact.language
            assert language is not None
            record = create_feedback(
                session, address, language, "complaint", {"text": "x"}, True, self.now(), None
            )
            session.flush()
            return record.reference

    def now(self) -> datetime:
        return self.services.dispatcher.clock()

    def staff_update(self, reference: str, status: str, note: str | None = None) -> Message:
        with self.services.database.session() as session:
            row = apply_update(session, reference, status, note, self.now())
            assert row is not None
            row_id = row.id
        self.services.queue.enqueue([row_id])
        with self.services.database.session() as session:
            return session.get_one(Message, row_id)


# (language, channel, address, STOP word, START word); words from flows/keywords.yaml.
PEOPLE = [
    ("en", "telegram", "5000000001", "STOP", "Start"),
    ("bn", "sms", "+447700900124", "বন্ধ করুন", "আবার শুরু"),
    ("syl", "whatsapp", "+447700900234", "বন্ধ করইন", "হুরু"),
    ("syl-Latn", "sms", "+447700900235", "bondho", "shuru"),
]


@pytest.mark.parametrize(("language", "channel", "address", "stop", "start"), PEOPLE)
def test_updates_speak_the_persons_language_and_wait_while_they_have_stopped(
    wired: Services,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
    language: str,
    channel: Channel,
    address: str,
    stop: str,
    start: str,
) -> None:
    person = Person(wired, twilio, telegram, channel, address)
    person.says("hello")
    person.says(str(list(LANGUAGES).index(language) + 1))  # their language, by number
    reference = person.feedback()

    note = {"en": "Call 020 7364 5000.", "bn": "আমরা শুক্রবার ফোন করব।"}.get(language)
    first = person.staff_update(reference, "acknowledged", note)
    assert first.status in ("sent", "delivered")
    assert person.received[-1] == expected_update(language, reference, "acknowledged", note)
    assert first.body == person.received[-1] and first.language == language
    if language != "en":
        assert person.received[-1] != expected_update("en", reference, "acknowledged", note)
    if channel == "sms":
        cost = sms_cost(person.received[-1])
        assert (first.encoding, first.segments) == (cost.encoding, cost.segments)
        assert is_gsm7(person.received[-1]) == (LANGUAGES[language].digits == "latn")

    assert person.says(stop) == [translated(language, STOPPED)]
    held = person.staff_update(reference, "resolved")
    assert (held.status, held.reason) == ("held", "opted-out")
    assert person.says("1") == []  # no reply either while stopped
    before = len(person.received)
    assert person.staff_update(reference, "closed").reason == "opted-out"
    assert len(person.received) == before

    released = person.says(start)
    assert released[:2] == [
        expected_update(language, reference, "resolved"),
        expected_update(language, reference, "closed"),
    ]
    assert len(released) == 3  # then the welcome back, with the menu
    with wired.database.session() as session:
        rows = session.query(Message).filter(Message.id.in_([held.id])).all()
    assert rows[0].status in ("sent", "delivered") and rows[0].reason is None


def test_staff_update_checks_its_status_and_reference(wired: Services) -> None:
    with wired.database.session() as session:
        with pytest.raises(UnknownFeedback):
            apply_update(session, "C-000000", "resolved", None, wired.dispatcher.clock())
        with pytest.raises(CaseError, match="status must be one of"):
            apply_update(session, "C-000000", "lost", None, wired.dispatcher.clock())


def test_back_to_received_needs_a_reason_and_tells_nobody(
    wired: Services, twilio: FakeTwilio, telegram: FakeTelegram
) -> None:
    person = Person(wired, twilio, telegram, "sms", "+447700900123")
    person.says("hello")
    person.says("1")
    reference = person.feedback()
    person.staff_update(reference, "in_progress")
    with wired.database.session() as session:
        with pytest.raises(CaseError, match="give a note saying why"):
            apply_update(session, reference, "received", None, person.now())
    with wired.database.session() as session:
        moved = apply_update(session, f" {reference} ", "received", "Wrong case.", person.now())
        assert moved is None
    with wired.database.session() as session:
        status = session.query(Feedback.status).filter_by(reference=reference).scalar()
    assert status == "received"
