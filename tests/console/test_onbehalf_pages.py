"""Recording feedback for someone, and the tasks page, through the real app."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.casework import tasks
from bot.services import Services
from bot.types import InboundMessage
from storage.models import Address, AuditEvent, Base, Feedback, Message, StaffTask, TakenOnBehalf
from tests.console import test_access as access
from tests.console.test_access import SCRIPT, sign_in, token

_quick_hashes = access._quick_hashes
app = access.app
client = access.client

FORM = {
    "kind": "complaint",
    "channel": "in_person",
    "language": "syl",
    "words": "ডে সেন্টারো খানা ঠান্ডা আছিল 🍲",
    "service": "day_centre",
    "name": "Abdul Miah",
    "phone": "",
    "postal_address": "12 Commercial Road\nLondon E1 1AA",
    "updates_by": "letter",
    "consent": "yes",
}


def counts(services: Services) -> dict[str, int]:
    with services.database.session() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
            if name != "audit_events"
        }


def post_form(client: FlaskClient, **changes: str) -> object:
    form = {**FORM, **changes, "csrf_token": token(client, "/console/feedback/new")}
    return client.post("/console/feedback/new", data=form)


def test_staff_record_a_complaint_taken_in_person_and_tell_it_by_a_task(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/feedback/new")
    assert page.status_code == 200
    assert "Record feedback for someone" in page.text
    assert 'value="in_person"' in page.text and 'value="letter"' in page.text

    response = post_form(client)

    assert response.status_code == 302  # type: ignore[attr-defined]
    staff_id = access.user_id(services, "staff@example.org")
    with services.database.session() as session:
        feedback = session.scalars(select(Feedback).where(Feedback.channel == "in_person")).one()
        reference = feedback.reference
        assert feedback.text == FORM["words"] and feedback.language == "syl"
        taken = session.scalars(select(TakenOnBehalf)).one()
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "feedback.taken")
        ).one()
        assert audit.user_id == taken.recorded_by == staff_id
    assert response.location == f"/console/cases/{reference}"  # type: ignore[attr-defined]
    case = client.get(f"/console/cases/{reference}")
    assert "Complaint " + reference + " recorded. Updates become tasks to write to them." in (
        case.text
    )
    assert "a task to write to them opens under Tasks" in case.text
    assert "Taken down for them" in case.text and "staff@example.org" in case.text
    assert "Abdul Miah" in case.text and "12 Commercial Road" in case.text

    changed = client.post(
        f"/console/cases/{reference}/status",
        data={
            "status": "in_progress",
            "note": "The kitchen has a new warmer.",
            "tell": "yes",
            "csrf_token": token(client, f"/console/cases/{reference}"),
        },
        follow_redirects=True,
    )
    assert "A task to tell them is open under Tasks." in changed.text
    # The history says how they were told (a new user saw "No" beside the task it opened).
    told = changed.text.split("The kitchen has a new warmer.")[1].split("</tr>")[0]
    assert "By a task" in told
    with services.database.session() as session:
        # Nothing is written to send (the app's records hold a voice note someone sent).
        outbound = select(func.count()).select_from(Message).where(Message.direction == "out")
        assert session.scalar(outbound) == 0
        # The app's records have a task already (tests/console/test_access.py); this is ours.
        task = session.scalars(select(StaffTask).where(StaffTask.feedback_id == feedback.id)).one()

    listed = client.get("/console/tasks")
    assert listed.status_code == 200
    assert "2 open tasks." in listed.text
    assert "Write with an update" in listed.text and reference in listed.text
    assert "12 Commercial Road" in listed.text and "Abdul Miah" in listed.text

    done = client.post(
        f"/console/tasks/{task.id}/done",
        data={"csrf_token": token(client, "/console/tasks")},
        follow_redirects=True,
    )
    assert "Task marked done." in done.text and "1 open task." in done.text
    again = client.post(
        f"/console/tasks/{task.id}/done",
        data={"csrf_token": token(client, "/console/tasks")},
        follow_redirects=True,
    )
    assert "This task is already done." in again.text
    actions = [action for action, _, _ in access.audit_actions(services)]
    assert "task.done" in actions and "case.status_changed" in actions


def test_bad_input_shows_every_problem_and_keeps_what_was_typed(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "admin@example.org") == 302
    before = counts(services)
    long_words = "ক" * 5_000
    response = post_form(
        client,
        words=long_words,
        phone="0770 not a number",
        language="xx",
        consent="",
        name=SCRIPT,
    )
    assert response.status_code == 400  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "There is a problem" in text
    assert "What they said must be 4,000 characters or fewer (it is 5,000)" in text
    assert "Enter a real phone number" in text
    assert "Choose their language" in text
    assert "Say whether they agreed that we can contact them" in text
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert long_words in text  # kept in the form, to correct
    assert counts(services) == before

    empty = post_form(client, words="  ", kind="survey", survey="")
    assert empty.status_code == 400  # type: ignore[attr-defined]
    assert "Write down what they said, in their words" in empty.text  # type: ignore[attr-defined]
    assert 'href="#survey"' in empty.text  # type: ignore[attr-defined]
    assert counts(services) == before


def test_a_survey_answer_taken_on_the_phone_goes_back_to_the_form(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "staff@example.org") == 302
    response = client.post(
        "/console/feedback/new",
        data={
            **FORM,
            "kind": "survey",
            "survey": "survey-have-your-say",
            "channel": "phone",
            "phone": "07700 900555",
            "updates_by": "sms",
            "csrf_token": token(client, "/console/feedback/new"),
        },
        follow_redirects=True,
    )
    assert "Survey answer recorded. Updates go to them by text message." in response.text


def test_moderators_cannot_record_or_see_tasks_and_csrf_is_required(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "moderator@example.org") == 302
    assert client.get("/console/feedback/new").status_code == 403
    assert client.get("/console/tasks").status_code == 403
    other = access.app_with_records  # the fixture already made the accounts
    del other
    staff = client.application.test_client()
    assert sign_in(staff, "staff@example.org") == 302
    before = counts(services)
    refused = staff.post("/console/feedback/new", data=FORM)
    assert refused.status_code == 400
    assert counts(services) == before


def test_task_ids_that_are_not_numbers_are_not_found(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "staff@example.org") == 302
    form = {"csrf_token": token(client, "/console/tasks")}
    for path in (
        "/console/tasks/abc/done",
        "/console/tasks/99999999999/done",
        "/console/tasks/٣/done",
    ):
        assert client.post(path, data=form).status_code == 404, path
    with services.database.session() as session:
        task = tasks.open_task(session, "call-with-update", SCRIPT, now=services.clock())
    page = client.get("/console/tasks")
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text
    assert re.search(rf'id="done-{task.id}"', page.text)


def test_someone_without_a_mobile_is_not_a_conversation_to_reply_to(
    client: FlaskClient, services: Services
) -> None:
    assert sign_in(client, "staff@example.org") == 302
    assert post_form(client).status_code == 302  # type: ignore[attr-defined]
    with services.database.session() as session:
        taken = session.scalars(select(TakenOnBehalf)).one()
        feedback = session.get_one(Feedback, taken.feedback_id)
        address_id, reference = feedback.address_id, feedback.reference
    inbox = client.get("/console/conversations")
    assert f"/console/conversations/{address_id}" not in inbox.text
    found = client.get(f"/console/conversations?q={reference}")
    assert f'/console/conversations/{address_id}"' not in found.text
    reply = client.post(
        f"/console/conversations/{address_id}/reply",
        data={"text": "Hello", "csrf_token": token(client, "/console/")},
    )
    assert reply.status_code == 400
    assert "has no phone or chat here to write to" in reply.text
    with services.database.session() as session:
        outbound = select(func.count()).select_from(Message).where(Message.direction == "out")
        assert session.scalar(outbound) == 0


def test_someone_who_texts_asking_for_a_call_is_a_task_with_their_number(
    client: FlaskClient, services: Services
) -> None:
    number = "+447700900777"
    # A complaint by text: yes, phone me, in English; yes, you may contact me.
    for text in ("hi", "1", "1", "1", "Nobody came", "skip", "1", "1", "1"):
        message = InboundMessage(channel="sms", address=number, text=text)
        services.runner.receive(message, process_now=True)
    assert sign_in(client, "staff@example.org") == 302
    page = client.get("/console/tasks")
    assert page.status_code == 200
    with services.database.session() as session:
        feedback = session.scalars(
            select(Feedback)
            .join(Address, Address.id == Feedback.address_id)
            .where(Address.address == number)
        ).one()
        task = session.scalars(select(StaffTask).where(StaffTask.feedback_id == feedback.id)).one()
        assert task.kind == "call-back"
        assert number not in task.summary and "Speak English" in task.summary
    listed = page.text.split(feedback.reference, 1)[1]
    assert number in listed  # read from their records, not the task
    # What to do starts at its first word (a new user saw it indented by the page's markup).
    assert '<span class="kotha-message">Call them about their complaint' in page.text
