"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

Import the fixtures a module uses from here. SQLite lives in a temporary folder;
PostgreSQL gets a fresh database per test session (``sp_test_<uuid>`` on
``$TEST_POSTGRES_URL``, default ``postgres@127.0.0.1:5432``), dropped at the end. When
PostgreSQL cannot be reached its leg is skipped, except under CI (``$CI`` set), where
it fails: CI must never pass on SQLite alone. Schemas come from the migrations, as in
production.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.contracts import RegisterUpdate
from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from activities.database.models import Base, CaseEvent, CaseRecord, TaskRecord
from casemodel.case import Case
from casemodel.state import CaseState
from tests.factories import at, visit_type

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASES = ["sqlite", "postgresql"]


def sqlite_url(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{(folder / 'support-provision.db').as_posix()}"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for the duration; its async URL."""
    admin = make_url(ADMIN_URL)
    name = f"sp_test_{uuid.uuid4().hex[:12]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        message = f"PostgreSQL at {admin.render_as_string()} is unreachable: {error}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL leg", pytrace=False)
        pytest.skip(message)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


@asynccontextmanager
async def fresh_database(kind: str, folder: Path) -> AsyncIterator[str]:
    """A new, empty database of ``kind`` (not migrated); its URL."""
    if kind == "sqlite":
        yield sqlite_url(folder)
    else:
        async with postgres_database() as url:
            yield url


@pytest_asyncio.fixture(scope="session", params=DATABASES)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Each database in turn, migrated: tests using it run once per database."""
    async with fresh_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        await upgrade(url)
        yield url


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on an emptied database, so each test starts from nothing."""
    await clear(engine)
    return session_factory(engine)


async def staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Sync the shipped directory into the database of `sessions`."""
    async with sessions.begin() as session:
        await sync_directory(session, load_directory(default_directory_file()))


async def clear(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


async def dump_case(session: AsyncSession, case_ref: str) -> dict[str, Any]:
    """Every register row of a case as plain values, to compare one state with another."""

    def plain(row: Any) -> dict[str, Any]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns}

    async def rows(model: Any, *order: Any) -> list[dict[str, Any]]:
        query = select(model).where(model.case_ref == case_ref).order_by(*order)
        return [plain(r) for r in (await session.scalars(query)).all()]

    return {
        "case": await rows(CaseRecord, CaseRecord.case_ref),
        "tasks": await rows(TaskRecord, TaskRecord.key),
        "events": await rows(CaseEvent, CaseEvent.seq),
    }


# --- a case to project -------------------------------------------------------------


def stages(case_ref: str = "CASE-1", **open_args: Any) -> list[CaseState]:
    """Snapshots of one case as it goes: opened, visited, assessed, closed."""
    args = {"tenant_ref": "TEN-100", "owner": "tom-bennett", "opened_by": "hms", **open_args}
    case = Case.open(visit_type(), case_ref=case_ref, now=at(0), **args)
    snapshots = [case.state.model_copy(deep=True)]
    case.complete_task("contact", outcome=None, responses=None, note=None, by="tom", now=at(5))
    case.complete_task(
        "home-visit", outcome="no-access", responses=None, note=None, by="tom", now=at(60)
    )
    snapshots.append(case.state.model_copy(deep=True))
    responses = {
        "Risk level": "high",
        "consent": "yes",
        "arrears": "£1,250.50",
        "visits": "3",
        "review": "2026-04-01",
        "needs": "debt, clutter",
    }
    case.complete_task(
        "risk-assessment", outcome=None, responses=responses, note="tense", by="tom", now=at(90)
    )
    snapshots.append(case.state.model_copy(deep=True))
    case.close(outcome="no-further-support", reason="moved out", by="priya", now=at(120))
    snapshots.append(case.state.model_copy(deep=True))
    return snapshots


def update(state: CaseState, since: CaseState | None = None, **kwargs: Any) -> RegisterUpdate:
    since_seq = since.log[-1].seq if since else 0
    return RegisterUpdate.from_state(
        state, workflow_id=f"case-{state.case_ref}", type_version=1, since_seq=since_seq, **kwargs
    )
