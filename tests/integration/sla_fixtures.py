"""Fixtures for the SLA escalation tests on real Temporal servers.

Import the fixtures a module uses from here. They give: Temporal's time-skipping test
server (search attributes registered), a migrated SQLite application database holding the
shipped directory (so escalations resolve to real people and groups), provision types with
real working-day SLAs and with seconds-scale SLAs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import definitions
from activities.database.directory import load_directory, sync_directory
from activities.database.notifications import NotificationRow, list_notifications
from definitions.calendars import WorkingTimeCalendarDefinition, load_calendar_definitions
from definitions.schema import ProvisionType
from starter.binaries import temporal_test_server
from starter.client import CaseClient
from starter.identities import IdentityHeaders
from starter.settings import Settings
from starter.worker import build_worker
from tests import identities
from tests.sealing import session_converter
from tests.smtp import SmtpServer
from workflows import search_attributes as sa

DEFINITIONS = Path(definitions.__file__).parent
DIRECTORY = load_directory(DEFINITIONS / "directory.yaml")


def address_of(person_id: str) -> str:
    """A person's email as the shipped directory gives it."""
    return next(p.email for p in DIRECTORY.people if p.id == person_id)


def group_addresses(group_id: str) -> list[str]:
    """Every address a stakeholder group of the shipped directory reaches, in file order."""
    group = next(g for g in DIRECTORY.stakeholder_groups if g.id == group_id)
    return [m.address or address_of(m.person or "") for m in group.members]


# --- provision types -------------------------------------------------------------------


def england_and_wales() -> WorkingTimeCalendarDefinition:
    """The shipped england-and-wales calendar, carrying its bank holidays as dates (to 2028,
    or two years ahead: the time-skipping tests move the clock on by a year or so)."""
    catalog = load_calendar_definitions(DEFINITIONS / "catalog" / "calendars.yaml")
    found = next(c for c in catalog.calendars if c.id == "england-and-wales")
    assert isinstance(found, WorkingTimeCalendarDefinition)
    return found.with_bank_holidays(2025, max(2028, date.today().year + 2))


def working_day_type() -> ProvisionType:
    """Real office SLAs: the home visit is due in 10 working days, warns 2 before.

    warning -> owner; breach -> owner and manager, raises priority; 3 working days after
    the breach, if still unresolved -> the safeguarding panel. `support-plan` opens when
    the visit is done, so the case stays open after it.
    """
    return ProvisionType.model_validate(
        {
            "id": "home-visit-assessment",
            "name": "Home visit assessment",
            "category": "assessment",
            "audience": "customer_facing",
            "calendar": "england-and-wales",
            "resolved_calendar": england_and_wales(),
            "may_be_held": True,
            "tasks": [
                {
                    "id": "home-visit",
                    "name": "Home visit",
                    "sla": {"target": "10 working days", "warning": "2 working days"},
                    "escalations": [
                        {
                            "id": "visit-warning",
                            "trigger": "warning",
                            "template": "task-sla-warning",
                            "notify": {"owner": True},
                        },
                        {
                            "id": "visit-breach",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True, "owner_manager": True},
                            "raise_priority": "high",
                            "follow_on": [
                                {
                                    "id": "panel",
                                    "after": "3 working days",
                                    "template": "safeguarding-escalation",
                                    "notify": {"owner": False, "groups": ["safeguarding-panel"]},
                                    "raise_priority": "urgent",
                                }
                            ],
                        },
                    ],
                },
                {"id": "support-plan", "name": "Agree support plan", "depends_on": ["home-visit"]},
            ],
        }
    )


def seconds_type(*, warning_after: int = 2, target: int = 4) -> ProvisionType:
    """Around the clock, in seconds: `contact` warns after `warning_after` s and breaches
    after `target` s (warning -> owner; breach -> owner and manager, priority high)."""
    return ProvisionType.model_validate(
        {
            "id": "quick-contact",
            "name": "Quick contact",
            "category": "assessment",
            "audience": "internal",
            "tasks": [
                {
                    "id": "contact",
                    "name": "Contact",
                    "sla": {
                        "target": f"{target} seconds",
                        "warning": f"{target - warning_after} seconds",
                    },
                    "escalations": [
                        {
                            "id": "contact-warning",
                            "trigger": "warning",
                            "template": "task-sla-warning",
                            "notify": {"owner": True},
                        },
                        {
                            "id": "contact-breach",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True, "owner_manager": True},
                            "raise_priority": "high",
                        },
                    ],
                },
                {"id": "follow-up", "name": "Follow up", "depends_on": ["contact"]},
            ],
        }
    )


# --- Temporal's time-skipping test server ----------------------------------------------------

_INDEXED = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "TEXT": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def start_time_skipping() -> WorkflowEnvironment:
    """A time-skipping test server of its own, with the case search attributes registered.

    It implements OperatorService.AddSearchAttributes but not ListSearchAttributes (nor
    WorkflowService.GetSearchAttributes), so `ensure_search_attributes`, which lists
    first, fails there with UNIMPLEMENTED; the attributes are added directly instead.
    """
    started: list[WorkflowEnvironment] = []

    async def server_time() -> datetime:  # tokens are signed at the server's skipped time
        return await started[0].get_current_time()

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=session_converter(),
        test_server_existing_path=temporal_test_server(),
        interceptors=[IdentityHeaders(identities.suite_signer(server_time))],
    )
    started.append(env)
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace="default",
                search_attributes={
                    key.name: _INDEXED[key.indexed_value_type.name] for key in sa.ALL
                },
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env


@pytest_asyncio.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server the SLA tests share (`start_time_skipping`)."""
    env = await start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


# --- the application database, with the directory ------------------------------------------


@pytest_asyncio.fixture(scope="session")
async def sla_sessions(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated SQLite database of its own, holding the shipped directory."""
    from activities.database.engine import create_engine, session_factory
    from activities.database.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sla') / 'support-provision.db'}"
    await upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await sync_directory(session, DIRECTORY)
    yield sessions
    await engine.dispose()


@pytest.fixture
def sessions(sla_sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    """The application database a module's worker uses: `sla_sessions`."""
    return sla_sessions


@pytest_asyncio.fixture(name="cases")
async def mailing_cases(
    temporal_client: Client, task_queue: str, sessions, smtp: SmtpServer
) -> AsyncIterator[CaseClient]:
    """`cases`: a client with a worker on the dev server that mails through `smtp` (which
    the test starts, or not). A module that imports it imports `smtp` from `tests.smtp`."""
    client = CaseClient(temporal_client, Settings(task_queue=task_queue))
    async with build_worker(temporal_client, task_queue, sessions, mailer=smtp.mailer):
        yield client


async def outbox(
    sessions: async_sessionmaker[AsyncSession], case_ref: str
) -> list[NotificationRow]:
    """The notifications of one case, oldest first."""
    async with sessions() as session:
        rows = await list_notifications(session, case_ref=case_ref, limit=1000)
    return sorted(rows, key=lambda r: r.id)


def by_rule(rows: list[NotificationRow]) -> dict[str, list[str]]:
    """Recipient addresses per rule, in the order the rows were written."""
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.rule, []).append(row.recipient_address or "")
    return found


def seconds_between(a: datetime, b: datetime) -> float:
    return abs((b - a).total_seconds())
