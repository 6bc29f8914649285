"""Recurring tasks over weeks, months and years, on Temporal's time-skipping server.

The module has a time-skipping server of its own, so its dates are known: the server's clock
starts at today's date and only moves forward, and each test first skips to the start it
needs (in 2027). The worker, the activities and the outbox are the real ones.
"""

# Fixtures imported from sla_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import calendar as month_lengths
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.database import register
from casemodel.requests import (
    CancelTask,
    CompleteTask,
    PauseCase,
    ResumeCase,
    StopRecurrence,
)
from casemodel.state import CaseState, CaseStatus, TaskInstance, TaskStatus
from definitions.calendars import WorkingTimeCalendarDefinition, load_calendar_definitions
from definitions.schema import ProvisionType
from starter.client import CaseClient, CaseRefused
from starter.settings import Settings
from starter.worker import build_worker
from tests.identities import SUITE
from tests.integration.sla_fixtures import (  # noqa: F401
    DEFINITIONS,
    outbox,
    sla_sessions,
    start_time_skipping,
)
from tests.waiting import eventually
from workflows.names import workflow_id_for

OWNER = "tom-bennett"
LONDON_GMT = timedelta(0)
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


def england_and_wales() -> WorkingTimeCalendarDefinition:
    """The shipped office calendar with its bank holidays carried as dates to 2031: the
    longest test here runs three years from 2027."""
    catalog = load_calendar_definitions(DEFINITIONS / "catalog" / "calendars.yaml")
    found = next(c for c in catalog.calendars if c.id == "england-and-wales")
    assert isinstance(found, WorkingTimeCalendarDefinition)
    return found.with_bank_holidays(2026, 2031)


def plan(*tasks: dict[str, Any], office: bool = True) -> ProvisionType:
    """A support plan of the given tasks, in office hours (or around the clock)."""
    data: dict[str, Any] = {
        "id": "recurring-plan",
        "name": "Recurring plan",
        "category": "support_plan",
        "audience": "customer_facing",
        "may_be_held": True,
        "tasks": list(tasks),
    }
    if office:
        data |= {"calendar": "england-and-wales", "resolved_calendar": england_and_wales()}
    return ProvisionType.model_validate(data)


def recurring(task_id: str, recurrence: dict[str, Any], sla: str, **more: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "name": task_id.replace("-", " ").capitalize(),
        "recurrence": recurrence,
        "sla": {"target": sla},
        "escalations": [
            {
                "id": f"late-{task_id}",
                "trigger": "breach",
                "template": "task-sla-breach",
                "notify": {"owner": True},
            }
        ],
        **more,
    }


@pytest_asyncio.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of this module's own: its clock starts today, whatever others skipped."""
    server = await start_time_skipping()
    try:
        yield server
    finally:
        await server.shutdown()


@pytest_asyncio.fixture(scope="module")
async def cases(
    env: WorkflowEnvironment, sla_sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[CaseClient]:
    task_queue = f"recur-{uuid.uuid4()}"
    client = CaseClient(env.client, Settings(task_queue=task_queue, history_budget=200))
    async with build_worker(client.client, task_queue, sla_sessions):
        yield client


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


async def start(cases: CaseClient, ptype: ProvisionType, prefix: str) -> str:
    ref = f"{prefix}-{uuid.uuid4().hex[:8]}"
    await cases.start_case(ptype, tenant_ref="TEN-REC", case_ref=ref, owner=OWNER)
    return ref


def occurrences(state: CaseState, task_id: str) -> list[TaskInstance]:
    return [t for t in state.tasks if t.task == task_id]


async def opened(cases: CaseClient, ref: str, key: str) -> TaskInstance:
    async def probe() -> TaskInstance | None:
        state = await cases.state(ref)
        found = next((t for t in state.tasks if t.key == key), None)
        return found if found and found.status is not TaskStatus.blocked else None

    return await eventually(probe, timeout=10)


async def events_of(sessions: async_sessionmaker[AsyncSession], ref: str) -> list[Any]:
    found: list[Any] = []
    async with sessions() as session:
        while True:
            last = found[-1].seq if found else 0
            page = await register.case_events(session, ref, after_seq=last, limit=500)
            found.extend(page)
            if len(page) < 500:
                return found


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Local London wall-clock time as UTC (GMT before the last Sunday of March, BST after
    until October: enough for the dates used here)."""
    local = datetime(year, month, day, hour, minute)
    bst = datetime(year, 3, 28) <= local < datetime(year, 10, 31) if year == 2027 else False
    return (local - timedelta(hours=1 if bst else 0)).replace(tzinfo=UTC)


# --- tests, in the order their dates come ------------------------------------------------


async def test_a_weekly_check_in_for_twelve_weeks_opens_on_the_right_dates(
    env: WorkflowEnvironment, cases: CaseClient, sla_sessions
) -> None:
    """Mondays at 10:00 London from 11 January 2027: the clocks go forward on 28 March and
    the twelfth falls on Easter Monday, 29 March, a bank holiday, so it opens when the
    office next opens, Tuesday at 09:00 BST. The third is left open: the fourth opens on
    time, and the third's breach fires on its own clock, 3 working days after it opened."""
    await skip_to(env, london(2027, 1, 11, 10))
    ptype = plan(recurring("check-in", {"every": "1 week", "times": 12}, "3 working days"))
    ref = await start(cases, ptype, "WEEKLY")
    first = (await cases.state(ref)).tasks[0].opened_at
    assert first is not None and first - london(2027, 1, 11, 10) < timedelta(seconds=1)
    expected = [first + timedelta(weeks=n) for n in range(11)]  # GMT: London is UTC
    expected.append(london(2027, 3, 30, 9))
    for number, due in enumerate(expected, start=1):
        key = "check-in" if number == 1 else f"check-in#{number}"
        await skip_to(env, due + timedelta(minutes=1))
        task = await opened(cases, ref, key)
        assert task.opened_at == due, (key, task.opened_at, due)
        if number != 3:
            await cases.send(ref, CompleteTask(task=key, outcome=None))
        if number == 5:
            await cases.send(ref, CompleteTask(task="check-in#3"))
    summary = await cases.result(ref)
    assert summary.status is CaseStatus.completed and summary.tasks_completed == 12
    rows = await eventually(lambda: _late_rows(sla_sessions, ref, 1), timeout=10)
    assert [r.task_key for r in rows] == ["check-in#3"]  # late on its own clock only
    third_opened = expected[2]
    state = await cases.state(ref)
    firing = next(f for f in state.firings if f.subject == "check-in#3")
    assert firing.due_at == third_opened + timedelta(days=3)  # Monday 10:00 -> Thursday


async def test_from_completion_shifts_with_a_late_completion(
    env: WorkflowEnvironment, cases: CaseClient
) -> None:
    await skip_to(env, datetime(2027, 4, 5, 9, tzinfo=UTC))
    ptype = plan(
        recurring("visit", {"every": "1 week", "times": 3, "from": "completion"}, "2 days"),
        office=False,
    )
    ref = await start(cases, ptype, "COMPLETION")
    began = await env.get_current_time()
    await env.sleep(timedelta(days=4))  # done four days late
    done = await cases.send(ref, CompleteTask(task="visit"))
    done_at = next(c.at for c in done.changes if c.kind == "task_completed")
    state = await cases.state(ref)
    assert occurrences(state, "visit")[1].opens_at == done_at + timedelta(weeks=1)
    assert done_at - began >= timedelta(days=4)
    await skip_to(env, done_at + timedelta(weeks=1, minutes=1))
    second = await opened(cases, ref, "visit#2")
    assert second.opened_at == done_at + timedelta(weeks=1)
    await cases.send(ref, CompleteTask(task="visit#2"))
    await env.sleep(timedelta(weeks=1, minutes=1))
    await cases.send(ref, CompleteTask(task="visit#3"))
    assert (await cases.result(ref)).tasks_completed == 3


async def test_pause_moves_the_next_occurrence_and_stop_ends_the_series(
    env: WorkflowEnvironment, cases: CaseClient
) -> None:
    await skip_to(env, datetime(2027, 5, 3, 9, tzinfo=UTC))
    ptype = plan(
        recurring("check-in", {"every": "1 week", "until_outcome": "settled"}, "2 days")
        | {"outcomes": [{"id": "seen", "label": "Seen"}, {"id": "settled", "label": "Settled"}]},
        {"id": "review", "name": "Review", "depends_on": ["check-in"]},
        office=False,
    )
    ref = await start(cases, ptype, "PAUSE")
    began = (await cases.state(ref)).tasks[0].opened_at
    assert began is not None
    await cases.send(ref, CompleteTask(task="check-in", outcome="seen"))
    await env.sleep(timedelta(days=2))
    await cases.send(ref, PauseCase(reason="tenant in hospital"))
    paused = await env.get_current_time()
    await env.sleep(timedelta(days=10))
    state = await cases.state(ref)
    assert occurrences(state, "check-in")[1].status is TaskStatus.blocked  # nothing fell due
    await cases.send(ref, ResumeCase())
    resumed = await env.get_current_time()
    state = await cases.state(ref)
    moved = occurrences(state, "check-in")[1].opens_at
    assert moved is not None
    assert abs(moved - (began + timedelta(weeks=1) + (resumed - paused))) < timedelta(seconds=2)
    await skip_to(env, moved + timedelta(minutes=1))
    await opened(cases, ref, "check-in#2")
    with pytest.raises(CaseRefused) as refused:
        await cases.send(ref, StopRecurrence(task="review", reason="no"))
    assert refused.value.code == "not_recurring"
    await cases.send(ref, StopRecurrence(task="check-in", reason="tenant moved"))
    state = await cases.state(ref)
    assert state.series["check-in"].end_reason == "stopped"
    assert occurrences(state, "check-in")[2].status is TaskStatus.cancelled
    assert occurrences(state, "check-in")[1].status is TaskStatus.open  # fell due: still work
    log = [(e.kind, e.by) for e in state.log]
    assert ("recurrence_stopped", SUITE.sub) in log  # who the session signs as


async def test_cancelling_an_occurrence_ends_the_series(
    env: WorkflowEnvironment, cases: CaseClient
) -> None:
    ptype = plan(
        recurring("check-in", {"every": "1 week", "times": 10}, "2 days"),
        {"id": "review", "name": "Review", "depends_on": ["check-in"]},
        office=False,
    )
    ref = await start(cases, ptype, "CANCEL")
    with pytest.raises(CaseRefused) as refused:
        await cases.send(ref, CancelTask(task="check-in"))
    assert refused.value.code == "has_dependants"
    await cases.send(ref, CompleteTask(task="check-in"))
    await cases.send(ref, CancelTask(task="check-in#2", reason="plan changed"))
    state = await cases.state(ref)
    assert state.series["check-in"].end_reason == "cancelled"
    assert next(t for t in state.tasks if t.key == "review").status is TaskStatus.open


def add_months(instant: datetime, months: int) -> datetime:
    """A plain month count on a naive wall clock, end of month kept: the reference the
    case's dates are checked against (independent of `casemodel.calendars`)."""
    month = instant.month - 1 + months
    year, month = instant.year + month // 12, month % 12 + 1
    day = min(instant.day, month_lengths.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


async def test_until_outcome_ends_a_monthly_series_on_the_month_it_is_recorded(
    env: WorkflowEnvironment, cases: CaseClient
) -> None:
    await skip_to(env, datetime(2027, 5, 31, 9, tzinfo=UTC))
    ptype = plan(
        recurring("rent-review", {"every": "1 month", "until_outcome": "arrears-cleared"}, "5 days")
        | {
            "outcomes": [
                {"id": "reviewed", "label": "Reviewed"},
                {"id": "arrears-cleared", "label": "Arrears cleared"},
            ]
        },
        office=False,
    )
    ref = await start(cases, ptype, "MONTHLY")
    first = (await cases.state(ref)).tasks[0].opened_at
    assert first is not None
    for month, outcome in ((0, "reviewed"), (1, "reviewed"), (2, "arrears-cleared")):
        key = "rent-review" if month == 0 else f"rent-review#{month + 1}"
        due = add_months(first, month)
        await skip_to(env, due + timedelta(minutes=1))
        task = await opened(cases, ref, key)
        assert task.opened_at == due  # 31 May, 30 June, 31 July
        await cases.send(ref, CompleteTask(task=key, outcome=outcome))
    summary = await cases.result(ref)
    assert summary.status is CaseStatus.completed and summary.tasks_completed == 3
    assert summary.tasks_cancelled == 1  # the fourth, due 31 August, never opened


async def test_a_monthly_review_for_three_years_and_weekly_check_ins_for_six_months(
    env: WorkflowEnvironment, cases: CaseClient, sla_sessions
) -> None:
    """Both series run to their end across many hand-overs to new runs: every occurrence
    opens once and on time, every late one escalates once, and nothing else does."""
    await skip_to(env, london(2027, 9, 6, 10))
    ptype = plan(
        {"id": "agree-plan", "name": "Agree the plan"},
        recurring(
            "monthly-review",
            {"every": "1 month", "times": 36},
            "10 working days",
            depends_on=["agree-plan"],
        ),
        recurring(
            "weekly-check-in",
            {"every": "1 week", "for": "6 months"},
            "3 working days",
            depends_on=["agree-plan"],
        ),
        {
            "id": "closing-review",
            "name": "Closing review",
            "depends_on": ["monthly-review", "weekly-check-in"],
        },
    )
    ref = await start(cases, ptype, "YEARS")
    await cases.send(ref, CompleteTask(task="agree-plan"))
    began = await env.get_current_time()
    late: dict[str, datetime] = {}  # key -> when it opened; left past its target
    for _ in range(400):
        state = await cases.state(ref)
        now = await env.get_current_time()
        closing = next((t for t in state.tasks if t.key == "closing-review"), None)
        if closing is not None and closing.status is TaskStatus.open:
            await cases.send(ref, CompleteTask(task="closing-review"))
            break
        for task in state.tasks:
            if task.status is not TaskStatus.open or task.occurrence is None:
                continue
            if task.occurrence % 7 == 3 and task.key not in late:
                assert task.opened_at is not None
                late[task.key] = task.opened_at
            if task.key in late and now - late[task.key] < timedelta(days=20):
                continue
            await cases.send(ref, CompleteTask(task=task.key))
        upcoming = [
            t.opens_at for t in state.tasks if t.opens_at and t.status is TaskStatus.blocked
        ]
        waiting = [at + timedelta(days=20) for k, at in late.items() if _open(state, k)]
        step = min([*upcoming, *waiting], default=now + timedelta(days=1))
        await skip_to(env, max(step, now) + timedelta(minutes=1))
    summary = await cases.result(ref)
    weekly = sum(
        1 for n in range(40) if began + timedelta(weeks=n) < add_months(began, 6)
    )  # 26 Mondays from 6 September 2027 to 6 March 2028
    assert weekly == 26
    assert summary.status is CaseStatus.completed
    assert summary.tasks_completed == 1 + 36 + weekly + 1

    events = await eventually(lambda: _all_recorded(sla_sessions, ref), timeout=30)
    opened_keys = Counter(e.task_key for e in events if e.kind == "task_opened")
    assert all(count == 1 for count in opened_keys.values()), opened_keys
    assert sum(1 for k in opened_keys if k.startswith("monthly-review")) == 36
    assert sum(1 for k in opened_keys if k.startswith("weekly-check-in")) == weekly
    rows = await eventually(lambda: _late_rows(sla_sessions, ref, len(late)), timeout=30)
    per_notice = Counter(r.notice_key for r in rows)
    assert all(count == 1 for count in per_notice.values()), per_notice
    assert {r.task_key for r in rows} == set(late)

    handle = env.client.get_workflow_handle(workflow_id_for(ref))
    runs = 1
    history = await handle.fetch_history()
    while previous := history.events[
        0
    ].workflow_execution_started_event_attributes.continued_execution_run_id:
        runs += 1
        history = await env.client.get_workflow_handle(
            workflow_id_for(ref), run_id=previous
        ).fetch_history()
        assert history.events[-1].event_type == CONTINUED
        assert len(history.events) <= 260
    assert runs >= 3, runs


def _open(state: CaseState, key: str) -> bool:
    return any(t.key == key and t.status is TaskStatus.open for t in state.tasks)


async def _all_recorded(sessions, ref: str):  # type: ignore[no-untyped-def]
    events = await events_of(sessions, ref)
    return events if events and events[-1].kind == "case_completed" else None


async def _late_rows(sessions, ref: str, count: int):  # type: ignore[no-untyped-def]
    rows = await outbox(sessions, ref)
    return rows if len(rows) >= count else None
