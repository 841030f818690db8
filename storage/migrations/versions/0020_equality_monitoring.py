"""equality monitoring answers, apart from feedback; indexes for the impact page

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 16:00:00.000000

`equality_monitoring` holds one row a person: written when they are first asked the optional
questions (after their answer about news), filled in as they answer. Reports read counts
only. The impact page counts what came in over a period: messages by when they came (its
partial index keeps only inbound rows), interests and survey answers by when they were made.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'equality_monitoring',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('asked_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('skipped', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('carer', sa.String(length=24), nullable=True),
        sa.Column('age_band', sa.String(length=24), nullable=True),
        sa.Column('sex', sa.String(length=24), nullable=True),
        sa.Column('ethnic_group', sa.String(length=24), nullable=True),
        sa.Column('ethnicity', sa.String(length=32), nullable=True),
        sa.Column('disability', sa.String(length=24), nullable=True),
        sa.Column('religion', sa.String(length=24), nullable=True),
        sa.Column('area', sa.String(length=24), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contact_id'),
    )
    op.create_index(
        'ix_equality_monitoring_answered_at', 'equality_monitoring', ['answered_at']
    )
    op.create_index(
        'ix_messages_inbound_created_at',
        'messages',
        ['created_at', 'address_id'],
        postgresql_where=sa.text("direction = 'in'"),
        sqlite_where=sa.text("direction = 'in'"),
    )
    op.create_index('ix_interests_created_at', 'interests', ['created_at'])
    op.create_index('ix_survey_responses_created_at', 'survey_responses', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_survey_responses_created_at', table_name='survey_responses')
    op.drop_index('ix_interests_created_at', table_name='interests')
    op.drop_index('ix_messages_inbound_created_at', table_name='messages')
    op.drop_index('ix_equality_monitoring_answered_at', table_name='equality_monitoring')
    op.drop_table('equality_monitoring')
