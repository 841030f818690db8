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
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import ExactText, UtcDateTime


class Base(DeclarativeBase):
    """The declarative base every Kotha table derives from."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class Contact(Base):
    """One person, however many channels they use; their chosen language lives here."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]

    addresses: Mapped[list[Address]] = relationship(back_populates="contact")


class Address(Base):
    """A contact's address on one channel: a phone number or a Telegram chat id."""

    __tablename__ = "addresses"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    stopped_at: Mapped[datetime | None]
    # "person" (they sent STOP) or "provider" (a provider said they stopped or blocked us).
    stopped_by: Mapped[str | None] = mapped_column(String(16))
    last_inbound_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    contact: Mapped[Contact] = relationship(back_populates="addresses")


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
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    body: Mapped[str | None] = mapped_column(ExactText)
    media: Mapped[list[Any] | None] = mapped_column(JSON)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # Inbound: received -> processed (or "failed" when a bug stopped its step).
    # Outbound: queued -> sending -> sent -> delivered | read, or held / failed with a reason.
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    template: Mapped[str | None] = mapped_column(ExactText)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    choices: Mapped[list[Any] | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(16))
    is_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    feedback_id: Mapped[int | None] = mapped_column(ForeignKey("feedback.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class Feedback(Base):
    """A complaint, comment or compliment, with the reference the person can quote."""

    __tablename__ = "feedback"

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
    acknowledge_by: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(index=True)


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
    created_at: Mapped[datetime]


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
    created_at: Mapped[datetime]


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
