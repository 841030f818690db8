"""Kotha's records: contacts, addresses, conversations, messages and what people told us."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from storage.types import ExactText, UtcDateTime

# The simulator's people (and `kotha chat`'s and the demo's) have addresses that begin with
# this, which no provider ever sends: Twilio's are phone numbers, Telegram's chat ids. It is
# how a simulated conversation is told apart everywhere: its replies go to the console
# sender, it alerts no one, and lists and exports mark it.
SIMULATED_PREFIX = "sim:"


def is_simulated(address: str) -> bool:
    """Say whether an address is one of the simulator's (nothing said to it reaches a phone)."""
    return address.startswith(SIMULATED_PREFIX)


class Base(DeclarativeBase):
    """The declarative base every Kotha table derives from."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class Contact(Base):
    """One person, however many channels they use; their chosen language lives here."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    # A moderator hides a contact who is abusive: their conversations leave the inbox and
    # queue for everyone but moderators and admins. Nothing they said is deleted.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_reason: Mapped[str | None] = mapped_column(ExactText)
    # A council colleague who receives alerts and digests (on-call moderators), not a
    # member of the public: never in the inbox, a broadcast or the statistics.
    staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The secret in the address of this person's own iCalendar feed of events.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Erased at their request or by retention (bot/casework/erasure.py): what is left is
    # anonymous (their addresses read "erased:<id>"), kept for the statistics.
    erased_at: Mapped[datetime | None]

    addresses: Mapped[list[Address]] = relationship(back_populates="contact")


class Address(Base):
    """A contact's address on one channel: a phone number or a Telegram chat id."""

    __tablename__ = "addresses"
    __table_args__ = (
        UniqueConstraint("channel", "address"),
        Index("uq_addresses_channel_external_user_id", "channel", "external_user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # E.164, a Telegram chat id, or a WhatsApp business-scoped user id ("US.1349...") for
    # someone whose number WhatsApp hides.
    address: Mapped[str] = mapped_column(String(64))
    # WhatsApp: the person's business-scoped user id (Twilio's ExternalUserId), which stays
    # theirs when they take a user name and hide their number; ties both to this address.
    external_user_id: Mapped[str | None] = mapped_column(String(160))
    stopped_at: Mapped[datetime | None]
    # "person" (they sent STOP) or "provider" (a provider said they stopped or blocked us).
    stopped_by: Mapped[str | None] = mapped_column(String(16))
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    simulated: Mapped[bool] = column_property(address.startswith(SIMULATED_PREFIX))

    contact: Mapped[Contact] = relationship(back_populates="addresses")


def _simulated(address_id: Mapped[int]) -> Mapped[bool]:
    """Whether a record's address is simulated, read with the record (a primary key lookup)."""
    return column_property(
        select(Address.address.startswith(SIMULATED_PREFIX))
        .where(Address.id == address_id)
        .correlate_except(Address)
        .scalar_subquery()
    )


class Conversation(Base):
    """Where a person is in a flow on one address; the version column stops two steps racing."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), unique=True)
    flow: Mapped[str] = mapped_column(String(64))
    node: Mapped[str] = mapped_column(String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)

    __mapper_args__ = {"version_id_col": version}


class Message(Base):
    """One message in either direction; an outbound row exists before any attempt to send it.

    Inbound `body` is exactly what the person sent. Outbound rows keep the message id and
    parameters they were asked to say; `body` is rendered in the recipient's language when
    the message is sent, and kept so the transcript shows exactly what went out.
    """

    __tablename__ = "messages"
    __table_args__ = (
        # Providers retry webhooks: one row per provider id per channel for inbound messages.
        Index(
            "uq_messages_inbound_provider_id",
            "channel",
            "provider_id",
            unique=True,
            sqlite_where=text("direction = 'in'"),
            postgresql_where=text("direction = 'in'"),
        ),
        Index("ix_messages_channel_provider_id", "channel", "provider_id"),
        Index("ix_messages_address_id_id", "address_id", "id"),
        # Inbound messages stored but not yet stepped: every step asks whether the person
        # has any, and the sweep looks for old ones. Only those rows are in the index, so
        # the answer costs the same however long a person's history.
        Index(
            "ix_messages_waiting",
            "address_id",
            "id",
            sqlite_where=text("direction = 'in' AND status = 'received'"),
            postgresql_where=text("direction = 'in' AND status = 'received'"),
        ),
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # A broadcast, reminder or notice reaches each address at most once, however often
        # the fan-out that writes it is interrupted and run again.
        Index("uq_messages_address_id_dedupe_key", "address_id", "dedupe_key", unique=True),
        Index("ix_messages_broadcast_id_status", "broadcast_id", "status"),
        # The impact page counts who wrote in a period (bot/outreach/impact.py): inbound
        # rows by when they came, with the address, read from the index alone.
        Index(
            "ix_messages_inbound_created_at",
            "created_at",
            "address_id",
            sqlite_where=text("direction = 'in'"),
            postgresql_where=text("direction = 'in'"),
        ),
        # The console's word search (ILIKE '%word%') over what people wrote: trigram GIN
        # indexes on PostgreSQL (pg_trgm, created by migration 0004). SQLite has no such
        # index and scans; an empty partial index (WHERE 0) stands in there, so the schema
        # still matches these models on both databases.
        Index(
            "ix_messages_body_trgm",
            "body",
            postgresql_using="gin",
            postgresql_ops={"body": "gin_trgm_ops"},
            postgresql_where=text("direction = 'in'"),
            sqlite_where=text("0"),
        ),
        Index(
            "ix_messages_redacted_body_trgm",
            "redacted_body",
            postgresql_using="gin",
            postgresql_ops={"redacted_body": "gin_trgm_ops"},
            postgresql_where=text("redacted_body IS NOT NULL"),
            sqlite_where=text("0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    body: Mapped[str | None] = mapped_column(ExactText)
    media: Mapped[list[Any] | None] = mapped_column(JSON)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # Inbound: received -> processed (or "failed" when a bug stopped its step).
    # Outbound: queued -> sending -> sent -> delivered | read, or held / failed with a reason;
    # on the voice line, "spoken": said in the call as it was written (never sent).
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(ExactText)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A short catalog message said before the template, in the same text (an apology).
    lead: Mapped[str | None] = mapped_column(ExactText)
    choices: Mapped[list[Any] | None] = mapped_column(JSON)
    # The choices are names not to translate (each language written in itself).
    raw_choices: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    language: Mapped[str | None] = mapped_column(String(16))
    is_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # Goes even in quiet hours (a safeguarding alert to the on-call moderator).
    urgent: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Goes even to an address that sent STOP (the confirmation that they are stopped).
    even_if_stopped: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # A survey's first question sent as a broadcast: as it goes, the person's conversation is
    # put at `survey_node` of flow `survey`, so their reply answers it.
    survey: Mapped[str | None] = mapped_column(String(64))
    survey_node: Mapped[str | None] = mapped_column(String(64))
    # Outbound: the question the message asks ("complaint/service"); inbound: the question a
    # Telegram button press answers. A press of an old button is told so.
    question: Mapped[str | None] = mapped_column(String(64))
    # Inbound: what the understanding made of it (flows/understanding), shown to staff.
    understood: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"))
    # The body with personal details replaced by a moderator; the original stays in `body`,
    # shown only to moderators and admins.
    redacted_body: Mapped[str | None] = mapped_column(ExactText)
    # The staff account that wrote an outbound reply by hand (None for the bot's own words).
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    # Outbound: what kind of message it is (bot/pipeline/outbox.py KINDS): a person's No or
    # their preferences hold some kinds and not others (bot/pipeline/hold.py).
    kind: Mapped[str | None] = mapped_column(String(24))
    # e.g. "broadcast:12", "event:5:reminder:P7D": unique per address when set. Inbound:
    # "chat-message:11", the provider's id of the message in the person's chat (Telegram's
    # message_id), by which an edit of it finds it (bot/pipeline/store.py chat_message_key).
    dedupe_key: Mapped[str | None] = mapped_column(String(64))
    # Inbound: the message this one corrects (the person edited it); the original is kept.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class Feedback(Base):
    """A complaint, comment or compliment, with the reference the person can quote."""

    __tablename__ = "feedback"
    __table_args__ = (
        # The statutory clock: cases still owing an acknowledgement or a response, by their
        # deadline, so the overdue and due-soon cases are found without reading every case.
        Index(
            "ix_feedback_acknowledge_pending",
            "acknowledge_by",
            postgresql_where=text("acknowledged_at IS NULL"),
            sqlite_where=text("acknowledged_at IS NULL"),
        ),
        Index(
            "ix_feedback_respond_pending",
            "respond_by",
            postgresql_where=text("decided_at IS NULL AND closed_at IS NULL"),
            sqlite_where=text("decided_at IS NULL AND closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # complaint | comment | compliment
    status: Mapped[str] = mapped_column(String(24), index=True)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    service: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(ExactText)
    desired_outcome: Mapped[str | None] = mapped_column(ExactText)
    media: Mapped[list[Any] | None] = mapped_column(JSON)
    wants_callback: Mapped[bool | None]
    callback_language: Mapped[str | None] = mapped_column(String(16))
    consent_to_contact: Mapped[bool | None]
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    simulated: Mapped[bool] = _simulated(address_id)
    acknowledge_by: Mapped[date | None] = mapped_column(Date)
    # The statutory clock: a response is due by this working day (complaints only).
    respond_by: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # When the case first reached each step of its lifecycle (case_events has every change).
    acknowledged_at: Mapped[datetime | None]
    in_progress_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]  # resolved or not upheld
    closed_at: Mapped[datetime | None]
    # What changed because the person spoke up: change_planned | change_made | no_change.
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_change: Mapped[str | None] = mapped_column(ExactText)
    # Moderation: free text waits for review; tags and redactions are set by a moderator.
    topic: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    redacted_text: Mapped[str | None] = mapped_column(ExactText)
    redacted_desired_outcome: Mapped[str | None] = mapped_column(ExactText)
    # Its words, media and notes erased (the person's request, or retention); the counts
    # (kind, service, dates, language, channel) stay.
    erased_at: Mapped[datetime | None]


class Consent(Base):
    """What a person answered when asked whether we may do something: the newest answer counts.

    Kept as asked: the question's message id, the words they read in their language (and a
    digest of them, the wording's version), the channel, when, and the answer. A No to
    contact holds case updates, staff replies and "you said, we did" (bot/pipeline/hold.py).
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    # What the answer is about: "contact" (about their feedback).
    purpose: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(ExactText)  # the catalog message id (English)
    wording: Mapped[str | None] = mapped_column(ExactText)  # as they read it
    wording_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    answer: Mapped[bool] = mapped_column(Boolean)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"))
    given_at: Mapped[datetime]


class Preference(Base):
    """What a person chose to receive besides answers to what they write; one row a person.

    Each kind is None until they answer (nothing of that kind is sent), then yes or no.
    `monthly_cap` is the most broadcast messages (news, "you said, we did", surveys) they
    get in a calendar month.
    """

    __tablename__ = "preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    # Invitations to have a say: consultations, events, news of changes (broadcasts).
    invitations: Mapped[bool | None]
    you_said: Mapped[bool | None]
    surveys: Mapped[bool | None]
    monthly_cap: Mapped[int] = mapped_column(Integer, default=4)
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class SurveyResponse(Base):
    """One person's answers to one survey, keyed by question id."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64), index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    simulated: Mapped[bool] = _simulated(address_id)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Interest(Base):
    """A person's wish to take part in an involvement opportunity, and how to reach them."""

    __tablename__ = "interests"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity: Mapped[str] = mapped_column(String(64), index=True)
    contact_how: Mapped[str | None] = mapped_column(String(32))
    contact_when: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    simulated: Mapped[bool] = _simulated(address_id)
    created_at: Mapped[datetime] = mapped_column(index=True)
    # Where staff are in following it up (bot/outreach/interests.py STATUSES), and who does.
    status: Mapped[str] = mapped_column(
        String(16), default="new", server_default=text("'new'"), index=True
    )
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # When staff first moved it on from "new": the follow-up clock stops then.
    contacted_at: Mapped[datetime | None]


class InterestEvent(Base):
    """One change to an interest as staff follow it up: its status, who it is assigned to,
    a note, and the message sent from the queue, if any."""

    __tablename__ = "interest_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("interests.id"), index=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(ExactText)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class Opportunity(Base):
    """A way to take part (a forum, a panel, a board) as staff keep it and the bot offers it.

    Its texts are per language (BCP 47 code -> text): the title people choose from, one
    plain line saying what it is, and the time it asks of them. `key` is what an interest
    keeps (and a broadcast's segment names), so it never changes once written.
    """

    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    area: Mapped[str] = mapped_column(String(16))  # groups | panels | other
    titles: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lines: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    times: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the council offers: expenses, paid_time, travel, replacement_care, interpreter.
    support: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The languages whose texts are drafts a native speaker has still to review.
    needs_review: Mapped[list[Any]] = mapped_column(JSON, default=list)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ImpactMonth(Base):
    """The impact page's counts for one closed calendar month, kept once worked out.

    A month that has ended does not change: messages and feedback are stamped when they are
    stored, and an erasure keeps what is counted. So who wrote and what feedback came in a
    closed month are counted once, from the messages, and read from here after
    (bot/outreach/impact.py). Counts only: no row names a person.
    """

    __tablename__ = "impact_months"
    __table_args__ = (UniqueConstraint("month", "indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # its first day, in the deployment's time zone
    indicator: Mapped[str] = mapped_column(String(64))  # "people@Europe/London"
    counts: Mapped[list[Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime]


class EqualityMonitoring(Base):
    """A person's answers to the optional equality monitoring questions, kept apart from
    what they told us: one row a person, written when they are first asked.

    Each answer is a fixed value of flows/definitions/monitoring.yaml (`prefer_not` when
    they chose not to say; None when they skipped all or left before that question). No
    staff page shows a row: reports count them (bot/outreach/impact.py), and a count under
    5 is shown as "fewer than 5".
    """

    __tablename__ = "equality_monitoring"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
    # They chose "skip all" at the start.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    carer: Mapped[str | None] = mapped_column(String(24))  # carer | service_user | both | ...
    age_band: Mapped[str | None] = mapped_column(String(24))
    sex: Mapped[str | None] = mapped_column(String(24))
    ethnic_group: Mapped[str | None] = mapped_column(String(24))  # the census's 5 groups
    ethnicity: Mapped[str | None] = mapped_column(String(32))  # the census's 19 categories
    disability: Mapped[str | None] = mapped_column(String(24))
    religion: Mapped[str | None] = mapped_column(String(24))
    area: Mapped[str | None] = mapped_column(String(24))  # a postcode district
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))


class User(Base):
    """A staff, moderator or admin account for the console; the email is stored lower-cased."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin | staff | moderator
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Each sign-in's session carries the number this had then; raising it (on signing out, a
    # new password, a new role, disabling) ends every session of the account, copies too.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditEvent(Base):
    """Who did what to which record, when and why; a null user is someone not signed in."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(ExactText)


class CaseEvent(Base):
    """One change to a case: its status, who made it, when, and whether the person was told."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), index=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(ExactText)
    # The outbound message that told the person, when staff chose to notify them.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class SafeguardingFlag(Base):
    """A sign that someone may be at risk of harm, raised by the word lists or a moderator.

    Open flags put the person's conversation at the top of the queue marked urgent; a
    moderator clears a false positive with a reason or escalates a real concern.
    """

    __tablename__ = "safeguarding_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"), index=True)
    # Which kinds of harm (flows/understanding/harm.py CATEGORIES).
    categories: Mapped[list[Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))  # automatic | moderator
    raised_at: Mapped[datetime] = mapped_column(index=True)
    raised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    alerted_at: Mapped[datetime | None]
    # open -> cleared (a false positive, with a reason) | confirmed (a real concern, handled)
    # | escalated (a real concern, passed on).
    status: Mapped[str] = mapped_column(String(16), index=True)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(ExactText)
    # Whether the moderator who resolved it found it right: the detector's record in use.
    correct: Mapped[bool | None]


class Broadcast(Base):
    """One message to many people, written in every language, sent now or at a set time.

    Fan-out writes one outbound row per recipient in batches, resuming after the last
    address it wrote (`fanout_after`), so a killed worker neither skips nor repeats anyone.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(ExactText)  # staff's own label, never sent
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)  # language -> text
    # Who receives it: {"kind": "all"} or e.g. {"service": "home_care", "language": "bn"}.
    segment: Mapped[dict[str, Any]] = mapped_column(JSON)
    survey: Mapped[str | None] = mapped_column(String(64))  # a survey flow to walk them through
    # draft -> scheduled -> sending -> sent, or cancelled at any point before the end.
    status: Mapped[str] = mapped_column(String(16), index=True)
    send_at: Mapped[datetime | None] = mapped_column(index=True)
    fanout_after: Mapped[int] = mapped_column(Integer, default=0)  # last address id written
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class YouSaidItem(Base):
    """ "You said, we did": a theme people raised and what the council did or plans to do."""

    __tablename__ = "you_said_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    theme: Mapped[str] = mapped_column(ExactText)  # staff's own label
    # language -> {"said": ..., "did": ...}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    change: Mapped[str] = mapped_column(String(16))  # change_planned | change_made
    change_date: Mapped[date | None] = mapped_column(Date)
    # A quote shown on the public page only once a moderator approved it anonymised.
    quote: Mapped[str | None] = mapped_column(ExactText)
    quote_approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | published
    published_at: Mapped[datetime | None]
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class YouSaidLink(Base):
    """A feedback record that a "you said, we did" item answers."""

    __tablename__ = "you_said_links"
    __table_args__ = (UniqueConstraint("item_id", "feedback_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("you_said_items.id"))
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), index=True)


class Consultation(Base):
    """A consultation event on the calendar (a forum, a panel, a drop-in), in every language.

    People and staff call these events; the class says consultation so that "event" in the
    code means one thing. The table keeps its name, `events`, as do the exports.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    titles: Mapped[dict[str, Any]] = mapped_column(JSON)  # language -> title
    descriptions: Mapped[dict[str, Any]] = mapped_column(JSON)  # language -> description
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(ExactText)
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    hearing_loop: Mapped[bool] = mapped_column(Boolean, default=False)
    parking: Mapped[bool] = mapped_column(Boolean, default=False)
    accessible_toilet: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # One short line, sent in reminders (bot/outreach/reminders.py): GSM-7 and short.
    access_notes: Mapped[str | None] = mapped_column(ExactText)
    languages: Mapped[list[Any]] = mapped_column(JSON)  # spoken at the event
    interpreters: Mapped[list[Any]] = mapped_column(JSON)  # interpreters available
    topic: Mapped[str | None] = mapped_column(String(64), index=True)
    capacity: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))  # scheduled | cancelled
    # Goes up with every change, for iCalendar's SEQUENCE and the change notices' dedupe keys.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # People who came without being known to Kotha: counted, never named.
    extra_attendees: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class EventSubscription(Base):
    """A person who wants reminders of events, on one address, for one topic or all."""

    __tablename__ = "event_subscriptions"
    __table_args__ = (UniqueConstraint("address_id", "topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    topic: Mapped[str | None] = mapped_column(String(64))  # None: every topic
    created_at: Mapped[datetime]


class Rsvp(Base):
    """A person's answer to "will you come?": yes or no, the latest one counts."""

    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("event_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    answer: Mapped[str] = mapped_column(String(8))  # yes | no
    answered_at: Mapped[datetime]


class TakenOnBehalf(Base):
    """Feedback, a survey answer or an interest that staff took down for someone.

    Taken on a phone call, at a drop-in or from a letter (the record's channel says which),
    with the person's details as they gave them and how they want to hear back: by SMS (to
    the mobile, which is then an SMS address of theirs), or by a call or a letter, which
    staff make from a task (bot/casework/tasks.py). Exactly one record is linked.
    """

    __tablename__ = "taken_on_behalf"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"), unique=True)
    survey_response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_responses.id"))
    interest_id: Mapped[int | None] = mapped_column(ForeignKey("interests.id"))
    channel: Mapped[str] = mapped_column(String(16))  # phone | in_person | letter
    # As the person gave them; each optional.
    name: Mapped[str | None] = mapped_column(ExactText)
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    postal_address: Mapped[str | None] = mapped_column(ExactText)
    # An interest's words (feedback and survey answers keep theirs in their own record).
    note: Mapped[str | None] = mapped_column(ExactText)
    # How they want updates: sms | call | letter | none.
    updates_by: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class StaffTask(Base):
    """Something a member of staff must do by hand: call someone with an update, book an
    interpreter. Open until someone marks it done; other features open them
    (bot/casework/tasks.py)."""

    __tablename__ = "staff_tasks"
    __table_args__ = (Index("ix_staff_tasks_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # What to do, for staff; it may name a case but never a number or an address, which
    # the task page reads from the person's records. Never logged.
    summary: Mapped[str] = mapped_column(ExactText)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(String(8))  # open | done
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None]
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MediaNote(Base):
    """Staff's transcript and English translation of one file a person sent (a voice note).

    One row per file (a message's media item, by its place in the message's `media`): the
    last words written count, and each change is in the audit log (`media.noted`). Erased
    with the person (bot/casework/erasure.py).
    """

    __tablename__ = "media_notes"
    __table_args__ = (UniqueConstraint("message_id", "media_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    media_index: Mapped[int] = mapped_column(Integer)
    transcript: Mapped[str | None] = mapped_column(ExactText)
    translation: Mapped[str | None] = mapped_column(ExactText)  # in English
    # The language the person spoke or wrote in (BCP 47), as staff heard it.
    language: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class AccessNeed(Base):
    """What a person needs to take part, told once and changeable (ACCESS): one row a person.

    A row with every need False is the answer "none": it is not asked again.
    `interpreter_language` is a code (bn, syl, bsl) or the language the person named.
    """

    __tablename__ = "access_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    step_free: Mapped[bool] = mapped_column(Boolean, default=False)
    hearing_loop: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter: Mapped[bool] = mapped_column(Boolean, default=False)
    interpreter_language: Mapped[str | None] = mapped_column(ExactText)
    large_print: Mapped[bool] = mapped_column(Boolean, default=False)  # or Easy Read
    companion: Mapped[bool] = mapped_column(Boolean, default=False)  # someone comes with them
    updated_at: Mapped[datetime]


class Attendance(Base):
    """A known person staff marked as having come to an event."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("event_id", "contact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    # Whether they had said yes beforehand, or came anyway.
    said_yes: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime]


class VoiceCall(Base):
    """One phone call to the voice line (webhooks/twilio_voice.py), by Twilio's CallSid.

    The call is a conversation of channel `voice` at the caller's address; this row ties
    Twilio's callbacks (which name the call, not the caller) to that address, and says
    whether the call has ended, so a recording that arrives after the caller hung up still
    reaches their feedback (bot/casework/voiceline.py). Erased with the person.
    """

    __tablename__ = "voice_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True)
    # ringing | in-progress | completed | busy | no-answer | failed | canceled (Twilio's)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class VoicePrompt(Base):
    """A person's recording of one voice-line prompt in one language, uploaded by staff.

    `prompt` is the catalog message the recording says (bot/casework/voiceprompts.py); the
    line plays it instead of a machine voice. One a prompt and language: a new upload
    replaces it. Nobody's personal data: the words are the council's.
    """

    __tablename__ = "voice_prompts"
    __table_args__ = (UniqueConstraint("prompt", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt: Mapped[str] = mapped_column(ExactText)
    language: Mapped[str] = mapped_column(String(16))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(32))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
