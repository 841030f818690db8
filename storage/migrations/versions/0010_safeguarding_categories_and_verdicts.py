"""safeguarding: the harms as the understanding names them, and whether each flag was right

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:00:00.000000

The harms are now emergency, self_harm, abuse, domestic, threat, neglect and financial
(flows/understanding/harm.py). Flags raised before keep what they said in those words:
suicide is self-harm, violence abuse, exploitation financial abuse.

`correct` keeps whether a moderator found the flag right (confirmed or escalated) or wrong
(cleared), so the detector's record in real use can be read back and its lists grow.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

RENAMED = {"suicide": "self_harm", "violence": "abuse", "exploitation": "financial"}
FORMER = {"self_harm": "self_harm", "abuse": "abuse", "financial": "exploitation"}


def _recategorise(names: dict[str, str]) -> None:
    connection = op.get_bind()
    value = "CAST(:c AS JSON)" if connection.dialect.name == 'postgresql' else ":c"
    rows = connection.execute(sa.text("SELECT id, categories FROM safeguarding_flags")).all()
    for flag_id, categories in rows:
        found = json.loads(categories) if isinstance(categories, str) else list(categories or [])
        renamed = list(dict.fromkeys(names.get(name, name) for name in found))
        if renamed != found:
            connection.execute(
                sa.text(f"UPDATE safeguarding_flags SET categories = {value} WHERE id = :i"),
                {"c": json.dumps(renamed), "i": flag_id},
            )


def upgrade() -> None:
    with op.batch_alter_table('safeguarding_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correct', sa.Boolean(), nullable=True))
    _recategorise(RENAMED)
    op.execute(
        "UPDATE safeguarding_flags SET correct = (status = 'escalated') "
        "WHERE status IN ('cleared', 'escalated')"
    )


def downgrade() -> None:
    _recategorise(FORMER)
    with op.batch_alter_table('safeguarding_flags', schema=None) as batch_op:
        batch_op.drop_column('correct')
