"""The migrations build the same schema on SQLite and PostgreSQL, and run again harmlessly."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from activities.database import definitions_store as store
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import current_revision, head_revision, upgrade
from activities.database.models import Base, GroupMember
from activities.database.settings import database_url as configured_url
from tests.factories import visit_type
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
    database = tmp_path / "data" / "support-provision.db"
    assert database.is_file()
    # Readable by their owner only: the register holds tenants' notes in clear.
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for journal in database.parent.glob("support-provision.db-*"):  # SQLite's, as its file
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600, journal.name


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


@pytest.mark.parametrize("kind", DATABASES)
async def test_rows_from_before_effective_dating_get_open_periods(kind: str, tmp_path: Path):
    """A published version and a group membership written at revision 0002 are in effect on
    every day after the upgrade, a member may then rejoin a group they left, and a member
    is still a person or an address."""
    async with fresh_database(kind, tmp_path) as url:
        await upgrade(url, "0002")
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO published_definitions (type_id, version, content_hash, "
                        "content, published_at, published_by) VALUES ('visit-assessment', 1, "
                        "'abc', :content, :at, 'amara')"
                    ),
                    {"content": visit_type().model_dump_json(), "at": _at(kind)},
                )
                await connection.execute(
                    text(
                        "INSERT INTO stakeholder_groups (id, name, description, active, "
                        "updated_at) VALUES ('panel', 'Panel', '', :yes, :at)"
                    ),
                    {"yes": True, "at": _at(kind)},
                )
                await connection.execute(
                    text(
                        "INSERT INTO group_members (group_id, address, name) "
                        "VALUES ('panel', 'mash@council.example.org', 'MASH')"
                    )
                )
            result = await upgrade(url)
            assert (result.before, result.after) == ("0002", head_revision())
            sessions = session_factory(engine)
            async with sessions() as session:
                assert await store.in_effect(session, "visit-assessment", date(1990, 1, 1)) == (
                    1,
                    visit_type(),
                )
                member = (await session.scalars(select(GroupMember))).one()
                assert (member.effective_from, member.effective_to) == (None, None)
            async with sessions.begin() as session:  # left, and back a year later
                member = (await session.scalars(select(GroupMember))).one()
                member.effective_to = date(2026, 12, 31)
                session.add(
                    GroupMember(
                        group_id="panel",
                        address="mash@council.example.org",
                        name="MASH",
                        effective_from=date(2028, 1, 1),
                    )
                )
            async with sessions() as session:
                assert len((await session.scalars(select(GroupMember))).all()) == 2
            with pytest.raises(IntegrityError):  # SQLite's copy of the table kept its check
                async with sessions.begin() as session:
                    session.add(GroupMember(group_id="panel", person_id=None, address=None))
        finally:
            await engine.dispose()


def _at(kind: str) -> object:
    """A timestamp as the UtcDateTime column stores it on each database."""
    moment = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00") if kind == "sqlite" else moment
