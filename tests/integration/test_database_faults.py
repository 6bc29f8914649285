"""A database that fails as real ones do: a connection that went read-only, a writer
holding the lock, a read-only database under a running case.

The service recovers by itself (a broken connection is thrown away, not pooled), reads
answer while a writer holds the lock, and Temporal shows the database's own words for a
failed activity, one short line, logged once per attempt.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.client import Client
from typer.testing import CliRunner

from activities.database.directory import sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from starter.cli import app
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.integration.db_fixtures import DATABASES, fresh_database
from tests.integration.sla_fixtures import DIRECTORY, seconds_type
from tests.waiting import eventually
from workflows.in_flight import NOTIFY_HEARTBEAT
from workflows.names import notice_queue

READ_ONLY_SESSION = {
    # SQLite: what a connection opened while the files were read-only says for good.
    "sqlite": "PRAGMA query_only = ON",
    # PostgreSQL: what a connection to a standby (after a failover) says for good.
    "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
}


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_connection_that_went_read_only_is_thrown_away(kind: str, tmp_path: Path):
    async with fresh_database(kind, tmp_path) as url:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE drill (n integer)"))
            async with engine.connect() as connection:
                await connection.execute(text(READ_ONLY_SESSION[kind]))
                await connection.commit()
            with pytest.raises(Exception, match="read-?only"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO drill VALUES (1)"))

            # The only connection the pool may hold was the broken one: a write now
            # works on a new one.
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO drill VALUES (2)"))
            async with engine.connect() as connection:
                found = await connection.execute(text("SELECT n FROM drill"))
                assert [n for (n,) in found] == [2]
        finally:
            await engine.dispose()


async def test_writes_work_again_as_soon_as_the_files_do(tmp_path: Path):
    """SQLite shares one WAL index per file among a process's connections, opened as the
    files allowed when the first of them opened it; a connection thrown away while its
    failed statement's cursor lingers is not closed, and keeps that index. So it must be
    closed for good, not left to the garbage collector (disabled here, as a worker with a
    large heap all but does), or writes fail long after the files are writable again."""
    database = tmp_path / "drill.db"
    setup = sqlite3.connect(database, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE drill (n integer)")
    # Another process keeps the WAL files in place, as the drill's harness does.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
    setup.close()
    engine = create_engine(f"sqlite+aiosqlite:///{database}")

    async def write(n: int) -> str:
        try:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO drill VALUES (:n)"), {"n": n})
            return "written"
        except Exception as error:  # noqa: BLE001 - what each write met is the finding
            return str(error)

    gc.disable()
    try:
        # The fault: this process's WAL index opened read-only, as while the files were.
        fault = sqlite3.connect(f"file:{database}?readonly_shm=1", uri=True)
        fault.execute("SELECT count(*) FROM drill").fetchall()
        during = await asyncio.gather(*(write(n) for n in range(6)))
        assert all("readonly database" in met for met in during), during
        fault.close()  # the files are writable again

        after = await asyncio.gather(*(write(n) for n in range(6)))
        assert after == ["written"] * 6, after
    finally:
        gc.enable()
        await engine.dispose()
        holder.communicate(b"", timeout=10)


_HOLDER = """
import sqlite3, sys
held = sqlite3.connect(sys.argv[1])
held.execute("SELECT count(*) FROM drill").fetchall()
print("ready", flush=True)
sys.stdin.read()
"""


def test_lists_answer_while_a_writer_holds_the_lock(tmp_path: Path):
    database = tmp_path / "support-provision.db"
    url = f"sqlite+aiosqlite:///{database}"
    asyncio.run(upgrade(url))
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM notifications")
    try:
        env = {"DATABASE_URL": url, "SUPPORT_PROVISION_DATA": str(tmp_path)}
        for command in (["notifications", "list"], ["case", "list"]):
            began = time.monotonic()
            result = CliRunner().invoke(app, command, env=env)
            took = time.monotonic() - began
            assert result.exit_code == 0, result.output
            assert took < 5, f"{command} waited {took:.1f}s for the writer"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_read_only_database_shows_its_words_in_temporal_and_one_line_per_retry(
    temporal_client: Client, task_queue: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    database = tmp_path / "support-provision.db"
    await upgrade(f"sqlite+aiosqlite:///{database}")
    setup = create_engine(f"sqlite+aiosqlite:///{database}")
    async with session_factory(setup).begin() as session:
        await sync_directory(session, DIRECTORY)
    await setup.dispose()
    # The worker's database opened read-only, as it is while its files are.
    engine = create_engine(f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true")
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"RO-{uuid.uuid4().hex[:8]}"
    caplog.set_level(logging.DEBUG, logger="temporalio.activity")
    try:
        async with build_worker(temporal_client, task_queue, session_factory(engine)):
            await cases.start_case(
                seconds_type(warning_after=1, target=2),
                tenant_ref="TEN-RO",
                case_ref=case_ref,
                owner="tom-bennett",
            )
            handle = temporal_client.get_workflow_handle(f"case-{case_ref}")

            async def failures() -> dict[str, str] | None:
                pending = (await handle.describe()).raw_description.pending_activities
                # A failure's message is sealed like every payload: opened with the keys,
                # as the UI shows it through the codec server.
                seen = {
                    p.activity_type.name: getattr(
                        await temporal_client.data_converter.decode_failure(p.last_failure),
                        "message",
                        "",
                    )
                    for p in pending
                    if p.attempt >= 2 and p.last_failure.message
                }
                return seen if {"record_case_changes", "notify_escalation"} <= set(seen) else None

            seen = await eventually(failures, timeout=30, interval=0.2)
    finally:
        await engine.dispose()
    for message in seen.values():
        assert "attempt to write a readonly database" in message
        assert "exceeds size limit" not in message and len(message) < 500
        assert "\n" not in message

    history = await handle.fetch_history()
    notices = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "notify_escalation"
    ]
    assert notices and {n.task_queue.name for n in notices} == {notice_queue(task_queue)}
    assert {n.heartbeat_timeout.ToTimedelta() for n in notices} == {NOTIFY_HEARTBEAT}

    # One warning line per failed attempt, the reason on it; no traceback for the expected.
    records = [r for r in caplog.records if r.name == "temporalio.activity"]
    retries = [r for r in records if r.levelno == logging.WARNING]
    assert retries and all("will retry" in r.getMessage() for r in retries)
    assert all("readonly database" in r.getMessage() for r in retries)
    assert not [r for r in records if r.exc_info and r.levelno >= logging.INFO]
