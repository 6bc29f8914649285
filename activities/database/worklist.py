"""The worklist: the tasks still to do across every open case, by due point, from the case
register alone (no Temporal).

Each task row carries its due points as its case last wrote them (`casemodel.worklist`);
the SLA state is worked out here from those points and the time of reading, so a task
whose target passed an hour ago reads `breached` though nothing was written since.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casemodel.calendars import Calendar, calendar_for
from casemodel.sla import ClockState
from casemodel.state import ACTIVE, CaseStatus
from casemodel.worklist import state_at
from definitions.durations import Duration

from . import definitions_store
from .models import CaseRecord, Person, Role, TaskRecord, Team

LIMIT = 200
"""Tasks a worklist lists at most, unless asked for another number."""


class UnknownTeam(LookupError):
    """A `team` filter that names no team of the directory."""

    def __init__(self, team: str) -> None:
        self.team = team
        super().__init__(
            f"there is no team {team!r} in the directory; `support-provision directory "
            "list` shows the teams"
        )


class WorklistTask(BaseModel):
    """One task on a worklist: a task instance still to do in an open case."""

    case_ref: str
    tenant_ref: str
    type: str = Field(description="The case's provision type.")
    priority: str = Field(description="The case's priority.")
    key: str = Field(description="Task key: `home-visit`, `check-in#2`.")
    task: str = Field(description="Id of the task definition.")
    name: str
    owner: str
    status: str = Field(description="`open` or `blocked`.")
    occurrence: int | None = Field(description="Its place in a recurring task's series.")
    sla_state: ClockState | None = Field(
        description="`on_track`, `warning`, `breached` or `paused` now; none without a clock."
    )
    opened_at: datetime | None
    opens_at: datetime | None = Field(description="When a blocked task opens, if known.")
    warning_at: datetime | None
    due_at: datetime | None
    held: bool
    waits_for: str | None = Field(description="What a blocked task waits for.")


async def worklist(
    session: AsyncSession,
    *,
    now: datetime,
    owner: str | None = None,
    team: str | None = None,
    late: bool = False,
    due_within: Duration | None = None,
    limit: int = LIMIT,
) -> list[WorklistTask]:
    """The open and blocked tasks of open cases that match every filter given, earliest
    due point first; then those without one, by when they opened or open (blocked ones
    whose opening is not known last).

    ``team``: tasks owned by the team, by a role of the team, or by a person whose team it
    is (raises `UnknownTeam` for a team the directory lacks). ``late``: only those past
    their target. ``due_within``: only those due by then (late ones too), counted from
    ``now`` in the calendar of each case's type; an upcoming occurrence counts by when it
    falls due. A clock that is stopped (the case paused, the task held) is neither late
    nor due: its due point moves on when it starts again.
    """
    query = (
        select(TaskRecord, CaseRecord.tenant_ref, CaseRecord.type_id, CaseRecord.priority)
        .join(CaseRecord, CaseRecord.case_ref == TaskRecord.case_ref)
        .where(
            CaseRecord.status == CaseStatus.open.value,
            TaskRecord.status.in_(sorted(status.value for status in ACTIVE)),
        )
    )
    if owner is not None:
        query = query.where(TaskRecord.owner == owner)
    if team is not None:
        query = query.where(await _owned_by_team(session, team))
    running = and_(
        or_(TaskRecord.held.is_(None), TaskRecord.held == false()),
        or_(TaskRecord.sla_state.is_(None), TaskRecord.sla_state != ClockState.paused.value),
    )
    if late:
        query = query.where(running, TaskRecord.due_at <= now)
    if due_within is not None:
        query = query.where(running, await _due_by(session, now, due_within))
    since = func.coalesce(TaskRecord.opens_at, TaskRecord.opened_at)
    query = query.order_by(
        case((TaskRecord.due_at.is_(None), 1), else_=0),
        TaskRecord.due_at,
        case((since.is_(None), 1), else_=0),
        since,
        TaskRecord.case_ref,
        TaskRecord.position,
    ).limit(limit)
    return [_item(*row, now=now) for row in (await session.execute(query)).all()]


async def _owned_by_team(session: AsyncSession, team: str) -> ColumnElement[bool]:
    if await session.get(Team, team) is None:
        raise UnknownTeam(team)
    return or_(
        TaskRecord.owner == team,
        TaskRecord.owner.in_(select(Role.id).where(Role.team_id == team)),
        TaskRecord.owner.in_(select(Person.id).where(Person.team_id == team)),
    )


async def _due_by(session: AsyncSession, now: datetime, period: Duration) -> ColumnElement[bool]:
    """Due (or, for an upcoming occurrence, opening) within `period` of `now`, in each
    case's calendar: one bound per provision type version among the open cases."""
    versions = (
        await session.execute(
            select(CaseRecord.type_id, CaseRecord.type_version)
            .where(CaseRecord.status == CaseStatus.open.value)
            .distinct()
        )
    ).all()
    due = func.coalesce(TaskRecord.due_at, TaskRecord.opens_at)
    bounds = []
    for type_id, version in sorted(versions, key=lambda v: (v[0], v[1] or 0)):
        calendar = await _calendar_of(session, type_id, version)
        same = (
            CaseRecord.type_version.is_(None)
            if version is None
            else CaseRecord.type_version == version
        )
        bounds.append(and_(CaseRecord.type_id == type_id, same, due <= calendar.add(now, period)))
    return or_(false(), *bounds)


async def _calendar_of(session: AsyncSession, type_id: str, version: int | None) -> Calendar:
    """The calendar a published version counts in; a case on a type never published (a
    test, a system that starts cases with a type of its own) counts in the latest
    version's, else around the clock."""
    found = await definitions_store.version(session, type_id, version) if version else None
    if found is None:
        latest = await definitions_store.latest(session, type_id)
        found = latest[1] if latest else None
    return calendar_for(found.resolved_calendar if found else None)


def _item(
    task: TaskRecord, tenant_ref: str, type_id: str, priority: str, *, now: datetime
) -> WorklistTask:
    return WorklistTask(
        case_ref=task.case_ref,
        tenant_ref=tenant_ref,
        type=type_id,
        priority=priority,
        key=task.key,
        task=task.task_id,
        name=task.name,
        owner=task.owner,
        status=task.status,
        occurrence=task.occurrence,
        sla_state=state_at(
            task.sla_state,
            held=bool(task.held),
            warning_at=task.warning_at,
            due_at=task.due_at,
            now=now,
        ),
        opened_at=task.opened_at,
        opens_at=task.opens_at,
        warning_at=task.warning_at,
        due_at=task.due_at,
        held=bool(task.held),
        waits_for=task.waits_for,
    )
