"""What the voice line says, driven as Twilio drives it: every question a caller can reach by
key in words that make sense heard, options read one a sentence, recordings played in one
voice, Sylheti never read by a machine voice, office hours in words, and the staff tasks
that stand in for what a call or a message cannot do (a call back, a reminder by phone)."""

from __future__ import annotations

import re
from collections import deque
from datetime import time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework import voiceprompts
from bot.casework.callers import CALL_BACK, NOT_TO_CALL, STAFF_CALL
from bot.casework.spokenhours import said_hours
from bot.casework.voiceline import LINE_PROMPTS, PRESS_A_KEY
from bot.outreach import opportunities
from bot.pipeline.consent import CONTACT
from bot.pipeline.spoken import render_spoken
from bot.services import Services
from bot.settings import OfficeHours
from flows.spoken import ENGINE_TEXTS, SPOKEN, option_prompt, spoken, voice_script, whole_prompt
from flows.texts import HELP
from storage.models import Address, Consent, Conversation, Message, StaffTask, VoicePrompt
from tests.conftest import FrozenClock
from tests.fakes.twilio_api import FakeTwilio
from tests.webhooks.test_twilio_voice import (
    LANDLINE,
    LOCAL,
    VOICE,
    Heard,
    Phone,
    complain_by_phone,
    reminder_to,
)
from tests.webhooks.test_twilio_voice import client as client  # the fixtures
from tests.webhooks.test_twilio_voice import twilio as twilio
from tests.webhooks.test_twilio_voice import voice_services as voice_services

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64)

# Words that only make sense written: asking to send, reply, type or write, a link, a voice
# note, or a keyword to text. "Text message" as a way to be contacted is an option's name.
WRITTEN_ONLY = {
    "en": [
        re.compile(pattern, re.IGNORECASE)
        for pattern in (
            r"\bsend\b",
            r"\brepl(y|ies)\b",
            r"\btyp(e|ing)\b",
            r"\bwrit(e|ing)\b",
            r"\btext\b(?! message)",
            r"\blink\b",
            r"\bclick\b",
            r"\bvoice note\b",
            r"https?:",
        )
    ]
    + [re.compile(r"\b(SKIP|STOP|START|LANGUAGE|ACCESS|STATUS)\b")],
    "bn": [
        re.compile(pattern)
        for pattern in (
            "পাঠা",
            "লিখ",
            "লেখ",
            "টাইপ",
            "লিংক",
            "লিঙ্ক",
            "ভয়েস নোট",
            "রিপ্লাই",
            "টেক্সট(?! ?মেসেজ)",
            "https?:",
            r"\b(SKIP|STOP|LANGUAGE)\b",
        )
    ],
}


def offenders(text: str, language: str) -> list[str]:
    """The words of `text` that only make sense written."""
    patterns = WRITTEN_ONLY["en" if language.startswith("en") else "bn"]
    return [found.group(0) for pattern in patterns if (found := pattern.search(text))]


def test_the_written_words_are_found_so_the_walk_can_fail(voice_services: Services) -> None:
    i18n = voice_services.i18n
    assert offenders(i18n.gettext("en", HELP), "en")
    assert offenders(i18n.gettext("bn", HELP), "bn")
    assert offenders(i18n.gettext("syl", HELP), "bn")
    assert not offenders("For text message, press 2.", "en")


def test_every_text_a_caller_can_reach_has_spoken_words_in_every_language(
    voice_services: Services,
) -> None:
    """Each text the voice script holds, as the line renders it for each language it
    speaks (what a Sylheti caller hears is Bengali, never Sylheti words)."""
    i18n = voice_services.i18n
    bad: list[str] = []
    script = list(voice_script(voice_services.flows))
    assert len(script) > 30
    for question in script:
        params = {name: "X" for name in re.findall(r"\{(\w+)\}", question.spoken)}
        for language in ("en", "bn", "syl"):
            said = render_spoken(i18n, language, question.text, params, None, question.options)
            bad.extend(
                f"{language}: {question.text!r} says {word!r}"
                for word in offenders(said.text, said.body.language)
            )
            if language == "syl":
                bengali = render_spoken(i18n, "bn", question.text, params, None, question.options)
                assert said.text == bengali.text and said.body.language == "bn"
    for prompt in LINE_PROMPTS:
        for language in ("en", "bn"):
            bad.extend(
                f"{language}: line prompt {prompt!r} says {word!r}"
                for word in offenders(i18n.gettext(language, prompt), language)
            )
    assert not bad, "\n".join(bad)


def _heard_node(services: Services, phone: Phone) -> tuple[str, str] | None:
    with services.database.session() as session:
        found = session.execute(
            select(Conversation.flow, Conversation.node)
            .join(Address, Address.id == Conversation.address_id)
            .where(Address.channel == "voice", Address.address == phone.caller)
        ).first()
    return None if found is None else (found[0], found[1])


def _do(phone: Phone, step: str, url: str) -> Heard:
    if step == "speak":
        # A recording of its own for each call: a RecordingSid is kept once.
        return phone.speak("RE" + phone.call_sid[2:], url)
    if step == "silence":
        return phone.silence()
    return phone.press(step)


# The keys the options of a question heard are pressed with: "press 3." in any language.
OPTION_KEYS = re.compile(r"(\d)\s*(?:চাপুন|\.|$)", re.MULTILINE)


def walk(client: FlaskClient, services: Services, twilio: FakeTwilio, language_key: str) -> Any:
    """Every question a caller can reach by key, each reached once, by a call of its own
    (a landline per path, so nothing is texted): what was heard on the way, by path."""
    url = twilio.add_media(b"RIFF....WAVEfmt ", "audio/x-wav")
    heard: dict[tuple[str, ...], Heard] = {}
    seen: set[tuple[tuple[str, str] | None, bool]] = set()
    paths: deque[tuple[str, ...]] = deque([(language_key,)])
    count = 0
    while paths:
        path = paths.popleft()
        count += 1
        phone = Phone(client, f"+44207364{count:04d}", "CA" + f"{count:032x}")
        phone.call()
        for step in path:
            last = _do(phone, step, url)
        heard[path] = last
        node = _heard_node(services, phone)
        if last.hangup or (node, last.record is None) in seen:
            continue
        seen.add((node, last.record is None))
        if last.record is not None:
            paths.extend([(*path, "speak"), (*path, "silence")])
            continue
        keys = sorted({key for key in OPTION_KEYS.findall(last.text) if key != "0"})
        paths.extend((*path, key) for key in keys)
    return heard


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language_key,language", [("1", "en-GB"), ("2", "bn-IN")])
def test_every_question_reached_by_key_is_said_in_words_for_the_ear(
    client: FlaskClient,
    voice_services: Services,
    twilio: FakeTwilio,
    language_key: str,
    language: str,
) -> None:
    with voice_services.database.session() as session:
        opportunities.seed(session, voice_services.clock())
    heard = walk(client, voice_services, twilio, language_key)
    bad = [
        f"{' '.join(path)}: {word!r} in {text!r}"
        for path, turn in heard.items()
        for text, said_in in turn.says
        for word in offenders(text, "en" if said_in == "en-GB" else "bn")
    ]
    assert not bad, "\n".join(bad)
    said = {text for turn in heard.values() for text, _ in turn.says}
    everything = "\n".join(said)
    # The flows a caller reaches by key were all reached: the menu, each of its flows.
    reached = {node for node in _reached_flows(voice_services)}
    assert {"menu", "complaint", "comment", "compliment", "involve", "events"} <= reached
    # All in the language chosen, but after "Change language" (8 at the menu).
    other = [
        (path, said)
        for path, turn in heard.items()
        for said in turn.says
        if said[1] != language and path[1:2] != ("8",)
    ]
    assert not other, other[:5]
    if language == "en-GB":
        assert "For a complaint, press 1." in said
        assert "For Home care, press 1." in said
        assert "For Yes, press 1." in said and "For No, press 2." in said
        # Which language to call back in: the line's languages only, named in English.
        assert "For Sylheti, press 3." in said
        assert "Syloti" not in everything and "ꠍ" not in everything
        assert "You can see our events on the council's website" in everything
        # Taking part: the ways staff keep, said one by one, then how and when to call.
        assert "Would you like to take part?" in everything
        assert "For Text message, press 2." in said and "For Any time, press 5." in said
    else:
        assert "অভিযোগ: 1 চাপুন।" in said


def _reached_flows(services: Services) -> set[str]:
    with services.database.session() as session:
        flows = set(session.scalars(select(Conversation.flow)))
        kept = session.scalars(select(Message.question).where(Message.channel == "voice"))
        flows |= {question.split("/")[0] for question in kept if question}
    return flows


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_sylheti_caller_hears_the_words_a_bengali_caller_hears(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    """No recordings: the Bengali machine voice says the Bengali words to a Sylheti caller,
    never Sylheti words (the catalogs differ: the complaint is নালিশ in Sylheti)."""
    sylheti = Phone(client, "+442073640001", "CA" + "5" * 32)
    bengali = Phone(client, "+442073640002", "CA" + "6" * 32)
    for phone, key in ((sylheti, "3"), (bengali, "2")):
        phone.call()
        phone.press(key)
    assert sylheti.last is not None and bengali.last is not None
    assert sylheti.last.says == bengali.last.says
    assert {language for _, language in sylheti.last.says} == {"bn-IN"}
    assert "নালিশ" not in sylheti.last.text and "অভিযোগ" in sylheti.last.text


def _record(services: Services, prompt: str, language: str) -> int:
    prompts = voiceprompts.recordables(LINE_PROMPTS, services.flows)
    with services.database.session() as session:
        kept = voiceprompts.save(
            session,
            prompt,
            language,
            MP3,
            known=tuple(item.key for item in prompts),
            user_id=None,
            now=services.clock(),
        )
        return kept.id


def _plays(turn: Heard) -> list[int]:
    return [int(text.rsplit("/", 1)[1]) for text, kind in turn.says if kind == "play"]


MENU = "What would you like to do?"


def _menu_options(services: Services) -> tuple[str, ...]:
    return tuple(option.label for option in services.flows["menu"].nodes["main"].options)


def test_a_question_recorded_whole_is_played_whole(
    client: FlaskClient, voice_services: Services
) -> None:
    options = _menu_options(voice_services)
    whole = _record(voice_services, whole_prompt(MENU, options), "bn")
    press = _record(voice_services, PRESS_A_KEY, "bn")
    phone = Phone(client, LANDLINE)
    phone.call()
    menu = phone.press("2")
    assert menu.gather is not None
    assert _plays(menu) == [whole, press]
    assert [kind for _, kind in menu.says] == ["play", "play"]
    # The same recordings for a Sylheti caller, who has none of their own yet.
    phone = Phone(client, "+442073640003", "CA" + "7" * 32)
    phone.call()
    assert _plays(phone.press("3")) == [whole, press]
    # Once Sylheti has its own, a Sylheti caller hears it.
    own = _record(voice_services, whole_prompt(MENU, options), "syl")
    phone = Phone(client, "+442073640004", "CA" + "8" * 32)
    phone.call()
    assert _plays(phone.press("3"))[0] == own


def test_a_question_recorded_in_parts_is_played_in_parts_and_never_mixed(
    client: FlaskClient, voice_services: Services
) -> None:
    options = _menu_options(voice_services)
    ids = [_record(voice_services, MENU, "en")]
    for key, label in enumerate(options[:-1], 1):
        ids.append(_record(voice_services, option_prompt(label, key), "en"))
    phone = Phone(client, LANDLINE)
    phone.call()
    # One option not recorded: the machine voice says the whole question, no recording.
    partly = phone.press("1")
    assert _plays(partly) == []
    assert "For another language, press 8." in partly.text
    ids.append(_record(voice_services, option_prompt(options[-1], len(options)), "en"))
    again = phone.press("*")
    assert _plays(again) == ids  # then the machine voice's "Press the number..."
    assert again.says[-1][1] == "en-GB"


def test_the_prompts_page_lists_each_question_with_its_options_and_what_is_missing(
    voice_services: Services,
) -> None:
    prompts = voiceprompts.recordables(LINE_PROMPTS, voice_services.flows)
    keys = {item.key: item for item in prompts}
    options = _menu_options(voice_services)
    whole = keys[whole_prompt(MENU, options)]
    assert whole.kind == voiceprompts.KIND_WHOLE
    assert whole.parts == (MENU, *(option_prompt(o, k) for k, o in enumerate(options, 1)))
    assert keys["For a complaint, press 1."].kind == voiceprompts.KIND_OPTION
    # Texts with something filled in (a reference) cannot be recorded: not offered.
    assert not any("{reference}" in key for key in keys)
    assert SPOKEN[HELP] in keys
    assert all(spoken(text) in keys or "{" in spoken(text) for text in ENGINE_TEXTS)


def test_sylheti_falls_back_to_the_bengali_recording_only_when_its_own_is_missing(
    voice_services: Services,
) -> None:
    i18n = voice_services.i18n
    said = render_spoken(i18n, "syl", MENU, None, None, _menu_options(voice_services))
    whole = whole_prompt(MENU, _menu_options(voice_services))
    assert [part.recording for part in voiceprompts.choose({}, said, "syl")] == [None] * len(
        said.parts
    )
    # Neither recording: the Bengali words for the Bengali machine voice.
    machine = voiceprompts.choose({}, said, "syl")
    assert {part.language for part in machine} == {"bn"}
    assert machine[0].text == i18n.gettext("bn", MENU) != i18n.gettext("syl", MENU)
    assert [p.recording for p in voiceprompts.choose({(whole, "bn"): 5}, said, "syl")] == [5]
    both = {(whole, "bn"): 5, (whole, "syl"): 6}
    assert [p.recording for p in voiceprompts.choose(both, said, "syl")] == [6]
    # An English recording is never played to a Sylheti caller.
    assert voiceprompts.choose({(whole, "en"): 7}, said, "syl")[0].recording is None


def test_no_key_twice_opens_one_call_back_task_per_call(
    client: FlaskClient, voice_services: Services, clock: FrozenClock
) -> None:
    phone = Phone(client, LANDLINE)
    phone.call()
    phone.silence()
    phone.silence()
    goodbye = phone.silence()
    assert goodbye.hangup and "call you back" in goodbye.text
    # Twilio's retry of the same request: still one task.
    phone.last = Heard(200, gather={"action": LOCAL + VOICE + "/gather?n=3&miss=2"})
    assert "call you back" in phone.silence().text
    with voice_services.database.session() as session:
        opened = session.scalars(select(StaffTask).where(StaffTask.kind == CALL_BACK)).all()
        assert len(opened) == 1
        assert LANDLINE not in opened[0].summary and "pressed no key" in opened[0].summary
    # A second call, later, that is not heard either: a second task.
    clock.advance(timedelta(minutes=5))
    again = Phone(client, LANDLINE, "CA" + "9" * 32)
    again.call()
    for _ in range(3):
        again.silence()
    with voice_services.database.session() as session:
        count = len(session.scalars(select(StaffTask).where(StaffTask.kind == CALL_BACK)).all())
    assert count == 2


def test_no_call_back_for_a_hidden_number_or_after_a_no_to_contact(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio
) -> None:
    hidden = Phone(client, "anonymous", "CA" + "a" * 32)
    hidden.call()
    for _ in range(3):
        hidden.silence()
    assert hidden.last is not None and "call us again" in hidden.last.text
    # A caller who said No to contact (complaint by phone, "2" at consent).
    phone = Phone(client, LANDLINE, "CA" + "b" * 32)
    phone.call()
    for key in ("1", "1", "1"):
        phone.press(key)
    phone.speak("RE" + "b" * 32, twilio.add_media(b"RIFF....WAVEfmt ", "audio/x-wav"))
    phone.silence()
    phone.press("2")
    phone.press("2")  # No, do not contact me
    with voice_services.database.session() as session:
        assert session.scalars(select(Consent).where(Consent.purpose == CONTACT)).all()
    silent = Phone(client, LANDLINE, "CA" + "c" * 32)
    silent.call()
    for _ in range(3):
        silent.silence()
    assert silent.last is not None and "call us again" in silent.last.text
    with voice_services.database.session() as session:
        assert session.scalars(select(StaffTask).where(StaffTask.kind == CALL_BACK)).all() == []


def test_office_hours_are_said_in_words_in_each_language(
    client: FlaskClient, voice_services: Services, clock: FrozenClock
) -> None:
    clock.advance(timedelta(hours=10))  # 20:00, closed
    english = Phone(client, LANDLINE)
    english.call()
    english.press("1")
    closed = english.press("0")
    assert "Please call again Monday to Friday, 9 am to 5 pm." in closed.text
    assert "09:00" not in closed.text and "Mon-Fri" not in closed.text
    bengali = Phone(client, "+442073640005", "CA" + "d" * 32)
    bengali.call()
    bengali.press("2")
    said = bengali.press("0")
    assert "সোমবার থেকে শুক্রবার, সকাল ৯টা থেকে বিকাল ৫টা" in said.text
    i18n = voice_services.i18n
    odd = OfficeHours(5, 5, time(9, 30), time(13, 0))
    assert said_hours(i18n, "en", odd) == "Saturday, 9:30 am to 1 pm"
    assert said_hours(i18n, "bn", odd) == "শনিবার, সকাল ৯:৩০ থেকে দুপুর ১টা"


def test_a_reminder_for_a_landline_caller_becomes_a_task_unless_they_said_no(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    complain_by_phone(Phone(client, LANDLINE, "CA" + "6" * 32), twilio, "RE" + "6" * 32)
    hidden = Phone(client, "anonymous", "CA" + "e" * 32)
    hidden.call()
    hidden.press("1")
    database = voice_services.database
    with database.session() as session:
        rows = []
        for number in (LANDLINE, "withheld:" + "CA" + "e" * 32):
            voice = session.scalars(
                select(Address).where(Address.channel == "voice", Address.address == number)
            ).one()
            rows.append(reminder_to(session, voice, clock.now))
    landline, withheld = (voice_services.dispatcher.deliver(row_id) for row_id in rows)
    assert (landline.status, landline.reason) == ("cancelled", STAFF_CALL)
    assert (withheld.status, withheld.reason) == ("cancelled", NOT_TO_CALL)
    with database.session() as session:
        task = session.scalars(
            select(StaffTask).where(StaffTask.kind == "call-with-reminder")
        ).one()
        assert "Thank you for calling. Goodbye." in task.summary
        assert LANDLINE not in task.summary
        assert session.get_one(Message, rows[0]).channel == "voice"  # never sent anywhere
    assert voice_services.sender.sent == []  # type: ignore[attr-defined]
    # Delivering again changes nothing: one task.
    assert voice_services.dispatcher.deliver(rows[0]).status == "cancelled"
    with database.session() as session:
        assert len(session.scalars(select(StaffTask)).all()) == 1
        assert not session.scalars(select(VoicePrompt)).all()


def test_a_reminder_is_not_a_task_after_a_no_to_contact(
    client: FlaskClient, voice_services: Services, twilio: FakeTwilio, clock: FrozenClock
) -> None:
    phone = Phone(client, LANDLINE, "CA" + "f" * 32)
    phone.call()
    for key in ("1", "1", "1"):
        phone.press(key)
    phone.speak("RE" + "f" * 32, twilio.add_media(b"RIFF....WAVEfmt ", "audio/x-wav"))
    phone.silence()
    phone.press("2")
    phone.press("2")  # No to contact
    with voice_services.database.session() as session:
        voice = session.scalars(select(Address).where(Address.channel == "voice")).one()
        row = reminder_to(session, voice, clock.now)
    outcome = voice_services.dispatcher.deliver(row)
    assert (outcome.status, outcome.reason) == ("cancelled", NOT_TO_CALL)
    with voice_services.database.session() as session:
        assert session.scalars(select(StaffTask)).all() == []
