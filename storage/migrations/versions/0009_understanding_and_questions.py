"""what each message was understood to say, and which question a message asks or answers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:30:00.000000

`understood` keeps, on an inbound message, what the understanding made of it (intent,
language, confidence, the words why), shown to staff beside it. `question` names the
question an outbound message asks ("complaint/service"), and on an inbound message the
question a Telegram button press answers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('understood', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('question', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('question')
        batch_op.drop_column('understood')
