"""SLA escalations over real working days and weeks, on Temporal's time-skipping server.

A home visit is due in 10 working days of the england-and-wales office calendar and warns
2 working days before; its breach tells the owner and their manager, and 3 working days
later, if the visit is still not done, the safeguarding panel. The test server skips the
days and weeks; the case, the activities and the outbox are the real ones.
"""

# Fixtures imported from sla_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from casemodel.calendars import Calendar, WorkingCalendar, calendar_for
from casemodel.requests import CompleteTask, HoldTask, PauseCase, ReleaseTask, ResumeCase
from casemodel.state import CaseState, CaseStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.integration.sla_fixtures import (  # noqa: F401
    address_of,
    by_rule,
    group_addresses,
    outbox,
    sla_sessions,
    time_skipping_env,
    working_day_type,
)
from tests.waiting import eventually
from workflows import search_attributes as sa
from workflows.names import workflow_id_for

OWNER = "tom-bennett"
TOM = address_of(OWNER)
PRIYA = address_of("priya-shah")  # Tom's manager
PANEL = group_addresses("safeguarding-panel")
TYPE = working_day_type()
CALENDAR: Calendar = calendar_for(TYPE.resolved_calendar)

# Skipped time lands on the instant asked for; the workflow wakes a moment after its timer.
SLACK = timedelta(minutes=1)


@pytest_asyncio.fixture(scope="module")
async def cases(
    time_skipping_env: WorkflowEnvironment, sla_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[CaseClient]:
    """A client, with a worker (no mail server: the outbox records) on its own queue."""
    task_queue = f"sla-ts-{uuid.uuid4()}"
    client = CaseClient(time_skipping_env.client, Settings(task_queue=task_queue))
    async with build_worker(client.client, task_queue, sla_sessions):
        yield client


@pytest.fixture
def env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return time_skipping_env


@pytest.fixture
def sessions(sla_sessions: async_sessionmaker[AsyncSession]) -> async_sessionmaker[AsyncSession]:
    return sla_sessions


async def open_case(cases: CaseClient) -> tuple[str, CaseState]:
    started = await cases.start_case(
        TYPE, tenant_ref="TEN-4242", case_ref=f"HV-{uuid.uuid4().hex[:8]}", owner=OWNER
    )
    # The time-skipping server answers a long poll of history with new events only: the
    # start's verdict must see the first task done all the same, not wait 10 s for nothing.
    assert started.opened is True
    return started.case_ref, await cases.state(started.case_ref)


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Let the server's clock run on to `instant` (timers on the way fire, in order)."""
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


def visit_points(state: CaseState) -> tuple[datetime, datetime, datetime]:
    """When the home visit warns, breaches and goes to the panel, if nothing stops it."""
    visit = next(t for t in state.tasks if t.key == "home-visit")
    assert visit.opened_at is not None
    warning_at = CALENDAR.add(visit.opened_at, "8 working days")
    due_at = CALENDAR.add(visit.opened_at, "10 working days")
    return warning_at, due_at, CALENDAR.add(due_at, "3 working days")


async def firings_of(cases: CaseClient, case_ref: str, count: int) -> CaseState:
    async def probe() -> CaseState | None:
        state = await cases.state(case_ref)
        return state if len(state.firings) >= count else None

    return await eventually(probe, timeout=10)


async def rows_for(sessions, case_ref: str, count: int):
    async def probe():
        rows = await outbox(sessions, case_ref)
        return rows if len(rows) >= count else None

    return await eventually(probe, timeout=10)


async def sla_attributes(env: WorkflowEnvironment, case_ref: str) -> tuple[str | None, ...]:
    described = await env.client.get_workflow_handle(workflow_id_for(case_ref)).describe()
    found = described.typed_search_attributes
    return found.get(sa.SLA_STATE), found.get(sa.PRIORITY)


async def shows(env: WorkflowEnvironment, case_ref: str, sla_state: str, priority: str) -> None:
    """The case's `SlaState` and `CasePriority` search attributes come to read so."""

    async def probe() -> bool:
        return await sla_attributes(env, case_ref) == (sla_state, priority)

    await eventually(probe, timeout=5)


async def stop(env: WorkflowEnvironment, case_ref: str) -> None:
    """End a case that is still running, so its timers do not fire in later tests."""
    await env.client.get_workflow_handle(workflow_id_for(case_ref)).terminate("test over")


async def test_warning_then_breach_then_the_panel_over_real_working_days(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    case_ref, state = await open_case(cases)
    warning_at, due_at, panel_at = visit_points(state)
    assert (due_at - state.opened_at) > timedelta(days=11)  # two weeks of office days

    await skip_to(env, warning_at - SLACK)
    assert await outbox(sessions, case_ref) == []
    assert (await cases.state(case_ref)).firings == []

    await skip_to(env, warning_at + SLACK)
    state = await firings_of(cases, case_ref, 1)
    assert by_rule(await rows_for(sessions, case_ref, 1)) == {"visit-warning": [TOM]}
    await shows(env, case_ref, "warning", "normal")

    await skip_to(env, due_at - SLACK)
    assert len((await cases.state(case_ref)).firings) == 1

    await skip_to(env, due_at + SLACK)
    state = await firings_of(cases, case_ref, 2)
    rows = await rows_for(sessions, case_ref, 3)
    assert by_rule(rows) == {"visit-warning": [TOM], "visit-breach": [TOM, PRIYA]}
    assert state.priority == "high"
    await shows(env, case_ref, "breached", "high")

    await skip_to(env, panel_at - SLACK)
    assert len((await cases.state(case_ref)).firings) == 2

    await skip_to(env, panel_at + SLACK)
    state = await firings_of(cases, case_ref, 3)
    rows = await rows_for(sessions, case_ref, 3 + len(PANEL))
    assert by_rule(rows) == {
        "visit-warning": [TOM],
        "visit-breach": [TOM, PRIYA],
        "visit-breach/panel": PANEL,
    }
    assert [(f.rule, f.trigger, f.occurrence) for f in state.firings] == [
        ("visit-warning", "warning", 1),
        ("visit-breach", "breach", 1),
        ("visit-breach/panel", "breach", 1),
    ]
    for firing, expected in zip(state.firings, (warning_at, due_at, panel_at), strict=True):
        assert firing.due_at == expected
        assert expected <= firing.fired_at < expected + SLACK
    fired = [e for e in state.log if e.kind == "escalation_fired"]
    assert [e.task_key for e in fired] == ["home-visit"] * 3
    assert state.priority == "urgent"
    await shows(env, case_ref, "breached", "urgent")
    assert {r.template for r in rows if r.rule == "visit-breach/panel"} == {
        "safeguarding-escalation"
    }
    assert all(r.status == "recorded" and r.channel == "outbox" for r in rows)
    await stop(env, case_ref)


async def test_a_visit_done_after_the_breach_stops_the_follow_on(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    case_ref, state = await open_case(cases)
    _, due_at, panel_at = visit_points(state)

    await skip_to(env, due_at + SLACK)
    await firings_of(cases, case_ref, 2)
    await cases.send(case_ref, CompleteTask(task="home-visit"))

    await skip_to(env, panel_at + timedelta(days=7))
    state = await cases.state(case_ref)
    assert state.status is CaseStatus.open  # the support plan is still to do
    assert [f.rule for f in state.firings] == ["visit-warning", "visit-breach"]
    assert by_rule(await outbox(sessions, case_ref)) == {
        "visit-warning": [TOM],
        "visit-breach": [TOM, PRIYA],
    }
    await stop(env, case_ref)


async def test_a_visit_done_before_the_warning_fires_nothing(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    case_ref, state = await open_case(cases)
    warning_at, _, panel_at = visit_points(state)

    await skip_to(env, warning_at - timedelta(hours=2))
    await cases.send(case_ref, CompleteTask(task="home-visit"))

    await skip_to(env, panel_at + timedelta(days=7))
    state = await cases.state(case_ref)
    assert state.firings == []
    assert [e for e in state.log if e.kind == "escalation_fired"] == []
    assert await outbox(sessions, case_ref) == []
    assert (await sla_attributes(env, case_ref))[1] == "normal"
    await stop(env, case_ref)


async def test_a_pause_holds_everything_and_moves_the_breach_by_the_paused_working_time(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    case_ref, state = await open_case(cases)
    warning_at, due_at, _ = visit_points(state)
    visit = next(t for t in state.tasks if t.key == "home-visit")
    assert visit.opened_at is not None

    await skip_to(env, CALENDAR.add(visit.opened_at, "2 working days"))
    await cases.send(case_ref, PauseCase(reason="tenant in hospital"))
    paused = (await cases.state(case_ref)).pauses[-1].start
    await shows(env, case_ref, "paused", "normal")

    # Three weeks in hospital: the original warning and target pass while paused.
    await skip_to(env, due_at + timedelta(days=7))
    state = await cases.state(case_ref)
    assert state.firings == []
    assert await outbox(sessions, case_ref) == []

    await cases.send(case_ref, ResumeCase())
    resumed = (await cases.state(case_ref)).pauses[-1].end
    assert resumed is not None
    held = CALENDAR.working_time_between(paused, resumed)
    assert held >= timedelta(hours=8 * 10)
    new_warning = CALENDAR.add_working_time(warning_at, held)
    new_due = CALENDAR.add_working_time(due_at, held)

    await skip_to(env, new_warning - SLACK)
    assert (await cases.state(case_ref)).firings == []
    await skip_to(env, new_due - SLACK)
    assert [f.rule for f in (await firings_of(cases, case_ref, 1)).firings] == ["visit-warning"]

    await skip_to(env, new_due + SLACK)
    state = await firings_of(cases, case_ref, 2)
    breach = state.firings[1]
    assert breach.rule == "visit-breach"
    assert breach.due_at == new_due
    assert new_due <= breach.fired_at < new_due + SLACK
    assert by_rule(await rows_for(sessions, case_ref, 3)) == {
        "visit-warning": [TOM],
        "visit-breach": [TOM, PRIYA],
    }
    await shows(env, case_ref, "breached", "high")
    await stop(env, case_ref)


async def test_a_held_visit_breaches_later_by_the_working_time_it_was_held(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    case_ref, state = await open_case(cases)
    warning_at, due_at, _ = visit_points(state)
    visit = next(t for t in state.tasks if t.key == "home-visit")
    assert visit.opened_at is not None

    await skip_to(env, CALENDAR.add(visit.opened_at, "1 working day"))
    await cases.send(case_ref, HoldTask(task="home-visit", reason="awaiting an interpreter"))
    await shows(env, case_ref, "paused", "normal")
    await skip_to(env, (await env.get_current_time()) + timedelta(days=7))
    await cases.send(case_ref, ReleaseTask(task="home-visit"))
    hold = next(t for t in (await cases.state(case_ref)).tasks if t.key == "home-visit").holds[-1]
    assert hold.end is not None
    held = CALENDAR.working_time_between(hold.start, hold.end)
    assert held >= timedelta(hours=8 * 3)  # a week is five office days, less bank holidays

    # More than 2 office days held: the warning moves past the original target, which passes
    # quietly.
    await skip_to(env, due_at + SLACK)
    assert (await cases.state(case_ref)).firings == []
    assert await outbox(sessions, case_ref) == []
    new_due = CALENDAR.add_working_time(due_at, held)
    await skip_to(env, new_due + SLACK)
    state = await firings_of(cases, case_ref, 2)
    assert [(f.rule, f.due_at) for f in state.firings] == [
        ("visit-warning", CALENDAR.add_working_time(warning_at, held)),
        ("visit-breach", new_due),
    ]
    assert by_rule(await rows_for(sessions, case_ref, 3)) == {
        "visit-warning": [TOM],
        "visit-breach": [TOM, PRIYA],
    }
    await stop(env, case_ref)


async def test_christmas_and_new_year_bank_holidays_push_the_target_back(
    env: WorkflowEnvironment, cases: CaseClient, sessions
):
    """Last: it moves the server's clock on to the next Christmas."""
    now = await env.get_current_time()
    year = now.year if now < datetime(now.year, 12, 14, tzinfo=UTC) else now.year + 1
    await skip_to(env, datetime(year, 12, 18, 10, 0, tzinfo=UTC))
    case_ref, state = await open_case(cases)
    _, due_at, _ = visit_points(state)
    visit = next(t for t in state.tasks if t.key == "home-visit")
    assert visit.opened_at is not None

    # Christmas Day, Boxing Day and New Year's Day (or their substitutes) are not counted.
    no_holidays = WorkingCalendar.office_hours("no-bank-holidays", None)
    assert due_at == no_holidays.add(visit.opened_at, "13 working days")
    assert due_at.date() > date(year + 1, 1, 1)

    # Where the target would fall if bank holidays were working days, it has not breached.
    await skip_to(env, no_holidays.add(visit.opened_at, "10 working days") + SLACK)
    assert "visit-breach" not in [f.rule for f in (await cases.state(case_ref)).firings]
    await skip_to(env, due_at + SLACK)
    state = await firings_of(cases, case_ref, 2)
    assert [(f.rule, f.due_at) for f in state.firings] == [
        ("visit-warning", CALENDAR.add(visit.opened_at, "8 working days")),
        ("visit-breach", due_at),
    ]
    assert by_rule(await rows_for(sessions, case_ref, 3))["visit-breach"] == [TOM, PRIYA]
    await stop(env, case_ref)
