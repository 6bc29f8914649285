"""A case that ended while the database was away is finished by a new worker.

When a case's last register write cannot land locally (the database locked for longer
than the local write's two tries), the case waits for it as a remote activity that
retries until the database is back. A local write that ran out of time replays as a bare
`TimeoutError`, not the `ActivityError` it raised when it happened, so a worker that
rebuilt such a case failed every workflow task of it: the case never finished, and the
register kept it open. Here the worker is stopped while the case waits, a new one takes
over, and the case finishes with no failed workflow task.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from activities.database import register
from casemodel.requests import CompleteTask
from casemodel.state import CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import chain_type
from tests.integration.sla_fixtures import sessions, sla_sessions  # noqa: F401
from tests.waiting import eventually


async def test_a_case_waiting_for_its_last_write_is_finished_by_a_new_worker(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
):
    database = sessions.kw["bind"].url.database
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"LAST-WRITE-{uuid.uuid4().hex[:8]}"
    handle = temporal_client.get_workflow_handle(f"case-{case_ref}")

    async def in_register(status: CaseStatus) -> bool:
        async with sessions() as session:
            row = await register.get_case(session, case_ref)
        return row is not None and row.status == status.value

    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as locked:
        async with build_worker(temporal_client, task_queue, sessions):
            await cases.start_case(
                chain_type("quick-one", "contact"),
                tenant_ref="TEN-LAST",
                case_ref=case_ref,
                owner="tom-bennett",
            )
            await eventually(lambda: in_register(CaseStatus.open), timeout=20, what="opened")
            locked.execute("BEGIN EXCLUSIVE")
            # Answered once the local write has given up: the case has ended, and waits
            # for its last write as a remote activity.
            answer = await cases.send(case_ref, CompleteTask(task="contact"))
            assert answer.case_status is CaseStatus.completed
            pending = (await handle.describe()).raw_description.pending_activities
            assert [a.activity_type.name for a in pending] == ["record_case_changes"]
        # The first worker has stopped. A new one, with no case cached, takes over.
        async with build_worker(temporal_client, task_queue, sessions):
            locked.execute("ROLLBACK")
            summary = await asyncio.wait_for(cases.result(case_ref), 60)
            assert summary.status is CaseStatus.completed
            await eventually(
                lambda: in_register(CaseStatus.completed), timeout=30, what="completed"
            )
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    kinds = [e.event_type for e in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
