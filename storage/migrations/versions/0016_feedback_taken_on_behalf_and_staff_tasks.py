"""feedback taken on someone's behalf; staff tasks

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 16:00:00.000000

Staff take feedback, survey answers and interests down for people who phone, call in or
write (`taken_on_behalf`: the person's details as given and how they want to hear back),
and keep a list of things to do by hand, such as calling someone with an update
(`staff_tasks`). Two new tables: nothing existing is rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'taken_on_behalf',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('feedback_id', sa.Integer(), nullable=True),
        sa.Column('survey_response_id', sa.Integer(), nullable=True),
        sa.Column('interest_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('name', storage.types.ExactText(), nullable=True),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('postal_address', storage.types.ExactText(), nullable=True),
        sa.Column('note', storage.types.ExactText(), nullable=True),
        sa.Column('updates_by', sa.String(length=16), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.Column('created_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id']),
        sa.ForeignKeyConstraint(['interest_id'], ['interests.id']),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id']),
        sa.ForeignKeyConstraint(['survey_response_id'], ['survey_responses.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('feedback_id'),
    )
    with op.batch_alter_table('taken_on_behalf', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_taken_on_behalf_contact_id'), ['contact_id'], unique=False
        )
    op.create_table(
        'staff_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('summary', storage.types.ExactText(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('feedback_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('created_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('done_at', storage.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column('done_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['done_by'], ['users.id']),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('staff_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_tasks_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_staff_tasks_feedback_id'), ['feedback_id'], unique=False
        )
        batch_op.create_index(
            'ix_staff_tasks_status_created_at', ['status', 'created_at'], unique=False
        )


def downgrade() -> None:
    op.drop_table('staff_tasks')
    op.drop_table('taken_on_behalf')
