"""Which database to use: one setting, ``DATABASE_URL``, with an embedded default."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "DATABASE_URL"
DATA_ENV_VAR = "SUPPORT_PROVISION_DATA"
SQLITE_FILE = "support-provision.db"

SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver the service does not run on."""


_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def data_dir() -> Path:
    """The dev stack's data folder (``$SUPPORT_PROVISION_DATA`` or ``./data``), created."""
    folder = Path(os.environ.get(DATA_ENV_VAR) or "data")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def database_url(url: str | None = None) -> str:
    """``url``, else ``$DATABASE_URL``, else SQLite in the data folder; always async.

    ``postgresql://`` and ``postgres://`` (as hosting providers hand them out) become
    ``postgresql+asyncpg://``, and ``sqlite://`` becomes ``sqlite+aiosqlite://``, because
    the service only speaks to databases through async drivers. Anything else raises
    `UnsupportedDatabase`.
    """
    url = url or os.environ.get(ENV_VAR)
    if not url:
        return f"sqlite+aiosqlite:///{(data_dir() / SQLITE_FILE).resolve().as_posix()}"
    scheme, sep, rest = url.partition("://")
    scheme = _ASYNC_DRIVERS.get(scheme, scheme)
    if not sep or scheme not in SUPPORTED:
        raise UnsupportedDatabase(
            f"the database URL ({ENV_VAR}) must start postgresql:// or "
            f"sqlite:///, not {scheme + sep or url!r}"
        )
    return f"{scheme}://{rest}"
