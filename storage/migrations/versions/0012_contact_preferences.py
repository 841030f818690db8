"""preferences: which kinds of broadcast each person chose, and how many a month

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:00:00.000000

A person's broadcasts (news and invitations, "you said, we did", surveys) go only where
they said yes to that kind, at most `monthly_cap` a calendar month. Nobody has chosen yet:
people who wrote before are asked after their next contribution, or send PREFERENCES.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'preferences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('invitations', sa.Boolean(), nullable=True),
        sa.Column('you_said', sa.Boolean(), nullable=True),
        sa.Column('surveys', sa.Boolean(), nullable=True),
        sa.Column('monthly_cap', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('updated_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contact_id'),
    )


def downgrade() -> None:
    op.drop_table('preferences')
