"""A database's schema through Alembic: `kotha db upgrade`, `current`, `history`, `downgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Apply every migration not yet applied to this database."""
    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current(database: Database) -> str | None:
    """The revision this database is at (None before the first migration)."""
    with database.engine.connect() as connection:
        revision: str | None = MigrationContext.configure(connection).get_current_revision()
        return revision


def head() -> str | None:
    """The newest revision this version of Kotha knows."""
    revision: str | None = ScriptDirectory.from_config(
        alembic_config("sqlite://")
    ).get_current_head()
    return revision


def history() -> list[tuple[str, str | None, str]]:
    """Every migration, newest first: (revision, the one before it, what it does)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [
        (
            step.revision,
            step.down_revision
            if isinstance(step.down_revision, str) or step.down_revision is None
            else ",".join(step.down_revision),
            (step.doc or "").strip().splitlines()[0] if step.doc else "",
        )
        for step in script.walk_revisions()
    ]


def downgrade(database: Database, revision: str) -> None:
    """Undo migrations down to `revision` (`base` undoes them all)."""
    config = alembic_config(database.url)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
