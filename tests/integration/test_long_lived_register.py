"""Cases that have lived long, on a real Temporal dev server with the real register.

A case that has logged ten thousand entries still shows its whole log (from the register,
a page at a time) while its current run stays within its history budget; and a case kept
busy for two thousand requests, its worker restarted so that nothing of it is cached,
answers its next request within a second: it is rebuilt from its latest run only.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.database.models import CaseEvent
from casemodel.memory import LOG_KEPT
from casemodel.requests import HISTORY_BUDGET, AddTask, CompleteTask
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.e2e.cli import cli
from tests.factories import visit_type
from tests.waiting import eventually

ENTRIES = 10_000
REQUESTS = 2_000


@pytest.fixture
def cases(temporal_client: Client, task_queue: str) -> CaseClient:
    return CaseClient(temporal_client, Settings(task_queue=task_queue))


async def logged(sessions: async_sessionmaker[AsyncSession], case_ref: str) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(CaseEvent).where(CaseEvent.case_ref == case_ref)
        return int((await session.execute(query)).scalar_one())


async def in_batches(requests: list, size: int) -> None:
    for start in range(0, len(requests), size):
        await asyncio.gather(*requests[start : start + size])


async def test_ten_thousand_log_entries_are_all_shown_and_the_run_stays_short(
    temporal_env: WorkflowEnvironment,
    cases: CaseClient,
    task_queue: str,
    app_sessions,
    app_database: str,
):
    case_ref = f"LOG-{uuid.uuid4().hex[:8]}"
    async with build_worker(cases.client, task_queue, app_sessions):
        await cases.start_case(visit_type(), tenant_ref="TEN-LOG", case_ref=case_ref)
        # What a noisy integration sends: completions of a task the case does not have,
        # each refused and logged, with real work among them.
        noise = CompleteTask(task="no-such-task")
        for _ in range(ENTRIES // 500):
            await in_batches([cases.report(case_ref, noise) for _ in range(500)], 100)
            added = await cases.send(case_ref, AddTask(task="check-in"))
            key = next(c.task_key for c in added.changes if c.kind == "task_added")
            await cases.send(case_ref, CompleteTask(task=key))
        state = await cases.state(case_ref)
        assert state.last_seq > ENTRIES
        await eventually(
            lambda: _at_least(app_sessions, case_ref, state.last_seq), timeout=60, interval=0.2
        )
        shown = await cli(
            "case",
            "show",
            case_ref,
            "--json",
            env={
                "DATABASE_URL": app_database,
                "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
                "SUPPORT_PROVISION_TASK_QUEUE": task_queue,
            },
            timeout=120,
        )
        assert shown.code == 0, shown.stderr
        log = shown.json()["log"]
        assert [entry["seq"] for entry in log] == list(range(1, state.last_seq + 1))
        # Once the register has it all, the case itself keeps only the latest entries.
        await eventually(lambda: _keeps_few(cases, case_ref), timeout=30, interval=0.2)
        history = await cases.client.get_workflow_handle(f"case-{case_ref}").fetch_history()
        assert len(history.events) < HISTORY_BUDGET + 200


async def _keeps_few(cases: CaseClient, case_ref: str) -> bool:
    return len((await cases.state(case_ref)).log) <= LOG_KEPT


async def _at_least(sessions, case_ref: str, count: int) -> bool:
    return await logged(sessions, case_ref) >= count


async def test_a_busy_case_answers_within_a_second_after_its_worker_restarts(
    cases: CaseClient, task_queue: str, app_sessions
):
    case_ref = f"BUSY-{uuid.uuid4().hex[:8]}"
    async with build_worker(cases.client, task_queue, app_sessions):
        await cases.start_case(visit_type(), tenant_ref="TEN-BUSY", case_ref=case_ref)
        for round_ in range(REQUESTS // 20):
            adds = [cases.send(case_ref, AddTask(task="check-in")) for _ in range(10)]
            results = await asyncio.gather(*adds)
            keys = [next(c.task_key for c in r.changes if c.kind == "task_added") for r in results]
            await in_batches(
                [
                    cases.report(case_ref, CompleteTask(task=k, request_id=f"{round_}-{k}"))
                    for k in keys
                ],
                10,
            )
        await cases.send(case_ref, AddTask(task="check-in"))  # all handled
        # Stopped when the case is quiet, as a deployment drains a worker: nothing of it
        # is left waiting on this worker's own (sticky) queue.
        await eventually(lambda: _quiet(cases, case_ref), timeout=30, interval=0.1)
    # A new worker: nothing of the case is cached, so its next request rebuilds it.
    async with build_worker(cases.client, task_queue, app_sessions):
        began = time.monotonic()
        await cases.send(case_ref, AddTask(task="check-in"))
        took = time.monotonic() - began
    assert took < 1.0, f"the first request after a restart took {took:.2f} s"


async def _quiet(cases: CaseClient, case_ref: str) -> bool:
    described = (
        await cases.client.get_workflow_handle(f"case-{case_ref}").describe()
    ).raw_description
    return not described.pending_activities and not described.HasField("pending_workflow_task")
