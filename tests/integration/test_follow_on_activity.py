"""The open_follow_on activity on its own: a real database (SQLite and PostgreSQL) and the
real Temporal dev server, run as Temporal runs an activity (`ActivityEnvironment`).

It opens the follow-on once however often it runs, refuses without retrying what trying
again at once cannot mend, and never counts another case of the same reference as its own.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities import follow_on
from activities.contracts import FollowOnOpened, OpenFollowOn
from activities.database import definitions_store, register
from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.follow_on import FollowOnActivities
from casemodel.case import Case
from definitions.loader import default_definitions_dir, load_catalog
from starter.client import CaseClient
from starter.settings import Settings
from tests.factories import at
from tests.integration.db_fixtures import (  # noqa: F401
    database_url,
    engine,
    sessions,
    update,
)
from workflows import search_attributes as sa

PLAN = "financial-inclusion-support-plan"
HOARDING = "hoarding-property-condition-support-plan"


async def ready(sessions: async_sessionmaker[AsyncSession], *, without: str = "") -> None:
    types = [t for t in load_catalog(default_definitions_dir()).definitions() if t.id != without]
    async with sessions.begin() as session:
        await sync_directory(session, load_directory(default_directory_file()))
        await definitions_store.publish(session, types, by="test", now=datetime.now(UTC))


def request(type_id: str = PLAN, *, owner: str = "tom-bennett", **fields: object) -> OpenFollowOn:
    parent = f"TSA-{uuid.uuid4().hex[:8]}"
    values: dict[str, object] = {
        "parent_ref": parent,
        "case_ref": f"{parent}-X",
        "type_id": type_id,
        "tenant_ref": "TEN-7",
        "owner": owner,
        "chain_ref": parent,
        "task_queue": f"tq-{uuid.uuid4()}",  # no worker: the case is started, not run
        "history_budget": 1000,
        "follow_on_retry": 60,
    }
    return OpenFollowOn.model_validate({**values, **fields})


def activities(sessions: async_sessionmaker[AsyncSession], client: Client) -> FollowOnActivities:
    return FollowOnActivities(sessions, CaseClient(client, Settings()))


async def test_it_opens_the_follow_on_once_however_often_it_runs(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    await ready(sessions)
    opener, env = activities(sessions, temporal_client), ActivityEnvironment()
    asked = request(HOARDING)
    first = await env.run(opener.open_follow_on, asked)
    assert first == FollowOnOpened(
        case_ref=asked.case_ref, owner="tom-bennett", type_version=1, existed=False
    )
    again = await env.run(opener.open_follow_on, asked)
    assert again.existed and again.case_ref == asked.case_ref
    described = await temporal_client.get_workflow_handle(f"case-{asked.case_ref}").describe()
    assert f"(opened from {asked.parent_ref})" in (await described.static_summary() or "")


async def test_the_type_may_name_the_owner_of_its_follow_on_cases(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    await ready(sessions)
    opened = await ActivityEnvironment().run(
        activities(sessions, temporal_client).open_follow_on, request(PLAN)
    )
    assert opened.owner == "income-team"


@pytest.mark.parametrize(
    ("asked", "without", "code", "words"),
    [
        (dict(type_id=PLAN), PLAN, follow_on.NOT_PUBLISHED, "no published version"),
        (dict(type_id=HOARDING, owner="nobody"), "", follow_on.OWNER_REFUSED, "the owner 'nobody'"),
    ],
)
async def test_what_trying_again_at_once_cannot_mend_fails_without_a_retry(
    sessions: async_sessionmaker[AsyncSession],
    temporal_client: Client,
    asked: dict[str, str],
    without: str,
    code: str,
    words: str,
):
    await ready(sessions, without=without)
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(
            activities(sessions, temporal_client).open_follow_on, request(**asked)
        )
    assert failed.value.type == code and failed.value.non_retryable
    assert words in failed.value.message


async def test_a_case_of_the_same_reference_that_is_not_this_follow_on_is_not_counted(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    await ready(sessions)
    asked = request(HOARDING)
    cases = CaseClient(temporal_client, Settings(task_queue=asked.task_queue))
    catalog = {t.id: t for t in load_catalog(default_definitions_dir()).definitions()}
    await cases.start_case(
        catalog[HOARDING], tenant_ref="TEN-OTHER", case_ref=asked.case_ref, verdict_within=None
    )
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities(sessions, temporal_client).open_follow_on, asked)
    assert failed.value.type == follow_on.REFERENCE_TAKEN
    assert f"for tenant TEN-OTHER), not opened from {asked.parent_ref}" in failed.value.message


async def test_the_register_row_of_the_follow_on_counts_as_opened(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    """Past the namespace's retention Temporal forgets a finished case; the register does
    not, so a late retry still opens nothing."""
    await ready(sessions)
    asked = request(HOARDING)
    child = Case.open(
        catalog_type(HOARDING),
        case_ref=asked.case_ref,
        tenant_ref=asked.tenant_ref,
        owner="tom-bennett",
        now=at(0),
        opened_by="test",
        opened_from=asked.parent_ref,
    )
    async with sessions.begin() as session:
        await register.apply_update(session, update(child.state))
    opened = await ActivityEnvironment().run(
        activities(sessions, temporal_client).open_follow_on, asked
    )
    assert opened.existed
    with pytest.raises(Exception, match="not found"):
        await temporal_client.get_workflow_handle(f"case-{asked.case_ref}").describe()


@workflow.defn(name="ForgedFollowOn", sandboxed=False)
class ForgedFollowOn:
    """Stands for a start its case refused: it fails at once, holding the workflow id."""

    @workflow.run
    async def run(self) -> None:
        raise ApplicationError("refused", non_retryable=True)


def squatting(asked: OpenFollowOn) -> TypedSearchAttributes:
    """The search attributes the real follow-on shows, as a squatter could set them."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PROVISION_TYPE, asked.type_id),
            SearchAttributePair(sa.TENANT, asked.tenant_ref),
            SearchAttributePair(sa.CASE_CHAIN, asked.chain_ref or asked.parent_ref),
        ]
    )


async def test_a_failed_workflow_holding_the_reference_does_not_keep_the_follow_on_out(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    """A forged follow-on is refused and fails, but its workflow id stays taken: the real
    follow-on is started after it, rather than refused as taken at every attempt."""
    await ready(sessions)
    asked = request(HOARDING)
    queue = f"forger-{uuid.uuid4()}"
    async with Worker(temporal_client, task_queue=queue, workflows=[ForgedFollowOn]):
        forged = await temporal_client.start_workflow(
            "ForgedFollowOn",
            id=f"case-{asked.case_ref}",
            task_queue=queue,
            search_attributes=squatting(asked),
        )
        with pytest.raises(WorkflowFailureError):
            await forged.result()
    opened = await ActivityEnvironment().run(
        activities(sessions, temporal_client).open_follow_on, asked
    )
    assert opened == FollowOnOpened(
        case_ref=asked.case_ref, owner="tom-bennett", type_version=1, existed=False
    )
    now = await temporal_client.get_workflow_handle(f"case-{asked.case_ref}").describe()
    assert (now.workflow_type, now.task_queue) == ("SupportCaseWorkflow", asked.task_queue)
    assert now.run_id != forged.first_execution_run_id
    again = await ActivityEnvironment().run(
        activities(sessions, temporal_client).open_follow_on, asked
    )
    assert again.existed


async def test_a_workflow_that_only_looks_like_the_follow_on_is_not_counted(
    sessions: async_sessionmaker[AsyncSession], temporal_client: Client
):
    """The same search attributes, on a workflow no case worker runs: not the follow-on."""
    await ready(sessions)
    asked = request(HOARDING)
    await temporal_client.start_workflow(
        "SupportCaseWorkflow",
        id=f"case-{asked.case_ref}",
        task_queue=f"nobody-{uuid.uuid4()}",
        search_attributes=squatting(asked),
    )
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities(sessions, temporal_client).open_follow_on, asked)
    assert failed.value.type == follow_on.REFERENCE_TAKEN


def catalog_type(type_id: str):  # type: ignore[no-untyped-def]
    return next(t for t in load_catalog(default_definitions_dir()).definitions() if t.id == type_id)
