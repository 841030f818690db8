"""One person with a row in every table that can refer to a person, a sentinel in each.

Their number (on SMS and WhatsApp) and a sentinel text are written wherever a person's
number or words can be: messages both ways, media and staff's transcripts of them, what the
bot understood, redactions, parameters, feedback, case notes, survey answers, conversation
state, notes of moderators, the audit log. The export and erasure tests read and erase this person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.casework.accounts import create_user, record_audit
from bot.outreach.consultations import EventDetails, create_event
from bot.pipeline import outbox
from bot.pipeline.outbox import Outbound
from bot.services import Services
from bot.types import Kind
from storage.models import (
    AccessNeed,
    Address,
    Attendance,
    CaseEvent,
    Consent,
    Conversation,
    EventSubscription,
    Feedback,
    Interest,
    InterestEvent,
    MediaNote,
    Message,
    Rsvp,
    SafeguardingFlag,
    StaffTask,
    SurveyResponse,
    TakenOnBehalf,
    VoiceCall,
    YouSaidItem,
    YouSaidLink,
)
from tests.conftest import Bot

NUMBER = "+447700900987"
# Latin letters and Bengali: found in the files as UTF-8, or escaped as JSON stores it.
WORD = "Zebulonquartzfeather"
BENGALI = "জেবুলনকোয়ার্টজ"
TEXT = f"{WORD} {BENGALI}"
# A complaint as a person makes it, in their own words, saying No to being contacted.
COMPLAINT = ("hi", "1", "1", "1", f"My carer {TEXT} never came.", "SKIP", "2")
# Yes to the monitoring questions, then the first answer of each (Asian, then Bangladeshi).
MONITORING = ("1",) * 9


@dataclass(frozen=True)
class Person:
    contact_id: int
    address_ids: tuple[int, ...]
    complaint_reference: str
    comment_reference: str
    queued_id: int  # a broadcast message waiting to be sent to them


def a_person_everywhere(bot: Bot, complaint_closed_at: datetime | None) -> Person:
    """The person, through a real conversation and then a row in every other table."""
    services: Services = bot.services
    # The "2" after it: No to news, kept as their preferences; then every monitoring
    # question answered with its first option (kept apart, in equality_monitoring).
    bot.conversation(NUMBER, *COMPLAINT, "2", *MONITORING)
    bot.receive(NUMBER, f"hello from whatsapp {TEXT}", channel="whatsapp")
    now = services.clock()
    with services.database.session() as session:
        sms = session.scalars(
            select(Address).where(Address.address == NUMBER, Address.channel == "sms")
        ).one()
        whatsapp = session.scalars(
            select(Address).where(Address.address == NUMBER, Address.channel == "whatsapp")
        ).one()
        contact = sms.contact
        # One person on two channels (as the console links them), so one export has both.
        whatsapp.contact_id = contact.id
        # WhatsApp's user id for them (ExternalUserId), as personal as the number.
        whatsapp.external_user_id = f"GB.{WORD}"
        session.flush()
        staff = create_user(session, "worker@example.org", "staff", "a long password!", now)
        complaint = session.scalars(select(Feedback).where(Feedback.contact_id == contact.id)).one()
        complaint.closed_at = complaint_closed_at
        complaint.status = "closed" if complaint_closed_at else complaint.status
        complaint.outcome_change = f"We changed the rota after {TEXT}"
        complaint.redacted_text = f"My carer [name] never came. {TEXT}"
        comment = Feedback(
            reference="M-000987",
            kind="comment",
            status="received",
            service="home_care",
            text=f"A comment {TEXT}",
            desired_outcome=f"An outcome {TEXT}",
            media=[{"content_type": "image/jpeg", "url": f"https://media.example/{WORD}.jpg"}],
            language="en",
            channel="whatsapp",
            contact_id=contact.id,
            address_id=whatsapp.id,
            created_at=now,
        )
        session.add(comment)
        session.flush()
        contact.hidden_reason = f"Abusive to {TEXT}"
        contact.hidden_by = staff.id
        contact.calendar_token = f"token-{WORD}"
        inbound = Message(
            address_id=whatsapp.id,
            channel="whatsapp",
            direction="in",
            body=f"a photo of {TEXT}",
            media=[{"content_type": "image/jpeg", "url": f"https://media.example/{WORD}"}],
            provider_id=f"SM{WORD}",
            status="processed",
            understood={"intent": "complaint", "why": [WORD, BENGALI]},
            redacted_body=f"a photo of [name] {TEXT}",
            feedback_id=comment.id,
            created_at=now,
        )
        session.add(inbound)
        session.flush()
        session.add(
            MediaNote(
                message_id=inbound.id,
                media_index=0,
                transcript=f"They said {TEXT} on {NUMBER}",
                translation=f"In English: {TEXT}",
                language="bn",
                user_id=staff.id,
                updated_at=now,
            )
        )
        reply = outbox.add(
            session,
            Outbound(
                sms.id,
                "sms",
                now,
                Kind.STAFF_REPLY,
                body=f"Dear {TEXT}, we are sorry.",
                language="en",
            ),
        )
        reply.status, reply.sent_by = "delivered", staff.id
        reply.params = {"text": TEXT, "number": NUMBER}
        queued = outbox.add(
            session,
            Outbound(
                sms.id,
                "sms",
                now,
                Kind.BROADCAST,
                body=f"News for {TEXT}",
                language="en",
                dedupe_key="broadcast:99",
            ),
        )
        session.flush()
        session.add(
            CaseEvent(
                feedback_id=complaint.id,
                at=now,
                user_id=staff.id,
                from_status="received",
                to_status="in_progress",
                note=f"Called {TEXT} on {NUMBER}",
                message_id=reply.id,
            )
        )
        session.add(
            Consent(
                contact_id=contact.id,
                address_id=whatsapp.id,
                purpose="contact",
                question="Do you agree that we can contact you about your complaint?",
                wording="Do you agree that we can contact you about your complaint?",
                wording_version="abc",
                language="en",
                channel="whatsapp",
                answer=True,
                feedback_id=comment.id,
                given_at=now,
            )
        )
        session.add(
            SurveyResponse(
                survey="have-your-say",
                answers={"satisfaction": 4, "best_way": "phone", "what_would_help": TEXT},
                complete=True,
                language="en",
                channel="sms",
                contact_id=contact.id,
                address_id=sms.id,
                created_at=now,
            )
        )
        interest = Interest(
            opportunity="carers_forum",
            contact_how="sms",
            contact_when="morning",
            language="en",
            channel="sms",
            contact_id=contact.id,
            address_id=sms.id,
            created_at=now,
            status="contacted",
            assigned_to=staff.id,
        )
        session.add(interest)
        session.flush()
        # Staff's follow-up, with a note naming them and the message sent from the queue.
        session.add(
            InterestEvent(
                interest_id=interest.id,
                at=now,
                user_id=staff.id,
                from_status="new",
                to_status="contacted",
                assigned_to=staff.id,
                note=f"Rang {TEXT} on {NUMBER}",
                message_id=reply.id,
            )
        )
        start = now + timedelta(days=10)
        event = create_event(
            session,
            EventDetails({"en": "Forum"}, start, start + timedelta(hours=1), "Hall"),
            None,
            now,
        )
        session.add(
            EventSubscription(contact_id=contact.id, address_id=sms.id, topic=None, created_at=now)
        )
        session.add(
            Rsvp(
                event_id=event.id,
                contact_id=contact.id,
                address_id=sms.id,
                answer="yes",
                answered_at=now,
            )
        )
        # Their access needs, the interpreter's language in their own words (a sentinel),
        # and their attendance at the event, marked by staff.
        session.add(
            AccessNeed(
                contact_id=contact.id,
                step_free=True,
                hearing_loop=False,
                interpreter=True,
                interpreter_language=TEXT,
                large_print=False,
                companion=True,
                updated_at=now,
            )
        )
        session.add(
            VoiceCall(
                call_sid=f"CA{WORD}",
                address_id=sms.id,
                status="completed",
                started_at=now,
                ended_at=now,
            )
        )
        session.add(
            Attendance(
                event_id=event.id,
                contact_id=contact.id,
                said_yes=True,
                marked_by=staff.id,
                marked_at=now,
            )
        )
        flag = SafeguardingFlag(
            contact_id=contact.id,
            message_id=inbound.id,
            feedback_id=comment.id,
            categories=["neglect"],
            source="moderator",
            raised_at=now,
            raised_by=staff.id,
            status="cleared",
            resolved_at=now,
            resolved_by=staff.id,
            resolution_note=f"Spoke to {TEXT}",
            correct=False,
        )
        session.add(flag)
        item = YouSaidItem(
            theme="Carers", texts={}, change="change_made", status="draft", created_at=now
        )
        session.add(item)
        session.flush()
        session.add(YouSaidLink(item_id=item.id, feedback_id=comment.id))
        # Staff took a comment down for them on the phone, and have a task to call them.
        session.add(
            TakenOnBehalf(
                contact_id=contact.id,
                feedback_id=comment.id,
                channel="phone",
                name=f"Mx {TEXT}",
                phone=NUMBER,
                postal_address=f"1 {TEXT} Street, London E1",
                note=f"Said {TEXT}",
                updates_by="call",
                recorded_by=staff.id,
                created_at=now,
            )
        )
        task = StaffTask(
            kind="call-with-update",
            summary=f"Call them: Update on their comment: {TEXT}",
            contact_id=contact.id,
            feedback_id=comment.id,
            status="open",
            created_at=now,
            created_by=staff.id,
        )
        session.add(task)
        session.flush()
        # Somewhere in a flow, their words not yet submitted.
        conversation = session.scalars(
            select(Conversation).where(Conversation.address_id == whatsapp.id)
        ).one()
        conversation.answers = {"text": TEXT}
        for target_type, target_id, detail, reason in (
            ("address", sms.id, None, None),
            ("feedback", comment.reference, {"said": TEXT}, None),
            ("contact", contact.id, {"feedback": comment.reference}, f"Hid {TEXT}"),
            ("safeguarding_flag", flag.id, None, f"Cleared: {TEXT}"),
            ("staff_task", task.id, {"summary": TEXT}, f"Done: {TEXT}"),
            ("interest", interest.id, {"note": TEXT}, f"Called {TEXT}"),
        ):
            record_audit(
                session, staff.id, "example.done", target_type, target_id, detail, reason, now=now
            )
        return Person(
            contact.id,
            (sms.id, whatsapp.id),
            complaint.reference,
            comment.reference,
            queued.id,
        )
