"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Base, Contact


def differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found: list[object] = compare_metadata(context, Base.metadata)
        return found


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    # A model changed without a migration shows up here as a difference.
    assert differences(database) == []


def test_upgrading_again_changes_nothing_and_keeps_the_data(database: Database) -> None:
    with database.session() as session:
        session.add(Contact(language="bn", created_at=datetime(2026, 11, 18, tzinfo=UTC)))
    upgrade(database)
    upgrade(database)
    assert differences(database) == []
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    with database.session() as session:
        versions = session.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [row[0] for row in versions] == [head]
        assert session.scalars(select(Contact.language)).all() == ["bn"]


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
