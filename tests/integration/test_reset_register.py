"""After `temporal workflow reset`, the register shows the run that goes on, not the one
reset away.

A reset ends a case's run and starts a new one from an earlier point of its history: what
the old run did after that point never happened in the new one (unless Temporal applies
the same requests to it again, which it does by default; here it is told not to). The
new run's first write takes the register back to where it took over
(`RegisterUpdate.rebase_after`), so the case's log, tasks and status in the register are
the new run's alone, as the case itself shows them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.database import register
from casemodel.requests import CompleteTask
from casemodel.state import CaseState
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_replayer, build_worker
from tests import identities
from tests.factories import chain_type
from tests.integration.sla_fixtures import sessions, sla_sessions  # noqa: F401
from tests.integration.temporal_cli import temporal
from tests.sealing import SESSION_RING
from tests.waiting import eventually


def shown(state: CaseState) -> dict[str, Any]:
    """What the register should hold of a case: its log, its tasks' states, its status."""
    return {
        "log": [(e.seq, e.kind, e.task_key, e.detail) for e in state.log],
        "tasks": sorted((t.key, t.status.value) for t in state.tasks),
        "status": state.status.value,
    }


async def held(db: async_sessionmaker[AsyncSession], case_ref: str) -> dict[str, Any]:
    async with db() as session:
        row = await register.get_case(session, case_ref)
        events = await register.case_events(session, case_ref)
        tasks = await register.case_tasks(session, case_ref)
    return {
        "log": [(e.seq, e.kind, e.task_key, e.detail) for e in events],
        "tasks": sorted((t.key, t.status) for t in tasks),
        "status": row.status if row else None,
    }


async def test_the_register_follows_the_run_a_reset_made_and_drops_what_was_reset_away(
    temporal_client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],  # noqa: F811 (the fixture)
):
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    ref = f"RESET-{uuid.uuid4().hex[:6]}"
    kind = chain_type("reset-three", "contact", "visit", "review")
    async with build_worker(temporal_client, task_queue, sessions):
        await cases.start_case(kind, tenant_ref="TEN-RESET", case_ref=ref, owner="tom-bennett")
        await cases.send(ref, CompleteTask(task="contact", note="rang, no answer"))
        await cases.send(ref, CompleteTask(task="visit"))

        async def agrees() -> bool:
            return await held(sessions, ref) == shown(await cases.state(ref))

        await eventually(agrees, timeout=20, what="the register to show both completions")
        before = await held(sessions, ref)
        assert sum(kind == "task_completed" for _, kind, _, _ in before["log"]) == 2

        handle = temporal_client.get_workflow_handle(f"case-{ref}")
        first_run = (await handle.describe()).run_id
        await temporal(
            temporal_client,
            "workflow", "reset", "--workflow-id", f"case-{ref}",
            "--type", "FirstWorkflowTask", "--reapply-exclude", "All",
            "--reason", "re-run after a fix", "--yes",
        )  # fmt: skip
        assert (await handle.describe()).run_id != first_run

        async def reset_shown() -> bool:
            state = await cases.state(ref)
            return not any(e.kind == "task_completed" for e in state.log) and await agrees()

        await eventually(reset_shown, timeout=20, what="the register to show the reset run")
        after = await held(sessions, ref)
        assert ("contact", "open") in after["tasks"] and ("visit", "blocked") in after["tasks"]
        assert all("rang, no answer" not in detail for *_, detail in after["log"])

        # Temporal's listing shows the case once, as its run that goes on, though its
        # visibility store holds both runs.
        async def both_runs() -> bool:
            runs = temporal_client.list_workflows(f"WorkflowId = 'case-{ref}'")
            return len([r async for r in runs]) == 2

        await eventually(both_runs, timeout=20, what="both runs in Temporal's listing")
        listed = [c for c in await cases.list_cases(tenant_ref="TEN-RESET") if c.case_ref == ref]
        assert [c.workflow_status for c in listed] == ["running"]

        # The new run goes on from there, and the register with it.
        await cases.send(ref, CompleteTask(task="contact", note="spoke to the tenant"))
        await eventually(agrees, timeout=20, what="the register to follow the new run")
        completed = [e for e in (await held(sessions, ref))["log"] if e[1] == "task_completed"]
        assert len(completed) == 1 and "spoke to the tenant" in completed[0][3]

        # The reset run, its rebasing write included, rebuilds as a worker would.
        await build_replayer(SESSION_RING, identities.RING).replay_workflow(
            await handle.fetch_history()
        )
