"""Safeguarding: the word lists in every language and script, flags and the on-call alert."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.casework.safeguarding import (
    ALERT_TEXT_NO_LINK,
    CATEGORIES,
    Lexicon,
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
from storage.models import Address, Contact, Feedback, Message, SafeguardingFlag
from tests.conftest import Bot, FrozenClock

PERSON = "+447700900123"
ON_CALL = "telegram:9001"
LEXICON = Lexicon.load()

# (language, text, categories): every category in every language and script.
POSITIVES = [
    ("en", "Some days I want to kill myself", ("suicide",)),
    ("en", "I have been having SUICIDAL thoughts", ("suicide",)),
    ("en", "I keep cutting myself at night", ("self_harm",)),
    ("en", "she talks about self-harm", ("self_harm",)),
    ("en", "My son abuses me when he drinks", ("abuse",)),
    ("en", "Mum is neglected, not been fed since Monday", ("neglect",)),
    ("en", "The carer HIT me!", ("violence",)),
    ("en", "My nephew took my money and my pension", ("exploitation",)),
    ("bn", "আমি আত্মহত্যার কথা ভাবছি", ("suicide",)),
    ("bn", "মাঝে মাঝে নিজেকে আঘাত করি", ("self_harm",)),
    ("bn", "বাড়িতে আমার উপর নির্যাতন হয়", ("abuse",)),
    ("bn", "কেয়ারার মাকে অবহেলা করে", ("neglect",)),
    ("bn", "ছেলে আমাকে মারে", ("violence",)),
    ("bn", "ভাইপো আমার টাকা নিয়ে যায়", ("exploitation",)),
    ("syl", "আমি মরি যাইতাম চাই", ("suicide",)),
    ("syl", "নিজরে কাটি", ("self_harm",)),
    ("syl", "হে আমারে গালি দেয়", ("abuse",)),
    ("syl", "কেয়ারার খানি দেয় না", ("neglect",)),
    ("syl", "পুয়া আমারে মারে", ("violence",)),
    ("syl", "হে আমার টেকা লই যায়", ("exploitation",)),
    ("syl-Latn", "ami mori zaitam sai", ("suicide",)),
    ("syl-Latn", "ami nijre kati", ("self_harm",)),
    ("syl-Latn", "he amare gali dey", ("abuse",)),
    ("syl-Latn", "carer khani dey na", ("neglect",)),
    ("syl-Latn", "Puwa AMARE MARE", ("violence",)),
    ("syl-Latn", "he amar teka loi zay", ("exploitation",)),
    # More than one at once, in CATEGORIES order whatever the order in the text.
    ("en", "He beats me and I want to die", ("suicide", "violence")),
]

NEGATIVES = [
    "Killing time at the day centre is boring",  # decided: not flagged (no bare "kill")
    "There is a lot of abuse of parking bays outside",  # decided: not flagged (ignore list)
    "Blue badge abuse is rife on our street",
    "My phone died so I could not call",
    "I was scared to death of the new hoist",
    "The white meat at lunch was cold",  # "hit me" is not inside "white meat"
    "The carers were wonderful, thank you",
    "1",
    "",
    "আমার মায়ের কেয়ারার খুব ভালো",  # "my mother's carer is very good"
    "amar mayer carer khub bhalo",
]


@pytest.mark.parametrize(("language", "text", "expected"), POSITIVES)
def test_risk_phrases_are_found_in_every_language(
    language: str, text: str, expected: tuple[str, ...]
) -> None:
    assert LEXICON.detect(text) == expected, language


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_words_are_not_flagged(text: str) -> None:
    assert LEXICON.detect(text) == ()


@given(st.text(alphabet=st.characters(blacklist_categories=())))
def test_detection_never_raises_on_any_text(text: str) -> None:
    assert set(LEXICON.detect(text)) <= set(CATEGORIES)


def test_matching_ignores_case_punctuation_and_joiners() -> None:
    assert LEXICON.detect("I.WANT.TO.DIE!!!") == ("suicide",)
    assert LEXICON.detect("kill\u200d myself") == ("suicide",)
    assert LEXICON.detect("I don’t want to live") == ("suicide",)  # a curly apostrophe
    # A word's endings count only where the list says so (abus*), never inside other words.
    assert LEXICON.detect("he was abusive") == ("abuse",)
    assert LEXICON.detect("disabuse") == ()


def test_every_category_has_phrases_in_every_language() -> None:
    import yaml

    from bot.casework.safeguarding import LANGUAGES, WORD_LISTS

    data = yaml.safe_load(WORD_LISTS.read_text(encoding="utf-8"))
    assert set(data["categories"]) == set(CATEGORIES)
    for category, by_language in data["categories"].items():
        assert set(by_language) == set(LANGUAGES), category
    assert "native" in WORD_LISTS.read_text(encoding="utf-8")  # drafts marked for review


def test_bad_word_lists_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown safeguarding categories"):
        Lexicon.from_data({"categories": {"sadness": {"en": ["sad"]}}})
    with pytest.raises(ValueError, match="unknown languages"):
        Lexicon.from_data({"categories": {"abuse": {"fr": ["abus"]}}})


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
    assert flag.categories == ["violence", "exploitation"]
    assert (flag.source, flag.status, flag.alerted_at) == ("automatic", "open", clock.now)
    assert flag.feedback_id is None  # the complaint is not submitted yet
    alert = alerting.sender.sent[-1]
    assert (alert.channel, alert.address) == ("telegram", "9001")
    assert alert.text == "Kotha safeguarding alert: a message needs review now. " + (
        "Open the console: https://kotha.example/console/moderation"
    )
    assert "money" not in alert.text and PERSON not in alert.text
    assert alert.text in sent  # queued after the step's commit, like a reply
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
    alert = alerting.sender.sent[-1]
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


def test_the_flag_names_the_feedback_holding_the_words(alerting: Bot) -> None:
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
        "is_reply": False,
        "even_if_stopped": False,
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
