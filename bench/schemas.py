"""A PostgreSQL schema of its own for one benchmark run, dropped when the run ends."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import text

from storage.db import Database


@contextmanager
def postgres_schema(admin_url: str, prefix: str = "kotha_bench") -> Iterator[str]:
    """Create a fresh schema, yield a URL that works inside it, and drop it afterwards."""
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(admin_url)
    try:
        with admin.engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        separator = "&" if "?" in admin_url else "?"
        yield f"{admin_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
