"""the voice line's calls and its prompts' recordings

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 17:00:00.000000

`voice_calls` ties each call Twilio reports (its CallSid) to the caller's address of
channel `voice`, and records when it ended: the recording callback names only the call.
`voice_prompts` holds staff's recordings of the line's prompts, one a prompt and language.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'voice_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('address_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['address_id'], ['addresses.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    op.create_index('ix_voice_calls_address_id', 'voice_calls', ['address_id'])
    op.create_table(
        'voice_prompts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prompt', storage.types.ExactText(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('uploaded_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('uploaded_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['uploaded_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('prompt', 'language'),
    )


def downgrade() -> None:
    op.drop_table('voice_prompts')
    op.drop_index('ix_voice_calls_address_id', table_name='voice_calls')
    op.drop_table('voice_calls')
