"""`case show` of a case Temporal no longer holds: what the case register recorded.

Temporal keeps a closed case's history for its retention period (400 days by default,
README *Keeping cases*) and then deletes it; an operator may delete one sooner. The case
register keeps the case, its tasks and its whole log for good, so `case show` answers
from there: the header, the tasks as last written, and the log, said to come from the
register. What only the running case knows (its clocks, escalations, rejected requests)
is not shown: the log records each of them as it happened.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from activities.database import register

from .cli_db import with_session
from .console import console, print_json

FROM_REGISTER = (
    "From the case register: Temporal no longer holds this case's history (its retention "
    "ran out, or it was deleted), so clocks and escalations are in the log only."
)
WITHOUT_WORKER = (
    "this is what the case register recorded, as of its last write (start a worker for the "
    "case itself: its clocks and escalations are in the log only)."
)


def recorded_case(case_ref: str) -> register.CaseRow | None:
    """The register's row of `case_ref`, or None."""

    async def read(session: AsyncSession) -> register.CaseRow | None:
        return await register.get_case(session, case_ref)

    found: register.CaseRow | None = with_session(
        read, what="read the case register", read_only=True
    )
    return found


def show_recorded(
    record: register.CaseRow,
    *,
    after_seq: int,
    limit: int | None,
    json_out: bool,
    why: str = FROM_REGISTER,
) -> None:
    """Print what the register holds of the case `record`, as `case show` does, saying
    `why` it is the register's (on stderr with --json, which keeps to JSON)."""

    async def read(session: AsyncSession) -> tuple[list[Any], list[Any]]:
        tasks = await register.case_tasks(session, record.case_ref)
        events = await register.case_events(
            session, record.case_ref, after_seq=after_seq, limit=limit
        )
        return tasks, events

    tasks, events = with_session(read, what="read the case register", read_only=True)
    if json_out:
        typer.echo(why, err=True)
        recorded = record.model_dump(mode="json", exclude={"first_run_id", "type_id"})
        print_json(
            {
                # The keys `case show --json` has where the register holds them too (type,
                # status, owner, ...); what only the running case knows is not there.
                "case_ref": record.case_ref,
                "type": record.type_id,
                **recorded,
                "source": "register",
                "tasks": [t.model_dump(mode="json", exclude={"case_ref"}) for t in tasks],
                "log": [e.model_dump(mode="json") for e in events],
            }
        )
        return
    version = f" v{record.type_version}" if record.type_version else ""
    console.print(
        f"[bold]{record.case_ref}[/] · {record.type_id}{version} · tenant {record.tenant_ref}"
        f" · owner {record.owner} · [bold]{record.status}[/]"
        + (f" · outcome {record.outcome}" if record.outcome else "")
        + f" · priority {record.priority}",
        highlight=False,
    )
    console.print(why, style="yellow", highlight=False)
    if record.opened_from:
        console.print(f"Opened from {record.opened_from}", highlight=False)
    if record.follow_on_ref:
        console.print(f"Opened {record.follow_on_ref}", highlight=False)
    table = Table("Task", "Name", "Status", "Owner", "Outcome")
    for task in tasks:
        table.add_row(task.key, task.name, task.status, task.owner, task.outcome or "")
    console.print(table)
    console.print(log_table(events))


class LoggedEntry(Protocol):
    """A case log entry, as the case holds it (`LogEntry`) or the register (`EventRow`)."""

    seq: int
    at: datetime
    kind: str
    task_key: str | None
    by: str
    detail: str


def log_table(entries: Iterable[LoggedEntry]) -> Table:
    """The case log as `case show` prints it, from the case or from the register."""
    table = Table("#", "When (UTC)", "What", "Task", "By", "Detail", title="Case log")
    for entry in entries:
        table.add_row(
            str(entry.seq),
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind,
            entry.task_key or "",
            entry.by,
            entry.detail,
        )
    return table
