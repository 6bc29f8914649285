"""The world a benchmark runs in: a dev server, a migrated SQLite database, a worker.

Everything is created under one temporary directory and torn down on exit, whatever
happened; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.database.engine import create_engine, reading, session_factory
from activities.database.migrate import upgrade
from casemodel import permissions
from protection.codec import PayloadSealer, data_converter
from protection.identity import Identity
from protection.keys import KeyRing, generate_entry
from starter.binaries import temporal_cli
from starter.client import CaseClient
from starter.identities import Signer
from starter.settings import Settings
from starter.worker import CaseWorker, build_worker
from workflows import search_attributes as sa

T = TypeVar("T")
W = TypeVar("W", Worker, CaseWorker)

SERVER_START_TIMEOUT = 120.0
WORKER_STOP_TIMEOUT = 60.0

_T0 = time.monotonic()

BENCH_RING = KeyRing.parse(generate_entry("bench"), source="the bench's ring")
"""A key made for the run: the bench seals payloads as the service does (`python -m bench
codec` measures what that costs against a client and worker without it)."""


def opened(payload: Payload) -> Payload:
    """A payload of a bench history in clear, as a worker reads it (opened with the bench's
    key; one never sealed as it is)."""
    return PayloadSealer(BENCH_RING).open(payload)


def progress(message: str) -> None:
    """A progress line on stderr, stamped with seconds since the harness started."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


async def bounded(what: str, awaitable: Awaitable[T], seconds: float) -> T:
    """Await with a deadline; a timeout says what was being waited for (a timeout of the
    awaitable's own, before the deadline, goes up as it was)."""
    began = time.monotonic()
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        if time.monotonic() - began < seconds:
            raise
        raise TimeoutError(f"{what}: no answer within {seconds:.0f}s") from None


IDENTITY_RING = KeyRing.parse(generate_entry("bench-identity"))
"""The bench's own identity key ring: its worker verifies, its clients sign."""
BENCH_IDENTITY = Identity(
    sub="bench",
    kind="service",
    name="Benchmarks",
    tasks=(permissions.ANY_TASK,),
    grants=permissions.ALL,
)


@dataclass
class Bench:
    """What a benchmark works with."""

    temporal: WorkflowEnvironment
    db_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    workdir: Path
    started: list[CaseWorker] = field(default_factory=list)

    def cases(self, task_queue: str) -> CaseClient:
        """A client signing as the bench (a service holding every permission)."""
        return signed(self.temporal.client, Settings(task_queue=task_queue))

    @contextlib.asynccontextmanager
    async def worker(
        self, prefix: str, task_queue: str | None = None
    ) -> AsyncIterator[tuple[CaseWorker, CaseClient]]:
        """One worker as the service builds it (SDK defaults), on a fresh task queue
        unless `task_queue` names one (a new worker for cases already running)."""
        task_queue = task_queue or new_task_queue(prefix)
        cases = self.cases(task_queue)
        worker_of = build_worker(cases.client, task_queue, self.sessions, ring=IDENTITY_RING)
        async with running(worker_of) as worker:
            yield worker, cases

    async def outbox_notices(self, case_prefix: str) -> int:
        """How many firings of cases whose ref starts with `case_prefix` reached the outbox."""
        # A read: no write lock, so a burst of register writes never makes it wait or fail.
        async with reading(self.engine).connect() as connection:
            found = await connection.execute(
                text(
                    "SELECT COUNT(DISTINCT notice_key) FROM notifications "
                    "WHERE case_ref LIKE :prefix"
                ),
                {"prefix": case_prefix + "%"},
            )
            return int(found.scalar_one())


def signed(client: Client, settings: Settings) -> CaseClient:
    """A case client of `client` whose requests are signed as the bench (a service
    holding every permission), as the workers the bench builds verify them."""
    return CaseClient(client, settings, identity=Signer(IDENTITY_RING, BENCH_IDENTITY))


def new_task_queue(prefix: str) -> str:
    return f"bench-{prefix}-{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def running(worker: W) -> AsyncIterator[W]:
    """Run `worker` in this process until the block ends, then shut it down (bounded)."""
    run = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        try:
            await bounded("worker shutdown", worker.shutdown(), WORKER_STOP_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - report, keep cleaning up
            progress(f"worker shutdown: {error}")
        if not run.done():
            run.cancel()
        with contextlib.suppress(BaseException):
            await run


async def until(
    what: str, condition: Callable[[], Awaitable[T | None]], seconds: float, every: float = 0.05
) -> T:
    """What `condition` returns once it returns something, polled; a deadline, never a
    fixed sleep."""
    deadline = time.monotonic() + seconds
    while True:
        found = await condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f}s")
        await asyncio.sleep(every)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr while a child process inherits it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.asynccontextmanager
async def bench_environment(keep: bool = False) -> AsyncIterator[Bench]:
    workdir = Path(tempfile.mkdtemp(prefix="support-provision-bench-"))
    temporal: WorkflowEnvironment | None = None
    engine: AsyncEngine | None = None
    try:
        db_url = f"sqlite+aiosqlite:///{workdir / 'support-provision.db'}"
        progress(f"migrating SQLite database in {workdir}")
        await bounded("database migration", upgrade(db_url), 60)
        engine = create_engine(db_url)
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            await sync_directory(session, load_directory(default_directory_file()))
        progress("starting Temporal dev server")
        with _stdout_to_stderr():  # the server's banner is progress, not report
            temporal = await bounded(
                "dev server start",
                WorkflowEnvironment.start_local(
                    data_converter=data_converter(BENCH_RING),
                    dev_server_existing_path=temporal_cli(),
                    search_attributes=sa.ALL,
                    dev_server_log_level="error",
                    dev_server_startup_timeout=timedelta(seconds=SERVER_START_TIMEOUT - 10),
                ),
                SERVER_START_TIMEOUT,
            )
        progress("dev server up")
        yield Bench(temporal, db_url, engine, sessions, workdir)
    finally:
        if temporal is not None:
            progress("stopping dev server")
            try:
                await bounded("dev server shutdown", temporal.shutdown(), 60)
            except Exception as error:  # noqa: BLE001
                progress(f"dev server shutdown: {error}")
        if engine is not None:
            with contextlib.suppress(Exception):
                await engine.dispose()
        if keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
