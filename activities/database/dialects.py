"""The one place that knows which SQL dialects the application database runs on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .settings import UnsupportedDatabase


def insert_for(session: AsyncSession, what: str) -> Any:
    """The dialect's INSERT, which offers ON CONFLICT on both databases we run on."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise UnsupportedDatabase(f"{what} runs on PostgreSQL or SQLite, not {name}")
