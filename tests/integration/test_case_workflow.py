"""The case workflow on a real Temporal dev server, driven through the starter client."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from activities.database import register
from casemodel.requests import CompleteTask
from casemodel.state import CaseStatus, TaskStatus
from starter.client import CaseClient, CaseRefused, DuplicateCase
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import visit_type
from tests.waiting import eventually
from workflows import search_attributes as sa


@pytest.fixture
def cases(temporal_client: Client, task_queue: str) -> CaseClient:
    return CaseClient(temporal_client, Settings(task_queue=task_queue))


def ref() -> str:
    return f"T-{uuid.uuid4().hex[:10]}"


async def test_case_runs_to_completion_in_dependency_order(
    cases: CaseClient, task_queue: str, app_sessions
):
    async with build_worker(cases.client, task_queue, app_sessions):
        started = await cases.start_case(
            visit_type(), tenant_ref="TEN-1", case_ref=ref(), owner="aisha-begum"
        )
        state = await cases.state(started.case_ref)
        assert {t.key: t.status for t in state.tasks}["home-visit"] is TaskStatus.blocked

        with pytest.raises(CaseRefused) as refused:
            await cases.send(started.case_ref, CompleteTask(task="home-visit", outcome="visited"))
        assert refused.value.code == "task_blocked", refused.value.message
        assert "contact" in refused.value.message

        await cases.send(started.case_ref, CompleteTask(task="contact"))
        await cases.send(started.case_ref, CompleteTask(task="home-visit", outcome="visited"))
        await cases.send(
            started.case_ref, CompleteTask(task="risk-assessment", responses={"Risk level": "high"})
        )
        await cases.send(started.case_ref, CompleteTask(task="benefits-check"))
        result = await cases.send(started.case_ref, CompleteTask(task="agree-plan"))
        assert result.case_status is CaseStatus.completed
        summary = await cases.result(started.case_ref)
        assert summary.status is CaseStatus.completed
        assert summary.tasks_completed == 5


async def test_duplicate_reference_is_refused(cases: CaseClient, task_queue: str, app_sessions):
    async with build_worker(cases.client, task_queue, app_sessions):
        case_ref = ref()
        await cases.start_case(visit_type(), tenant_ref="TEN-2", case_ref=case_ref)
        with pytest.raises(DuplicateCase, match=case_ref):
            await cases.start_case(visit_type(), tenant_ref="TEN-2", case_ref=case_ref)


async def test_signal_completion_is_idempotent_and_rejections_are_kept(
    cases: CaseClient, task_queue: str, app_sessions
):
    async with build_worker(cases.client, task_queue, app_sessions):
        started = await cases.start_case(visit_type(), tenant_ref="TEN-3", case_ref=ref())
        for _ in range(2):
            await cases.report(started.case_ref, CompleteTask(task="contact", request_id="crm-1"))
        await cases.report(started.case_ref, CompleteTask(task="agree-plan", request_id="crm-2"))

        async def settled():
            state = await cases.state(started.case_ref)
            return state if state.rejected else None

        state = await eventually(settled)
        completed = [e for e in state.log if e.kind == "task_completed"]
        assert [e.task_key for e in completed] == ["contact"]
        assert state.rejected[0].task == "agree-plan"
        assert "waits for" in state.rejected[0].reason


async def test_visible_by_search_attributes(cases: CaseClient, task_queue: str, app_sessions):
    async with build_worker(cases.client, task_queue, app_sessions):
        tenant = f"TEN-{uuid.uuid4().hex[:6]}"
        started = await cases.start_case(
            visit_type(), tenant_ref=tenant, case_ref=ref(), owner="lucy-clarke"
        )
        await cases.send(started.case_ref, CompleteTask(task="contact"))

        async def listed():
            found = await cases.list_cases(tenant_ref=tenant)
            return found if found and found[0].open_tasks == 2 else None

        found = await eventually(listed)
        assert found[0].case_ref == started.case_ref
        assert found[0].owner == "lucy-clarke"
        assert found[0].status == "open"
        description = await cases.client.get_workflow_handle(started.workflow_id).describe()
        assert "for tenant " + tenant in (await description.static_summary() or "")


async def test_a_start_naming_an_owner_outside_the_directory_does_not_open(
    cases: CaseClient, task_queue: str, app_sessions
):
    """A start sent past `case start` (this client, the plain `temporal` CLI), which checks
    the owner against the directory: the case's first register write refuses it, nothing
    is written, and the start is refused as one the case refused, in one line. The
    reference stays free for the start meant."""
    case_ref = ref()
    async with build_worker(cases.client, task_queue, app_sessions):
        with pytest.raises(CaseRefused) as refused:
            await cases.start_case(
                visit_type(), tenant_ref="TEN-OWN", case_ref=case_ref, owner="tom-benett"
            )
        assert refused.value.code == "owner_refused"
        assert refused.value.message == (
            f"Case {case_ref} did not open: the owner 'tom-benett' is not a person, team or "
            'role in the directory (did you mean "tom-bennett"?); `support-provision '
            "directory list` shows who can own a case"
        )
        async with app_sessions() as session:
            assert await register.get_case(session, case_ref) is None
        with pytest.raises(CaseRefused) as not_a_case:
            await cases.state(case_ref)
        assert not_a_case.value.code == "case_not_started"
        refused_run = await cases.client.get_workflow_handle(f"case-{case_ref}").describe()
        status = refused_run.typed_search_attributes.get(sa.CASE_STATUS)
        assert status == sa.NOT_OPENED, "a search for open cases must not find it"

        started = await cases.start_case(
            visit_type(), tenant_ref="TEN-OWN", case_ref=case_ref, owner="tom-bennett"
        )
        assert started.opened is True
        assert (await cases.state(case_ref)).owner == "tom-bennett"
        async with app_sessions() as session:
            row = await register.get_case(session, case_ref)
        assert row is not None and row.owner == "tom-bennett"


async def test_a_start_with_no_owner_where_the_type_names_none_is_refused_at_once(
    cases: CaseClient,
):
    with pytest.raises(CaseRefused) as refused:
        await cases.start_case(visit_type(default_owner=None), tenant_ref="TEN-1", case_ref=ref())
    assert refused.value.code == "invalid_request"
    assert "needs an owner" in refused.value.message


async def test_no_worker_is_a_clear_refusal_not_a_hang(temporal_client: Client, task_queue: str):
    from datetime import timedelta

    cases = CaseClient(
        temporal_client,
        Settings(task_queue=task_queue),
        query_timeout=timedelta(seconds=1),
        update_timeout=timedelta(seconds=1),
    )
    started = await cases.start_case(
        visit_type(), tenant_ref="TEN-NW", case_ref=ref(), verdict_within=timedelta(seconds=1)
    )
    assert started.opened is False, "no worker took it within the wait"
    with pytest.raises(CaseRefused) as no_answer:
        await cases.state(started.case_ref)
    assert no_answer.value.code == "no_worker"
    assert "start one" in no_answer.value.message
    with pytest.raises(CaseRefused) as no_update:
        await cases.send(started.case_ref, CompleteTask(task="contact"))
    assert no_update.value.code == "no_worker"
    assert "check with `case show`" in no_update.value.message
