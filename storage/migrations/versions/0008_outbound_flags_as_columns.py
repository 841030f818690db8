"""what decides how an outbound message goes: columns, not keys inside params

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 09:00:00.000000

Flags rode in `params` as `_lead`, `_raw_choices`, `_even_if_stopped`, `_urgent`, `_survey`
and `_survey_node`. They become columns of their own, and rows already written (messages
held or queued, and the history) are moved over and their params cleaned.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import ExactText


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

FALSE = sa.text('false')
KEYS = ('_lead', '_raw_choices', '_even_if_stopped', '_urgent', '_survey', '_survey_node')


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead', ExactText(), nullable=True))
        batch_op.add_column(
            sa.Column('raw_choices', sa.Boolean(), nullable=False, server_default=FALSE)
        )
        batch_op.add_column(
            sa.Column('even_if_stopped', sa.Boolean(), nullable=False, server_default=FALSE)
        )
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=FALSE))
        batch_op.add_column(sa.Column('survey', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('survey_node', sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            """
            UPDATE messages SET
                lead = params::jsonb ->> '_lead',
                raw_choices = coalesce((params::jsonb ->> '_raw_choices')::boolean, false),
                even_if_stopped = coalesce((params::jsonb ->> '_even_if_stopped')::boolean, false),
                urgent = coalesce((params::jsonb ->> '_urgent')::boolean, false),
                survey = params::jsonb ->> '_survey',
                survey_node = params::jsonb ->> '_survey_node',
                params = (params::jsonb - ARRAY['_lead', '_raw_choices', '_even_if_stopped',
                                                '_urgent', '_survey', '_survey_node'])::json
            WHERE direction = 'out' AND params IS NOT NULL
              AND jsonb_typeof(params::jsonb) = 'object'
              AND params::jsonb ?| ARRAY['_lead', '_raw_choices', '_even_if_stopped',
                                        '_urgent', '_survey', '_survey_node']
            """
        )
    else:
        op.execute(
            """
            UPDATE messages SET
                lead = json_extract(params, '$._lead'),
                raw_choices = coalesce(json_extract(params, '$._raw_choices'), 0) != 0,
                even_if_stopped = coalesce(json_extract(params, '$._even_if_stopped'), 0) != 0,
                urgent = coalesce(json_extract(params, '$._urgent'), 0) != 0,
                survey = json_extract(params, '$._survey'),
                survey_node = json_extract(params, '$._survey_node'),
                params = json_remove(params, '$._lead', '$._raw_choices', '$._even_if_stopped',
                                     '$._urgent', '$._survey', '$._survey_node')
            WHERE direction = 'out' AND params IS NOT NULL AND json_valid(params)
              AND json_type(params) = 'object'
              AND (json_type(params, '$._lead') IS NOT NULL
                   OR json_type(params, '$._raw_choices') IS NOT NULL
                   OR json_type(params, '$._even_if_stopped') IS NOT NULL
                   OR json_type(params, '$._urgent') IS NOT NULL
                   OR json_type(params, '$._survey') IS NOT NULL
                   OR json_type(params, '$._survey_node') IS NOT NULL)
            """
        )


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('survey_node')
        batch_op.drop_column('survey')
        batch_op.drop_column('urgent')
        batch_op.drop_column('even_if_stopped')
        batch_op.drop_column('raw_choices')
        batch_op.drop_column('lead')
