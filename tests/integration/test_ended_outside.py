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
from activities.database.notifications import NotificationRow
from activities.templates import ENDED_OUTSIDE_TEMPLATE
from casemodel.requests import CompleteTask
from casemodel.state import CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import chain_type
from tests.integration.sla_fixtures import (  # noqa: F401
    address_of,
    outbox,
    sessions,
    sla_sessions,
)
from tests.integration.temporal_cli import temporal
from tests.smtp import SmtpServer, smtp  # noqa: F401
from tests.waiting import eventually

OWNER = "tom-bennett"
TOM = address_of(OWNER)
PRIYA = address_of("priya-shah")  # Tom's manager


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

        # Temporal's listing agrees with the register, one line a case, a reset one too.
        async def listed_as_the_register() -> dict[str, str | None] | None:
            found = {c.case_ref: c.status for c in await cases.list_cases(tenant_ref="TEN-OUT")}
            ours = {r: found.get(r) for r in (terminated, reset, untouched, later)}
            return ours if ours[later] == register.ENDED_OUTSIDE else None

        shown = await eventually(listed_as_the_register, timeout=20, what="the listing")
        assert shown == {
            terminated: register.ENDED_OUTSIDE,
            reset: "open",
            untouched: "open",
            later: register.ENDED_OUTSIDE,
        }

        # The worker looks by itself, soon after it starts.
        async def looked_itself() -> bool:
            return worker.ended_outside.looks > ours

        await eventually(looked_itself, timeout=20, what="the worker's own look")


async def test_the_owner_and_their_manager_are_mailed_once_also_when_the_mail_server_was_away(
    temporal_client: Client,
    task_queue: str,
    sessions,  # noqa: F811 (the fixture)
    smtp: SmtpServer,  # noqa: F811 (the fixture)
):
    """Terminated with the mail server up, then another with it away: each owner is told
    once, the second at the look after the server is back, and never twice."""
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    run = uuid.uuid4().hex[:6]
    first, second = f"TOLD-A-{run}", f"TOLD-B-{run}"
    smtp.start()
    async with build_worker(temporal_client, task_queue, sessions, mailer=smtp.mailer) as worker:
        for ref in (first, second):
            await cases.start_case(
                chain_type("told-two", "contact", "visit"),
                tenant_ref="TEN-TOLD",
                case_ref=ref,
                owner=OWNER,
            )
        await eventually(in_register(sessions, first, second), timeout=20, what="the cases")
        await cases.send(first, CompleteTask(task="contact"))

        async def contact_recorded() -> bool:
            async with sessions() as session:
                tasks = await register.case_tasks(session, first)
            return any(t.task_id == "contact" and t.status == "completed" for t in tasks)

        await eventually(contact_recorded, timeout=20, what="the first task done")

        async def look_until_sent(ref: str) -> list[NotificationRow]:
            async def probe() -> list[NotificationRow] | None:
                await worker.ended_outside.look()
                rows = await outbox(sessions, ref)
                return rows if rows and all(r.status == "sent" for r in rows) else None

            return await eventually(probe, timeout=30, what=f"the owner of {ref} told")

        await temporal(
            temporal_client,
            "workflow", "terminate", "--workflow-id", f"case-{first}",
            "--reason", "tenant record merged",
        )  # fmt: skip
        rows = await look_until_sent(first)
        assert sorted(r.recipient_address for r in rows) == sorted([TOM, PRIYA])
        assert {r.template for r in rows} == {ENDED_OUTSIDE_TEMPLATE}
        assert all(r.attempts == 1 for r in rows)
        await eventually(smtp.inbox.holds(2), what="two messages")
        subject = str(smtp.inbox.messages[0][1]["Subject"]).strip()  # folded after "Subject:"
        assert subject == f"Case {first} was terminated in Temporal and no longer keeps time"
        body = smtp.inbox.messages[0][1].get_body(("plain",)).get_content()
        assert '"tenant record merged"' in body
        assert "  - Visit" in body and "  - Contact" not in body  # what it left in progress

        smtp.stop()
        await temporal(temporal_client, "workflow", "terminate", "--workflow-id", f"case-{second}")

        async def marked_not_sent() -> bool:
            await worker.ended_outside.look()
            rows = await outbox(sessions, second)
            return bool(rows) and all(r.status == "pending" for r in rows)

        await eventually(marked_not_sent, timeout=30, what="the second notice waiting")
        smtp.start()
        await look_until_sent(second)
        for _ in range(2):  # more looks tell nobody again
            await worker.ended_outside.look()
    assert len(smtp.inbox.messages) == 4
    assert sorted(smtp.inbox.to()) == sorted([TOM, PRIYA] * 2)


def in_register(engine_sessions, *refs: str):  # noqa: ANN001, ANN201 - a probe
    async def probe() -> bool:
        async with engine_sessions() as session:
            rows = [await register.get_case(session, r) for r in refs]
        return all(row is not None and row.status == "open" for row in rows)

    return probe
