"""The register activity: run twice, or killed between its write and its completion.

The second test is the real thing: a worker process writes the register and is killed
(SIGKILL) before it can report the activity complete, so Temporal retries the activity on
another worker, which writes the same update again. The register must end as if the
activity had run once.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.contracts import (
    RECORD_CASE_CHANGES,
    DefinitionRequest,
    PublishedType,
    RegisterUpdate,
)
from activities.database import definitions_store
from activities.database.engine import create_engine, session_factory
from activities.register import RegisterActivities
from protection.codec import data_converter
from starter.payload_keys import load_ring
from tests.factories import T0, visit_type
from tests.integration.db_fixtures import (  # noqa: F401
    clear,
    database_url,
    dump_case,
    engine,
    sessions,
    stages,
    update,
)

ROOT = Path(__file__).resolve().parents[2]


async def test_running_the_activity_twice_writes_once(sessions: async_sessionmaker[AsyncSession]):
    activities = RegisterActivities(sessions)
    change = update(stages()[-1])
    env = ActivityEnvironment()

    await env.run(activities.record_case_changes, change)
    async with sessions() as session:
        once = await dump_case(session, "CASE-1")
    await env.run(activities.record_case_changes, change)
    async with sessions() as session:
        assert await dump_case(session, "CASE-1") == once
    assert len(once["events"]) == len(change.events)


async def test_the_published_definition_activity_reads_the_version_in_effect_or_a_number(
    sessions: async_sessionmaker[AsyncSession],
):
    first = visit_type()
    second = visit_type(description="Now with a description.")
    for content in (first, second):
        async with sessions.begin() as session:
            await definitions_store.publish(session, [content], "amara", T0)
    activities, env = RegisterActivities(sessions), ActivityEnvironment()

    async def load(version: int | None = None, type_id: str = "visit-assessment") -> Any:
        request = DefinitionRequest(type_id=type_id, version=version)
        return await env.run(activities.load_published_definition, request)

    assert await load() == PublishedType(type_id="visit-assessment", version=2, definition=second)
    assert (await load(1)).definition == first
    assert await load(3) is None
    assert await load(type_id="unknown") is None

    ending = visit_type(effective_to=date(2027, 3, 31))
    async with sessions.begin() as session:
        await definitions_store.publish(session, [ending], "amara", T0)
    on_the_day = DefinitionRequest(type_id="visit-assessment", on=date(2027, 3, 31))
    after = DefinitionRequest(type_id="visit-assessment", on=date(2027, 4, 1))
    assert (await env.run(activities.load_published_definition, on_the_day)).version == 3
    assert (await env.run(activities.load_published_definition, after)).version == 2


# --- a worker killed after the write ---------------------------------------------------


class RecordArgs(BaseModel):
    update: RegisterUpdate
    activity_queue: str


@workflow.defn(sandboxed=False)
class RecordCaseChanges:
    """Calls the activity once, as the case workflow does, on the activity workers' queue."""

    @workflow.run
    async def run(self, args: RecordArgs) -> None:
        await workflow.execute_activity(
            RECORD_CASE_CHANGES,
            args.update,
            task_queue=args.activity_queue,
            start_to_close_timeout=timedelta(seconds=2),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100)),
        )


async def test_a_worker_killed_after_writing_leaves_the_register_as_if_it_ran_once(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    temporal_client: Client,
    task_queue: str,
):
    change = update(stages()[-1])
    activity_queue = f"{task_queue}-activities"
    dying = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        temporal_client.service_client.config.target_host,
        temporal_client.namespace,
        activity_queue,
        database_url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert dying.stdout is not None
    assert await asyncio.wait_for(dying.stdout.readline(), 30) == b"ready\n"

    async with Worker(temporal_client, task_queue=task_queue, workflows=[RecordCaseChanges]):
        handle = await temporal_client.start_workflow(
            RecordCaseChanges.run,
            RecordArgs(update=change, activity_queue=activity_queue),
            id=f"record-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        assert await asyncio.wait_for(dying.wait(), 30) == -signal.SIGKILL
        async with sessions() as session:
            written = await dump_case(session, "CASE-1")
        assert len(written["events"]) == len(change.events)

        activities = RegisterActivities(sessions)
        async with Worker(
            temporal_client, task_queue=activity_queue, activities=[activities.record_case_changes]
        ):
            await asyncio.wait_for(handle.result(), 30)

    async with sessions() as session:
        assert await dump_case(session, "CASE-1") == written
    attempts = [
        event.activity_task_started_event_attributes.attempt
        async for event in handle.fetch_history_events()
        if event.HasField("activity_task_started_event_attributes")
    ]
    assert attempts == [2], "the retry, on the second worker, completed the activity"


class _KilledAfterCommit:
    """Sessions whose transaction commits, then the process dies before replying."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions.begin() as session:
            yield session
        os.kill(os.getpid(), signal.SIGKILL)


async def _run_dying_worker(target: str, namespace: str, queue: str, url: str) -> None:
    # A process of its own: the session's keys reach it as they reach a worker, through
    # the environment the session exported.
    client = await Client.connect(
        target, namespace=namespace, data_converter=data_converter(load_ring())
    )
    activities = RegisterActivities(_KilledAfterCommit(session_factory(create_engine(url))))  # type: ignore[arg-type]
    async with Worker(client, task_queue=queue, activities=[activities.record_case_changes]):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_run_dying_worker(*sys.argv[1:5]))


# --- writes of many cases at once -------------------------------------------------------


async def test_writes_of_many_cases_at_once_each_land_whole(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A burst of register writes: on SQLite those waiting share transactions, and each
    case's rows are what writing it alone would have left; on PostgreSQL each write is a
    transaction of its own."""
    activities = RegisterActivities(sessions)
    changes = [update(stages(f"CASE-{i}")[-1]) for i in range(30)]
    commits: list[int] = []

    def counted(_connection: Any) -> None:
        commits.append(1)

    event.listen(engine.sync_engine, "commit", counted)
    try:
        await asyncio.gather(
            *(ActivityEnvironment().run(activities.record_case_changes, c) for c in changes)
        )
    finally:
        event.remove(engine.sync_engine, "commit", counted)
    if engine.dialect.name == "sqlite":
        assert len(commits) < len(changes) / 2
    else:
        assert len(commits) == len(changes)
    alone = update(stages("CASE-0")[-1])
    async with sessions() as session:
        together = await dump_case(session, "CASE-0")
        for i in range(30):
            dumped = await dump_case(session, f"CASE-{i}")
            assert len(dumped["events"]) == len(changes[i].events)
            assert len(dumped["tasks"]) == len(changes[i].tasks)
    await clear(engine)
    await ActivityEnvironment().run(activities.record_case_changes, alone)
    async with sessions() as session:
        assert await dump_case(session, "CASE-0") == together
