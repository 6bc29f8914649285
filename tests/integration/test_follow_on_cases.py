"""Follow-on cases on a real Temporal dev server, with a real worker and database.

A tenancy sustainment assessment closed with `need-identified` opens exactly one financial
inclusion support plan for the tenant: on the published version in effect, owned as its
type says, linked both ways in the case state, the register, Temporal's visibility store
(`CaseChain`) and `case show`. A follow-on type that is not published is a failure the
parent shows, tried again until `definitions publish` makes it possible. And a worker
killed (SIGKILL) just before or just after it starts the follow-on's workflow leaves
exactly one follow-on, opened by the next worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.database import definitions_store, register
from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from activities.follow_on import CaseStarter, ExistingCase, FollowOnActivities
from casemodel.follow_on import FollowOnStatus
from casemodel.requests import AddTask, CancelTask, CloseCase, StartCase
from casemodel.state import CaseStatus
from definitions.loader import default_definitions_dir, load_catalog
from protection.codec import data_converter
from starter.client import CaseClient
from starter.identities import WORKER_SERVICE, Signer, identity_ring
from starter.payload_keys import load_ring
from starter.published import published_in_effect
from starter.sandbox import workflow_runner
from starter.settings import Settings
from starter.worker import STICKY_TIMEOUT, WORKFLOWS, build_worker, case_activities
from tests.e2e.cli import cli
from tests.integration.db_fixtures import DATABASES, fresh_database
from tests.waiting import eventually
from workflows.identities import IdentityInterceptor
from workflows.names import workflow_id_for

ROOT = Path(__file__).resolve().parents[2]
ASSESSMENT = "tenancy-sustainment-assessment"
PLAN = "financial-inclusion-support-plan"
OFFICER = "tom-bennett"


@asynccontextmanager
async def chain_database(
    kind: str, folder: Path, *, publish_plan: bool = True
) -> AsyncIterator[str]:
    """A migrated database of `kind` with the directory synced and the catalog published
    (without the financial inclusion plan, unless `publish_plan`)."""
    async with fresh_database(kind, folder) as url:
        await upgrade(url)
        types = load_catalog(default_definitions_dir()).definitions()
        types = [t for t in types if publish_plan or t.id != PLAN]
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                await sync_directory(session, load_directory(default_directory_file()))
                await definitions_store.publish(session, types, by="test", now=datetime.now(UTC))
        finally:
            await engine.dispose()
        yield url


@asynccontextmanager
async def opened_sessions(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def open_assessment(cases: CaseClient, url: str) -> str:
    version, assessment = await published_in_effect(url, ASSESSMENT)
    case_ref = f"TSA-{uuid.uuid4().hex[:8]}"
    await cases.start_case(
        assessment,
        tenant_ref=f"TEN-{case_ref}",
        case_ref=case_ref,
        owner=OFFICER,
        type_version=version,
    )
    return case_ref


async def close_with_need(cases: CaseClient, case_ref: str) -> None:
    await cases.send(case_ref, CloseCase(outcome="need-identified", reason="arrears of £900"))


async def executions(client: Client, case_ref: str) -> list[object]:
    query = f"WorkflowId = '{workflow_id_for(case_ref)}'"
    return [e async for e in client.list_workflows(query)]


async def started(client: Client, case_ref: str) -> bool:
    """Whether the case's workflow exists (asked of the server, not its visibility store)."""
    try:
        await client.get_workflow_handle(workflow_id_for(case_ref)).describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def temporal_env_vars(client: Client, url: str) -> dict[str, str]:
    return {"TEMPORAL_ADDRESS": client.service_client.config.target_host, "DATABASE_URL": url}


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_need_identified_opens_one_financial_inclusion_plan_linked_both_ways(
    kind: str, temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    client = temporal_env.client
    settings = Settings(task_queue=task_queue)
    cases = CaseClient(client, settings)
    async with (
        chain_database(kind, tmp_path) as url,
        opened_sessions(url) as sessions,
        build_worker(client, task_queue, sessions, settings=settings),
    ):
        plan_version, _ = await published_in_effect(url, PLAN)
        parent_ref = await open_assessment(cases, url)
        await close_with_need(cases, parent_ref)
        summary = await asyncio.wait_for(cases.result(parent_ref), 30)
        assert (summary.status, summary.outcome) == (CaseStatus.closed, "need-identified")

        child_ref = f"{parent_ref}-FISP"
        parent = await cases.state(parent_ref)
        due = parent.follow_on
        assert due is not None and due.status is FollowOnStatus.opened
        assert (due.case_ref, due.type, due.owner) == (child_ref, PLAN, "income-team")
        assert due.type_version == plan_version and due.attempts == 0
        child = await cases.state(child_ref)
        assert child.provision_type.id == PLAN and child.type_version == plan_version
        assert child.tenant_ref == parent.tenant_ref
        assert child.owner == "income-team", "the plan's follow_on_owner, not the officer"
        assert (child.opened_from, child.chain_ref) == (parent_ref, parent_ref)
        assert child.status is CaseStatus.open

        # Exactly one, in Temporal's visibility store, and both found by the chain.
        chain = await eventually(
            lambda: _when(cases.list_cases(chain=parent_ref), lambda found: len(found) == 2),
            timeout=20,
        )
        assert sorted(c.case_ref for c in chain) == sorted([parent_ref, child_ref])
        assert {c.case_chain for c in chain} == {parent_ref}
        assert len(await executions(client, child_ref)) == 1

        # The register links them both ways.
        async def linked() -> bool:
            async with sessions() as session:
                row = await register.get_case(session, parent_ref)
                child_row = await register.get_case(session, child_ref)
            return bool(row and row.follow_on_ref == child_ref and child_row) and (
                child_row is not None and child_row.opened_from == parent_ref
            )

        await eventually(linked, timeout=20)
        async with sessions() as session:
            assert [
                r.case_ref for r in await register.list_cases(session, opened_from=parent_ref)
            ] == [child_ref]

        # And `case show` says so, in words and in JSON.
        env = temporal_env_vars(client, url)
        shown = await cli("case", "show", parent_ref, env=env)
        assert shown.code == 0, shown.stderr
        assert f"Opened {child_ref} ({PLAN})" in shown.stdout
        shown_child = await cli("case", "show", child_ref, "--json", env=env)
        assert shown_child.code == 0, shown_child.stderr
        view = shown_child.json()
        assert (view["opened_from"], view["case_chain"]) == (parent_ref, parent_ref)
        plain_child = await cli("case", "show", child_ref, env=env)
        assert f"Opened from {parent_ref}" in plain_child.stdout
        listed = await cli("case", "list", "--opened-from", parent_ref, "--json", env=env)
        assert [row["case_ref"] for row in listed.json()] == [child_ref]


async def test_an_unpublished_follow_on_type_fails_visibly_and_opens_once_it_is_published(
    temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    client = temporal_env.client
    settings = Settings(task_queue=task_queue, follow_on_retry=1)
    cases = CaseClient(client, settings)
    async with (
        chain_database("sqlite", tmp_path, publish_plan=False) as url,
        opened_sessions(url) as sessions,
        build_worker(client, task_queue, sessions, settings=settings),
    ):
        parent_ref = await open_assessment(cases, url)
        await close_with_need(cases, parent_ref)

        async def failed_twice():
            state = await cases.state(parent_ref)
            due = state.follow_on
            return state if due is not None and due.attempts >= 2 else None

        state = await eventually(failed_twice, timeout=30)
        assert state.follow_on is not None
        assert state.follow_on.status is FollowOnStatus.failed
        assert f'no published version of "{PLAN}" is in effect today' in (
            state.follow_on.reason or ""
        )
        failures = [e for e in state.log if e.kind == "follow_on_failed"]
        assert failures and PLAN in failures[0].detail
        assert len(await executions(client, f"{parent_ref}-FISP")) == 0

        env = temporal_env_vars(client, url)
        shown = await cli("case", "show", parent_ref, env=env)
        assert "not opened yet" in shown.stdout and "no published version" in shown.stdout

        async def in_the_register() -> bool:
            async with sessions() as session:
                events = await register.case_events(session, parent_ref)
            return any(e.kind == "follow_on_failed" for e in events)

        await eventually(in_the_register, timeout=20)

        published = await cli("definitions", "publish", "--by", "test", env=env)
        assert published.code == 0, published.stderr
        summary = await asyncio.wait_for(cases.result(parent_ref), 60)
        assert summary.status is CaseStatus.closed
        state = await cases.state(parent_ref)
        assert state.follow_on is not None and state.follow_on.status is FollowOnStatus.opened
        child = await cases.state(f"{parent_ref}-FISP")
        assert child.opened_from == parent_ref
        assert await eventually(lambda: executions(client, f"{parent_ref}-FISP"), timeout=20)
        assert len(await executions(client, f"{parent_ref}-FISP")) == 1


async def test_a_follow_on_whose_reference_another_case_holds_opens_under_the_next_one(
    temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    """Somebody opened a plan by hand under the reference the follow-on would take: the
    parent does not wait on it for ever, it opens its follow-on under `-2` at once."""
    client = temporal_env.client
    settings = Settings(task_queue=task_queue)
    cases = CaseClient(client, settings)
    async with (
        chain_database("sqlite", tmp_path) as url,
        opened_sessions(url) as sessions,
        build_worker(client, task_queue, sessions, settings=settings),
    ):
        parent_ref = await open_assessment(cases, url)
        taken_ref, next_ref = f"{parent_ref}-FISP", f"{parent_ref}-FISP-2"
        version, plan = await published_in_effect(url, PLAN)
        await cases.start_case(
            plan,
            tenant_ref="TEN-SOMEONE-ELSE",
            case_ref=taken_ref,
            owner=OFFICER,
            type_version=version,
        )
        await close_with_need(cases, parent_ref)
        summary = await asyncio.wait_for(cases.result(parent_ref), 30)
        assert summary.status is CaseStatus.closed

        parent = await cases.state(parent_ref)
        due = parent.follow_on
        assert due is not None and due.status is FollowOnStatus.opened
        assert (due.case_ref, due.alternative, due.attempts) == (next_ref, 2, 1)
        [failed] = [e for e in parent.log if e.kind == "follow_on_failed"]
        assert f"the reference {taken_ref} is taken by another case" in failed.detail
        assert failed.detail.endswith(f"trying {next_ref} instead")
        child = await cases.state(next_ref)
        assert (child.opened_from, child.tenant_ref) == (parent_ref, parent.tenant_ref)
        held = await cases.state(taken_ref)
        assert (held.opened_from, held.tenant_ref) == (None, "TEN-SOMEONE-ELSE")

        async def linked() -> bool:
            async with sessions() as session:
                row = await register.get_case(session, parent_ref)
            return row is not None and row.follow_on_ref == next_ref

        await eventually(linked, timeout=20)
        shown = await cli("case", "show", parent_ref, env=temporal_env_vars(client, url))
        assert f"Opened {next_ref} ({PLAN})" in shown.stdout


async def test_a_hand_over_to_a_new_run_carries_how_far_the_follow_on_got(
    temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    client = temporal_env.client
    settings = Settings(task_queue=task_queue, follow_on_retry=1, history_budget=200)
    cases = CaseClient(client, settings)
    async with (
        chain_database("sqlite", tmp_path, publish_plan=False) as url,
        opened_sessions(url) as sessions,
        build_worker(client, task_queue, sessions, settings=settings),
    ):
        parent_ref = await open_assessment(cases, url)
        handle = client.get_workflow_handle(workflow_id_for(parent_ref))
        # Near its budget, so that the run hands over while the follow-on is failing.
        while (
            await handle.describe()
        ).raw_description.workflow_execution_info.history_length < 170:
            added = await cases.send(parent_ref, AddTask(task="no-contact-letter"))
            key = next(c.task_key for c in added.changes if c.kind == "task_added")
            await cases.send(parent_ref, CancelTask(task=key or "", reason="sent by hand"))
        first_run = (await handle.describe()).run_id
        await close_with_need(cases, parent_ref)

        async def handed_over():
            state = await cases.state(parent_ref)
            moved = (await handle.describe()).run_id != first_run
            return state if moved and state.follow_on and state.follow_on.attempts >= 1 else None

        carried = await eventually(handed_over, timeout=60)
        assert carried.follow_on is not None
        attempts = carried.follow_on.attempts
        published = await cli("definitions", "publish", env=temporal_env_vars(client, url))
        assert published.code == 0, published.stderr
        await asyncio.wait_for(cases.result(parent_ref), 60)
        state = await cases.state(parent_ref)
        assert state.follow_on is not None and state.follow_on.status is FollowOnStatus.opened
        assert state.follow_on.attempts >= attempts, "the failures of the run before are kept"
        assert (await cases.state(f"{parent_ref}-FISP")).opened_from == parent_ref
        assert await eventually(lambda: executions(client, f"{parent_ref}-FISP"), timeout=20)
        assert len(await executions(client, f"{parent_ref}-FISP")) == 1


# --- a worker killed around the start ---------------------------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_worker_killed_around_the_start_leaves_exactly_one_follow_on(
    when: str, temporal_env: WorkflowEnvironment, task_queue: str, tmp_path: Path
):
    client = temporal_env.client
    settings = Settings(task_queue=task_queue, follow_on_retry=1)
    cases = CaseClient(client, settings)
    async with chain_database("sqlite", tmp_path) as url, opened_sessions(url) as sessions:
        dying = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            client.service_client.config.target_host,
            client.namespace,
            task_queue,
            url,
            when,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert dying.stdout is not None
        assert await asyncio.wait_for(dying.stdout.readline(), 30) == b"ready\n"
        parent_ref = await open_assessment(cases, url)
        await close_with_need(cases, parent_ref)
        assert await asyncio.wait_for(dying.wait(), 30) == -signal.SIGKILL
        child_ref = f"{parent_ref}-FISP"
        assert await started(client, child_ref) is (when == "after")

        async with build_worker(client, task_queue, sessions, settings=settings):
            await asyncio.wait_for(cases.result(parent_ref), 60)
            parent = await cases.state(parent_ref)
            child = await cases.state(child_ref)
        assert parent.follow_on is not None and parent.follow_on.status is FollowOnStatus.opened
        assert child.opened_from == parent_ref
        opened = [e for e in parent.log if e.kind == "follow_on_opened"]
        assert len(opened) == 1
        assert ("an earlier attempt had opened it" in opened[0].detail) is (when == "after")
        assert await eventually(lambda: executions(client, child_ref), timeout=20)
        assert len(await executions(client, child_ref)) == 1


class _DyingStarter:
    """Starts the follow-on's workflow as the worker does, but the process dies just
    before the start, or just after it and before the activity can report it."""

    def __init__(self, cases: CaseStarter, when: str) -> None:
        self._cases, self._when = cases, when

    async def start_once(
        self, start: StartCase, *, task_queue: str, over_failed: bool = False
    ) -> ExistingCase | None:
        if self._when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        await self._cases.start_once(start, task_queue=task_queue, over_failed=over_failed)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


async def _run_dying_worker(target: str, namespace: str, queue: str, url: str, when: str) -> None:
    # A process of its own: the session's keys reach it as they reach a worker, through
    # the environment the session exported.
    client = await Client.connect(
        target, namespace=namespace, data_converter=data_converter(load_ring())
    )
    settings = Settings(task_queue=queue)
    sessions = session_factory(create_engine(url))
    ring = identity_ring(settings.data_dir)  # the session's, from the environment
    activities = [
        a
        for a in case_activities(sessions, settings, client=client, ring=ring)
        if getattr(a, "__name__", "") != "open_follow_on"
    ]
    signed = CaseClient(client, settings, identity=Signer(ring, WORKER_SERVICE))
    dying = FollowOnActivities(sessions, _DyingStarter(signed, when))
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=[*activities, dying.open_follow_on],
        interceptors=[IdentityInterceptor(ring)],
        workflow_runner=workflow_runner(),
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    ):
        print("ready", flush=True)
        await asyncio.Event().wait()


async def _when(found_soon, accept):  # type: ignore[no-untyped-def]
    found = await found_soon
    return found if accept(found) else None


if __name__ == "__main__":
    asyncio.run(_run_dying_worker(*sys.argv[1:6]))
