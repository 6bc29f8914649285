"""`support-provision tasks`: a housing officer's worklist, read from the case register.

What is due, what is late and what may be started next, across every open case, without
Temporal: the command reads the register through the client (`CaseRegister.tasks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from activities.database.worklist import LIMIT, WorklistTask
from casemodel.worklist import read_period
from definitions.durations import DurationError

from .cli_db import existing_url
from .client import CaseRefused, CaseRegister
from .console import LimitOption, bad_value, console, cut_by_limit, fail, print_json, run


def tasks(
    owner: Annotated[
        str | None,
        typer.Option("--owner", metavar="OWNER", help="Only tasks this person, team or role owns."),
    ] = None,
    team: Annotated[
        str | None,
        typer.Option(
            "--team",
            metavar="TEAM",
            help="Only tasks owned by the team, a role of the team or a person of the team.",
        ),
    ] = None,
    late: Annotated[bool, typer.Option("--late", help="Only tasks past their target.")] = False,
    due_within: Annotated[
        str | None,
        typer.Option(
            "--due-within",
            metavar="PERIOD",
            help="Only tasks due within PERIOD (late ones too), in each case's calendar: "
            '"5 days", "2 working days", or 5d, 2wd, 36h.',
        ),
    ] = None,
    limit: LimitOption = LIMIT,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """List open and upcoming tasks of open cases, by due point, from the case register."""
    period = None
    if due_within is not None:
        try:
            period = read_period(due_within)
        except DurationError as error:
            bad_value("--due-within", str(error))
    url = existing_url()

    async def read() -> list[WorklistTask]:
        async with CaseRegister.connect(url) as register:
            return await register.tasks(
                owner=owner, team=team, late=late, due_within=period, limit=limit + 1
            )

    try:
        found = run(read())
    except CaseRefused as refusal:
        fail(refusal.message)
    matched, found = len(found), found[:limit]
    if json_out:
        print_json([item.model_dump(mode="json") for item in found])
        return
    if not found:
        typer.echo("No open or upcoming tasks match.")
        return
    table = Table()
    # What a row is, and when, stays on one line; names and what it waits for wrap.
    for column in ("Due (UTC)", "Case", "Tenant", "Task"):
        table.add_column(column, no_wrap=True)
    table.add_column("Name")
    for column in ("Owner", "Status", "SLA"):
        table.add_column(column, no_wrap=True)
    table.add_column("Waits for")
    for item in found:
        table.add_row(*_row(item))
    console.print(table)
    cut_by_limit(limit, matched, order="first")


def _row(item: WorklistTask) -> list[str]:
    if item.due_at is not None:
        due = _short(item.due_at)
    elif item.opens_at is not None:
        due = f"opens {_short(item.opens_at)}"
    else:
        due = ""
    state = item.sla_state.value if item.sla_state else ""
    return [
        due,
        item.case_ref,
        item.tenant_ref,
        item.key,
        item.name,
        item.owner,
        item.status + (" (held)" if item.held else ""),
        state.replace("_", " "),
        item.waits_for or "",
    ]


def _short(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M")


def register(app: typer.Typer) -> None:
    """Add ``tasks`` to ``app``."""
    app.command("tasks")(tasks)
