"""A database that is away must not stop a case keeping time: escalations still fire in
the workflow and show in the UI, and the register and the outbox catch up once it is back."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client

from activities.database import register
from activities.database.directory import sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.integration.sla_fixtures import DIRECTORY, outbox, seconds_type
from tests.waiting import eventually
from workflows import search_attributes as sa


async def test_case_keeps_time_while_the_database_is_away(
    temporal_client: Client, task_queue: str, tmp_path: Path
):
    # A database with no schema yet: every register and outbox write fails and is retried.
    url = f"sqlite+aiosqlite:///{tmp_path / 'not-yet.db'}"
    engine = create_engine(url)
    sessions = session_factory(engine)
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"OUT-{uuid.uuid4().hex[:8]}"
    try:
        async with build_worker(temporal_client, task_queue, sessions):
            await cases.start_case(
                seconds_type(warning_after=1, target=2),
                tenant_ref="TEN-OUT",
                case_ref=case_ref,
                owner="tom-bennett",
            )

            async def breached():
                state = await cases.state(case_ref)
                return state if len(state.firings) == 2 else None

            state = await eventually(breached, timeout=20)
            assert [f.rule for f in state.firings] == ["contact-warning", "contact-breach"]
            assert state.priority == "high"
            handle = temporal_client.get_workflow_handle(f"case-{case_ref}")

            async def shows_breach():
                attributes = (await handle.describe()).typed_search_attributes
                return attributes.get(sa.SLA_STATE) == "breached"

            await eventually(shows_breach, timeout=20)

            # The database comes back: the register and the outbox catch up, once each.
            await upgrade(url)
            async with sessions.begin() as session:
                await sync_directory(session, DIRECTORY)

            async def registered():
                async with sessions() as session:
                    record = await register.get_case(session, case_ref)
                return record if record and record.last_seq == state.log[-1].seq else None

            record = await eventually(registered, timeout=60, interval=0.5)
            assert record.priority == "high"
            rows = await eventually(
                lambda: _both_rules(sessions, case_ref), timeout=60, interval=0.5
            )
            assert sorted({r.rule for r in rows}) == ["contact-breach", "contact-warning"]
            assert len(rows) == len({r.idempotency_key for r in rows})
    finally:
        await engine.dispose()


async def _both_rules(sessions, case_ref):
    rows = await outbox(sessions, case_ref)
    return rows if {r.rule for r in rows} == {"contact-warning", "contact-breach"} else None
