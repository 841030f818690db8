"""the impact page's counts for closed months, kept once worked out

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 17:10:00.000000

Who wrote and what feedback came in a calendar month that has ended do not change, so the
impact page counts them from the messages once and keeps the counts here (no person named).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'impact_months',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('indicator', sa.String(length=64), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('computed_at', storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('month', 'indicator'),
    )


def downgrade() -> None:
    op.drop_table('impact_months')
