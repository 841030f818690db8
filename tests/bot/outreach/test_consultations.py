"""Consultation events over chat: subscribing, reminders in quiet hours, RSVPs, change notices."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.cli import export
from bot.outreach.consultations import (
    CANCELLED,
    CHANGED,
    EventDetails,
    cancel_event,
    create_event,
    update_event,
)
from bot.outreach.festivals import clashes, describe, festivals_in
from bot.outreach.reminders import Reminders
from bot.services import Services, build_services
from bot.settings import Settings, _offsets, iso_offset, load, parse_offset
from bot.types import InboundMessage
from storage.db import Database
from storage.models import (
    Address,
    Consultation,
    Contact,
    Conversation,
    EventSubscription,
    Message,
    Rsvp,
)
from tests.conftest import Bot, FrozenClock
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.fakes.wiring import wire

LONDON = ZoneInfo("Europe/London")
PHONE = "+447700900123"
BENGALI_PHONE = "+447700900456"
_ids = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def details(start: datetime, **changes: object) -> EventDetails:
    values: dict[str, object] = {
        "titles": {"en": "Carers forum", "bn": "কেয়ারার ফোরাম"},
        "start_at": start,
        "end_at": start + timedelta(hours=2),
        "place": "Town Hall, 160 Whitechapel Road",
        "topic": "carers_support",
        **changes,
    }
    return EventDetails(**values)  # type: ignore[arg-type]


def schedule(services: Services, start: datetime, **changes: object) -> int:
    with services.database.session() as session:
        return create_event(session, details(start, **changes), None, services.clock()).id


def say(services: Services, address: str, text: str, channel: str = "sms") -> None:
    services.runner.receive(
        InboundMessage(channel=channel, address=address, text=text, provider_id=f"in-{next(_ids)}")  # type: ignore[arg-type]
    )


def rsvps(database: Database) -> list[tuple[int, str]]:
    with database.session() as session:
        return [(r.event_id, r.answer) for r in session.scalars(select(Rsvp).order_by(Rsvp.id))]


@pytest.fixture
def late(
    settings: Settings,
    clock: FrozenClock,
    database: Database,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
) -> Iterator[Services]:
    """Services wired to the fake providers, reminding 12 hours before: 22:00 for 10:00."""
    built = wire(
        settings,
        clock,
        database,
        twilio,
        telegram,
        sms_per_second=100,
        telegram_per_chat_per_second=100,
        reminder_offsets=("PT12H",),
    )
    yield built
    built.close()


def test_a_reminder_set_for_22_00_goes_out_at_08_00(
    late: Services, clock: FrozenClock, twilio: FakeTwilio
) -> None:
    """Must show: through the pipeline to the fake Twilio, waiting out quiet hours until 08:00.

    A reminder asks a question, so it is written when it can be sent: what the person writes
    in the night is not taken as the answer to a question they have not seen.
    """
    clock.now = local(2026, 11, 20, 15, 0)
    say(late, PHONE, "events")
    say(late, PHONE, "2")  # get reminders
    say(late, PHONE, "1")  # of every event
    assert "We will remind you before each event" in twilio.sent_to(PHONE)[-1].body
    schedule(late, local(2026, 11, 26, 10, 0))
    assert late.reminders is not None
    before = len(twilio.sent_to(PHONE))

    clock.now = local(2026, 11, 25, 21, 59)
    assert late.reminders.run() == 0  # not yet due
    clock.now = local(2026, 11, 25, 22, 0)
    assert late.reminders.run() == 0  # due, but in quiet hours: nothing is written yet
    late.sweeper.run()
    assert len(twilio.sent_to(PHONE)) == before

    clock.now = local(2026, 11, 26, 7, 59)
    assert late.reminders.run() == 0
    clock.now = local(2026, 11, 26, 8, 0)
    assert late.reminders.run() == 1
    assert late.reminders.run() == 0  # each address once, however often the job runs
    late.sweeper.run()
    [reminder] = twilio.sent_to(PHONE)[before:]
    assert reminder.body == (
        "Reminder: Carers forum, Thursday 26 November, 10:00, at Town Hall, 160 Whitechapel "
        "Road. Will you come?\n1 Yes\n2 No"
    )
    with late.database.session() as session:
        row = session.scalars(select(Message).where(Message.dedupe_key.is_not(None))).one()
        assert (row.status, row.dedupe_key) == ("sent", "event:1:reminder:PT12H")
        assert row.created_at == local(2026, 11, 26, 8, 0)
    say(late, PHONE, "yes")
    assert rsvps(late.database) == [(1, "yes")]
    # Then, never asked before, their access needs (tests/bot/outreach/test_access.py).
    assert "we look forward to seeing you" in twilio.sent_to(PHONE)[-2].body


def test_what_a_person_writes_in_the_night_is_not_taken_as_an_rsvp(
    late: Services, clock: FrozenClock, twilio: FakeTwilio
) -> None:
    clock.now = local(2026, 11, 20, 15, 0)
    say(late, PHONE, "events")
    say(late, PHONE, "2")  # get reminders
    say(late, PHONE, "1")  # of every event
    schedule(late, local(2026, 11, 26, 10, 0))
    assert late.reminders is not None
    clock.now = local(2026, 11, 25, 22, 0)
    late.reminders.run()

    # At 23:00 they choose 1 from the menu, a complaint: not a yes to an unseen question.
    clock.now = local(2026, 11, 25, 23, 0)
    say(late, PHONE, "1")
    assert rsvps(late.database) == []
    assert "Which service is it about?" in twilio.sent_to(PHONE)[-1].body

    # In the morning they are half-way through that complaint: the reminder does not
    # interrupt it with a question, it only tells them.
    before = len(twilio.sent_to(PHONE))
    clock.now = local(2026, 11, 26, 8, 0)
    assert late.reminders.run() == 1
    late.sweeper.run()
    [reminder] = twilio.sent_to(PHONE)[before:]
    assert reminder.body == (
        "Reminder: Carers forum, Thursday 26 November, 10:00, at Town Hall, 160 Whitechapel Road."
    )
    # Their complaint is left where it was: it still expires counting from 23:00.
    with late.database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.flow, conversation.updated_at) == (
            "complaint",
            local(2026, 11, 25, 23, 0),
        )


def test_a_yes_in_bengali_digits_is_an_rsvp(
    wired: Services, clock: FrozenClock, twilio: FakeTwilio
) -> None:
    """Must show: the reminder reaches a Bengali SMS user in Bengali; "১" records a yes."""
    clock.now = local(2026, 11, 20, 10, 0)
    say(wired, BENGALI_PHONE, "অনুষ্ঠান")  # events, in Bengali: sets the language too
    say(wired, BENGALI_PHONE, "২")  # reminders
    say(wired, BENGALI_PHONE, "৪")  # carer support
    event_id = schedule(wired, local(2026, 11, 27, 10, 0))
    schedule(wired, local(2026, 11, 27, 14, 0), topic="day_centre")  # not their topic
    clock.now = local(2026, 11, 20, 10, 30)  # seven days before: the first reminder

    assert wired.reminders is not None and wired.reminders.run() == 1
    reminder = twilio.sent_to(BENGALI_PHONE)[-1].body
    assert reminder.startswith("মনে করিয়ে দিচ্ছি: কেয়ারার ফোরাম, শুক্রবার ২৭ নভেম্বর, ১০:০০")
    assert reminder.endswith("\n১ হ্যাঁ\n২ না")

    say(wired, BENGALI_PHONE, "১")
    assert rsvps(wired.database) == [(event_id, "yes")]
    assert "ধন্যবাদ" in twilio.sent_to(BENGALI_PHONE)[-2].body
    # Changing their mind at the next reminder: the latest answer counts.
    clock.now = local(2026, 11, 26, 10, 0)
    assert wired.reminders.run() == 1
    say(wired, BENGALI_PHONE, "না")
    assert rsvps(wired.database) == [(event_id, "no")]


def test_changes_and_cancellations_reach_those_coming_once(bot: Bot, services: Services) -> None:
    clock = services.clock
    event_id = schedule(services, clock() + timedelta(days=3))
    coming, not_coming = "+447700900001", "+447700900002"
    for phone in (coming, not_coming):
        bot.receive(phone, "events")
        bot.receive(phone, "2")
        bot.receive(phone, "1")
    assert services.reminders is not None and services.reminders.run() == 2
    bot.receive(coming, "1")
    bot.receive(not_coming, "2")
    assert sorted(rsvps(services.database)) == [(event_id, "no"), (event_id, "yes")]

    with services.database.session() as session:
        event = session.get_one(Consultation, event_id)
        same_place = details(event.start_at, titles={"en": "Carers forum (new name)"})
        assert update_event(session, event, same_place, clock(), LONDON) == []  # nothing moved
        later = details(event.start_at + timedelta(hours=1))
        notices = update_event(session, event, later, clock(), LONDON)
        assert [(n.template, n.dedupe_key) for n in notices] == [(CHANGED, "event:1:change:2")]
        ids = [n.id for n in notices]
    services.queue.enqueue(ids)
    assert "Change to an event: Carers forum is now Saturday 21 November, 11:00" in bot.replies[-1]
    with services.database.session() as session:
        event = session.get_one(Consultation, event_id)
        notices = cancel_event(session, event, clock(), LONDON)
        assert [(n.template, n.dedupe_key) for n in notices] == [(CANCELLED, "event:1:cancel")]
        ids = [n.id for n in notices]
        assert cancel_event(session, event, clock(), LONDON) == []
        assert (event.status, event.sequence) == ("cancelled", 3)
    services.queue.enqueue(ids)
    assert bot.replies[-1] == "Sorry, Carers forum on Saturday 21 November, 11:00 is cancelled."
    with services.database.session() as session:
        to_coming = session.scalar(
            select(func.count()).select_from(Message).join(Address).where(Address.address == coming)
        )
        to_not_coming = session.scalar(
            select(func.count())
            .select_from(Message)
            .join(Address)
            .where(Address.address == not_coming, Message.dedupe_key.like("event:1:c%"))
        )
    assert to_not_coming == 0 and to_coming


def test_the_next_events_and_the_calendar_link(bot: Bot, services: Services) -> None:
    assert bot.conversation(PHONE, "events", "1")[-1] == (
        "There are no events planned yet.\nSend 0 for the menu."
    )
    clock = services.clock
    for days in (5, 2, 9):
        schedule(services, clock() + timedelta(days=days), titles={"en": f"Forum in {days} days"})
    assert bot.conversation(PHONE, "events", "1")[-1] == (
        "Friday 20 November, 10:00, Forum in 2 days\n"
        "Monday 23 November, 10:00, Forum in 5 days\n"
        "Send 0 for the menu."
    )
    link = bot.conversation(PHONE, "events", "3")[-1]
    with services.database.session() as session:
        token = session.scalars(
            select(Contact.calendar_token).join(Address).where(Address.address == PHONE)
        ).one()
    assert token is not None and len(token) == 22
    assert (
        link == f"Add our events to your phone calendar: http://127.0.0.1:5000/events/{token}.ics"
    )
    # Asked again, the same link.
    assert bot.conversation(PHONE, "events", "3")[-1] == link


def test_a_reminder_does_not_interrupt_someone_half_way(bot: Bot, services: Services) -> None:
    bot.conversation(PHONE, "events", "2", "1")
    bot.conversation(PHONE, "complaint", "1")  # half-way through a complaint
    schedule(services, services.clock() + timedelta(hours=20))
    assert services.reminders is not None and services.reminders.run() == 1
    assert bot.replies[-1] == (
        "Reminder: Carers forum, Thursday 19 November, 06:00, at Town Hall, 160 Whitechapel Road."
    )
    with services.database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.flow, conversation.node) == ("complaint", "what_happened")
    # A "1" now is still part of their complaint, not an answer to the reminder.
    bot.receive(PHONE, "1")
    assert rsvps(services.database) == []


def test_an_unanswered_reminder_ends_quietly(bot: Bot, services: Services) -> None:
    clock: FrozenClock = services.clock  # type: ignore[assignment]
    bot.conversation(PHONE, "events", "2", "1")
    schedule(services, clock() + timedelta(days=6))
    assert services.reminders is not None and services.reminders.run() == 1
    sent = len(bot.replies)
    clock.advance(timedelta(days=4))
    assert services.runner.expire_stale() == 0
    assert len(bot.replies) == sent
    with services.database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.flow, conversation.node) == ("menu", "main")


def test_no_reminders_for_people_who_said_no_stopped_or_follow_another_topic(
    bot: Bot, services: Services
) -> None:
    clock = services.clock
    event_id = schedule(services, clock() + timedelta(days=3), topic="home_care")
    bot.conversation("+447700900001", "events", "2", "2")  # home care: reminded
    bot.conversation("+447700900002", "events", "2", "3")  # day centre: not
    bot.conversation("+447700900003", "events", "2", "1", "STOP")  # stopped: not
    bot.conversation("+447700900004", "events", "2", "1")  # said no before: not
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == "+447700900004")).one()
        session.add(
            Rsvp(
                event_id=event_id,
                contact_id=address.contact_id,
                address_id=address.id,
                answer="no",
                answered_at=clock(),
            )
        )
        assert session.scalar(select(func.count()).select_from(EventSubscription)) == 4
    assert services.reminders is not None and services.reminders.run() == 1
    with services.database.session() as session:
        reminded = session.scalars(
            select(Address.address).join(Message).where(Message.dedupe_key.is_not(None))
        ).all()
    assert reminded == ["+447700900001"]
    # An event for every topic reaches every subscriber who may hear from us.
    general = schedule(services, clock() + timedelta(days=4), topic=None)
    assert services.reminders.run() == 3
    with services.database.session() as session:
        reminded = session.scalars(
            select(Address.address)
            .join(Message)
            .where(Message.dedupe_key == f"event:{general}:reminder:P7D")
            .order_by(Address.address)
        ).all()
    assert reminded == ["+447700900001", "+447700900002", "+447700900004"]


def test_only_the_nearest_reminder_due_is_sent(database: Database, clock: FrozenClock) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.keys: list[str] = []

        def prompt(self, address_id: int, *args: object) -> list[int]:
            self.keys.append(str(args[-1]))
            return [1]

    recorder = Recorder()
    reminders = Reminders(database, recorder, clock, ("P7D", "P1D"), LONDON)
    with database.session() as session:
        create_event(session, details(clock() + timedelta(hours=30)), None, clock())
        address = Address(channel="sms", address=PHONE, created_at=clock())
        address.contact = Contact(created_at=clock())
        session.add(address)
        session.flush()
        session.add(
            EventSubscription(
                contact_id=address.contact_id, address_id=address.id, created_at=clock()
            )
        )
    # Scheduled 30 hours ahead: the seven-day reminder is due (late), the one-day not yet.
    assert reminders.run() == 1 and recorder.keys == ["event:1:reminder:P7D"]
    clock.advance(timedelta(hours=7))
    assert reminders.run() == 1 and recorder.keys[-1] == "event:1:reminder:P1D"


def test_reminder_offsets_read_as_iso_durations_or_short_forms() -> None:
    assert _offsets("P7D,P1D") == _offsets("7d, 1d") == ("P7D", "P1D")
    assert _offsets("1d,PT12H,90m") == ("P1D", "PT12H", "PT1H30M")
    assert parse_offset("P1DT6H") == timedelta(hours=30)
    assert iso_offset(timedelta(hours=30)) == "P1DT6H"
    assert load({"KOTHA_SECRET_KEY": "x"}).reminder_offsets == ("P7D", "P1D")
    assert load({"KOTHA_SECRET_KEY": "x", "KOTHA_REMINDER_OFFSETS": "2d"}).reminder_offsets == (
        "P2D",
    )
    for bad in ("seven days", "P", "PT", "0d", ""):
        with pytest.raises(ValueError, match="KOTHA_REMINDER_OFFSETS"):
            _offsets(bad)


def test_festivals_next_to_a_day_are_named() -> None:
    """Must show: Diwali 2026 is Sunday 8 November; Monday the 9th is next to it."""
    assert describe(clashes(datetime(2026, 11, 9).date())) == ["Diwali (Sunday 8 November 2026)"]
    assert clashes(datetime(2026, 11, 18).date()) == []
    names = {festival.name for festival in festivals_in(2026)}
    assert {
        "Eid al-Fitr",
        "Eid al-Adha",
        "Diwali",
        "Vaisakhi",
        "Christmas Day",
        "Easter Sunday",
        "Good Friday",
        "Rosh Hashanah",
        "Yom Kippur",
        "Chinese New Year",
        "Pohela Boishakh (Bengali New Year)",
    } <= names
    # Secular holidays are not festivals.
    assert not names & {"Independence Day", "May Day", "Spring Bank Holiday", "Victory Day"}
    # A three-day Eid is named once, from its first day; an event across New Year's Eve
    # looks into both years.
    assert describe(clashes(datetime(2026, 3, 22).date())) == [
        "Eid al-Fitr (Saturday 21 March 2026)"
    ]
    assert describe(clashes(datetime(2026, 12, 24).date(), datetime(2027, 1, 2).date())) == [
        "Christmas Day (Friday 25 December 2026)"
    ]


def test_export_events_with_attendance(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = services.clock
    event_id = schedule(services, clock() + timedelta(days=3), capacity=40)
    with services.database.session() as session:
        for number, answer in enumerate(("yes", "yes", "no")):
            address = Address(channel="sms", address=f"+4477009000{number}", created_at=clock())
            address.contact = Contact(created_at=clock())
            session.add(address)
            session.flush()
            session.add(
                Rsvp(
                    event_id=event_id,
                    contact_id=address.contact_id,
                    address_id=address.id,
                    answer=answer,
                    answered_at=clock(),
                )
            )
    monkeypatch.setattr(export, "load_services", lambda **kwargs: services)
    assert cli.main(["export", "events", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["title"] == "Carers forum" and row["titles"]["bn"] == "কেয়ারার ফোরাম"
    assert (row["attending"], row["not_attending"], row["capacity"]) == (2, 1, 40)
    assert row["start_at"] == "2026-11-21T10:00:00+00:00"
    assert "+447700900" not in json.dumps(row)
    assert cli.main(["export", "events", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,title,titles,start_at,end_at,place")
    assert lines[1].endswith(",scheduled,0,2,1")


def test_each_queue_consumer_runs_the_reminders_every_minute(
    settings: Settings, database: Database, clock: FrozenClock
) -> None:
    built = build_services(settings, database=database, clock=clock, queue="huey")
    assert built.huey is not None
    for minute in (0, 7, 59):
        due = built.huey.read_periodic(datetime(2026, 11, 18, 10, minute))
        assert "kotha.event_reminders" in [task.name for task in due]
    built.close()
