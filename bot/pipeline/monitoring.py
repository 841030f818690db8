"""Whether a person has been asked the optional equality monitoring questions.

They are asked once, right after their answer to the question about news that follows a
first contribution (flows/definitions/news.yaml, then monitoring.yaml), so the contribution
itself is no longer to finish, and someone who leaves the question about news unanswered is
not asked. A row in `equality_monitoring` is written when they are asked, so they are never
asked twice, whatever they answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import EqualityMonitoring

MONITORING_FLOW = "monitoring"


def ask_once(
    connection: Connection, contact_id: int, language: str, channel: str, now: datetime
) -> bool:
    """Mark the person asked (a row with no answers yet); False when they were asked before."""
    insert_ = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert_(EqualityMonitoring)
        .values(
            contact_id=contact_id,
            asked_at=now,
            skipped=False,
            language=language,
            channel=channel,
        )
        .on_conflict_do_nothing(index_elements=["contact_id"])
        .returning(EqualityMonitoring.id)
    )
    # RETURNING, not the row count: psycopg's pipeline mode reports no count (-1).
    return connection.execute(statement).first() is not None
