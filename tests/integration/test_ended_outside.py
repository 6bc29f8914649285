"""A case whose workflow Temporal ended while it was open is marked so in the register.

The Temporal UI's Terminate button and `temporal workflow terminate` end a case's
workflow without any code of the case running: it stops keeping time, and no escalation
fires again. Here the plain CLI terminates one case and resets another (which ends its
first run the same way, and goes on in a new one); the worker marks the first in the
register, with who terminated it and why, takes it out of the worklist, and leaves the
reset case and an untouched one open.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client

from activities.database import register, worklist
from casemodel.state import CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import chain_type
from tests.integration.sla_fixtures import sessions, sla_sessions  # noqa: F401
from tests.integration.temporal_cli import temporal
from tests.waiting import eventually

OWNER = "tom-bennett"


async def test_a_case_terminated_in_temporal_is_marked_in_the_register_and_leaves_the_worklist(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
):
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    run = uuid.uuid4().hex[:6]
    terminated, reset, untouched, later = (f"OUTSIDE-{w}-{run}" for w in ("T", "R", "U", "L"))
    async with build_worker(temporal_client, task_queue, sessions) as worker:
        for ref in (terminated, reset, untouched, later):
            await cases.start_case(
                chain_type("quick-two", "contact", "visit"),
                tenant_ref="TEN-OUT",
                case_ref=ref,
                owner=OWNER,
            )

        async def in_register() -> bool:
            async with sessions() as session:
                refs = (terminated, reset, untouched, later)
                rows = [await register.get_case(session, r) for r in refs]
            return all(row is not None and row.status == "open" for row in rows)

        await eventually(in_register, timeout=20, what="the cases in the register")
        await temporal(
            temporal_client,
            "workflow", "terminate", "--workflow-id", f"case-{terminated}",
            "--reason", "tenant record merged",
        )  # fmt: skip
        await temporal(
            temporal_client,
            "workflow", "reset", "--workflow-id", f"case-{reset}",
            "--type", "FirstWorkflowTask", "--reason", "replay a fix", "--yes",
        )  # fmt: skip

        ours = 0  # looks this test takes itself (the worker takes its own beside them)

        async def look() -> list[str]:
            nonlocal ours
            ours += 1
            return await worker.ended_outside.look()

        def marked(ref: str):
            async def probe() -> bool:
                await look()
                async with sessions() as session:
                    row = await register.get_case(session, ref)
                return row is not None and row.status == register.ENDED_OUTSIDE

            return probe

        await eventually(marked(terminated), timeout=20, what="the terminated case marked")
        assert await look() == []  # marked once: looking again is quiet
        # A later look reads what ended since the last: a case terminated now is found.
        await temporal(temporal_client, "workflow", "terminate", "--workflow-id", f"case-{later}")
        await eventually(marked(later), timeout=20, what="the later case marked")

        async with sessions() as session:
            row = await register.get_case(session, terminated)
            assert row is not None and row.status == register.ENDED_OUTSIDE
            (entry,) = await register.case_events(session, terminated, after_seq=row.last_seq - 1)
            assert entry.kind == register.ENDED_OUTSIDE_EVENT
            assert "terminated in Temporal by temporal-cli" in entry.detail
            assert "tenant record merged" in entry.detail
            for ref in (reset, untouched):
                other = await register.get_case(session, ref)
                assert other is not None and other.status == CaseStatus.open.value
            listed = await worklist.worklist(session, now=datetime.now(UTC), owner=OWNER)
        refs = {item.case_ref for item in listed}
        assert terminated not in refs
        assert {reset, untouched} <= refs

        # The worker looks by itself, soon after it starts.
        async def looked_itself() -> bool:
            return worker.ended_outside.looks > ours

        await eventually(looked_itself, timeout=20, what="the worker's own look")
