"""Column types that keep what people wrote exactly, even what databases refuse."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator

# PostgreSQL rejects NUL in text and both databases reject lone surrogates (which JSON can
# carry). Such a string is stored as this marker plus base64 of its UTF-8 (surrogatepass)
# bytes; every other string, the overwhelming majority, is stored as it is and stays
# searchable. A string that itself starts with the marker is escaped too, so reading back
# is always exact.
_MARK = "\x1bkotha-b64:"


def _needs_escape(value: str) -> bool:
    if "\x00" in value or value.startswith(_MARK):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ExactText(TypeDecorator[str]):
    """Text that round-trips byte for byte, including NUL and lone surrogates."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if _needs_escape(value):
            raw = value.encode("utf-8", "surrogatepass")
            return _MARK + base64.b64encode(raw).decode("ascii")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.startswith(_MARK):
            raw = base64.b64decode(value[len(_MARK) :])
            return raw.decode("utf-8", "surrogatepass")
        return str(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored as UTC and always read back time-zone aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        moment: datetime = value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
