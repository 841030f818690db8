"""corrections linked to what they correct; WhatsApp's business-scoped user ids

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:00:00.000000

A Telegram message a person edits arrives as a new update carrying the same message id in
their chat. Every inbound message with such an id keeps it as its `dedupe_key`
("chat-message:11", unique per address, as Telegram's ids are per chat), and an edit is
stored as a message of its own whose `corrects_id` names the one it corrects.

WhatsApp users who take a user name may hide their phone number; Twilio then sends their
business-scoped user id (BSUID, `CC.` and up to 128 letters and digits) in `ExternalUserId`,
and in `From` when there is no number. `addresses.external_user_id` ties it to the phone
address the person wrote from before. (An index, not a unique constraint: on SQLite a
constraint would rebuild `addresses`, which other tables' rows refer to; for the same
reason `corrects_id` is added with its reference inline.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added with its reference inline: on SQLite a separate foreign key would rebuild
    # `messages`, which other tables' rows (safeguarding flags) refer to.
    op.add_column(
        'messages',
        sa.Column(
            'corrects_id',
            sa.Integer(),
            # Unnamed and without ON DELETE: SQLite keeps neither for a reference written
            # inline (as reflected). A correction and its original are the same person's,
            # deleted together.
            sa.ForeignKey('messages.id'),
            nullable=True,
        ),
        inline_references=True,
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_user_id', sa.String(length=160), nullable=True))
        batch_op.create_index(
            'uq_addresses_channel_external_user_id', ['channel', 'external_user_id'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('uq_addresses_channel_external_user_id')
        batch_op.drop_column('external_user_id')
    # Its reference goes with it.
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('corrects_id')
