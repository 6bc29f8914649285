"""`support-provision directory`: load the people, teams, roles and groups into the database.

``directory.yaml`` is the source of truth; `sync` makes the database match it (people who
left are deactivated, never deleted) and `list` shows what the database holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from activities.database.directory import (
    DirectoryInvalid,
    SyncReport,
    default_directory_file,
    list_directory,
    load_directory,
    sync_directory,
)
from definitions.periods import Period, calendar_date

from .cli_db import with_session
from .console import console, fail, print_json

app = typer.Typer(
    help="The directory of people, teams, roles, stakeholder groups, services and agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def sync(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            metavar="FILE",
            help="Directory file (default: $SUPPORT_PROVISION_DIRECTORY or "
            "definitions/directory.yaml).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Make the database match the directory file: add, update and deactivate."""
    path = file or default_directory_file()
    try:
        directory = load_directory(path)
    except DirectoryInvalid as error:
        for problem in error.problems[:-1]:
            typer.echo(problem, err=True)
        fail(error.problems[-1])

    async def work(session: Any) -> SyncReport:
        return await sync_directory(session, directory)

    report = with_session(work, what="sync the directory")
    if as_json:
        print_json(
            {"added": report.added, "updated": report.updated, "deactivated": report.deactivated}
        )
        return
    typer.echo(
        f"Directory synced from {path}: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.deactivated)} deactivated."
    )
    for label, names in (
        ("added", report.added),
        ("updated", report.updated),
        ("deactivated", report.deactivated),
    ):
        if names:
            typer.echo(f"  {label}: {', '.join(names)}")


@app.command("list")
def list_(
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Include people and groups no longer in the file.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the people, teams, roles and stakeholder groups in the database, with the
    period of each group membership that has one."""

    async def work(session: Any) -> dict[str, list[dict[str, Any]]]:
        return await list_directory(session, include_inactive=include_inactive)

    listing = with_session(work, what="read the directory", read_only=True)
    if as_json:
        print_json(listing)
        return
    if not any(listing.values()):
        typer.echo("The directory is empty; run `support-provision directory sync`.")
        return
    people = Table(title="People")
    for column in ("Id", "Name", "Email", "Team", "Manager", "Roles", "Login"):
        people.add_column(column)
    for p in listing["people"]:
        where = (p["team_id"] or "", p["manager_id"] or "")
        login = p["login"] or ""
        people.add_row(_id(p), p["name"], p["email"], *where, ", ".join(p["roles"]), login)
    teams = Table(title="Teams and roles")
    for column in ("Id", "Kind", "Name", "Manager / team", "Email"):
        teams.add_column(column)
    for t in listing["teams"]:
        teams.add_row(_id(t), "team", t["name"], t["manager_id"] or "", t["email"] or "")
    for r in listing["roles"]:
        teams.add_row(_id(r), "role", r["name"], r["team_id"] or "", "")
    groups = Table(title="Stakeholder groups")
    for column in ("Id", "Name", "Members"):
        groups.add_column(column)
    for g in listing["stakeholder_groups"]:
        groups.add_row(_id(g), g["name"], ", ".join(_member(m) for m in g["members"]))
    others = Table(title="Services and partner agencies")
    for column in ("Id", "Kind", "Name", "May"):
        others.add_column(column)
    for sv in listing["services"]:
        may = [*(["open-case"] if sv["open_cases"] else []), *sv["may"]]
        tasks = f"complete {', '.join(sv['tasks']) or 'no task'}"
        others.add_row(_id(sv), "service", sv["name"], "; ".join([tasks, *may]))
    for a in listing["agencies"]:
        others.add_row(_id(a), "agency", a["name"], "complete its own tasks")
    for table in (people, teams, groups, others):
        console.print(table)


def _member(member: dict[str, Any]) -> str:
    """A member, with the period of the membership when it has one."""
    who = member.get("person") or member["address"]
    period = Period(calendar_date(member.get("from")), calendar_date(member.get("until")))
    return who if period.is_open else f"{who} ({period})"


def _id(row: dict[str, Any]) -> str:
    return row["id"] if row["active"] else f"{row['id']} (inactive)"
