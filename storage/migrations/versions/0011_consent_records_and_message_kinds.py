"""consent: what people answered when asked whether we may contact them; message kinds

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 10:40:00.000000

`consents` keeps each answer as it was asked (the question, the words read, their version,
the language and channel, when, and the answer): the newest for a person decides whether
case updates, staff replies and "you said, we did" may reach them. Complaints answered
before keep their answer: a consent row is written for each from the feedback's own
`consent_to_contact` (wording version `0010`: the words they read were not kept then).

`messages.kind` names what an outbound message is (a reply, a case update, a broadcast...),
so a No or a preference holds exactly the kinds it covers. Rows written before are named
from what they carry.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CONSENT_QUESTION = "Do you agree that we can contact you about your complaint?"


def upgrade() -> None:
    op.create_table(
        'consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('address_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('question', storage.types.ExactText(), nullable=False),
        sa.Column('wording', storage.types.ExactText(), nullable=True),
        sa.Column('wording_version', sa.String(length=16), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('answer', sa.Boolean(), nullable=False),
        sa.Column('feedback_id', sa.Integer(), nullable=True),
        sa.Column('given_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['address_id'], ['addresses.id']),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_contact_id'), ['contact_id'], unique=False)
    op.execute(
        sa.text(
            "INSERT INTO consents (contact_id, address_id, purpose, question, wording, "
            "wording_version, language, channel, answer, feedback_id, given_at) "
            "SELECT contact_id, address_id, 'contact', :question, NULL, '0010', language, "
            "channel, consent_to_contact, id, created_at FROM feedback "
            "WHERE consent_to_contact IS NOT NULL ORDER BY id"
        ).bindparams(question=CONSENT_QUESTION)
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=24), nullable=True))
    op.execute(
        "UPDATE messages SET kind = CASE "
        "WHEN sent_by IS NOT NULL THEN 'staff-reply' "
        "WHEN broadcast_id IS NOT NULL AND survey IS NOT NULL THEN 'survey' "
        "WHEN broadcast_id IS NOT NULL AND EXISTS (SELECT 1 FROM you_said_items "
        "WHERE you_said_items.broadcast_id = messages.broadcast_id) THEN 'you-said' "
        "WHEN broadcast_id IS NOT NULL THEN 'broadcast' "
        "WHEN feedback_id IS NOT NULL THEN 'case-update' "
        "WHEN urgent THEN 'safeguarding-alert' "
        "WHEN dedupe_key LIKE 'digest:%' THEN 'digest' "
        "WHEN dedupe_key LIKE 'event:%:reminder:%' THEN 'reminder' "
        "WHEN dedupe_key LIKE 'event:%' THEN 'event-notice' "
        "ELSE 'reply' END "
        "WHERE direction = 'out'"
    )


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_contact_id'))
    op.drop_table('consents')
