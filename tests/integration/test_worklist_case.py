"""A case on the real Temporal dev server writes its due points to the register, and
rewrites every task in progress when it is paused and resumed, so the worklist (read
through the client, without Temporal) shows the due points moved by the paused time."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.database import register
from activities.database.register import TaskRow
from casemodel.requests import HoldTask, PauseCase, ResumeCase
from casemodel.sla import ClockState
from definitions.schema import ProvisionType
from starter.client import CaseClient, CaseRegister
from starter.settings import Settings
from starter.worker import build_worker
from tests.integration.db_fixtures import database_url, engine, sessions, staff  # noqa: F401
from tests.waiting import eventually

OWNER = "tom-bennett"


def held_type() -> ProvisionType:
    """Around the clock: a contact due in two hours (warning half an hour before), and a
    review that waits for it. Cases may be paused and tasks held; nothing escalates."""
    return ProvisionType.model_validate(
        {
            "id": f"worklist-check-{uuid.uuid4().hex[:6]}",
            "name": "Worklist check",
            "category": "assessment",
            "audience": "internal",
            "may_be_held": True,
            "tasks": [
                {
                    "id": "contact",
                    "name": "Contact",
                    "sla": {"target": "2 hours", "warning": "30 minutes"},
                },
                {"id": "review", "name": "Review", "depends_on": ["contact"]},
            ],
        }
    )


async def test_register_rows_carry_due_points_moved_by_a_pause(
    temporal_client: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]
):
    await staff(sessions)  # the directory: cases open with an owner of it
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    worklist = CaseRegister(sessions)
    case_ref = f"WL-{uuid.uuid4().hex[:8]}"

    async def rows_at(seq: int) -> dict[str, TaskRow] | None:
        """The case's task rows once the register holds log position `seq`."""
        async with sessions() as session:
            rows = {t.key: t for t in await register.case_tasks(session, case_ref)}
        return rows if rows and all(t.last_seq >= seq for t in rows.values()) else None

    async with build_worker(temporal_client, task_queue, sessions):
        await cases.start_case(held_type(), tenant_ref="TEN-WL", case_ref=case_ref, owner=OWNER)
        first = await eventually(lambda: rows_at(1), timeout=20)
        contact, review = first["contact"], first["review"]
        assert contact.opened_at is not None and contact.sla_state == "on_track"
        assert contact.due_at == contact.opened_at + timedelta(hours=2)
        assert contact.warning_at == contact.opened_at + timedelta(minutes=90)
        assert (review.status, review.waits_for, review.due_at) == (
            "blocked",
            "contact (open)",
            None,
        )

        paused = await cases.send(case_ref, PauseCase(reason="tenant in hospital"))
        during = await eventually(lambda: rows_at(paused.changes[-1].seq), timeout=20)
        assert during["contact"].sla_state == "paused"
        assert during["contact"].due_at == contact.due_at, "a pause still running moves nothing"
        assert during["review"].last_seq == paused.changes[-1].seq, "rewritten, though unnamed"
        (shown,) = [t for t in await worklist.tasks(owner=OWNER) if t.key == "contact"]
        assert shown.sla_state is ClockState.paused and shown.case_ref == case_ref

        resumed = await cases.send(case_ref, ResumeCase())
        after = await eventually(lambda: rows_at(resumed.changes[-1].seq), timeout=20)
        async with sessions() as session:
            log = {e.kind: e.at for e in await register.case_events(session, case_ref)}
        stopped = log["case_resumed"] - log["case_paused"]
        assert stopped > timedelta(0)
        assert after["contact"].due_at == contact.due_at + stopped
        assert after["contact"].warning_at == contact.warning_at + stopped
        assert after["contact"].sla_state == "on_track"

        held = await cases.send(case_ref, HoldTask(task="contact", reason="awaiting the GP"))
        await eventually(lambda: rows_at(held.changes[-1].seq), timeout=20)
        listed = {t.key: t for t in await worklist.tasks(owner=OWNER) if t.case_ref == case_ref}
    assert listed["contact"].held and listed["contact"].sla_state is ClockState.paused
    assert listed["contact"].due_at == contact.due_at + stopped
    assert listed["review"].waits_for == "contact (open)"
    assert [t.key for t in await worklist.tasks(owner=OWNER, late=True)] == []
