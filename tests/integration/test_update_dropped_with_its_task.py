"""A request Temporal drops with the workflow task that took it is sent again, and lands.

When an event arrives while the workflow task that finishes a case runs, Temporal fails
that task ("UnhandledCommand") and drops the updates it took, answering their callers
"unexpected workflow task failure". Here a signal from another system arrives while the
case's last request is answered: the database is locked just then, so the task waits on
its register write. The client sends the request again under the same update id, and the
case takes it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid

from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState, WorkflowTaskFailedCause
from temporalio.client import Client

from casemodel.requests import CompleteTask
from casemodel.state import CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import chain_type
from tests.integration.sla_fixtures import sessions, sla_sessions  # noqa: F401
from tests.waiting import eventually


async def test_a_request_dropped_with_its_workflow_task_is_sent_again_and_lands(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
):
    database = sessions.kw["bind"].url.database
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"RACE-{uuid.uuid4().hex[:8]}"
    async with build_worker(temporal_client, task_queue, sessions):
        await cases.start_case(
            chain_type("quick-one", "contact"),
            tenant_ref="TEN-RACE",
            case_ref=case_ref,
            owner="tom-bennett",
        )
        handle = temporal_client.get_workflow_handle(f"case-{case_ref}")

        async def task_is(state: PendingWorkflowTaskState.ValueType) -> bool:
            pending = (await handle.describe()).raw_description.pending_workflow_task
            return pending.state == state

        async def task_running() -> bool:
            return await task_is(PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED)

        async def idle() -> bool:
            return await task_is(PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_UNSPECIFIED)

        await eventually(idle, timeout=10, what="the case's first workflow task to end")

        # The last request's workflow task waits on the locked database (its register
        # write retries within the busy timeout) while another system's report comes.
        with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as locked:
            locked.execute("BEGIN EXCLUSIVE")
            try:
                answer = asyncio.create_task(cases.send(case_ref, CompleteTask(task="contact")))
                await eventually(task_running, timeout=10, what="the last request's workflow task")
                await cases.report(case_ref, CompleteTask(task="nowhere", request_id="crm-late"))
            finally:
                locked.execute("ROLLBACK")

        result = await asyncio.wait_for(answer, 30)
        assert result.case_status is CaseStatus.completed
        summary = await cases.result(case_ref)
        assert summary.status is CaseStatus.completed

        history = await handle.fetch_history()
        dropped = [
            e.workflow_task_failed_event_attributes.cause
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        # The race was run: the task that took the request first was failed by Temporal.
        assert dropped == [WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND]
        accepted = [
            e
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        assert len(accepted) == 1  # taken once, by the task that did not fail
