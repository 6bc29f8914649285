"""Bring a database's schema up to date with the Alembic migrations shipped in the package.

The Alembic configuration is built in code around the package's ``migrations`` folder, so
this works from any working directory and from an installed package, with no alembic.ini.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from .engine import create_engine
from .settings import database_url, sqlite_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class UpgradeResult:
    """What an upgrade did: the revision before and after (``None``: an empty database)."""

    url: str
    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(url: str | None = None, revision: str = "head") -> UpgradeResult:
    """Apply every migration the database lacks, in one transaction; a no-op when current.

    The one operation that creates a database: a SQLite file's folder is made first,
    readable by its owner only, and so is a SQLite file this creates (the register holds
    tenants' notes and reasons in clear; the folder alone does not protect a file in a
    folder made readable by others before).
    """
    url = database_url(url)
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # one there already keeps its mode
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    config = alembic_config()
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            before = await connection.run_sync(_current)
            await connection.run_sync(_upgrade, config, revision)
            after = await connection.run_sync(_current)
    finally:
        await engine.dispose()
    return UpgradeResult(display_url(url), before, after)


async def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at; ``None`` when no migration has run."""
    engine = create_engine(database_url(url))
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current)
    finally:
        await engine.dispose()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
