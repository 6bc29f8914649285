"""Which database to use: one setting, ``DATABASE_URL``, with an embedded default.

The embedded default is a SQLite file in the data folder, and the data folder is one place
per user (`data_dir`), so every command finds the same database wherever it is run from.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_VAR = "DATABASE_URL"
DATA_ENV_VAR = "SUPPORT_PROVISION_DATA"
APP_NAME = "support-provision"
SQLITE_FILE = "support-provision.db"

SUPPORTED = {"postgresql+asyncpg", "sqlite+aiosqlite"}


class UnsupportedDatabase(ValueError):
    """The URL names a database or driver the service does not run on."""


class DatabaseMissing(LookupError):
    """A command would read a SQLite database that does not exist yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"There is no database at {path}; start the dev stack (`make dev` or "
            f"`support-provision dev`) to create it, or set {ENV_VAR} to your database."
        )


_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def data_dir() -> Path:
    """Where the embedded stack keeps its state, as an absolute path; not created here.

    ``$SUPPORT_PROVISION_DATA`` if it is set and not empty, else the user's data folder
    (``~/.local/share/support-provision`` on Linux, ``~/Library/Application Support/
    support-provision`` on macOS). It never depends on the working directory, so the dev
    stack, the worker and every command agree on it wherever each is started.
    """
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    return platformdirs.user_data_path(APP_NAME, appauthor=False).resolve()


def database_url(url: str | None = None) -> str:
    """``url``, else ``$DATABASE_URL``, else SQLite in the data folder; always async.

    ``postgresql://`` and ``postgres://`` (as hosting providers hand them out) become
    ``postgresql+asyncpg://``, and ``sqlite://`` becomes ``sqlite+aiosqlite://``, because
    the service only speaks to databases through async drivers. Anything else raises
    `UnsupportedDatabase`. Nothing is created: see `existing_database_url`.
    """
    url = url or os.environ.get(ENV_VAR)
    if not url:
        return f"sqlite+aiosqlite:///{(data_dir() / SQLITE_FILE).as_posix()}"
    scheme, sep, rest = url.partition("://")
    scheme = _ASYNC_DRIVERS.get(scheme, scheme)
    if not sep or scheme not in SUPPORTED:
        raise UnsupportedDatabase(
            f"the database URL ({ENV_VAR}) must start postgresql:// or "
            f"sqlite:///, not {scheme + sep or url!r}"
        )
    return f"{scheme}://{rest}"


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for other databases and in-memory SQLite."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def existing_database_url(url: str | None = None) -> str:
    """`database_url`, refusing with `DatabaseMissing` a SQLite file that is not there.

    Opening a SQLite file creates it, so without this check a read in the wrong place
    would leave an empty database behind and report missing tables instead.
    """
    url = database_url(url)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise DatabaseMissing(path.absolute())
    return url
