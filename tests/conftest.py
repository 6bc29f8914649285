"""Session-wide fixtures: one real Temporal dev server for the whole test session.

The session also gets a data folder of its own, so no test, and no command a test runs,
reads or writes the real per-user data folder of whoever runs the suite; a payload key
ring of its own (`tests/sealing.py`), so every payload the session writes to Temporal is
sealed, as the product writes them; and an identity key ring of its own
(`tests.identities`), with which its Temporal client signs requests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from starter.binaries import temporal_cli
from starter.identities import IdentityHeaders
from starter.payload_keys import KEY_FILE_ENV, KEYS_ENV
from tests import identities
from tests.sealing import SESSION_ENTRY, session_converter
from workflows import search_attributes as sa

_SCRATCH = Path(tempfile.mkdtemp(prefix="support-provision-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    """Before any test is collected: the data folder, and the user data folder that an
    empty SUPPORT_PROVISION_DATA falls back to, both under a scratch folder; the session's
    payload keys for every command a test runs."""
    os.environ["SUPPORT_PROVISION_DATA"] = str(_SCRATCH / "data")
    os.environ["XDG_DATA_HOME"] = str(_SCRATCH / "xdg-data")
    os.environ[KEYS_ENV] = SESSION_ENTRY
    os.environ.pop(KEY_FILE_ENV, None)
    identities.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=session_converter(),
        dev_server_existing_path=temporal_cli(),
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        interceptors=[IdentityHeaders(identities.suite_signer())],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest_asyncio.fixture(scope="session")
async def app_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated SQLite application database shared by the workflow tests, with the
    shipped directory synced: a case's first register write takes only an owner of it."""
    from activities.database.directory import default_directory_file, load_directory, sync_directory
    from activities.database.engine import create_engine, session_factory
    from activities.database.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('app') / 'support-provision.db'}"
    await upgrade(url)
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await sync_directory(session, load_directory(default_directory_file()))
    await engine.dispose()
    yield url


@pytest_asyncio.fixture(scope="session")
async def app_sessions(app_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    from activities.database.engine import create_engine, session_factory

    engine = create_engine(app_database)
    yield session_factory(engine)
    await engine.dispose()
