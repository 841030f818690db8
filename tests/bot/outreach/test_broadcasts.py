"""Broadcasts: who a segment reaches, each person's language, batches, cancelling, schedules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.outreach.broadcasts import (
    STOP_LINE,
    BroadcastError,
    Broadcasts,
    parse_segment,
    preview,
)
from bot.services import Services
from flows.scripts import to_syloti_nagri
from storage.models import (
    Address,
    Broadcast,
    Contact,
    Conversation,
    Feedback,
    Interest,
    Message,
    SurveyResponse,
)
from tests.conftest import Bot, FrozenClock
from tests.storage.rows import yes_to_broadcasts

TEXTS = {"en": "The day centre opens on Saturdays from May.", "bn": "মে থেকে শনিবার ডে সেন্টার খোলা।"}


def person(
    services: Services,
    address: str,
    *,
    channel: str = "sms",
    language: str | None = "en",
    staff: bool = False,
    stopped: bool = False,
    chose: bool = True,
) -> int:
    """Add a contact with one address (who said yes to broadcasts unless `chose` is False);
    return the address id."""
    now = services.clock()
    with services.database.session() as session:
        contact = Contact(language=language, staff=staff, created_at=now)
        row = Address(contact=contact, channel=channel, address=address, created_at=now)
        if stopped:
            row.stopped_at, row.stopped_by = now, "person"
        session.add(row)
        if chose:
            yes_to_broadcasts(session, contact, now)
        session.flush()
        return row.id


def feedback(services: Services, address_id: int, reference: str, **fields: str) -> int:
    with services.database.session() as session:
        address = session.get_one(Address, address_id)
        row = Feedback(
            reference=reference,
            kind="comment",
            status="received",
            language=address.contact.language or "en",
            channel=address.channel,
            contact_id=address.contact_id,
            address_id=address_id,
            created_at=services.clock(),
            **fields,
        )
        session.add(row)
        session.flush()
        return row.id


class Collecting:
    """A queue that only remembers what it was given, so a test decides when rows go."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self, ids: Iterable[int]) -> None:
        self.ids.extend(ids)


def held_back(services: Services, batch_size: int = 3) -> tuple[Broadcasts, Collecting]:
    queue = Collecting()
    broadcasts = Broadcasts(
        services.database,
        services.i18n,
        services.flows,
        services.settings,
        services.clock,
        queue,
        batch_size=batch_size,
    )
    return broadcasts, queue


def create(
    services: Services, broadcasts: Broadcasts, segment: dict[str, object], **kw: object
) -> int:
    with services.database.session() as session:
        texts = kw.pop("texts", TEXTS)
        row = broadcasts.create(session, title="Saturdays", texts=texts, segment=segment, **kw)  # type: ignore[arg-type]
        return row.id


def recipients(services: Services, broadcast_id: int) -> dict[int, Message]:
    with services.database.session() as session:
        rows = session.scalars(select(Message).where(Message.broadcast_id == broadcast_id))
        return {row.address_id: row for row in rows}


def test_all_subscribers_leaves_out_staff_and_people_who_stopped(services: Services) -> None:
    everyone = [person(services, f"+4477009000{i:02d}") for i in range(7)]
    staff = person(services, "+447700900100", staff=True)
    stopped = person(services, "+447700900101", stopped=True)
    broadcasts, queue = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"})
    assert broadcasts.launch(broadcast_id) == 7
    rows = recipients(services, broadcast_id)
    assert set(rows) == set(everyone)
    assert staff not in rows and stopped not in rows
    assert sorted(queue.ids) == sorted(row.id for row in rows.values())
    with services.database.session() as session:
        broadcast = session.get_one(Broadcast, broadcast_id)
        assert (broadcast.status, broadcast.recipients) == ("sent", 7)
        assert broadcast.fanout_after == max(everyone)


def test_a_fan_out_run_again_writes_nobody_twice(services: Services) -> None:
    for i in range(10):
        person(services, f"+4477009000{i:02d}")
    broadcasts, queue = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"})
    broadcasts.launch(broadcast_id)
    # As if a worker died after writing but before recording how far it got.
    with services.database.session() as session:
        broadcast = session.get_one(Broadcast, broadcast_id)
        broadcast.status, broadcast.fanout_after = "sending", 0
    assert broadcasts.fan_out(broadcast_id) == 0
    with services.database.session() as session:
        count = session.scalar(select(func.count()).where(Message.broadcast_id == broadcast_id))
    assert count == 10 and len(queue.ids) == 10


def test_segments_by_language_channel_topic_service_and_opportunity(services: Services) -> None:
    bengali = person(services, "+447700900001", language="bn")
    unknown = person(services, "+447700900002", language=None)
    english = person(services, "+447700900003", channel="telegram")
    topical = person(services, "+447700900004")
    feedback(services, topical, "KT1", topic="transport", service="home_care")
    interested = person(services, "+447700900005")
    with services.database.session() as session:
        address = session.get_one(Address, interested)
        session.add(
            Interest(
                opportunity="carers-panel",
                language="en",
                channel="sms",
                contact_id=address.contact_id,
                address_id=interested,
                created_at=services.clock(),
            )
        )
    broadcasts, _ = held_back(services)

    def reached(*pairs: str) -> set[int]:
        broadcast_id = create(services, broadcasts, parse_segment(pairs))
        broadcasts.launch(broadcast_id)
        return set(recipients(services, broadcast_id))

    assert reached("language=bn") == {bengali}
    assert reached("language=en") == {unknown, english, topical, interested}
    assert reached("channel=telegram") == {english}
    assert reached("topic=transport") == {topical}
    assert reached("service=home_care", "channel=sms") == {topical}
    assert reached("opportunity=carers-panel") == {interested}
    with pytest.raises(BroadcastError):
        parse_segment(["colour=blue"])


def test_each_person_reads_their_language_or_its_fallback(services: Services) -> None:
    ids = {
        code: person(services, f"+44770090000{i}", language=code)
        for i, code in enumerate(("en", "bn", "syl", "syl-Latn"))
    }
    broadcasts, _ = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"})
    broadcasts.launch(broadcast_id)
    rows = recipients(services, broadcast_id)
    i18n = services.i18n

    def by_sms(text: str, reader: str) -> str:
        """Every broadcast by SMS ends with how to stop, in the reader's own language."""
        return f"{text}\n{i18n.gettext(reader, STOP_LINE)}"

    assert rows[ids["bn"]].body == by_sms(TEXTS["bn"], "bn")
    assert rows[ids["bn"]].encoding == "UCS-2"
    # Sylheti falls back to Bengali, romanised Sylheti to English.
    assert (rows[ids["syl"]].body, rows[ids["syl"]].language) == (by_sms(TEXTS["bn"], "syl"), "bn")
    assert (rows[ids["syl-Latn"]].body, rows[ids["syl-Latn"]].language) == (
        by_sms(TEXTS["en"], "syl-Latn"),
        "en",
    )
    assert rows[ids["en"]].body == "The day centre opens on Saturdays from May.\n" + (
        "Send STOP to get no more messages."
    )
    assert rows[ids["en"]].encoding == "GSM-7" and rows[ids["en"]].segments == 1


def test_syloti_nagri_readers_get_the_sylheti_in_their_script_but_bengali_letters_by_sms(
    services: Services,
) -> None:
    sylheti = "শনিবার ডে সেন্টার খোলা থাকব"
    by_chat = person(services, "5550001", channel="telegram", language="syl-Sylo")
    by_sms = person(services, "+447700900011", language="syl-Sylo")
    broadcasts, _ = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"}, texts={**TEXTS, "syl": sylheti})
    broadcasts.launch(broadcast_id)
    rows = recipients(services, broadcast_id)
    # Only by SMS does it end with how to stop.
    assert rows[by_chat].body == to_syloti_nagri(sylheti)
    stop = services.i18n.gettext("syl", STOP_LINE)
    assert rows[by_sms].body == f"{sylheti}\n{stop}" and rows[by_sms].language == "syl"


def test_the_preview_counts_segments_recipients_and_cost(services: Services) -> None:
    person(services, "+447700900001", language="bn")
    person(services, "+447700900002", language="bn")
    person(services, "+447700900003", language="en")
    person(services, "123", channel="telegram", language="en")
    # Named by the segment, but not receiving it: counted apart, with why.
    person(services, "+447700900004", language="en", chose=False)
    person(services, "+447700900005", language="bn", chose=False)
    person(services, "+447700900006", language="en", stopped=True)
    long_bengali = "আ" * 100  # UCS-2: 100 units, two segments of 67
    with services.database.session() as session:
        shown = preview(
            session,
            services.i18n,
            services.flows,
            services.settings,
            {"en": "Hello", "bn": long_bengali},
            {"kind": "all"},
            now=services.clock(),
        )
    assert shown.left_out == {"not-chosen": 2, "opted-out": 1}
    lines = {line.text.code: line for line in shown.lines}
    assert lines["bn"].text.cost.segments == 2 and lines["bn"].text.cost.encoding == "UCS-2"
    assert lines["bn"].recipients == {"sms": 2}
    assert lines["bn"].cost == Decimal("0.16")
    assert lines["en"].recipients == {"sms": 1, "telegram": 1}
    assert lines["en"].cost == Decimal("0.04")  # Telegram costs nothing per message
    assert lines["syl"].text.fallback and lines["syl"].text.source == "bn"
    assert shown.recipients == 4 and shown.cost == Decimal("0.20")


def test_the_default_language_text_is_required(services: Services) -> None:
    broadcasts, _ = held_back(services)
    with pytest.raises(BroadcastError, match="English"):
        create(services, broadcasts, {"kind": "all"}, texts={"bn": TEXTS["bn"]})


def test_cancelling_part_way_stops_everyone_not_yet_sent(services: Services) -> None:
    for i in range(10):
        person(services, f"+4477009000{i:02d}")
    broadcasts, queue = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"})
    broadcasts.launch(broadcast_id)
    for message_id in queue.ids[:4]:
        services.dispatcher.deliver(message_id)
    assert broadcasts.cancel(broadcast_id) == 6
    for message_id in queue.ids:  # the queue still holds every job: they find nothing to do
        services.dispatcher.deliver(message_id)
    sent = services.sender.sent  # type: ignore[attr-defined]
    assert len(sent) == 4
    statuses = [row.status for row in recipients(services, broadcast_id).values()]
    assert sorted(statuses) == ["cancelled"] * 6 + ["delivered"] * 4


def test_the_claim_refuses_a_row_of_a_broadcast_cancelled_under_it(services: Services) -> None:
    person(services, "+447700900001")
    broadcasts, queue = held_back(services)
    broadcast_id = create(services, broadcasts, {"kind": "all"})
    broadcasts.launch(broadcast_id)
    with services.database.session() as session:
        # Cancelled between the cancel's bulk update and this row's claim.
        session.get_one(Broadcast, broadcast_id).status = "cancelled"
    outcome = services.dispatcher.deliver(queue.ids[0])
    assert (outcome.status, outcome.reason) == ("cancelled", "broadcast-cancelled")
    assert services.sender.sent == []  # type: ignore[attr-defined]


def test_a_scheduled_broadcast_starts_when_its_time_comes(
    services: Services, clock: FrozenClock
) -> None:
    person(services, "+447700900001")
    assert services.broadcasts is not None
    broadcast_id = create(services, services.broadcasts, {"kind": "all"})
    services.broadcasts.schedule(broadcast_id, clock.now + timedelta(hours=1))
    services.sweeper.run()
    assert services.sender.sent == []  # type: ignore[attr-defined]
    clock.advance(timedelta(hours=1))
    services.sweeper.run()
    sent = [m.text for m in services.sender.sent]  # type: ignore[attr-defined]
    assert sent == [f"{TEXTS['en']}\nSend STOP to get no more messages."]


def test_quiet_hours_hold_a_broadcast_until_morning(services: Services, clock: FrozenClock) -> None:
    person(services, "+447700900001")
    clock.now = clock.now.replace(hour=22)
    assert services.broadcasts is not None
    broadcast_id = create(services, services.broadcasts, {"kind": "all"})
    services.broadcasts.launch(broadcast_id)
    [row] = recipients(services, broadcast_id).values()
    assert (row.status, row.reason) == ("held", "quiet-hours")


def test_a_survey_broadcast_walks_people_through_the_survey(services: Services, bot: Bot) -> None:
    person(services, "+447700900001", language="en")
    assert services.broadcasts is not None
    broadcast_id = create(
        services, services.broadcasts, {"kind": "all"}, survey="survey-have-your-say"
    )
    services.broadcasts.launch(broadcast_id)
    [first] = bot.replies
    assert first.startswith(TEXTS["en"]) and "How happy are you" in first
    bot.conversation("+447700900001", "1", "3", "2", "SKIP")
    with services.database.session() as session:
        response = session.scalars(select(SurveyResponse)).one()
    assert response.survey == "have-your-say"
    assert response.answers["satisfaction"] == 5 and response.complete


def test_a_survey_broadcast_does_not_interrupt_someone_part_way_through(
    services: Services, bot: Bot
) -> None:
    bot.conversation("+447700900001", "hello", "1", "1")  # English, then a complaint
    with services.database.session() as session:
        yes_to_broadcasts(session, session.scalars(select(Contact)).one(), services.clock())
    with services.database.session() as session:
        before = session.scalars(select(Conversation)).one()
        flow, node = before.flow, before.node
    assert flow == "complaint"
    assert services.broadcasts is not None
    broadcast_id = create(
        services, services.broadcasts, {"kind": "all"}, survey="survey-have-your-say"
    )
    services.broadcasts.launch(broadcast_id)
    assert "How happy are you" in bot.replies[-1]
    with services.database.session() as session:
        after = session.scalars(select(Conversation)).one()
        assert (after.flow, after.node) == (flow, node)


def test_the_stop_line_is_counted_in_the_previews_segments(services: Services) -> None:
    person(services, "+447700900001", language="en")
    almost_full = "x" * 150  # one GSM-7 segment alone; two once it says how to stop
    with services.database.session() as session:
        shown = preview(
            session,
            services.i18n,
            services.flows,
            services.settings,
            {"en": almost_full},
            {"kind": "all"},
            now=services.clock(),
        )
    english = next(line for line in shown.lines if line.text.code == "en")
    assert english.text.sms_text == f"{almost_full}\nSend STOP to get no more messages."
    assert english.text.cost.segments == 2
    assert shown.cost == 2 * services.settings.sms_segment_price
