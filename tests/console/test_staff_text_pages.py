"""What staff write reaches people well, through the real app: SMS-safe, in their language,
priced before it goes, worded for its kind, and refused clearly when it cannot go."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework.cases import AWAITING_TRANSLATION, PASSED_ON
from bot.services import Services
from storage.models import (
    Address,
    AuditEvent,
    Broadcast,
    CaseEvent,
    Consultation,
    Contact,
    Feedback,
    Message,
    YouSaidItem,
)
from tests.conftest import FrozenClock
from tests.console import test_access
from tests.console.sending import NOT_SENT, post_seen, previewed
from tests.console.test_access import sign_in, token
from tests.console.test_calendar import form as calendar_form
from tests.console.test_cases import PERSON, add
from tests.console.test_involvement import interest
from tests.storage.rows import yes_to_broadcasts

_quick_hashes = test_access._quick_hashes
app = test_access.app
client = test_access.client

# The issue's broadcast, typed the way a word processor types it.
ISSUE_BROADCAST = (
    "You said the day centre should open at weekends \u2013 we\u2019ve listened. From 5 "
    "January it\u2019s open on Saturdays, 10am to 3pm. Thank you."
)
# The issue's case note: Sylheti in Bengali script, then English, in one message.
MIXED_NOTE = (
    "আফনার নালিশ লইয়া খবর: কুনু ভুল পাইছি না। We checked the visit records and the carer arrived on time."
)
BENGALI_NOTE = "আমরা ভিজিটের রেকর্ড দেখেছি, কেয়ারার সময়মতো এসেছিলেন।"
ENGLISH_NOTE = "We checked the visit records and the carer arrived on time."


@pytest.fixture
def staff(client: FlaskClient) -> FlaskClient:
    assert sign_in(client, "staff@example.org") == 302
    return client


def post_status(
    client: FlaskClient, reference: str, *, seen: bool = True, **fields: str
) -> tuple[int, str]:
    """Change a case's status as staff do: `seen`, having seen the message first (the first
    submit shows it); not `seen`, the first submit alone."""
    form = {"status": "in_progress", "tell": "yes", "csrf_token": token(client, "/console/")}
    url = f"/console/cases/{reference}/status"
    data = {**form, **fields}
    response = post_seen(client, url, data) if seen else client.post(url, data=data)
    if response.status_code == 302:
        return 302, client.get(response.location).text
    return response.status_code, response.text


def case_state(services: Services, reference: str) -> tuple[str, int, int]:
    """The case's status, and how many history entries and outbound messages it has."""
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.reference == reference)).one()
        events = len(session.scalars(select(CaseEvent.id)).all())
        messages = len(
            session.scalars(select(Message.id).where(Message.feedback_id == feedback.id)).all()
        )
        return feedback.status, events, messages


def set_language(services: Services, language: str) -> None:
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == PERSON)).one()
        address.contact.language = language


# --- Bad input: a clear message, nothing changed, nothing sent -------------------------------


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("x" * 5_000, "The note must be 1,600 characters or fewer (it has 5,000)"),
        ("আমরা দেখেছি 👍", "Take the emoji out of the note"),
        ("Sorted \U0001f600", "Take the emoji out of the note"),
    ],
    ids=["5000 characters", "emoji in Bengali", "emoji in English"],
)
def test_a_note_that_cannot_go_changes_nothing_and_says_why(
    staff: FlaskClient, services: Services, clock: FrozenClock, note: str, said: str
) -> None:
    add(services, "C-610001", clock.now)
    status, page = post_status(staff, "C-610001", note=note)
    assert status == 400 and said in page
    assert case_state(services, "C-610001") == ("received", 0, 0)
    assert services.sender.sent == []  # type: ignore[attr-defined]


def test_an_outcome_change_with_emoji_is_refused_and_changes_nothing(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-610002", clock.now)
    form = {
        "outcome": "change_made",
        "change": "নতুন সময় 🎉",
        "tell_outcome": "yes",
        "csrf_token": token(staff, "/console/"),
    }
    response = staff.post("/console/cases/C-610002/outcome", data=form)
    assert response.status_code == 400 and "Take the emoji out of the change" in response.text
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.reference == "C-610002")).one()
        assert feedback.outcome is None
    assert case_state(services, "C-610002") == ("received", 0, 0)


def test_an_empty_note_is_no_note_and_the_status_alone_is_told(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-610003", clock.now)
    status, page = post_status(staff, "C-610003", note="   ")
    assert status == 302 and "Status changed to in progress" in page
    assert case_state(services, "C-610003") == ("in_progress", 1, 1)


# --- In the person's language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "why"),
    [
        (MIXED_NOTE, "it mixes Bengali script and Latin letters"),
        (ENGLISH_NOTE, "it is written in Latin letters and they read Bengali"),
    ],
    ids=["mixed scripts", "English to a Bengali reader"],
)
def test_a_note_not_in_their_language_is_held_then_sent_when_translated(
    staff: FlaskClient, services: Services, clock: FrozenClock, note: str, why: str
) -> None:
    add(services, "C-620001", clock.now)  # the person reads Bengali
    preview = post_status(staff, "C-620001", note=note, seen=False)[1]
    assert "This will be held awaiting translation: " + why in preview
    assert case_state(services, "C-620001") == ("received", 0, 0)

    status, page = post_status(staff, "C-620001", note=note)

    assert status == 302 and "held: awaiting translation" in page
    assert case_state(services, "C-620001") == ("in_progress", 1, 1)
    assert services.sender.sent == []  # type: ignore[attr-defined]
    with services.database.session() as session:
        held = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert (held.status, held.reason) == ("held", AWAITING_TRANSLATION)
        assert held.params is not None and held.params["note"] == note
        message_id = held.id
    listing = staff.get("/console/translations").text
    assert "C-620001" in listing and "a reader of Bengali" in listing
    assert note.split()[0] in listing

    # Given again in English, it is still not their language: refused, still held.
    form = {"text": ENGLISH_NOTE, "csrf_token": token(staff, "/console/translations")}
    refused = staff.post(f"/console/translations/{message_id}", data=form)
    assert refused.status_code == 400 and "not in their language" in refused.text
    assert services.sender.sent == []  # type: ignore[attr-defined]

    form["text"] = BENGALI_NOTE
    given = post_seen(staff, f"/console/translations/{message_id}", form)
    assert given.status_code == 302
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert sent.text.endswith(BENGALI_NOTE) and "We checked" not in sent.text
    assert "No messages are awaiting translation." in staff.get("/console/translations").text
    with services.database.session() as session:
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "message.translated")
        ).one()
        assert audit.target_id == str(message_id)
        # The history keeps what staff first wrote.
        assert session.scalars(select(CaseEvent.note)).one() == note
    # A second translation of the same message is refused: it has gone.
    again = staff.post(f"/console/translations/{message_id}", data=form)
    assert again.status_code == 400 and "no longer awaiting a translation" in again.text


def test_a_note_in_their_language_goes_at_once(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-620002", clock.now)
    status, page = post_status(staff, "C-620002", note=BENGALI_NOTE)
    assert status == 302 and "is delivered" in page
    assert services.sender.sent[-1].text.endswith(BENGALI_NOTE)  # type: ignore[attr-defined]


def test_the_reply_form_offers_saved_replies_in_their_language_with_their_cost(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-620003", clock.now)
    with services.database.session() as session:
        address_id = session.scalars(select(Address.id).where(Address.address == PERSON)).one()
    page = staff.get(f"/console/conversations/{address_id}").text
    assert "আমাদের জানানোর জন্য ধন্যবাদ।" in page  # the saved reply, in Bengali
    assert "(UCS-2), £0.0" in page and "Write my own reply, in the language they read" in page


# --- SMS-safe, priced, confirmed when long -----------------------------------------------------


def test_a_reply_is_made_sms_safe_and_previewed_with_what_changed(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-630001", clock.now)
    set_language(services, "en")
    with services.database.session() as session:
        address_id = session.scalars(select(Address.id).where(Address.address == PERSON)).one()
    typed = "We\u2019ll call you on Monday \u2013 \u201cafter 10am\u201d\u2026"
    form = {"reply": "own", "text": typed, "csrf_token": token(staff, "/console/")}
    url = f"/console/conversations/{address_id}/reply"

    preview = staff.post(url, data=form)

    assert preview.status_code == 200
    assert "3 curly quotes, 1 dash and 1 ellipsis replaced" in preview.text
    assert "1 text message (GSM-7), £0.04" in preview.text
    assert services.sender.sent == []  # type: ignore[attr-defined]
    sending = {**form, "previewed": previewed(preview.text)}
    assert staff.post(url, data=sending).status_code == 302
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert sent.text == 'We\'ll call you on Monday - "after 10am"...'


def test_a_long_note_asks_to_confirm_before_anything_changes(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-630002", clock.now)
    long_note = "আমরা আপনার অভিযোগ খুব মন দিয়ে দেখেছি। " * 8  # about 300 letters: 5 UCS-2 parts
    status, page = post_status(staff, "C-630002", note=long_note, seen=False)
    assert status == 200 and "I want to send a message of more than 3 text messages" in page
    assert re.search(r"[4-9] text messages \(UCS-2\), £0\.\d\d", page)
    assert case_state(services, "C-630002") == ("received", 0, 0)
    # Seen, but not confirmed: still nothing.
    seen = previewed(page)
    status, page = post_status(staff, "C-630002", seen=False, note=long_note, previewed=seen)
    assert status == 200 and case_state(services, "C-630002") == ("received", 0, 0)

    status, page = post_status(staff, "C-630002", note=long_note, confirm_long="yes")
    assert status == 302 and case_state(services, "C-630002") == ("in_progress", 1, 1)


# --- Seen before it is sent -------------------------------------------------------------------


def _outbound(services: Services) -> list[tuple[int, str]]:
    with services.database.session() as session:
        rows = session.execute(
            select(Message.id, Message.status).where(Message.direction == "out")
        ).all()
        return [(row.id, row.status) for row in rows]


def _sending_form(
    staff: FlaskClient, services: Services, clock: FrozenClock, which: str
) -> tuple[str, dict[str, str], str]:
    """A form that sends staff's words to a Bengali reader: its URL, its fields, and the
    field holding the words."""
    add(services, "C-650001", clock.now)
    with services.database.session() as session:
        address_id = session.scalars(select(Address.id).where(Address.address == PERSON)).one()
    csrf = {"csrf_token": token(staff, "/console/")}
    if which == "status":
        fields = {"status": "in_progress", "tell": "yes", "note": BENGALI_NOTE}
        return "/console/cases/C-650001/status", {**csrf, **fields}, "note"
    if which == "outcome":
        fields = {"outcome": "change_made", "change": BENGALI_NOTE, "tell_outcome": "yes"}
        return "/console/cases/C-650001/outcome", {**csrf, **fields}, "change"
    if which == "reply":
        fields = {"reply": "own", "text": BENGALI_NOTE}
        return f"/console/conversations/{address_id}/reply", {**csrf, **fields}, "text"
    if which == "interest":
        made = interest(services, "+447700900409", "bn", timedelta(days=1))
        fields = {"reply": "own", "text": BENGALI_NOTE}
        return f"/console/involvement/{made}/reply", {**csrf, **fields}, "text"
    # A note in English to a Bengali reader is held; its translation is what is sent.
    assert post_status(staff, "C-650001", note=ENGLISH_NOTE)[0] == 302
    held = [id_ for id_, status in _outbound(services) if status == "held"]
    return f"/console/translations/{held[0]}", {**csrf, "text": BENGALI_NOTE}, "text"


@pytest.mark.parametrize("which", ["status", "outcome", "reply", "interest", "translation"])
def test_staff_see_exactly_what_is_sent_and_its_cost_before_it_goes(
    staff: FlaskClient, services: Services, clock: FrozenClock, which: str
) -> None:
    clock.now = clock.now.replace(hour=11)  # outside quiet hours
    url, form, words = _sending_form(staff, services, clock, which)
    before = _outbound(services)

    shown = staff.post(url, data=form)

    assert shown.status_code == 200 and NOT_SENT in shown.text
    assert BENGALI_NOTE in shown.text.split("What the person will receive")[1]
    assert re.search(r"\d text messages? \(UCS-2\), £0\.\d\d", shown.text)
    assert _outbound(services) == before
    # Changed after the preview: shown again, not sent.
    changed = {**form, words: BENGALI_NOTE + " ধন্যবাদ।", "previewed": previewed(shown.text)}
    again = staff.post(url, data=changed)
    assert again.status_code == 200 and "ধন্যবাদ।" in again.text.split("will receive")[1]
    assert previewed(again.text) != previewed(shown.text)
    # A digest not made by the page: shown again, not sent.
    forged = staff.post(url, data={**form, "previewed": "0" * 64})
    assert forged.status_code == 200 and NOT_SENT in forged.text
    assert _outbound(services) == before

    sent = staff.post(url, data={**form, "previewed": previewed(shown.text)})

    assert sent.status_code == 302
    went = [row for row in _outbound(services) if row not in before]
    assert went and all(status != "held" for _, status in went)
    assert services.sender.sent[-1].text.endswith(BENGALI_NOTE)  # type: ignore[attr-defined]


def test_a_change_that_tells_nobody_is_made_at_once(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-650002", clock.now)
    status, page = post_status(staff, "C-650002", seen=False, tell="", note="Visit checked")
    assert status == 302 and "Status changed to in progress." in page
    assert case_state(services, "C-650002") == ("in_progress", 1, 0)


# --- The right words for the kind --------------------------------------------------------------


def test_a_compliment_is_passed_on_not_closed(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-640001", clock.now, kind="compliment")
    status, _ = post_status(staff, "C-640001", status="closed")
    assert status == 302
    sent = services.sender.sent[-1]  # type: ignore[attr-defined]
    assert services.i18n.gettext("bn", PASSED_ON) in sent.text
    assert services.i18n.gettext("bn", "it is now closed.") not in sent.text


@pytest.mark.parametrize("decision", ["not_upheld", "resolved"])
def test_a_decided_complaint_tells_them_how_to_take_it_further(
    staff: FlaskClient, services: Services, clock: FrozenClock, decision: str
) -> None:
    add(services, "C-640002", clock.now)
    shown = post_status(staff, "C-640002", seen=False, status=decision)[1]
    # Two messages: each priced, and what they cost together.
    each = re.findall(r"(\d+) text messages? \(UCS-2\), £(\d\.\d\d)", shown)
    assert len(each) == 2
    in_all = f"In all: {sum(int(n) for n, _ in each)} text messages, £"
    assert in_all + f"{sum(float(p) for _, p in each):.2f}." in shown
    status, page = post_status(staff, "C-640002", status=decision)
    assert status == 302 and "How to take it further (the ombudsman) follows" in page
    update, further = services.sender.sent[-2:]  # type: ignore[attr-defined]
    assert "C-640002" in update.text
    assert "লোকাল গভর্নমেন্ট অ্যান্ড সোশ্যাল কেয়ার ওম্বাডসম্যান" in further.text
    assert further.text.endswith(services.settings.ombudsman_contact)


def test_a_comment_is_not_sent_the_ombudsman(
    staff: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    add(services, "C-640003", clock.now, kind="comment")
    status, _ = post_status(staff, "C-640003", status="not_upheld")
    assert status == 302 and len(services.sender.sent) == 1  # type: ignore[attr-defined]


# --- Broadcasts -------------------------------------------------------------------------------


def _people(services: Services) -> None:
    now = services.clock()
    with services.database.session() as session:
        for number, language in (("+447700900401", "en"), ("+447700900402", "bn")):
            contact = Contact(language=language, created_at=now)
            session.add(Address(contact=contact, channel="sms", address=number, created_at=now))
            yes_to_broadcasts(session, contact, now)


def test_the_issues_broadcast_is_one_gsm_segment_and_says_what_was_replaced(
    staff: FlaskClient, services: Services
) -> None:
    _people(services)
    form = {
        "csrf_token": token(staff, "/console/broadcasts/new"),
        "title": "Weekends",
        "text-en": ISSUE_BROADCAST,
        "when": "now",
        "action": "preview",
    }
    shown = staff.post("/console/broadcasts/new", data=form)
    assert shown.status_code == 200
    assert "2 curly quotes and 1 dash replaced to keep it a plain text message." in shown.text
    # The text alone is one GSM-7 segment (tests/bot/test_smssafe.py); by SMS it ends with
    # how to stop, which makes two GSM-7 segments: typed curly it was three UCS-2 ones.
    english_row = shown.text.split("kotha-replaced")[1].split("</tr>")[0]
    assert "GSM-7, 2 segments" in english_row
    fingerprint = shown.text.split('name="previewed" value="')[1].split('"')[0]
    sent = staff.post(
        "/console/broadcasts/new", data={**form, "action": "send", "previewed": fingerprint}
    )
    assert sent.status_code == 302
    for thread in threading.enumerate():
        if thread.name == "kotha-fanout":
            thread.join(timeout=30)
    with services.database.session() as session:
        broadcast = session.scalars(select(Broadcast).where(Broadcast.title == "Weekends")).one()
        assert "\u2019" not in broadcast.texts["en"] and "we've listened" in broadcast.texts["en"]


def test_a_broadcast_over_three_segments_asks_to_confirm(
    staff: FlaskClient, services: Services
) -> None:
    _people(services)
    long_text = "The day centre opens on Saturdays from January, 10am to 3pm. " * 9
    form = {
        "csrf_token": token(staff, "/console/broadcasts/new"),
        "title": "Long",
        "text-en": long_text,
        "when": "now",
        "action": "preview",
    }
    shown = staff.post("/console/broadcasts/new", data=form)
    assert "This is a long text message" in shown.text
    assert "English (4 text messages to 1 person)" in shown.text
    fingerprint = shown.text.split('name="previewed" value="')[1].split('"')[0]
    sending = {**form, "action": "send", "previewed": fingerprint}
    refused = staff.post("/console/broadcasts/new", data=sending)
    assert refused.status_code == 400 and "confirm you want to send it" in refused.text
    with services.database.session() as session:
        assert session.scalars(select(Broadcast).where(Broadcast.title == "Long")).all() == []
    confirmed = staff.post("/console/broadcasts/new", data={**sending, "confirm_long": "yes"})
    assert confirmed.status_code == 302
    for thread in threading.enumerate():
        if thread.name == "kotha-fanout":
            thread.join(timeout=30)


# --- Event details and "you said, we did" -------------------------------------------------------


def test_event_details_are_stored_sms_safe_and_staff_are_told(
    staff: FlaskClient, services: Services
) -> None:
    data = {
        **calendar_form(
            **{
                "date-day": "18",
                "date-month": "11",
                "title-en": "Carers\u2019 forum",
                "place": "Town Hall \u2013 Room\u00a01",
            }
        ),
        "csrf_token": token(staff, "/console/calendar/events/new"),
    }
    response = staff.post("/console/calendar/events/new", data=data)
    assert response.status_code == 302
    page = staff.get(response.location).text
    assert "1 curly quote, 1 dash and 1 special space replaced" in page
    with services.database.session() as session:
        event = session.scalars(
            select(Consultation).where(Consultation.place.startswith("Town Hall -"))
        ).one()
        assert event.titles["en"] == "Carers' forum" and event.place == "Town Hall - Room 1"
        assert event.titles["bn"] == "কেয়ারার ফোরাম"


def item_status(services: Services) -> str:
    with services.database.session() as session:
        return session.scalars(
            select(YouSaidItem.status).where(YouSaidItem.theme == "Weekends")
        ).one()


def test_you_said_is_saved_sms_safe_priced_and_a_long_one_confirmed(
    staff: FlaskClient, services: Services
) -> None:
    page = "/console/you-said/new"
    form = {
        "csrf_token": token(staff, page),
        "theme": "Weekends",
        "change": "change_made",
        "said-en": "Open at weekends \u2013 please\u2026",
        "did-en": "It\u2019s open on Saturdays. " * 20,
        # A person's words, quoted: never changed, curly quotes and all.
        "quote": "\u201cI can\u2019t get there on Sundays\u201d",
        "references": "",
    }
    saved = staff.post(page, data=form)
    assert saved.status_code == 302
    item_page = staff.get(saved.location).text
    assert "20 curly quotes, 1 dash and 1 ellipsis replaced" in item_page
    assert "GSM-7, 4 text messages each by SMS" in item_page
    assert "I want to send a message of more than 3 text messages" in item_page
    with services.database.session() as session:
        item = session.scalars(select(YouSaidItem).where(YouSaidItem.theme == "Weekends")).one()
        assert item.texts["en"]["said"] == "Open at weekends - please..."
        assert item.quote == "\u201cI can\u2019t get there on Sundays\u201d"
    publish = f"{saved.location}/publish"
    refused = staff.post(publish, data={"csrf_token": token(staff, saved.location)})
    assert refused.status_code == 302
    assert "confirm you want to send it" in staff.get(refused.location).text
    with services.database.session() as session:
        assert item_status(services) == "draft"
    confirmed = staff.post(
        publish, data={"csrf_token": token(staff, saved.location), "confirm_long": "yes"}
    )
    assert confirmed.status_code == 302 and "/console/broadcasts/" in confirmed.location
    assert item_status(services) == "published"
    for thread in threading.enumerate():
        if thread.name == "kotha-fanout":
            thread.join(timeout=30)
