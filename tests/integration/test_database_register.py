"""The case register: idempotent, never moving backwards, the same on both databases."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.contracts import RegisterUpdate
from activities.database import register
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from activities.database.models import Person
from casemodel.case import Case
from tests.factories import at, visit_type
from tests.integration.db_fixtures import (  # noqa: F401
    database_url,
    dump_case,
    engine,
    fresh_database,
    sessions,
    staff,
    stages,
    update,
)


async def apply(sessions: async_sessionmaker[AsyncSession], *updates: RegisterUpdate) -> None:
    for each in updates:
        async with sessions.begin() as session:
            await register.apply_update(session, each)


async def dump(sessions: async_sessionmaker[AsyncSession], case_ref: str) -> dict[str, Any]:
    async with sessions() as session:
        return await dump_case(session, case_ref)


def comparable(rows: dict[str, Any]) -> dict[str, Any]:
    # A task's last_seq says which update last carried it, which differs by design.
    drop = {"case_ref", "workflow_id", "last_seq"}
    return {
        section: [{c: v for c, v in row.items() if c not in drop} for row in section_rows]
        for section, section_rows in rows.items()
    }


async def test_the_same_update_twice_writes_each_row_once(
    sessions: async_sessionmaker[AsyncSession],
):
    final = stages()[-1]
    await apply(sessions, update(final))
    once = await dump(sessions, "CASE-1")
    await apply(sessions, update(final))
    assert await dump(sessions, "CASE-1") == once

    assert len(once["events"]) == len(final.log)
    assert [t["key"] for t in once["tasks"]] == sorted(t.key for t in final.tasks)
    (case,) = once["case"]
    assert case["status"] == "closed" and case["outcome"] == "no-further-support"
    assert case["resolved_at"] == at(120) and case["updated_at"] == at(120)
    assert case["last_seq"] == final.log[-1].seq
    risk = next(t for t in once["tasks"] if t["key"] == "risk-assessment")
    assert risk["responses"] == {
        "risk-level": "high",
        "consent": True,
        "arrears": "1250.50",
        "visits": 3,
        "review": "2026-04-01",
        "needs": ["debt", "clutter"],
    }
    assert risk["opened_at"] == at(60) and risk["note"] == "tense"


async def test_changes_sent_in_steps_add_up_to_the_whole_case(
    sessions: async_sessionmaker[AsyncSession],
):
    opened, visited, assessed, closed = stages("STEPS")
    steps = [update(opened), update(visited, opened), update(assessed, visited)]
    steps.append(update(closed, assessed))
    assert len(steps[2].tasks) < len(assessed.tasks)  # only what changed travels
    await apply(sessions, *steps)
    await apply(sessions, update(stages("WHOLE")[-1]))

    stepwise, whole = await dump(sessions, "STEPS"), await dump(sessions, "WHOLE")
    assert comparable(stepwise) == comparable(whole)
    assert stepwise["case"][0]["last_seq"] == whole["case"][0]["last_seq"]


async def test_an_older_update_never_moves_the_case_back(
    sessions: async_sessionmaker[AsyncSession],
):
    opened, visited, assessed, closed = stages()
    await apply(sessions, update(opened), update(visited, opened), update(closed, visited))
    in_order = await dump(sessions, "CASE-1")

    # A retry of an old update arrives late: nothing moves.
    await apply(sessions, update(assessed, visited), update(visited), update(opened))
    assert await dump(sessions, "CASE-1") == in_order

    # Out of order from the start: the older update still adds what only it carries.
    fresh = {"case_ref": "LATE"}
    late = [s.model_copy(update=fresh) for s in (opened, visited, closed)]
    await apply(sessions, update(late[2], late[1]), update(late[1], late[0]), update(late[0]))
    arrived_late = await dump(sessions, "LATE")
    for rows in arrived_late.values():
        for row in rows:
            row["case_ref"] = "CASE-1"
            row.pop("workflow_id", None)
    for row in in_order["case"]:
        row.pop("workflow_id")
    assert arrived_late == in_order


async def test_list_cases_filters_by_type_owner_tenant_and_status(
    sessions: async_sessionmaker[AsyncSession],
):
    other_type = visit_type(id="tenancy-check", name="Tenancy check")
    states = [
        stages("A-1", tenant_ref="TEN-1", owner="tom-bennett")[0],
        stages("A-2", tenant_ref="TEN-2", owner="aisha-begum")[-1],
        Case.open(
            other_type,
            case_ref="B-1",
            tenant_ref="TEN-1",
            owner="tom-bennett",
            now=at(30),
            opened_by="hms",
        ).state,
    ]
    await apply(sessions, *(update(s) for s in states))

    async def refs(**filters: Any) -> list[str]:
        async with sessions() as session:
            return [c.case_ref for c in await register.list_cases(session, **filters)]

    assert await refs() == ["B-1", "A-1", "A-2"]  # newest first, then by reference
    assert await refs(type_id="visit-assessment") == ["A-1", "A-2"]
    assert await refs(owner="tom-bennett") == ["B-1", "A-1"]
    assert await refs(tenant_ref="TEN-1", type_id="tenancy-check") == ["B-1"]
    assert await refs(status="closed") == ["A-2"]
    assert await refs(status="open", owner="aisha-begum") == []
    assert await refs(limit=1) == ["B-1"]


async def test_the_event_log_and_tasks_read_back_in_order(
    sessions: async_sessionmaker[AsyncSession],
):
    final = stages()[-1]
    await apply(sessions, update(final, priority="high"))
    async with sessions() as session:
        case = await register.get_case(session, "CASE-1")
        events = await register.case_events(session, "CASE-1")
        tasks = await register.case_tasks(session, "CASE-1")
        assert await register.get_case(session, "NOPE") is None
    assert case is not None and case.priority == "high" and case.type_version == 1
    assert [e.model_dump(exclude={"case_ref"}) for e in events] == [
        e.model_dump() for e in final.log
    ]
    assert [t.key for t in tasks] == [t.key for t in final.tasks]
    assert {t.key: t.status for t in tasks} == {t.key: t.status.value for t in final.tasks}


async def test_a_case_is_stored_identically_on_sqlite_and_postgresql(tmp_path: Path):
    opened, visited, assessed, closed = stages()
    updates = [update(opened), update(assessed, opened), update(visited), update(closed)]
    dumps = []
    for kind in ("sqlite", "postgresql"):
        async with fresh_database(kind, tmp_path) as url:
            await upgrade(url)
            engine = create_engine(url)
            try:
                await apply(session_factory(engine), *updates)
                dumps.append(await dump(session_factory(engine), "CASE-1"))
            finally:
                await engine.dispose()
    on_sqlite, on_postgresql = dumps
    assert on_sqlite == on_postgresql
    assert repr(on_sqlite) == repr(on_postgresql)  # same types and time zones, not just equal


async def test_a_case_ended_outside_is_marked_once_and_a_newer_write_of_its_own_wins(
    sessions: async_sessionmaker[AsyncSession],
):
    opened, visited, *_ = stages()
    other = stages("CASE-2")[-1]
    await apply(sessions, update(opened), update(other))

    async def mark(case_ref: str) -> bool:
        async with sessions.begin() as session:
            return await register.mark_ended_outside(
                session,
                case_ref,
                at=at(30),
                by="ops",
                detail="terminated: merged",
                marked_at=at(45),
            )

    assert await mark("CASE-1")
    assert not await mark("CASE-1")  # once: marking again changes nothing
    assert not await mark("CASE-2")  # a closed case is not open
    assert not await mark("CASE-9")  # nor is one the register does not hold
    marked = await dump(sessions, "CASE-1")
    (case,) = marked["case"]
    assert case["status"] == register.ENDED_OUTSIDE and case["resolved_at"] == at(30)
    assert case["last_seq"] == opened.log[-1].seq + 1
    last = marked["events"][-1]
    assert (last["seq"], last["kind"], last["by"]) == (
        case["last_seq"],
        register.ENDED_OUTSIDE_EVENT,
        "ops",
    )
    assert last["detail"] == "terminated: merged"
    async with sessions() as session:
        assert await register.cases_held_open(session, ["CASE-1", "CASE-2", "CASE-9"]) == set()
        # Found by when it was marked, not when it ended (a case ended while no worker ran).
        (found,) = await register.ended_outside_since(session, at(40))
        assert found.case_ref == "CASE-1" and found.updated_at == at(45)
        assert await register.ended_outside_since(session, at(46)) == []

    # A run that goes on (a reset) writes newer changes of its own: they replace the mark.
    await apply(sessions, update(visited, since=opened))
    (case,) = (await dump(sessions, "CASE-1"))["case"]
    assert case["status"] == "open" and case["last_seq"] == visited.log[-1].seq
    async with sessions() as session:
        assert await register.cases_held_open(session, ["CASE-1", "CASE-2"]) == {"CASE-1"}


async def test_the_first_write_of_a_reset_run_takes_the_case_back_to_where_the_run_took_over(
    sessions: async_sessionmaker[AsyncSession],
):
    # The run reset away: no access at the visit (which added a check-in), assessed, closed.
    opened, visited, _, closed = stages("RESET")
    await apply(sessions, update(opened), update(visited, opened), update(closed, visited))
    assert any(t["key"] == "check-in" for t in (await dump(sessions, "RESET"))["tasks"])

    # The run that goes on took over after the opening, and went another way.
    case = Case(opened.model_copy(deep=True, update={"type_version": 1}))
    case.complete_task("contact", outcome=None, responses=None, note=None, by="amy", now=at(7))
    case.complete_task(
        "home-visit", outcome="visited", responses=None, note=None, by="amy", now=at(30)
    )
    took_over = opened.log[-1].seq
    first = RegisterUpdate.since(case, "case-RESET", took_over, at(30), rebase=True)
    assert first is not None and first.rebase_after == took_over
    assert {t.key for t in first.tasks} == {t.key for t in case.state.tasks}  # every task
    await apply(sessions, first)
    reset = await dump(sessions, "RESET")

    # As if that run had been the only one.
    await apply(sessions, update(case.state.model_copy(update={"case_ref": "ONLY"})))
    assert comparable(reset) == comparable(await dump(sessions, "ONLY"))
    assert [(e["seq"], e["kind"]) for e in reset["events"]] == [
        (e.seq, e.kind) for e in case.state.log
    ]
    (row,) = reset["case"]
    assert (row["status"], row["outcome"], row["resolved_at"]) == ("open", None, None)
    assert row["last_seq"] == case.state.log[-1].seq
    assert all(t["key"] != "check-in" for t in reset["tasks"])

    # Sent again (a retry), it changes nothing; the run's next write goes on from it.
    await apply(sessions, first)
    assert await dump(sessions, "RESET") == reset
    before = case.state.model_copy(deep=True)
    case.complete_task(
        "benefits-check", outcome=None, responses=None, note=None, by="amy", now=at(40)
    )
    await apply(sessions, RegisterUpdate.since(case, "case-RESET", before.log[-1].seq, at(40)))
    events = (await dump(sessions, "RESET"))["events"]
    assert [e["seq"] for e in events] == [e.seq for e in case.state.log]


async def test_a_reset_run_replaces_an_ended_outside_mark_and_its_log_entry(
    sessions: async_sessionmaker[AsyncSession],
):
    opened, visited, *_ = stages("MARKED")
    await apply(sessions, update(opened))
    async with sessions.begin() as session:
        assert await register.mark_ended_outside(
            session, "MARKED", at=at(3), by="ops", detail="terminated", marked_at=at(4)
        )
    took_over = opened.log[-1].seq
    first = RegisterUpdate.since(Case(visited), "case-MARKED", took_over, at(60), rebase=True)
    assert first is not None
    await apply(sessions, first)
    rows = await dump(sessions, "MARKED")
    assert rows["case"][0]["status"] == "open"
    assert [(e["seq"], e["kind"]) for e in rows["events"]] == [(e.seq, e.kind) for e in visited.log]


def of_run(write: RegisterUpdate, first_run_id: str) -> RegisterUpdate:
    return write.model_copy(update={"first_run_id": first_run_id})


async def test_a_workflow_started_again_under_a_closed_case_s_id_writes_nothing_of_it(
    sessions: async_sessionmaker[AsyncSession],
):
    # The case, closed; then a workflow started under its id by Temporal directly, for
    # another tenant, which opened later and logs from 1 again.
    opened, visited, _, closed = stages("TAKEN")
    await apply(sessions, of_run(update(opened), "run-A"), of_run(update(closed, opened), "run-A"))
    held = await dump(sessions, "TAKEN")
    assert held["case"][0]["first_run_id"] == "run-A"
    other, *_ = stages("TAKEN", tenant_ref="TEN-999")
    other = other.model_copy(update={"opened_at": at(500)})
    for write in (update(other), update(visited)):  # its opening, and a longer log
        async with sessions.begin() as session:
            with pytest.raises(register.CaseRefTaken, match="belongs to another case.*TEN-100"):
                await register.apply_update(session, of_run(write, "run-B"))
    assert await dump(sessions, "TAKEN") == held

    # The case's own chain (a continued run, a retry) still writes; so do tests and
    # workers from before the runs were named.
    await apply(sessions, of_run(update(closed, opened), "run-A"), update(closed))
    assert await dump(sessions, "TAKEN") == held


async def test_a_row_from_before_runs_were_named_is_named_by_its_own_case_only(
    sessions: async_sessionmaker[AsyncSession],
):
    opened, visited, *_ = stages("OLD")
    await apply(sessions, update(opened))  # as a worker before first_run_id wrote it
    later = opened.model_copy(update={"opened_at": at(500), "tenant_ref": "TEN-999"})
    async with sessions.begin() as session:
        with pytest.raises(register.CaseRefTaken, match="from before runs were recorded"):
            await register.apply_update(session, of_run(update(later), "run-B"))
    await apply(sessions, of_run(update(visited, opened), "run-A"))  # opened when it did
    rows = await dump(sessions, "OLD")
    assert rows["case"][0]["first_run_id"] == "run-A"
    assert rows["case"][0]["tenant_ref"] == "TEN-100"
    assert [e["seq"] for e in rows["events"]] == [e.seq for e in visited.log]

    # A reset run may open again, later: its first write is the case's too.
    reset, *_ = stages("RESET-OLD")
    await apply(sessions, update(reset))
    again = RegisterUpdate.since(
        Case(reset.model_copy(deep=True, update={"opened_at": at(9)})),
        "case-RESET-OLD",
        0,
        at(9),
        rebase=True,
        first_run_id="run-R",
    )
    assert again is not None
    await apply(sessions, again)
    assert (await dump(sessions, "RESET-OLD"))["case"][0]["first_run_id"] == "run-R"


def opening(write: RegisterUpdate) -> RegisterUpdate:
    return write.model_copy(update={"opening": True, "first_run_id": "run-A"})


async def test_a_case_s_first_write_takes_only_an_owner_of_the_directory(
    sessions: async_sessionmaker[AsyncSession],
):
    await staff(sessions)
    stranger, *_ = stages("STRANGER", owner="nobody-here")
    async with sessions.begin() as session:
        with pytest.raises(register.OwnerRefused, match="'nobody-here' is not a person"):
            await register.apply_update(session, opening(update(stranger)))
    assert (await dump(sessions, "STRANGER"))["case"] == []

    # Not its first write (a continued run, tests and workers before the check): written.
    await apply(sessions, update(stranger))
    assert (await dump(sessions, "STRANGER"))["case"][0]["owner"] == "nobody-here"


async def test_a_first_write_sent_again_after_it_landed_is_taken_though_the_owner_left(
    sessions: async_sessionmaker[AsyncSession],
):
    """A worker that died after writing sends the same first write again: judged when it
    was first taken, not refused because the owner has left the directory since."""
    await staff(sessions)
    opened, *_ = stages("LEFT", owner="tom-bennett")
    await apply(sessions, opening(update(opened)))
    async with sessions.begin() as session:
        await session.execute(
            sa_update(Person).where(Person.id == "tom-bennett").values(active=False)
        )
    await apply(sessions, opening(update(opened)))
    late, *_ = stages("LATE", owner="tom-bennett")
    async with sessions.begin() as session:
        with pytest.raises(register.OwnerRefused, match="has left the directory"):
            await register.apply_update(session, opening(update(late)))
