"""opportunities staff edit; the interests queue: status, assignee and history

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 15:30:00.000000

The ways to take part move from the involve flow's file to the `opportunities` table, which
staff edit in the console (the policy's list is seeded on first start:
bot/outreach/opportunities.py). An interest keeps the opportunity's `key`, as it kept the
flow's option value before, so earlier interests and broadcast segments still name theirs.

Interests gain where staff are in following them up (`status`, `assigned_to`,
`contacted_at`), and every change is a row of `interest_events`. The reference to the
assignee is added inline: on SQLite a separate foreign key would rebuild `interests`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import ExactText, UtcDateTime

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'opportunities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('area', sa.String(length=16), nullable=False),
        sa.Column('titles', sa.JSON(), nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('times', sa.JSON(), nullable=False),
        sa.Column('support', sa.JSON(), nullable=False),
        sa.Column('needs_review', sa.JSON(), nullable=False),
        sa.Column('open', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.add_column(
        'interests',
        sa.Column('status', sa.String(length=16), server_default=sa.text("'new'"), nullable=False),
    )
    op.add_column(
        'interests',
        sa.Column('assigned_to', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        inline_references=True,
    )
    op.add_column('interests', sa.Column('contacted_at', UtcDateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_interests_status'), 'interests', ['status'], unique=False)
    op.create_table(
        'interest_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('interest_id', sa.Integer(), nullable=False),
        sa.Column('at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('from_status', sa.String(length=16), nullable=True),
        sa.Column('to_status', sa.String(length=16), nullable=False),
        sa.Column('assigned_to', sa.Integer(), nullable=True),
        sa.Column('note', ExactText(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['interest_id'], ['interests.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['assigned_to'], ['users.id']),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        op.f('ix_interest_events_interest_id'), 'interest_events', ['interest_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_interest_events_interest_id'), table_name='interest_events')
    op.drop_table('interest_events')
    op.drop_index(op.f('ix_interests_status'), table_name='interests')
    with op.batch_alter_table('interests', schema=None) as batch_op:
        batch_op.drop_column('contacted_at')
        batch_op.drop_column('assigned_to')
        batch_op.drop_column('status')
    op.drop_table('opportunities')
