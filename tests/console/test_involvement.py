"""The ways to take part and the interests queue through the real app: roles, CSRF, bad input,
the queue's order and flags, history, assigning, and a reply from the queue in the person's
language through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.casework.accounts import create_user
from bot.outreach import access as needs
from bot.services import Services
from bot.types import Kind
from storage.models import (
    Address,
    AuditEvent,
    Contact,
    Interest,
    InterestEvent,
    Message,
    Opportunity,
    User,
)
from storage.records import create_interest
from tests.conftest import FrozenClock
from tests.console import test_access as access
from tests.console.sending import post_seen
from tests.console.test_access import PASSWORD, SCRIPT, sign_in, token

_quick_hashes = access._quick_hashes
app = access.app
client = access.client


def valid_form(client: FlaskClient, path: str, **changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": token(client, path),
        "area": "groups",
        "title-en": "Dementia carers group",
        "line-en": "Carers of people with dementia meet to share tips.",
        "time-en": "2 hours, once a month",
        "title-bn": "ডিমেনশিয়া কেয়ারার গ্রুপ",
        "support": ["travel", "replacement_care"],
        "needs_review": ["bn"],
    }
    form.update(changes)
    return form


def actions(services: Services, prefix: str) -> list[str]:
    with services.database.session() as session:
        return [
            action
            for action in session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
            if action.startswith(prefix)
        ]


# --- Ways to take part -----------------------------------------------------------------------


def test_staff_see_the_ways_to_take_part_with_their_drafts_and_moderators_do_not(
    client: FlaskClient,
) -> None:
    assert sign_in(client, "moderator@example.org") == 302
    assert client.get("/console/opportunities").status_code == 403
    client.post("/console/logout", data={"csrf_token": token(client, "/console/")})
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/opportunities")
    assert page.status_code == 200
    for title in ("Local Management Team", "THINk network", "Partnership Boards", "Carers Forum"):
        assert title in page.text
    assert "Draft: needs review" in page.text
    assert "Replacement care" in page.text


def test_adding_one_is_checked_audited_and_offered(client: FlaskClient, services: Services) -> None:
    assert sign_in(client, "staff@example.org") == 302
    path = "/console/opportunities/new"
    added = client.post(path, data=valid_form(client, path))
    assert (added.status_code, added.location) == (302, "/console/opportunities")
    with services.database.session() as session:
        row = session.scalars(
            select(Opportunity).where(Opportunity.key == "dementia_carers_group")
        ).one()
        assert row.open and row.area == "groups" and row.needs_review == ["bn"]
        assert row.support == ["travel", "replacement_care"]
        assert row.titles == {"en": "Dementia carers group", "bn": "ডিমেনশিয়া কেয়ারার গ্রুপ"}
    assert actions(services, "opportunity.") == ["opportunity.created"]
    # A second with the same title gets a key of its own.
    client.post(path, data=valid_form(client, path))
    with services.database.session() as session:
        keys = session.scalars(select(Opportunity.key).where(Opportunity.key.like("dementia%")))
        assert sorted(keys) == ["dementia_carers_group", "dementia_carers_group_2"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title-en": ""}, "title-en", "Enter the title in English"),
        ({"title-en": "   "}, "title-en", "Enter the title in English"),
        ({"line-en": "x" * 5000}, "line-en", "500 characters or fewer"),
        ({"title-en": "Carers 🙂 group for everyone who cares"}, "title-en", "basic phones"),
        ({"line-bn": "ক" * 400}, "line-bn", "must fit 3 texts"),
        ({"area": "parliament"}, "area", "Choose where it is offered"),
        ({"position": "first"}, "position", "whole number"),
        ({"position": "9" * 40}, "position", "whole number"),
        ({"time-en": "two\nlines"}, "time-en", "on one line"),
    ],
)
def test_bad_input_is_named_and_nothing_is_lost(
    client: FlaskClient, services: Services, changes: dict[str, str], field: str, message: str
) -> None:
    assert sign_in(client, "admin@example.org") == 302
    path = "/console/opportunities/new"
    refused = client.post(path, data=valid_form(client, path, **changes))
    assert refused.status_code == 400
    assert f'href="#{field}"' in refused.text and message in refused.text
    # What they wrote is still in the form.
    kept = "Dementia carers group" if field != "title-en" else "share tips."
    assert kept in refused.text
    with services.database.session() as session:
        assert session.scalar(select(Opportunity).where(Opportunity.key.like("dementia%"))) is None


def test_what_staff_write_is_escaped(client: FlaskClient) -> None:
    assert sign_in(client, "staff@example.org") == 302
    path = "/console/opportunities/new"
    client.post(path, data=valid_form(client, path, **{"title-en": SCRIPT}))
    page = client.get("/console/opportunities")
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text


def test_editing_closing_and_opening(client: FlaskClient, services: Services) -> None:
    assert sign_in(client, "staff@example.org") == 302
    with services.database.session() as session:
        row = session.scalars(select(Opportunity).where(Opportunity.key == "carers_forum")).one()
        row_id = row.id
    path = f"/console/opportunities/{row_id}/edit"
    form = client.get(path)
    assert form.status_code == 200 and "Carers meet to share news" in form.text
    changed = client.post(
        path,
        data=valid_form(client, path, **{"title-en": "Carers Forum", "needs_review": []}),
    )
    assert changed.status_code == 302
    with services.database.session() as session:
        row = session.get_one(Opportunity, row_id)
        assert row.key == "carers_forum"  # never changes: interests keep it
        assert row.lines["en"].startswith("Carers of people with dementia")
        assert row.needs_review == []
    close = f"/console/opportunities/{row_id}/open"
    assert client.post(close, data={"open": "no"}).status_code == 400  # no CSRF token
    closed = client.post(close, data={"open": "no", "csrf_token": token(client, path)})
    assert closed.status_code == 302
    assert "closed: the bot no longer offers it" in client.get("/console/opportunities").text
    with services.database.session() as session:
        assert session.get_one(Opportunity, row_id).open is False
    client.post(close, data={"open": "yes", "csrf_token": token(client, path)})
    assert actions(services, "opportunity.") == [
        "opportunity.changed",
        "opportunity.closed",
        "opportunity.opened",
    ]
    bad = client.post(close, data={"open": "maybe", "csrf_token": token(client, path)})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/console/opportunities/999/edit",
        "/console/opportunities/99999999999999999999/edit",
        "/console/involvement/999",
    ],
)
def test_unknown_ids_are_not_found(client: FlaskClient, path: str) -> None:
    assert sign_in(client, "staff@example.org") == 302
    assert client.get(path).status_code == 404


def test_posting_to_unknown_ids_is_not_found(client: FlaskClient) -> None:
    assert sign_in(client, "staff@example.org") == 302
    csrf = token(client, "/console/")
    assert (
        client.post(
            "/console/opportunities/999/open", data={"open": "no", "csrf_token": csrf}
        ).status_code
        == 404
    )
    update = {"status": "contacted", "csrf_token": csrf}
    assert client.post("/console/involvement/999", data=update).status_code == 404
    reply = {"reply": "will_call", "csrf_token": csrf}
    assert client.post("/console/involvement/999/reply", data=reply).status_code == 404


# --- The interests queue ---------------------------------------------------------------------


def interest(
    services: Services, address: str, language: str, ago: timedelta, **fields: object
) -> int:
    """An interest in the Carers Forum from a new person, made `ago` before now."""
    now = services.clock()
    with services.database.session() as session:
        row = Address(
            contact=Contact(language=language, created_at=now - ago),
            channel="sms",
            address=address,
            created_at=now - ago,
        )
        session.add(row)
        session.flush()
        made = create_interest(
            session,
            row,
            language,
            {"opportunity": "carers_forum", "contact_how": "phone", "contact_when": "evenings"},
            now - ago,
        )
        for name, value in fields.items():
            setattr(made, name, value)
        session.flush()
        return made.id


def test_the_queue_puts_those_waiting_too_long_first_and_flags_them(
    client: FlaskClient, services: Services
) -> None:
    # 18 Nov 2026 is a Wednesday: ten days back is well past five working days.
    old = interest(services, "+447700900301", "bn", timedelta(days=10))
    done = interest(services, "+447700900302", "en", timedelta(days=12), status="joined")
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/involvement")
    assert page.status_code == 200
    order = [int(part.split('"')[0]) for part in page.text.split('href="/console/involvement/')[1:]]
    assert order[0] == old and order[-1] == done
    assert "Waiting too long" in page.text
    assert "1 person has waited more than 5 working days" in page.text
    # Whole numbers are not shown in the list: only the end of them.
    assert "+447700900301" not in page.text and "ending 301" in page.text
    assert "Phone call, Evenings" in page.text and "বাংলা" in page.text
    assert "Carers Forum" in page.text
    filtered = client.get("/console/involvement?status=joined&assigned=nobody&page=1")
    assert filtered.text.count('href="/console/involvement/') == 1
    for odd in ("?status=<b>", "?page=-1", "?page=" + "9" * 50, "?assigned=%E2%80%AEme"):
        assert client.get("/console/involvement" + odd).status_code == 200


def test_an_interest_moves_on_with_its_history_and_is_audited(
    client: FlaskClient, services: Services
) -> None:
    made = interest(services, "+447700900303", "en", timedelta(days=1))
    assert sign_in(client, "staff@example.org") == 302
    path = f"/console/involvement/{made}"
    page = client.get(path)
    assert page.status_code == 200 and "+447700900303" in page.text  # to call them
    staff_id = session_user(services, "staff@example.org")
    moved = client.post(
        path,
        data={
            "csrf_token": token(client, path),
            "status": "contacted",
            "assigned_to": str(staff_id),
            "note": f"Rang them {SCRIPT}",
        },
    )
    assert moved.status_code == 302
    after = client.get(path)
    assert "New to Contacted" in after.text and SCRIPT not in after.text
    with services.database.session() as session:
        row = session.get_one(Interest, made)
        assert (row.status, row.assigned_to) == ("contacted", staff_id)
        assert row.contacted_at == services.clock()
        [event] = session.scalars(select(InterestEvent)).all()
        assert (event.from_status, event.to_status, event.assigned_to) == (
            "new",
            "contacted",
            staff_id,
        )
    # Each opening of the page (the form's token is read from it too) and the change.
    assert actions(services, "interest.") == [
        "interest.viewed",
        "interest.viewed",
        "interest.updated",
        "interest.viewed",
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"status": ""}, "Choose a status"),
        ({"status": "promoted"}, "Choose a status"),
        ({"status": "new"}, "Change the status or who it is assigned to"),
        ({"status": "joined", "assigned_to": "moderator"}, "Choose someone from the list"),
        ({"status": "joined", "assigned_to": "9999"}, "Choose someone from the list"),
        ({"status": "joined", "note": "n" * 5000}, "2,000 characters or fewer"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    client: FlaskClient, services: Services, form: dict[str, str], message: str
) -> None:
    made = interest(services, "+447700900304", "en", timedelta(days=1))
    if form.get("assigned_to") == "moderator":
        form = {**form, "assigned_to": str(session_user(services, "moderator@example.org"))}
    assert sign_in(client, "admin@example.org") == 302
    path = f"/console/involvement/{made}"
    refused = client.post(path, data={"csrf_token": token(client, path), **form})
    assert refused.status_code == 400 and message in refused.text
    with services.database.session() as session:
        assert session.get_one(Interest, made).status == "new"
        assert session.scalars(select(InterestEvent)).all() == []


def test_a_reply_from_the_queue_goes_in_their_language_and_marks_them_contacted(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    clock.now = clock.now.replace(hour=11)  # outside quiet hours
    made = interest(services, "+447700900305", "bn", timedelta(days=2))
    assert sign_in(client, "staff@example.org") == 302
    path = f"/console/involvement/{made}"
    page = client.get(path)
    assert "আমরা শিগগির আপনাকে ফোন করব" in page.text  # the preview, in Bengali
    sent = post_seen(
        client, f"{path}/reply", {"csrf_token": token(client, path), "reply": "will_call"}
    )
    assert sent.status_code == 302
    with services.database.session() as session:
        message = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert message.kind == Kind.STAFF_REPLY and message.status not in ("held", "failed")
        assert message.body is not None and "ফোন করব" in message.body
        row = session.get_one(Interest, made)
        assert row.status == "contacted"
        events = session.scalars(select(InterestEvent).order_by(InterestEvent.id)).all()
        assert [event.message_id for event in events] == [message.id, None]
    assert "Marked as contacted" in client.get(path).text


def test_a_reply_to_someone_who_sent_stop_is_held_and_they_stay_new(
    client: FlaskClient, services: Services, clock: FrozenClock
) -> None:
    clock.now = clock.now.replace(hour=11)
    made = interest(services, "+447700900306", "en", timedelta(days=2))
    with services.database.session() as session:
        address = session.scalars(select(Address).where(Address.address == "+447700900306")).one()
        address.stopped_at, address.stopped_by = services.clock(), "person"
    assert sign_in(client, "staff@example.org") == 302
    path = f"/console/involvement/{made}"
    sent = post_seen(
        client,
        f"{path}/reply",
        {"csrf_token": token(client, path), "reply": "own", "text": "Can we call you?"},
    )
    assert sent.status_code == 302
    assert "Your message is held" in client.get(path).text
    with services.database.session() as session:
        message = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert (message.status, message.reason) == ("held", "opted-out")
        assert session.get_one(Interest, made).status == "new"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "Choose a saved reply or write your reply"),
        ({"reply": "own", "text": ""}, "Choose a saved reply or write your reply"),
        ({"reply": "nonsense"}, "Choose one of the saved replies"),
        ({"reply": "own", "text": "x" * 5000}, "1,600 characters or fewer"),
    ],
)
def test_bad_replies_are_refused(
    client: FlaskClient, services: Services, form: dict[str, str], message: str
) -> None:
    made = interest(services, "+447700900307", "en", timedelta(days=2))
    assert sign_in(client, "staff@example.org") == 302
    path = f"/console/involvement/{made}"
    refused = client.post(f"{path}/reply", data={"csrf_token": token(client, path), **form})
    assert refused.status_code == 400 and message in refused.text
    with services.database.session() as session:
        assert session.scalars(select(Message).where(Message.direction == "out")).all() == []


def test_only_staff_and_admins_work_the_queue(client: FlaskClient, services: Services) -> None:
    made = interest(services, "+447700900308", "en", timedelta(days=2))
    assert sign_in(client, "moderator@example.org") == 302
    assert client.get("/console/involvement").status_code == 403
    csrf = token(client, "/console/")
    update = {"status": "joined", "csrf_token": csrf}
    assert client.post(f"/console/involvement/{made}", data=update).status_code == 403


def session_user(services: Services, email: str) -> int:
    with services.database.session() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_a_disabled_account_cannot_be_assigned(client: FlaskClient, services: Services) -> None:
    made = interest(services, "+447700900309", "en", timedelta(days=2))
    with services.database.session() as session:
        gone = create_user(session, "left@example.org", "staff", PASSWORD, now=services.clock())
        gone.active = False
        gone_id = gone.id
    assert sign_in(client, "staff@example.org") == 302
    path = f"/console/involvement/{made}"
    page = client.get(path)
    assert "left@example.org" not in page.text
    refused = client.post(
        path,
        data={"csrf_token": token(client, path), "status": "new", "assigned_to": str(gone_id)},
    )
    assert refused.status_code == 400


def test_the_queue_and_the_interest_show_their_access_needs(
    client: FlaskClient, services: Services
) -> None:
    told = interest(services, "+447700900311", "bn", timedelta(days=1))
    never = interest(services, "+447700900312", "en", timedelta(days=2))
    with services.database.session() as session:
        contact_id = session.scalars(
            select(Address.contact_id).where(Address.address == "+447700900311")
        ).one()
        needs.save(session, contact_id, ["step_free", "interpreter"], "bn", services.clock())
    assert sign_in(client, "staff@example.org") == 302
    queue = client.get("/console/involvement").text
    assert "Access needs" in queue
    assert "Step-free access; Interpreter (Bengali)" in queue and "Not asked yet" in queue
    page = client.get(f"/console/involvement/{told}").text
    assert "Step-free access; Interpreter (Bengali)" in page
    assert "Not asked yet" in client.get(f"/console/involvement/{never}").text
