"""PostgreSQL announces each received message when it commits

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:30:00.000000

An inbound row inserted as 'received' notifies the channel of its schema with its address
id; `storage/notify.py` listens (and names the channel the same way). SQLite: nothing.
"""

from __future__ import annotations

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        """
        CREATE FUNCTION kotha_announce_received() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('kotha_received_' || md5(TG_TABLE_SCHEMA), NEW.address_id::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER messages_announce_received
        AFTER INSERT ON messages
        FOR EACH ROW WHEN (NEW.direction = 'in' AND NEW.status = 'received')
        EXECUTE FUNCTION kotha_announce_received()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER messages_announce_received ON messages')
    op.execute('DROP FUNCTION kotha_announce_received()')
