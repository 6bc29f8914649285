"""Column types that read back the same values on SQLite and PostgreSQL.

The migrations import these, so they must stay stable: change a type by adding a new one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# Fixed width, so that text order is time order and SQLite can compare and sort it.
_SQLITE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC: ``timestamptz`` on PostgreSQL, ISO text on SQLite.

    Values always come back aware and in UTC, so a row reads identically on both
    databases. A naive datetime is taken to be UTC already (workflow time always is).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = _as_utc(value)
        return value.strftime(_SQLITE_FORMAT) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


JsonDocument = JSON()
"""JSON text on both databases. Not JSONB: that reorders keys, and answers read back in
the order they were given, the same on SQLite and PostgreSQL."""
