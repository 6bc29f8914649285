"""The migrations build the same schema on SQLite and PostgreSQL, and run again harmlessly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from activities.database.engine import create_engine
from activities.database.migrate import current_revision, head_revision, upgrade
from activities.database.models import Base
from activities.database.settings import database_url as configured_url
from tests.integration.db_fixtures import DATABASES, fresh_database


@pytest.mark.parametrize("kind", DATABASES)
async def test_migrations_apply_to_an_empty_database_and_rerun_as_a_no_op(
    kind: str, tmp_path: Path
):
    async with fresh_database(kind, tmp_path) as url:
        assert await current_revision(url) is None

        first = await upgrade(url)
        assert (first.before, first.after, first.changed) == (None, head_revision(), True)

        again = await upgrade(url)
        assert (again.before, again.after, again.changed) == (head_revision(),) * 2 + (False,)

        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
                drift = await connection.run_sync(_drift)
        finally:
            await engine.dispose()
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
    assert drift == [], "the models and the migrations disagree; write a migration"


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def test_the_url_defaults_to_sqlite_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", str(tmp_path / "data"))
    url = configured_url()
    expected = (tmp_path / "data" / "support-provision.db").resolve()
    assert url == f"sqlite+aiosqlite:///{expected.as_posix()}"
    assert not (tmp_path / "data").exists(), "only `db upgrade` or the dev stack makes it"


async def test_upgrade_makes_the_data_folder_and_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SUPPORT_PROVISION_DATA", str(tmp_path / "data"))
    result = await upgrade()
    assert result.before is None and result.after is not None
    assert (tmp_path / "data" / "support-provision.db").is_file()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db/sp", "postgresql+asyncpg://u:p@db/sp"),
        ("postgres://u:p@db/sp", "postgresql+asyncpg://u:p@db/sp"),
        ("postgresql+asyncpg://u@db/sp", "postgresql+asyncpg://u@db/sp"),
        ("sqlite:////var/sp.db", "sqlite+aiosqlite:////var/sp.db"),
    ],
)
def test_plain_urls_get_the_async_driver(
    given: str, expected: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DATABASE_URL", given)
    assert configured_url() == expected
