"""The case workflow keeps the case register, on SQLite and on PostgreSQL alike."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client

import starter.worker
from activities.contracts import RECORD_CASE_CHANGES, RegisterUpdate
from activities.database import definitions_store, register
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from activities.register import RegisterActivities
from casemodel.requests import CloseCase, CompleteTask
from casemodel.state import CaseStatus
from starter.client import CaseClient
from starter.published import published_in_effect
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import visit_type
from tests.integration.db_fixtures import (  # noqa: F401
    database_url,
    dump_case,
    engine,
    fresh_database,
    sessions,
    staff,
)


async def run_case(cases: CaseClient, case_ref: str, type_version: int | None = 1) -> None:
    await cases.start_case(
        visit_type(),
        tenant_ref="TEN-REG",
        case_ref=case_ref,
        owner="tom-bennett",
        type_version=type_version,
    )
    await cases.send(case_ref, CompleteTask(task="contact"))
    await cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited"))
    await cases.report(case_ref, CompleteTask(task="benefits-check", request_id="crm-9"))
    await cases.send(
        case_ref,
        CompleteTask(task="risk-assessment", responses={"Risk level": "low", "Arrears": "£10"}),
    )
    await cases.send(case_ref, CloseCase(outcome="no-further-support", reason="moved"))
    await cases.result(case_ref)


async def test_register_follows_the_case(
    temporal_client: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]
):
    await staff(sessions)  # the directory: cases open with an owner of it
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    case_ref = f"REG-{uuid.uuid4().hex[:8]}"
    async with build_worker(temporal_client, task_queue, sessions):
        await run_case(cases, case_ref)
        state = await cases.state(case_ref)

    async with sessions() as session:
        record = await register.get_case(session, case_ref)
        tasks = await register.case_tasks(session, case_ref)
        events = await register.case_events(session, case_ref)
    assert record is not None
    assert record.status == CaseStatus.closed.value
    assert record.outcome == "no-further-support"
    assert record.type_version == 1
    assert record.workflow_id == f"case-{case_ref}"
    assert record.last_seq == state.log[-1].seq
    assert [(e.seq, e.kind, e.task_key) for e in events] == [
        (e.seq, e.kind, e.task_key) for e in state.log
    ]
    assert {t.key: (t.status, t.outcome) for t in tasks} == {
        t.key: (t.status.value, t.outcome) for t in state.tasks
    }
    risk = next(t for t in tasks if t.key == "risk-assessment")
    assert risk.responses == {"risk-level": "low", "arrears": "10"}


class _KeepsWhatItWrote(RegisterActivities):
    """The worker's register activities, keeping each update they applied (local register
    writes leave their input out of history)."""

    written: list[RegisterUpdate] = []

    @activity.defn(name=RECORD_CASE_CHANGES)
    async def record_case_changes(self, update: RegisterUpdate) -> None:
        await super().record_case_changes(update)
        self.written.append(update)


async def test_register_rows_are_identical_on_both_databases(
    temporal_client: Client, task_queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """One real run writes SQLite; the updates it wrote, applied to PostgreSQL, give the
    same rows to the letter."""
    monkeypatch.setattr(starter.worker, "RegisterActivities", _KeepsWhatItWrote)
    _KeepsWhatItWrote.written = []
    async with (
        fresh_database("sqlite", tmp_path) as sqlite_url,
        fresh_database("postgresql", tmp_path) as postgres_url,
    ):
        engines = {}
        for name, url in (("sqlite", sqlite_url), ("postgresql", postgres_url)):
            await upgrade(url)
            engines[name] = create_engine(url)
            await staff(session_factory(engines[name]))
        try:
            cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
            case_ref = f"SAME-{uuid.uuid4().hex[:8]}"
            async with build_worker(
                temporal_client, task_queue, session_factory(engines["sqlite"])
            ):
                await run_case(cases, case_ref)
            updates = [u for u in _KeepsWhatItWrote.written if u.case_ref == case_ref]
            assert len(updates) >= 2
            async with session_factory(engines["postgresql"]).begin() as session:
                for update in updates:
                    await register.apply_update(session, update)
            dumps = {}
            for name, eng in engines.items():
                async with session_factory(eng)() as session:
                    dumps[name] = await dump_case(session, case_ref)
            assert dumps["sqlite"] == dumps["postgresql"]
            assert dumps["sqlite"]["events"], "the run wrote its log"
        finally:
            for eng in engines.values():
                await eng.dispose()


async def test_running_cases_stay_on_their_version(
    temporal_client: Client,
    task_queue: str,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
):
    await staff(sessions)  # the directory: cases open with an owner of it
    original = visit_type(id=f"versioned-{uuid.uuid4().hex[:6]}")
    edited = original.model_copy(update={"name": "Visit assessment (revised)"})
    async with sessions.begin() as session:
        await definitions_store.publish(session, [original], by="admin", now=datetime.now(UTC))

    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    async with build_worker(temporal_client, task_queue, sessions):
        v1, kind = await published_in_effect(database_url, original.id)
        first = await cases.start_case(kind, tenant_ref="TEN-V", type_version=v1)

        async with sessions.begin() as session:
            results = await definitions_store.publish(
                session, [edited], by="admin", now=datetime.now(UTC)
            )
        assert [(r.version, r.changed) for r in results] == [(2, True)]

        v2, kind2 = await published_in_effect(database_url, original.id)
        second = await cases.start_case(kind2, tenant_ref="TEN-V", type_version=v2)

        old = await cases.state(first.case_ref)
        new = await cases.state(second.case_ref)
    assert (v1, v2) == (1, 2)
    assert old.type_version == 1 and old.provision_type.name == "Visit assessment"
    assert new.type_version == 2 and new.provision_type.name == "Visit assessment (revised)"
