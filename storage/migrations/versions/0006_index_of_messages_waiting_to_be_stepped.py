"""an index of the inbound messages waiting to be stepped

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WAITING = sa.text("direction = 'in' AND status = 'received'")


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(
            'ix_messages_waiting',
            ['address_id', 'id'],
            unique=False,
            sqlite_where=WAITING,
            postgresql_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_waiting', sqlite_where=WAITING, postgresql_where=WAITING)
