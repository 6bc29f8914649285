"""``support-provision calendar``: look at calendars and work out due instants by hand.

Lets an administrator check what an SLA in a calendar means ("5 working days from the
23rd of December is when?") before putting it into a definition.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

import definitions
from casemodel.calendars import UTC, Calendar, calendar_for
from casemodel.worklist import read_period
from definitions.calendars import (
    WEEKDAYS,
    CalendarCatalogFile,
    CalendarFileError,
    WorkingTimeCalendarDefinition,
    load_calendar_definitions,
)
from definitions.durations import DurationError

from .console import bad_value

DEFINITIONS_ENV = "SUPPORT_PROVISION_DEFINITIONS"
CALENDARS_FILE = "calendars.yaml"

app = typer.Typer(
    help="Calendars that SLAs are counted in: list them, work out due instants.",
    no_args_is_help=True,
)


def default_definitions_dir() -> Path:
    """$SUPPORT_PROVISION_DEFINITIONS, else the catalog shipped with the package."""
    configured = os.environ.get(DEFINITIONS_ENV)
    return Path(configured) if configured else Path(definitions.__file__).parent / "catalog"


DefinitionsOption = Annotated[
    Path | None,
    typer.Option(
        "--definitions",
        metavar="DIR",
        help=f"Definitions directory holding {CALENDARS_FILE} "
        f"(default: ${DEFINITIONS_ENV} or the shipped catalog).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _load(directory: Path | None) -> CalendarCatalogFile:
    path = (directory or default_definitions_dir()) / CALENDARS_FILE
    try:
        return load_calendar_definitions(path, display_name=str(path))
    except CalendarFileError as error:
        _fail(str(error))


def _parse_start(text: str, calendar: Calendar) -> datetime:
    """An ISO 8601 instant; without an offset it is wall-clock time in the calendar's zone."""
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        bad_value("FROM", f'"{text}" is not a date and time: write ISO 8601, e.g. 2026-12-23T10:00')
    if start.tzinfo is not None:
        return start
    local = start.replace(tzinfo=calendar.zone)
    if local.astimezone(UTC).astimezone(calendar.zone).replace(tzinfo=None) != start:
        _fail(f'"{text}" does not exist in {calendar.zone}: the clocks go forward then')
    return local


@app.command()
def due(
    calendar_id: Annotated[str, typer.Argument(metavar="CALENDAR", help="Calendar id.")],
    start_text: Annotated[
        str,
        typer.Argument(
            metavar="FROM",
            help="Start, ISO 8601 (e.g. 2026-12-23T10:00); without an offset it is the "
            "calendar's local time (UTC for a continuous calendar).",
        ),
    ],
    duration_text: Annotated[
        str,
        typer.Argument(
            metavar="DURATION",
            help='e.g. "5 working days", "4 working hours", "2 weeks", "3 months", or in '
            "short 5wd, 4wh, 2w, 36h (as `tasks --due-within` takes).",
        ),
    ],
    definitions_dir: DefinitionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the instant DURATION after FROM in CALENDAR, with its UTC offset.

    Weeks and months keep the local time of day (a month after 31 January is the last day
    of February); on a working calendar a point that falls when the office is closed moves
    to the next opening.
    """
    catalog = _load(definitions_dir)
    calendars = {definition.id: calendar_for(definition) for definition in catalog.calendars}
    calendar = calendars.get(calendar_id)
    if calendar is None:
        _fail(f'unknown calendar "{calendar_id}": known calendars are {", ".join(calendars)}')
    start = _parse_start(start_text, calendar)
    try:
        duration = read_period(duration_text)
    except DurationError as error:
        bad_value("DURATION", str(error))
    try:
        due_at = calendar.to_local(calendar.add(start, duration))
    except (DurationError, ValueError) as error:
        _fail(str(error))
    if as_json:
        record = {
            "calendar": calendar.name,
            "from": calendar.to_local(start).isoformat(),
            "duration": str(duration),
            "due": due_at.isoformat(),
        }
        typer.echo(json.dumps(record))
    else:
        typer.echo(due_at.isoformat())


@app.command("list")
def list_calendars(definitions_dir: DefinitionsOption = None, as_json: JsonOption = False) -> None:
    """Show the calendars in the definitions."""
    catalog = _load(definitions_dir)
    if as_json:
        listed = catalog.model_dump(
            mode="json", exclude={"calendars": {"__all__": {"bank_holiday_dates"}}}
        )
        typer.echo(json.dumps(listed["calendars"], indent=2))
        return
    table = Table(title="Calendars")
    table.add_column("Id", no_wrap=True)
    for column in ("Name", "Kind", "Hours", "Days", "Bank holidays", "Closures"):
        table.add_column(column)
    for definition in catalog.calendars:
        if isinstance(definition, WorkingTimeCalendarDefinition):
            hours = f"{definition.opens:%H:%M}-{definition.closes:%H:%M} {definition.timezone}"
            days = _days(definition.working_days)
            nation = definition.bank_holidays or "none"
            closures = "\n".join(day.isoformat() for day in sorted(definition.extra_closures))
        else:
            hours, days, nation, closures = "always", "every day", "-", ""
        table.add_row(
            definition.id, definition.name, definition.kind, hours, days, nation, closures
        )
    Console().print(table)


def _days(names: list[str]) -> str:
    numbers = sorted(WEEKDAYS.index(name) for name in names)
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 2:
        return f"{WEEKDAYS[numbers[0]][:3]}-{WEEKDAYS[numbers[-1]][:3]}".title()
    return ", ".join(WEEKDAYS[number][:3].title() for number in numbers)
