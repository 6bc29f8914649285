"""A cancellation of a case's workflow, sent through Temporal, is refused and recorded.

The Temporal UI's "Request Cancellation" and `temporal workflow cancel` ask the workflow
to cancel, with no identity the worker can verify. A case that ended that way stopped
keeping time with nobody told: no escalation fired again, and its tasks stayed open in
the register and the worklist. Here the plain CLI cancels a case: the case records the
request as rejected, in its state and in the register, and goes on to complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory

from activities.database import register
from casemodel.intake import CANCEL_WORKFLOW
from casemodel.requests import CompleteTask
from casemodel.state import CaseState, CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_replayer, build_worker
from tests import identities
from tests.factories import chain_type
from tests.integration.sla_fixtures import sessions, sla_sessions  # noqa: F401
from tests.integration.temporal_cli import temporal
from tests.sealing import SESSION_RING
from tests.waiting import eventually
from workflows.case_workflow import CANCEL_PATCH


async def test_a_cancellation_through_temporal_is_refused_recorded_and_the_case_goes_on(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
):
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"CANCEL-{uuid.uuid4().hex[:8]}"
    async with build_worker(temporal_client, task_queue, sessions):
        started = await cases.start_case(
            chain_type("quick-two", "contact", "visit"),
            tenant_ref="TEN-CANCEL",
            case_ref=case_ref,
            owner="tom-bennett",
        )
        handle = temporal_client.get_workflow_handle(started.workflow_id)
        await temporal(temporal_client, "workflow", "cancel", "--workflow-id", started.workflow_id)

        async def refused() -> CaseState | None:
            state = await cases.state(case_ref)
            return state if state.rejected else None

        state = await eventually(refused, timeout=20, what="the cancellation to be refused")
        (rejected,) = state.rejected
        assert rejected.request == CANCEL_WORKFLOW
        assert rejected.code == "not_authenticated"
        assert "case close" in rejected.reason
        assert state.status is CaseStatus.open
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

        async def in_register() -> bool:
            async with sessions() as session:
                events = await register.case_events(session, case_ref)
            return any(e.kind == "request_rejected" and e.by == "temporal" for e in events)

        await eventually(in_register, timeout=20, what="the refusal in the register")

        # The case goes on as if nothing had been asked, and ends as a case ends.
        await cases.send(case_ref, CompleteTask(task="contact"))
        await cases.send(case_ref, CompleteTask(task="visit"))
        summary = await asyncio.wait_for(cases.result(case_ref), 60)
        assert summary.status is CaseStatus.completed
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED

    history = await handle.fetch_history()
    await replays(history)
    kinds = [e.event_type for e in history.events]
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1
    patches = [
        e.marker_recorded_event_attributes.details["patch-data"]
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert sum(CANCEL_PATCH.encode() in p.payloads[0].data for p in patches) == 1


async def test_a_cancellation_while_an_ended_case_finishes_its_register_write_is_refused(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
):
    """The case has ended and waits for its last register write (the database is locked);
    a cancellation then must not cut the write off: the case finishes as completed, and
    the register says so, the refusal included."""
    database = sessions.kw["bind"].url.database
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"CANCEL-END-{uuid.uuid4().hex[:8]}"
    async with build_worker(temporal_client, task_queue, sessions):
        started = await cases.start_case(
            chain_type("quick-one", "contact"),
            tenant_ref="TEN-CANCEL",
            case_ref=case_ref,
            owner="tom-bennett",
        )
        handle = temporal_client.get_workflow_handle(started.workflow_id)

        async def opened_in_register() -> bool:
            async with sessions() as session:
                return await register.get_case(session, case_ref) is not None

        await eventually(opened_in_register, timeout=20, what="the case in the register")
        with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as locked:
            locked.execute("BEGIN EXCLUSIVE")
            try:
                # Answered once the case's local write gives up and it goes on waiting for a
                # remote one: the case has ended, its workflow not yet.
                answer = await cases.send(case_ref, CompleteTask(task="contact"))
                assert answer.case_status is CaseStatus.completed
                await temporal(
                    temporal_client, "workflow", "cancel", "--workflow-id", started.workflow_id
                )

                async def refused() -> bool:
                    return bool((await cases.state(case_ref)).rejected)

                await eventually(refused, timeout=30, what="the cancellation to be refused")
            finally:
                locked.execute("ROLLBACK")
        summary = await asyncio.wait_for(cases.result(case_ref), 60)
        assert summary.status is CaseStatus.completed
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED

        async def completed_in_register() -> bool:
            async with sessions() as session:
                row = await register.get_case(session, case_ref)
                events = await register.case_events(session, case_ref)
            rejected = any(e.kind == "request_rejected" for e in events)
            return row is not None and row.status == CaseStatus.completed.value and rejected

        await eventually(completed_in_register, timeout=60, what="the register to say completed")
    await replays(await handle.fetch_history())


async def replays(history: WorkflowHistory) -> None:
    """The history replays on today's code, as a worker rebuilding the case replays it."""
    await build_replayer(SESSION_RING, identities.RING).replay_workflow(history)
