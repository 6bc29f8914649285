"""The case register: a queryable projection of every case, its tasks and its log.

Written by `apply_update`, which is idempotent: a retried activity or a replayed
workflow sends the same update again, and updates may arrive out of order. Case and task
rows carry the case log position they reflect (``last_seq``) and are replaced only by a
newer one; events are inserted once by ``(case_ref, seq)`` and never changed, except by
the first write of a run that a workflow reset made, which takes the case back to where
that run took over (`RegisterUpdate.rebase_after`). And by
`mark_ended_outside`, for a case whose workflow ended without its code running (see
`starter.ended_outside`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activities.contracts import RegisterTask, RegisterUpdate
from casemodel.state import CaseStatus

from .dialects import insert_for
from .directory import inactive_owners, owner_refusal
from .models import CaseEvent, CaseRecord, TaskRecord


class CaseRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_ref: str
    workflow_id: str
    type_id: str
    type_version: int | None
    category: str
    tenant_ref: str
    owner: str
    status: str
    priority: str
    opened_at: datetime
    resolved_at: datetime | None
    outcome: str | None
    opened_from: str | None = None
    follow_on_ref: str | None = None
    updated_at: datetime
    last_seq: int
    first_run_id: str | None = None


class TaskRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_ref: str
    key: str
    position: int
    task_id: str
    name: str
    status: str
    owner: str
    mandatory: bool
    added_at: datetime
    added_by: str
    opened_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    responses: dict[str, Any]
    note: str | None
    last_seq: int
    occurrence: int | None
    opens_at: datetime | None
    warning_at: datetime | None
    due_at: datetime | None
    sla_state: str | None
    held: bool | None
    waits_for: str | None


class EventRow(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_ref: str
    seq: int
    at: datetime
    kind: str
    by: str
    task_key: str | None
    detail: str


async def apply_update(session: AsyncSession, update: RegisterUpdate) -> None:
    """Project ``update`` into the register, in the caller's transaction.

    Safe to repeat and to receive out of order: nothing is written twice and the case
    never moves backwards, but an older update still adds the events and tasks it alone
    carries.
    """
    await apply_updates(session, [update])


async def apply_updates(session: AsyncSession, updates: Sequence[RegisterUpdate]) -> None:
    """Project the updates of several cases, one case each, in three statements (one for
    their case rows, one for their tasks, one for their events), as `apply_update` would
    one by one: a statement may not change one row twice, hence one update a case."""
    if len({u.case_ref for u in updates}) != len(updates):
        raise ValueError("apply_updates takes one update a case")
    await _refuse_other_cases(session, updates)
    await _refuse_unknown_owners(session, updates)
    for first in (u for u in updates if u.rebase_after is not None):
        await _roll_back(session, first)
    insert = insert_for(session, "the case register")
    cases = [_case_values(u) for u in updates]
    await _upsert_newer(
        session, insert(CaseRecord.__table__), cases, ["case_ref"], kept=("first_run_id",)
    )
    tasks = [_task_values(u, task) for u in updates for task in u.tasks]
    await _upsert_newer(session, insert(TaskRecord.__table__), tasks, ["case_ref", "key"])
    events = [
        {"case_ref": u.case_ref, **e.model_dump(include=_EVENT_FIELDS)}
        for u in updates
        for e in u.events
    ]
    if events:
        stmt = insert(CaseEvent.__table__).on_conflict_do_nothing(
            index_elements=["case_ref", "seq"]
        )
        await session.execute(stmt, events)


class CaseRefTaken(LookupError):
    """A write from a workflow that is not the case the register holds under its
    reference: one started again under a closed case's workflow id, by Temporal directly
    (`RegisterUpdate.first_run_id`). Nothing of it is written."""

    def __init__(self, update: RegisterUpdate, held: CaseRecord | Any) -> None:
        self.case_ref = update.case_ref
        super().__init__(
            f"case reference {update.case_ref} belongs to another case, opened "
            f"{held.opened_at:%Y-%m-%d %H:%M} UTC for tenant {held.tenant_ref} (workflow run "
            f"{held.first_run_id or 'from before runs were recorded'}); this workflow, "
            f"opened {update.opened_at:%Y-%m-%d %H:%M} UTC, was started again under that "
            "case's id (by Temporal directly, or once Temporal no longer held the case's "
            "history) and is refused: open the new case under a reference of its own"
        )


OPEN = CaseStatus.open.value
ENDED_OUTSIDE = "ended_outside"
"""The register's status of a case whose workflow Temporal ended (terminated, say) while
the case was open: no rule of the case ran, so nothing else about it changed."""
ENDED_OUTSIDE_EVENT = "workflow_ended_outside"


@dataclass(frozen=True)
class OpenVersion:
    """A published version of a type that open cases run on: how many, and one of them."""

    type_id: str
    version: int
    cases: int
    example: str


async def open_versions(session: AsyncSession) -> list[OpenVersion]:
    """The versions open cases run on, as the register holds them (cases with no version,
    from tests and from before versions, are left out)."""
    rows = await session.execute(
        select(
            CaseRecord.type_id,
            CaseRecord.type_version,
            func.count(),
            func.min(CaseRecord.case_ref),
        )
        .where(CaseRecord.status == OPEN, CaseRecord.type_version.is_not(None))
        .group_by(CaseRecord.type_id, CaseRecord.type_version)
        .order_by(CaseRecord.type_id, CaseRecord.type_version)
    )
    # `type_version` is never None here (the where clause); the column's type says it may be.
    return [OpenVersion(t, v or 0, n, ref) for t, v, n, ref in rows.all()]


async def cases_held_open(session: AsyncSession, case_refs: Sequence[str]) -> set[str]:
    """Of `case_refs`, those the register holds open."""
    if not case_refs:
        return set()
    query = select(CaseRecord.case_ref).where(
        CaseRecord.case_ref.in_(list(case_refs)), CaseRecord.status == OPEN
    )
    return set((await session.scalars(query)).all())


async def mark_ended_outside(
    session: AsyncSession,
    case_ref: str,
    *,
    at: datetime,
    by: str,
    detail: str,
    marked_at: datetime,
) -> bool:
    """Mark an open case as ended outside the service (`at`, when it ended), with the log
    entry that says how; whether it was open (marking it again, from another worker,
    changes nothing). The entry takes the next log position, which the row then reflects:
    the first write of a reset run going on takes the case back to before it
    (`RegisterUpdate.rebase_after`), entry and status included. The row's `updated_at`
    is `marked_at`: when it was marked."""
    marked = await session.execute(
        update(CaseRecord)
        .where(CaseRecord.case_ref == case_ref, CaseRecord.status == OPEN)
        .values(
            status=ENDED_OUTSIDE,
            resolved_at=at,
            updated_at=marked_at,
            last_seq=CaseRecord.last_seq + 1,
        )
        .returning(CaseRecord.last_seq)
    )
    seq = marked.scalar_one_or_none()
    if seq is None:  # no such case, or not open
        return False
    insert = insert_for(session, "the case register")
    await session.execute(
        insert(CaseEvent.__table__).on_conflict_do_nothing(index_elements=["case_ref", "seq"]),
        [
            {
                "case_ref": case_ref,
                "seq": seq,
                "at": at,
                "kind": ENDED_OUTSIDE_EVENT,
                "by": by,
                "task_key": None,
                "detail": detail,
            }
        ],
    )
    return True


async def ended_outside_since(
    session: AsyncSession, since: datetime, *, limit: int = 200
) -> list[CaseRow]:
    """Cases marked as ended outside the service since `since`, the latest first."""
    query = (
        select(CaseRecord)
        .where(CaseRecord.status == ENDED_OUTSIDE, CaseRecord.updated_at >= since)
        .order_by(CaseRecord.updated_at.desc())
        .limit(limit)
    )
    return [CaseRow.model_validate(r) for r in (await session.scalars(query)).all()]


async def get_case(session: AsyncSession, case_ref: str) -> CaseRow | None:
    record = await session.get(CaseRecord, case_ref)
    return CaseRow.model_validate(record) if record else None


async def list_cases(
    session: AsyncSession,
    *,
    type_id: str | None = None,
    owner: str | None = None,
    tenant_ref: str | None = None,
    status: str | None = None,
    opened_from: str | None = None,
    limit: int = 100,
) -> list[CaseRow]:
    """Cases matching every filter given, most recently opened first."""
    query = select(CaseRecord)
    for column, wanted in (
        (CaseRecord.type_id, type_id),
        (CaseRecord.owner, owner),
        (CaseRecord.tenant_ref, tenant_ref),
        (CaseRecord.status, status),
        (CaseRecord.opened_from, opened_from),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    query = query.order_by(CaseRecord.opened_at.desc(), CaseRecord.case_ref).limit(limit)
    return [CaseRow.model_validate(r) for r in (await session.scalars(query)).all()]


async def case_tasks(session: AsyncSession, case_ref: str) -> list[TaskRow]:
    """The case's tasks in plan order."""
    query = select(TaskRecord).where(TaskRecord.case_ref == case_ref).order_by(TaskRecord.position)
    return [TaskRow.model_validate(r) for r in (await session.scalars(query)).all()]


async def case_events(
    session: AsyncSession, case_ref: str, *, after_seq: int = 0, limit: int | None = None
) -> list[EventRow]:
    """The case's event log, oldest first: the entries after `after_seq`, `limit` at most.

    A case that lives for years logs tens of thousands of entries; read them a page at a
    time (`after_seq` = the last seq of the page before).
    """
    query = (
        select(CaseEvent)
        .where(CaseEvent.case_ref == case_ref, CaseEvent.seq > after_seq)
        .order_by(CaseEvent.seq)
        .limit(limit)
    )
    return [EventRow.model_validate(r) for r in (await session.scalars(query)).all()]


# --- writing --------------------------------------------------------------------------


async def _roll_back(session: AsyncSession, first: RegisterUpdate) -> None:
    """Take the case back to where the first write of a reset run takes over
    (`RegisterUpdate.rebase_after`): the run reset away logged, added and changed things
    after it that never happened in the run that goes on. Its log entries go, and so do
    the tasks it added that the update does not carry; the case and the tasks left then
    reflect that position, so the update, which carries every task the case holds,
    replaces them as any newer write does. Tasks a long case has let go are older than
    that position and stay."""
    after = first.rebase_after
    assert after is not None
    ref = first.case_ref
    await session.execute(delete(CaseEvent).where(CaseEvent.case_ref == ref, CaseEvent.seq > after))
    carried = [task.key for task in first.tasks]
    await session.execute(
        delete(TaskRecord).where(
            TaskRecord.case_ref == ref, TaskRecord.last_seq > after, TaskRecord.key.not_in(carried)
        )
    )
    for record in (TaskRecord, CaseRecord):
        await session.execute(
            update(record)
            .where(record.case_ref == ref, record.last_seq > after)
            .values(last_seq=after)
        )


async def _refuse_other_cases(session: AsyncSession, updates: Sequence[RegisterUpdate]) -> None:
    """Raise `CaseRefTaken` for an update from another case than the one the register
    holds under its reference. A row from before rows named their case's first run is
    that case's if the update opened when it did, or is the first write of a reset run
    (which may open again, later): it is named then."""
    sent = {u.case_ref: u for u in updates if u.first_run_id is not None}
    if not sent:
        return
    held = await session.execute(
        select(
            CaseRecord.case_ref,
            CaseRecord.first_run_id,
            CaseRecord.opened_at,
            CaseRecord.tenant_ref,
        ).where(CaseRecord.case_ref.in_(sent))
    )
    for row in held:
        write = sent[row.case_ref]
        if row.first_run_id == write.first_run_id:
            continue
        if row.first_run_id is None and (
            row.opened_at == write.opened_at or write.rebase_after is not None
        ):
            await session.execute(
                update(CaseRecord)
                .where(CaseRecord.case_ref == row.case_ref, CaseRecord.first_run_id.is_(None))
                .values(first_run_id=write.first_run_id)
            )
            continue
        raise CaseRefTaken(write, row)


class OwnerRefused(LookupError):
    """A case's first write naming an owner who is not an active person, team or role of
    the directory: a start made past `case start`, which checks it. Nothing is written."""

    def __init__(self, update: RegisterUpdate, refusal: str) -> None:
        self.case_ref = update.case_ref
        super().__init__(
            f"the owner {refusal}; `support-provision directory list` shows who can own a case"
        )


async def _refuse_unknown_owners(session: AsyncSession, updates: Sequence[RegisterUpdate]) -> None:
    """Raise `OwnerRefused` for a case's first write (`RegisterUpdate.opening`) whose
    owner may not own a case, unless the register holds the case already (a worker that
    died after writing it: the write is a retry, judged when it was first taken)."""
    opening = {u.case_ref: u for u in updates if u.opening}
    if not opening:
        return
    owners = {u.owner for u in opening.values()}
    unknown = await inactive_owners(session, owners)
    if not unknown:
        return
    held = set(
        (
            await session.execute(
                select(CaseRecord.case_ref).where(CaseRecord.case_ref.in_(list(opening)))
            )
        ).scalars()
    )
    for ref, write in opening.items():
        if write.owner in unknown and ref not in held:
            raise OwnerRefused(write, await owner_refusal(session, write.owner) or write.owner)


_EVENT_FIELDS = {"seq", "at", "kind", "by", "task_key", "detail"}


def _case_values(update: RegisterUpdate) -> dict[str, Any]:
    return update.model_dump(exclude={"tasks", "events", "rebase_after", "opening"})


def _task_values(update: RegisterUpdate, task: RegisterTask) -> dict[str, Any]:
    return {
        "case_ref": update.case_ref,
        "key": task.key,
        "position": task.position,
        "task_id": task.task,
        "name": task.name,
        "status": task.status.value,
        "owner": task.owner,
        "mandatory": task.mandatory,
        "added_at": task.added_at,
        "added_by": task.added_by,
        "opened_at": task.opened_at,
        "resolved_at": task.resolved_at,
        "resolved_by": task.resolved_by,
        "outcome": task.outcome,
        "responses": task.model_dump(mode="json", include={"responses"})["responses"],
        "note": task.note,
        "last_seq": update.last_seq,
        "occurrence": task.occurrence,
        "opens_at": task.opens_at,
        "warning_at": task.warning_at,
        "due_at": task.due_at,
        "sla_state": task.sla_state,
        "held": task.held,
        "waits_for": task.waits_for,
    }


_UPSERTS: dict[tuple[Any, str, tuple[str, ...], tuple[str, ...]], Any] = {}
"""Upsert statements by dialect, table, columns and keys: built once, not per write (an
`ON CONFLICT` statement copies every column of its table as it is built, which was most
of what writing the register cost the worker)."""


async def _upsert_newer(
    session: AsyncSession,
    stmt: Any,
    rows: Sequence[dict[str, Any]],
    keys: list[str],
    *,
    kept: tuple[str, ...] = (),
) -> None:
    """Insert ``rows``; where one exists, replace it only if ours reflects a later seq,
    all but the ``kept`` columns, which only an insert sets."""
    if not rows:
        return
    table: Table = stmt.table
    key = (type(stmt), table.name, tuple(rows[0]), tuple(keys))
    if (upsert := _UPSERTS.get(key)) is None:
        upsert = _UPSERTS[key] = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={
                name: stmt.excluded[name]
                for name in rows[0]
                if name not in keys and name not in kept
            },
            where=table.c.last_seq < stmt.excluded.last_seq,
        )
    await session.execute(upsert, list(rows))
