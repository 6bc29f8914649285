"""The worklist query on the case register, on SQLite and PostgreSQL: what is listed, in
what order, with which SLA state, and each filter (owner, team through its roles and
people, late, due within a period in each case's calendar)."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.contracts import RegisterUpdate
from activities.database import definitions_store, register
from activities.database.directory import load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from activities.database.worklist import UnknownTeam, WorklistTask, worklist
from casemodel.calendars import calendar_for
from casemodel.case import Case
from casemodel.requests import CloseCase, CompleteTask, HoldTask, PauseCase
from casemodel.sla import ClockState
from definitions.durations import parse_duration
from definitions.schema import ProvisionType
from tests.factories import at, working_type
from tests.integration.db_fixtures import (  # noqa: F401
    DATABASES,
    database_url,
    engine,
    fresh_database,
    sessions,
)
from tests.integration.sla_fixtures import DEFINITIONS

NOW = at(40)


def owned_type() -> ProvisionType:
    """Around the clock, in minutes: tasks owned by a person, a role and a team of the
    neighbourhood team, by the income team's role and one of its people; one blocked on
    another task, one on a lag, one without an SLA."""

    def sla(target: int, warning: int | None = None) -> dict[str, str]:
        found = {"target": f"{target} minutes"}
        return found | ({"warning": f"{warning} minutes"} if warning else {})

    return ProvisionType.model_validate(
        {
            "id": "patch-review",
            "name": "Patch review",
            "category": "support_plan",
            "audience": "customer_facing",
            "may_be_held": True,
            "tasks": [
                {"id": "visit", "name": "Home visit", "owner": "tom-bennett", "sla": sla(30, 10)},
                {"id": "plan", "name": "Agree plan", "owner": "housing-officer", "sla": sla(60)},
                {"id": "panel", "name": "Panel", "owner": "neighbourhood-team", "sla": sla(90)},
                {"id": "income", "name": "Rent account", "owner": "income-officer", "sla": sla(20)},
                {
                    "id": "follow-up",
                    "name": "Arrears follow-up",
                    "owner": "lucy-clarke",
                    "depends_on": [{"task": "income", "lag": "2 hours"}],
                    "sla": sla(60),
                },
                {
                    "id": "report",
                    "name": "Visit report",
                    "owner": "tom-bennett",
                    "depends_on": ["visit"],
                },
                {"id": "leaflet", "name": "Send leaflet", "owner": "tom-bennett"},
            ],
        }
    )


def opened(case_ref: str, minute: int, ptype: ProvisionType | None = None) -> Case:
    return Case.open(
        ptype or owned_type(),
        case_ref=case_ref,
        tenant_ref=f"TEN-{case_ref}",
        owner="priya-shah",
        now=at(minute),
        opened_by="hms",
    )


async def record(
    sessions: async_sessionmaker[AsyncSession], case: Case, now: datetime, version: int | None
) -> None:
    update = RegisterUpdate.from_case(
        case, workflow_id=f"case-{case.state.case_ref}", type_version=version, now=now
    )
    async with sessions.begin() as session:
        await register.apply_update(session, update)


async def stocked(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The shipped directory, and four cases: A and B open, C closed, D paused."""
    async with sessions.begin() as session:
        await sync_directory(session, load_directory(DEFINITIONS / "directory.yaml"), at(0))
    a = opened("A", 0)
    b = opened("B", 10)
    b.apply(CompleteTask(task="income", by="lucy-clarke"), at(15))
    b.apply(HoldTask(task="plan", reason="awaiting a partner agency"), at(16))
    c = opened("C", 0)
    c.apply(CloseCase(reason="moved out", by="priya-shah"), at(5))
    d = opened("D", 0)
    d.apply(PauseCase(reason="tenant in hospital", by="priya-shah"), at(20))
    for case, written in ((a, at(0)), (b, at(16)), (c, at(5)), (d, at(20))):
        await record(sessions, case, written, None)


async def listed(sessions: async_sessionmaker[AsyncSession], **filters: object) -> list[str]:
    return [f"{t.case_ref}:{t.key}" for t in await tasks(sessions, **filters)]


async def tasks(
    sessions: async_sessionmaker[AsyncSession], now: datetime = NOW, **filters: object
) -> list[WorklistTask]:
    async with sessions() as session:
        return await worklist(session, now=now, **filters)  # type: ignore[arg-type]


async def test_open_and_blocked_tasks_of_open_cases_by_due_point(
    sessions: async_sessionmaker[AsyncSession],
):
    await stocked(sessions)
    found = await tasks(sessions)
    assert [f"{t.case_ref}:{t.key}" for t in found] == [
        # due points first, earliest first
        "A:income",  # 20
        "D:income",  # 20, paused
        "A:visit",  # 30
        "D:visit",  # 30, paused
        "B:visit",  # 40
        "A:plan",  # 60
        "D:plan",  # 60, paused
        "B:plan",  # 70 as written; held
        "A:panel",  # 90
        "D:panel",  # 90, paused
        "B:panel",  # 100
        # then by when they opened or open: open without an SLA, then the lag in B
        "A:leaflet",  # opened at 0
        "D:leaflet",  # opened at 0
        "B:leaflet",  # opened at 10
        "B:follow-up",  # opens at 135, two hours after income
        # those whose opening nobody knows yet
        "A:follow-up",
        "A:report",
        "B:report",
        "D:follow-up",
        "D:report",
    ]
    by = {f"{t.case_ref}:{t.key}": t for t in found}
    assert "C:visit" not in by and "B:income" not in by  # a closed case; a completed task
    assert by["A:income"].sla_state is ClockState.breached, "written on track, read late"
    assert by["A:visit"].sla_state is ClockState.breached
    assert by["B:visit"].sla_state is ClockState.breached  # due at 40: it is 40
    assert by["A:plan"].sla_state is ClockState.on_track  # due at 60, with no warning
    assert by["B:panel"].sla_state is ClockState.on_track
    assert by["D:visit"].sla_state is ClockState.paused and not by["D:visit"].held
    assert by["B:plan"].sla_state is ClockState.paused and by["B:plan"].held
    assert by["A:leaflet"].sla_state is None and by["A:leaflet"].due_at is None
    follow_up, report = by["B:follow-up"], by["A:report"]
    assert (follow_up.status, follow_up.opens_at) == ("blocked", at(15) + timedelta(hours=2))
    assert follow_up.waits_for is not None and "agreed lag" in follow_up.waits_for
    assert (report.waits_for, report.opens_at) == ("visit (open)", None)
    visit = by["A:visit"]
    assert (visit.tenant_ref, visit.type, visit.name, visit.owner) == (
        "TEN-A",
        "patch-review",
        "Home visit",
        "tom-bennett",
    )
    assert (visit.opened_at, visit.warning_at, visit.due_at) == (at(0), at(20), at(30))
    assert await listed(sessions, limit=2) == ["A:income", "D:income"]


async def test_the_state_is_read_at_the_time_asked(sessions: async_sessionmaker[AsyncSession]):
    await stocked(sessions)
    early = {f"{t.case_ref}:{t.key}": t.sla_state for t in await tasks(sessions, now=at(25))}
    assert early["A:visit"] is ClockState.warning and early["A:income"] is ClockState.breached
    assert early["B:visit"] is ClockState.on_track


async def test_by_owner(sessions: async_sessionmaker[AsyncSession]):
    await stocked(sessions)
    assert await listed(sessions, owner="lucy-clarke") == [
        "B:follow-up",
        "A:follow-up",
        "D:follow-up",
    ]
    assert await listed(sessions, owner="income-officer") == ["A:income", "D:income"]
    assert await listed(sessions, owner="nobody") == []


async def test_by_team_through_its_roles_and_its_people(
    sessions: async_sessionmaker[AsyncSession],
):
    await stocked(sessions)
    income = await listed(sessions, team="income-team")
    # the role's, then Lucy's
    assert income == ["A:income", "D:income", "B:follow-up", "A:follow-up", "D:follow-up"]
    neighbourhood = await tasks(sessions, team="neighbourhood-team")
    assert {t.owner for t in neighbourhood} == {
        "tom-bennett",  # a person of the team
        "housing-officer",  # a role of the team
        "neighbourhood-team",  # the team itself
    }
    assert len(neighbourhood) == 3 * 5  # visit, plan, panel, report, leaflet in A, B, D
    assert await listed(sessions, team="safeguarding-team") == []
    with pytest.raises(UnknownTeam, match="no team 'nowhere-team'"):
        await tasks(sessions, team="nowhere-team")


async def test_late_ones_are_past_their_target_with_their_clock_running(
    sessions: async_sessionmaker[AsyncSession],
):
    await stocked(sessions)
    # D's are past their targets too, but D is paused; B's plan is held.
    assert await listed(sessions, late=True) == ["A:income", "A:visit", "B:visit"]
    assert await listed(sessions, late=True, now=at(25)) == ["A:income"]
    assert await listed(sessions, late=True, owner="tom-bennett") == ["A:visit", "B:visit"]
    assert await listed(sessions, late=True, team="income-team") == ["A:income"]


async def test_due_within_a_period_counts_late_ones_and_upcoming_occurrences(
    sessions: async_sessionmaker[AsyncSession],
):
    await stocked(sessions)
    soon = parse_duration("25 minutes")  # to 65
    assert await listed(sessions, due_within=soon) == [
        "A:income",
        "A:visit",
        "B:visit",
        "A:plan",
    ]
    later = parse_duration("2 hours")  # to 160: the follow-up opens at 135
    assert await listed(sessions, due_within=later, team="income-team") == [
        "A:income",
        "B:follow-up",
    ]
    assert await listed(sessions, due_within=soon, late=True) == ["A:income", "A:visit", "B:visit"]


async def test_due_within_working_days_counts_in_the_calendar_of_the_case(
    sessions: async_sessionmaker[AsyncSession],
):
    """The office check's assessment is due in 10 working days: opened Monday 2 March 2026
    at 10:00, on Monday 16 March at 10:00. On Friday the 13th at 10:00 it is due within one
    working day (the weekend does not count) but not within one day."""
    office = working_type()
    async with sessions.begin() as session:
        await definitions_store.publish(session, [office], by="admin", now=at(0))
    monday = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    case = Case.open(
        office, case_ref="W-1", tenant_ref="TEN-W", owner="ann", now=monday, opened_by="hms"
    )
    await record(sessions, case, monday, 1)
    friday = datetime(2026, 3, 13, 10, 0, tzinfo=UTC)
    assess, visit = await tasks(sessions, now=friday)
    assert (visit.key, visit.waits_for) == ("visit", "assess (open)")
    assert assess.due_at == datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    calendar = calendar_for(office.resolved_calendar)
    assert calendar.add(friday, "1 working day") >= assess.due_at > friday + timedelta(days=1)

    async def due(period: str) -> list[str]:
        return [t.key for t in await tasks(sessions, now=friday, due_within=parse_duration(period))]

    assert await due("1 working day") == ["assess"]
    assert await due("1 day") == []
    assert await due("3 days") == ["assess"]
    assert await due("4 working hours") == []


@pytest.mark.parametrize("kind", DATABASES)
async def test_task_rows_from_before_the_worklist_are_listed_without_due_points(
    kind: str, tmp_path: Path
):
    """A case registered at revision 0003 keeps its tasks through the upgrade: not held,
    no due points (until its case next writes them), listed after those that have some.
    A worker of the release before, still running during the upgrade, may go on writing
    rows as it did, without the new columns."""
    old_row = text(
        "INSERT INTO case_tasks (case_ref, key, position, task_id, name, status, owner, "
        "mandatory, added_at, added_by, opened_at, responses, last_seq) VALUES ('OLD-1', "
        ":key, :position, :key, :key, 'open', 'tom-bennett', :yes, :at, 'case-opened', :at, "
        "'{}', 2)"
    )
    async with fresh_database(kind, tmp_path) as url:
        await upgrade(url, "0003")
        engine = create_engine(url)
        moment: object = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        if kind == "sqlite":
            moment = "2026-03-02T09:00:00.000000+00:00"
        row = {"yes": True, "at": moment}
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO cases (case_ref, workflow_id, type_id, category, "
                        "tenant_ref, owner, status, priority, opened_at, updated_at, last_seq) "
                        "VALUES ('OLD-1', 'case-OLD-1', 'patch-review', 'support_plan', "
                        "'TEN-OLD', 'tom-bennett', 'open', 'normal', :at, :at, 2)"
                    ),
                    {"at": moment},
                )
                await connection.execute(old_row, {**row, "key": "visit", "position": 0})
            await upgrade(url)
            async with engine.begin() as connection:  # the older worker, after the upgrade
                await connection.execute(old_row, {**row, "key": "plan", "position": 1})
            sessions = session_factory(engine)
            await record(sessions, opened("NEW-1", 0), at(0), None)
            found = await tasks(sessions, owner="tom-bennett")
        finally:
            await engine.dispose()
    old = next(t for t in found if t.case_ref == "OLD-1")
    assert (old.held, old.due_at, old.sla_state, old.waits_for) == (False, None, None, None)
    assert [f"{t.case_ref}:{t.key}" for t in found] == [
        "NEW-1:visit",  # due at 30
        "NEW-1:leaflet",  # no due point, opened at 0
        "OLD-1:visit",  # no due point written yet, opened at 0
        "OLD-1:plan",
        "NEW-1:report",  # waits for the visit
    ]
