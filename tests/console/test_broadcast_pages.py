"""The broadcast and "you said, we did" pages: preview before sending, progress, cancel, publish."""

from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.outreach.broadcasts import STOP_LINE
from bot.services import Services
from storage.models import Address, Broadcast, Contact, Feedback, Message, YouSaidItem
from tests.console import test_access
from tests.console.test_access import sign_in, token
from tests.storage.rows import yes_to_broadcasts

# The accounts, records and app of the console's access tests, as fixtures here too.
_quick_hashes = test_access._quick_hashes
app = test_access.app
client = test_access.client

SCRIPT = "<script>alert(1)</script>"


def fan_outs_finished() -> None:
    """Wait for the fan-out threads the pages start beside their requests."""
    for thread in threading.enumerate():
        if thread.name == "kotha-fanout":
            thread.join(timeout=30)


@pytest.fixture
def staff(client: FlaskClient) -> FlaskClient:
    assert sign_in(client, "staff@example.org") == 302
    return client


def people(services: Services) -> None:
    now = services.clock()
    with services.database.session() as session:
        for number, language in (("+447700900301", "bn"), ("+447700900302", "en")):
            contact = Contact(language=language, created_at=now)
            session.add(Address(contact=contact, channel="sms", address=number, created_at=now))
            yes_to_broadcasts(session, contact, now)


def compose(client: FlaskClient, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token(client, "/console/broadcasts/new"),
        "title": "Saturdays",
        "text-en": "The day centre opens on Saturdays.",
        "text-bn": "ডে সেন্টার শনিবার খোলা।",
        "when": "now",
        **fields,
    }


def test_sending_needs_a_preview_of_exactly_what_is_sent(
    staff: FlaskClient, services: Services
) -> None:
    people(services)
    form = compose(staff, action="send")
    shown = staff.post("/console/broadcasts/new", data=form)
    assert shown.status_code == 200 and "Preview" in shown.text
    assert "UCS-2, 1 segment" in shown.text and "GSM-7, 1 segment" in shown.text
    # The access tests' one person never said yes to broadcasts: counted as left out.
    assert "2 people receive it" in shown.text
    assert "Left out: 1 person: not said yes to this kind of message." in shown.text
    with services.database.session() as session:
        assert session.scalars(select(Broadcast).where(Broadcast.title == "Saturdays")).all() == []
    fingerprint = shown.text.split('name="previewed" value="')[1].split('"')[0]
    changed = {**form, "text-en": "Changed after the preview.", "previewed": fingerprint}
    assert "Send the broadcast" in staff.post("/console/broadcasts/new", data=changed).text
    sent = staff.post("/console/broadcasts/new", data={**form, "previewed": fingerprint})
    assert sent.status_code == 302
    fan_outs_finished()
    with services.database.session() as session:
        broadcast = session.scalars(select(Broadcast).where(Broadcast.title == "Saturdays")).one()
        rows = session.scalars(select(Message.body).where(Message.broadcast_id == broadcast.id))
        bodies = sorted(body or "" for body in rows)
    # By SMS each ends with how to stop, in the reader's language.
    assert bodies == [
        "The day centre opens on Saturdays.\nSend STOP to get no more messages.",
        "ডে সেন্টার শনিবার খোলা।\n" + services.i18n.gettext("bn", STOP_LINE),
    ]
    page = staff.get(sent.location)
    assert "<progress" in page.text and "broadcast-progress.js" in page.text
    counts = staff.get(f"{sent.location}/progress").get_json()
    assert counts["recipients"] == 2 and counts["delivered"] == 2 and counts["finished"]


def test_a_scheduled_broadcast_can_be_cancelled_from_its_page(
    staff: FlaskClient, services: Services
) -> None:
    people(services)
    form = compose(staff, when="later", send_at="2026-11-19T09:30", action="preview")
    fingerprint = (
        staff.post("/console/broadcasts/new", data=form)
        .text.split('name="previewed" value="')[1]
        .split('"')[0]
    )
    sent = staff.post(
        "/console/broadcasts/new", data={**form, "action": "send", "previewed": fingerprint}
    )
    assert sent.status_code == 302
    with services.database.session() as session:
        broadcast = session.scalars(select(Broadcast).where(Broadcast.title == "Saturdays")).one()
        assert broadcast.status == "scheduled" and broadcast.send_at is not None
    cancelled = staff.post(
        f"{sent.location}/cancel", data={"csrf_token": token(staff, sent.location)}
    )
    assert cancelled.status_code == 302
    with services.database.session() as session:
        assert session.get_one(Broadcast, broadcast.id).status == "cancelled"


def test_the_compose_form_says_what_is_missing(staff: FlaskClient) -> None:
    form = compose(staff, title="", action="preview")
    del form["text-en"]
    refused = staff.post("/console/broadcasts/new", data=form)
    assert refused.status_code == 400
    assert "Enter a title" in refused.text and "Write the text in English" in refused.text


def test_an_item_is_written_linked_published_and_shown_publicly(
    staff: FlaskClient, services: Services
) -> None:
    with services.database.session() as session:
        linked_contact = session.scalars(
            select(Contact).join(Feedback).where(Feedback.reference == "C-100001")
        ).one()
        yes_to_broadcasts(session, linked_contact, services.clock())
    page = "/console/you-said/new"
    form = {
        "csrf_token": token(staff, page),
        "theme": "Hours " + SCRIPT,
        "change": "change_made",
        "said-en": "The centre closes early " + SCRIPT,
        "did-en": "It opens until 6pm.",
        "quote": "Too early for my mum.",
        "references": "C-999999",
    }
    refused = staff.post(page, data=form)
    assert refused.status_code == 400 and "No feedback has the reference C-999999" in refused.text
    assert SCRIPT not in refused.text
    saved = staff.post(page, data={**form, "references": "c-100001"})
    assert saved.status_code == 302
    item_page = staff.get(saved.location)
    assert "Not written in বাংলা, সিলেটি, Sylheti (Latin)" in item_page.text
    assert "0 of the 1 person it would reach" in item_page.text and SCRIPT not in item_page.text
    published = staff.post(
        f"{saved.location}/publish", data={"csrf_token": token(staff, saved.location)}
    )
    assert published.status_code == 302 and "/console/broadcasts/" in published.location
    fan_outs_finished()
    with services.database.session() as session:
        item = session.scalars(
            select(YouSaidItem).where(YouSaidItem.theme.startswith("Hours"))
        ).one()
        assert item.status == "published"
        linked = session.scalars(select(Feedback).where(Feedback.reference == "C-100001")).one()
        [row] = session.scalars(select(Message).where(Message.broadcast_id == item.broadcast_id))
        assert row.address_id == linked.address_id
    public = staff.application.test_client().get("/you-said-we-did")
    assert public.status_code == 200 and "It opens until 6pm." in public.text
    assert SCRIPT not in public.text and "Too early for my mum." not in public.text


def test_a_moderator_approves_a_quote_for_the_public_page(
    client: FlaskClient, services: Services
) -> None:
    now = services.clock()
    with services.database.session() as session:
        item = YouSaidItem(
            theme="Transport",
            texts={"en": {"said": "Buses are late.", "did": "New times."}},
            change="change_planned",
            quote="The bus never comes.",
            status="published",
            published_at=now,
            created_at=now,
        )
        session.add(item)
        session.flush()
        item_id = item.id
    assert "The bus never comes." not in client.get("/you-said-we-did").text
    assert sign_in(client, "moderator@example.org") == 302
    quotes = client.get("/console/you-said/quotes")
    assert "The bus never comes." in quotes.text
    approved = client.post(
        f"/console/you-said/{item_id}/approve-quote",
        data={"csrf_token": token(client, "/console/you-said/quotes")},
    )
    assert approved.status_code == 302
    assert "The bus never comes." in client.get("/you-said-we-did").text
