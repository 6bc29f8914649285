"""A case kept busy for months on Temporal's time-skipping server, across hand-overs.

A support plan with weekly check-ins runs for half a year: check-ins are added and
completed (some late, so their breach escalates), the case is paused for a fortnight,
other systems report completions by signal (and report some twice), and requests come in
bursts so that some arrive while the case hands over to its next run. With a history
budget of 200 events the case continues as new many times. The test asserts what the
people relying on it need: no run grew past its budget, every escalation was notified
exactly once, every request was applied once, and the case completed.
"""

# Fixtures imported from sla_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from casemodel.requests import AddTask, CancelTask, CompleteTask, PauseCase, ResumeCase
from casemodel.state import CaseStatus
from definitions.schema import ProvisionType
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.integration.sla_fixtures import (  # noqa: F401
    england_and_wales,
    outbox,
    sla_sessions,
    time_skipping_env,
)
from tests.sealing import opened
from tests.waiting import eventually
from workflows.case_workflow import HANDOVER_SUMMARY
from workflows.names import workflow_id_for

BUDGET = 200
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
OWNER = "tom-bennett"
WEEKS = 26


def weekly_plan() -> ProvisionType:
    """An open-ended support plan: a weekly check-in due in 3 working days, late ones
    escalate to the owner; the plan completes with the closing review."""
    return ProvisionType.model_validate(
        {
            "id": "weekly-support-plan",
            "name": "Weekly support plan",
            "category": "support_plan",
            "audience": "customer_facing",
            "calendar": "england-and-wales",
            "resolved_calendar": england_and_wales(),
            "may_be_held": True,
            "tasks": [
                {"id": "agree-plan", "name": "Agree the plan"},
                {
                    "id": "check-in",
                    "name": "Weekly check-in",
                    "automatic": False,
                    "repeatable": True,
                    "mandatory": False,
                    "sla": {"target": "3 working days", "warning": "1 working day"},
                    "escalations": [
                        {
                            "id": "late-check-in",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True},
                        }
                    ],
                },
                {"id": "closing-review", "name": "Closing review", "depends_on": ["agree-plan"]},
            ],
        }
    )


async def skip(env: WorkflowEnvironment, days: float) -> None:
    await env.sleep(timedelta(days=days))


async def runs_of(env: WorkflowEnvironment, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a case, first to last, followed back from the latest (the test server
    cannot list executions)."""
    run_id = (await env.client.get_workflow_handle(workflow_id).describe()).run_id
    found = []
    while run_id:
        handle = env.client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await handle.fetch_history()
        found.append(history)
        run_id = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
    return found[::-1]


async def test_a_case_busy_for_months_hands_over_without_loss(
    time_skipping_env: WorkflowEnvironment, sla_sessions
):
    env = time_skipping_env
    task_queue = f"long-{uuid.uuid4()}"
    cases = CaseClient(env.client, Settings(task_queue=task_queue, history_budget=BUDGET))
    case_ref = f"LONG-{uuid.uuid4().hex[:8]}"
    late: list[str] = []
    reported: list[str] = []
    async with build_worker(env.client, task_queue, sla_sessions):
        await cases.start_case(weekly_plan(), tenant_ref="TEN-LONG", case_ref=case_ref, owner=OWNER)
        await cases.send(case_ref, CompleteTask(task="agree-plan"))
        for week in range(WEEKS):
            if week == 8:
                await cases.send(case_ref, PauseCase(reason="tenant in hospital"))
                await skip(env, 14)
                await cases.send(case_ref, ResumeCase())
            added = await cases.send(case_ref, AddTask(task="check-in"))
            key = next(c.task_key for c in added.changes if c.kind == "task_added")
            assert key is not None
            if week % 5 == 4:
                late.append(key)  # left past its target: its breach escalates
                await skip(env, 7)
            else:
                await skip(env, 1)
            # A burst: the completion by signal (twice, as a retrying system would) and
            # by update, all at once, so that some land while the case hands over.
            request_id = f"crm-{week}"
            reported.append(request_id)
            report = CompleteTask(task=key, request_id=request_id)
            await asyncio.gather(
                cases.report(case_ref, report),
                cases.report(case_ref, report),
                cases.send(case_ref, AddTask(task="check-in", note="extra")),
            )
            extra = f"check-in#{int(key.partition('#')[2] or 1) + 1}"
            await cases.send(case_ref, CompleteTask(task=extra))
            await skip(env, 6 if week % 5 != 4 else 0)
        await requests_during_a_hand_over(env, cases, case_ref, sla_sessions)
        # A retry of an early report after many hand-overs is still known.
        await cases.report(case_ref, CompleteTask(task="check-in", request_id="crm-0"))
        assert (await cases.state(case_ref)).rejected_total == 0
        await cases.send(case_ref, CompleteTask(task="closing-review"))
        summary = await cases.result(case_ref)

    assert summary.status is CaseStatus.completed
    # Every check-in completed once: by its report or its update, never twice.
    assert summary.tasks_completed == 1 + 2 * WEEKS + 1 + 1
    runs = await runs_of(env, workflow_id_for(case_ref))
    assert len(runs) >= 4, len(runs)  # three hand-overs at least
    for number, run in enumerate(runs):
        assert len(run.events) <= BUDGET + 60, (number, len(run.events))
        last = run.events[-1].event_type
        assert last == (COMPLETED if number == len(runs) - 1 else CONTINUED), (number, last)

    rows = await eventually(lambda: _rows(sla_sessions, case_ref, len(late)), timeout=10)
    per_notice = Counter(row.notice_key for row in rows)
    assert all(count == 1 for count in per_notice.values()), per_notice
    assert len(per_notice) == len(late)
    assert {row.task_key for row in rows} == set(late)


async def requests_during_a_hand_over(
    env: WorkflowEnvironment, cases: CaseClient, case_ref: str, sessions
) -> None:
    """With the database locked, the register write cannot land, so when the case next
    reaches its budget its hand-over waits; requests sent then are taken, not lost."""
    database = sessions.kw["bind"].url.database
    handle = env.client.get_workflow_handle(workflow_id_for(case_ref))
    run_before = (await handle.describe()).run_id
    with sqlite3.connect(database, isolation_level=None) as locked:
        locked.execute("BEGIN EXCLUSIVE")

        async def waiting() -> bool:
            history = await handle.fetch_history()
            if any(
                HANDOVER_SUMMARY.encode() in opened(e.user_metadata.summary).data
                for e in history.events
            ):
                return True
            await cases.send(case_ref, AddTask(task="check-in", note="filler"))
            return False

        await eventually(waiting, timeout=30, interval=0.05)
        added = await cases.send(case_ref, AddTask(task="check-in", note="in the hand-over"))
        key = next(c.task_key for c in added.changes if c.kind == "task_added")
        await cases.report(case_ref, CompleteTask(task=key, request_id="crm-hand-over"))
        locked.execute("ROLLBACK")

    async def handed_over() -> bool:
        return (await handle.describe()).run_id != run_before

    await eventually(handed_over, timeout=30, interval=0.1)
    state = await eventually(lambda: _completed(cases, case_ref, key), timeout=30)
    for task in state.tasks:  # the filler check-ins, done with
        if task.active and task.task == "check-in":
            await cases.send(case_ref, CancelTask(task=task.key))


async def _completed(cases: CaseClient, case_ref: str, key: str):
    state = await cases.state(case_ref)
    done = any(t.key == key and t.status.value == "completed" for t in state.tasks)
    return state if done else None


async def _rows(sessions, case_ref: str, count: int):
    rows = [r for r in await outbox(sessions, case_ref) if r.rule == "late-check-in"]
    return rows if len(rows) >= count else None
