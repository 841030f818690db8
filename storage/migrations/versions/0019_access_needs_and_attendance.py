"""access needs told once; attendance at events; venues' accessible toilets

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 15:40:00.000000

`access_needs` keeps one current set of a person's access and communication needs (asked
when they say yes to an event or register interest, changed with ACCESS). `attendances`
keeps who staff marked as having come to an event; `events.extra_attendees` counts those
who came without being known. `events.accessible_toilet` joins the venue's other access
details. The columns on `events` are added in place (no rebuild: `rsvps` refers to it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'events',
        sa.Column('accessible_toilet', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    )
    op.add_column(
        'events',
        sa.Column('extra_attendees', sa.Integer(), server_default=sa.text('0'), nullable=False),
    )
    op.create_table(
        'access_needs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('step_free', sa.Boolean(), nullable=False),
        sa.Column('hearing_loop', sa.Boolean(), nullable=False),
        sa.Column('interpreter', sa.Boolean(), nullable=False),
        sa.Column('interpreter_language', storage.types.ExactText(), nullable=True),
        sa.Column('large_print', sa.Boolean(), nullable=False),
        sa.Column('companion', sa.Boolean(), nullable=False),
        sa.Column('updated_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contact_id'),
    )
    op.create_table(
        'attendances',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('said_yes', sa.Boolean(), nullable=False),
        sa.Column('marked_by', sa.Integer(), nullable=True),
        sa.Column('marked_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.ForeignKeyConstraint(['marked_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'contact_id'),
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index('ix_attendances_event_id', ['event_id'], unique=False)
        batch_op.create_index('ix_attendances_contact_id', ['contact_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index('ix_attendances_contact_id')
        batch_op.drop_index('ix_attendances_event_id')
    op.drop_table('attendances')
    op.drop_table('access_needs')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('extra_attendees')
        batch_op.drop_column('accessible_toilet')
