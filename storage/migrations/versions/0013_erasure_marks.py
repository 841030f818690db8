"""erasure: when a person, and when a feedback record's words, were erased

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 13:00:00.000000

A person erased at their request or by retention keeps an anonymous contact row (for the
statistics) marked `erased_at`; a complaint kept past a person's erasure for its statutory
retention has its words erased when that ends, marked the same way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(
            sa.Column('erased_at', storage.types.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('feedback') as batch:
        batch.add_column(
            sa.Column('erased_at', storage.types.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('feedback') as batch:
        batch.drop_column('erased_at')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('erased_at')
