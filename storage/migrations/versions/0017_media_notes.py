"""transcripts and translations of the voice notes and photos people send

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 15:45:00.000000

Staff write, beside each file a person sent (a message's media item, by its place in the
message's `media`), what was said (a transcript) and its English translation. One row per
file: the last words written count; each change is audited.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'media_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('media_index', sa.Integer(), nullable=False),
        sa.Column('transcript', storage.types.ExactText(), nullable=True),
        sa.Column('translation', storage.types.ExactText(), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'media_index'),
    )


def downgrade() -> None:
    op.drop_table('media_notes')
