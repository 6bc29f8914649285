"""`support-provision definitions`: validate, list and show the provision type definitions.

Configuration administrators run `validate` before publishing a change, so it reports every
problem with file and field and never shows a traceback. `list --json` and `show --json`
are read by other systems: their shapes are a contract, keep them stable (add keys only).

Definitions have periods, so `list` and `show` look from a day (`--at`, default today in
each type's calendar): `list` shows one of the three views our users' product has, the
definitions in effect that day (current), those that ended before it (expired) and those
that start after it (future); `show` shows a type as a case opening that day gets it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from definitions.conditions import describe
from definitions.effective import in_effect, opening_day
from definitions.loader import (
    Catalog,
    DefinitionsInvalid,
    NotInEffectOn,
    UnknownProvisionType,
    default_definitions_dir,
    load_catalog,
)
from definitions.periods import Period, View
from definitions.schema import (
    Dependency,
    InformationField,
    Outcome,
    ProvisionType,
    Recurrence,
    RecurrenceFrom,
    SlaDefinition,
    TaskDefinition,
    TaskPath,
)

from .catalog_check import check_catalog
from .console import AtOption, bad_usage, day_option, view_option

app = typer.Typer(
    help="Check and inspect the provision type definitions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
DefinitionsOption = Annotated[
    Path | None,
    typer.Option(
        "--definitions",
        help="Definitions directory (default: $SUPPORT_PROVISION_DEFINITIONS or the shipped "
        "catalog).",
        show_default=False,
    ),
]


@app.command()
def validate(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Definitions directory (default: $SUPPORT_PROVISION_DEFINITIONS or the "
            "shipped catalog).",
            show_default=False,
        ),
    ] = None,
    people: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            help="Directory of people, teams and groups that owners must name (default: "
            "$SUPPORT_PROVISION_DIRECTORY or directory.yaml beside the definitions).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Report every problem in the definitions, with file and field; exit 1 if any.

    Warnings (a chain of tasks that overruns its case target, occurrences that would pile
    up) are printed too, as "warning: FILE: FIELD: ...", and counted in the summary;
    on their own they exit 0.
    """
    directory = directory or default_definitions_dir()
    checked = check_catalog(directory, people, datetime.now(UTC))
    catalog, problems, warnings = checked.catalog, checked.problems, checked.warnings
    if as_json:
        payload = {
            "valid": not problems,
            "problems": [asdict(p) for p in problems],
            "warnings": [asdict(w) for w in warnings],
        }
        typer.echo(json.dumps(payload, indent=2))
    elif problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        for warning in warnings:
            typer.echo(f"{WARNING_PREFIX}{warning}", err=True)
        counted = _plural(len(problems), "problem")
        if warnings:
            counted += f" and {_plural(len(warnings), 'warning')}"
        typer.echo(f"{counted} in {directory}", err=True)
    elif catalog is not None:
        for warning in warnings:
            typer.echo(f"{WARNING_PREFIX}{warning}", err=True)
        counted = f", {_plural(len(warnings), 'warning')}" if warnings else ""
        typer.echo(f"{_summary(catalog)}: all valid{counted}")
    if problems:
        raise typer.Exit(1)


WARNING_PREFIX = "warning: "


@app.command("list")
def list_types(
    definitions: DefinitionsOption = None,
    at: AtOption = None,
    view: Annotated[
        str | None,
        typer.Option(
            "--view",
            metavar="VIEW",
            help="current: in effect on the day (the default); expired: ended before it; "
            "future: starting after it.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the provision types in effect today (or on --at DATE), or the definitions that
    expired or are still to come (--view), with category, audience, tasks and period."""
    day, chosen = day_option(at, option="--at"), view_option(view)
    catalog = _load(definitions)
    shown = catalog.view(chosen, day)
    rows: list[dict[str, Any]] = [
        {
            "id": t.id,
            "name": t.name,
            "category": t.category.value,
            "audience": t.audience.value,
            "task_count": len(in_effect(t, _day(t, day)).tasks),
            "file": catalog.file_of(t),
            "effective_from": _iso(t.effective_from),
            "effective_to": _iso(t.effective_to),
        }
        for t in shown
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    when = f"on {day}" if day is not None else "today"
    title = {
        View.current: f"Provision types in effect {when} in {catalog.directory}",
        View.expired: f"Provision type definitions that ended before {when.removeprefix('on ')}",
        View.future: f"Provision type definitions that start after {when.removeprefix('on ')}",
    }[chosen]
    if not rows:
        typer.echo(f"{title}: none.")
        typer.echo(_summary(catalog))
        return
    table = Table(title=title)
    table.add_column("Id", no_wrap=True)
    table.add_column("Name")
    table.add_column("Category")
    table.add_column("Audience")
    table.add_column("Tasks", justify="right")
    table.add_column("In effect")
    for row, t in zip(rows, shown, strict=True):
        table.add_row(
            row["id"],
            row["name"],
            row["category"],
            row["audience"],
            str(row["task_count"]),
            str(Period.of(t)),
        )
    _console().print(table)
    typer.echo(_summary(catalog))


@app.command()
def show(
    type_id: Annotated[str, typer.Argument(metavar="TYPE", help="Id of the provision type.")],
    definitions: DefinitionsOption = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATE",
            help="Show the type as a case opening on this day gets it, YYYY-MM-DD (default: "
            "today, in the type's calendar).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", help="Show this published version instead of the files."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one provision type as a case opening today (or on --at DATE) gets it: its
    tasks, dependencies, outcomes, fields and SLAs."""
    if version is not None and at is not None:
        bad_usage("--version shows a published version and --at the files as of a day: give one.")
    day = day_option(at, option="--at")
    if version is not None:
        from .cli_publish import show_version

        show_version(type_id, version, as_json)
        return
    catalog = _load(definitions)
    try:
        definition = catalog.type(type_id, day)
    except NotInEffectOn as error:
        _fail(f"{error}; show one of them with --at DATE")
    except UnknownProvisionType as error:
        _fail(str(error))
    opening = _day(definition, day)
    provision_type = in_effect(definition, opening)
    if as_json:
        typer.echo(json.dumps(provision_type.model_dump(mode="json"), indent=2))
        return
    t = provision_type
    tree = Tree(Text(f"{t.name} ({t.id})", style="bold"))
    facts = [
        f"{t.category.value}, {t.audience.value}",
        f"file: {catalog.file_of(definition)}",
        f"in effect: {Period.of(t)}",
        f"default owner: {t.default_owner or '(set by the starter)'}",
        f"owner as a follow-on case: {t.follow_on_owner or '(the owner of the case it came from)'}",
        f"calendar: {t.calendar}",
        f"case SLA: {_sla(t.sla)}",
        f"cases may be held: {'yes' if t.may_be_held else 'no'}",
    ]
    if t.description:
        facts.insert(1, t.description)
    if t.services:
        facts.append(f"services: {', '.join(t.services)}")
    if t.partner_agencies:
        facts.append(f"partner agencies: {', '.join(t.partner_agencies)}")
    left_out = [task.id for task in definition.tasks if t.task(task.id) is None]
    if left_out:
        facts.append(f"tasks not in effect on {opening}: {', '.join(left_out)}")
    for fact in facts:
        tree.add(Text(fact))
    tasks = tree.add(Text(f"tasks ({len(t.tasks)})", style="bold"))
    for task in t.tasks:
        _add_task(tasks, task)
    outcomes = tree.add(Text("case outcomes", style="bold"))
    for outcome in t.outcomes:
        outcomes.add(Text(_outcome(outcome)))
    if not t.outcomes:
        outcomes.add(Text("(none: the case closes without an outcome)"))
    _console().print(tree)


def _day(provision_type: ProvisionType, day: date | None) -> date:
    """``day``, or today in the type's calendar."""
    return day if day is not None else opening_day(provision_type, datetime.now(UTC))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _add_task(parent: Tree, task: TaskDefinition) -> None:
    node = parent.add(Text(f"{task.id}: {task.name}", style="bold"))
    flags = [
        "mandatory" if task.mandatory else "optional",
        "automatic" if task.automatic else "manual only",
        "repeatable" if task.repeatable else "once per plan",
    ]
    node.add(Text(f"owner: {task.owner or '(case owner)'}; {', '.join(flags)}"))
    if not Period.of(task).is_open:
        node.add(Text(f"in effect: {Period.of(task)}"))
    node.add(Text(f"SLA: {_sla(task.sla)}"))
    if task.recurrence is not None:
        node.add(Text(f"recurs: {_recurrence(task.recurrence)}"))
    if task.depends_on:
        node.add(Text(f"depends on: {', '.join(_dependency(d) for d in task.depends_on)}"))
    if task.outcomes:
        outcomes = node.add(Text("outcomes"))
        for outcome in task.outcomes:
            outcomes.add(Text(_outcome(outcome)))
    if task.fields:
        fields = node.add(Text("fields"))
        for info in task.fields:
            fields.add(Text(_field(info)))
    if task.paths:
        paths = node.add(Text("paths"))
        for path in task.paths:
            paths.add(Text(_path(path)))


def _recurrence(recurrence: Recurrence) -> str:
    """`every 1 week, 12 times, counted from the first occurrence`."""
    ends = []
    if recurrence.times is not None:
        ends.append(f"{recurrence.times} times")
    if recurrence.for_ is not None:
        ends.append(f"for {recurrence.for_}")
    if recurrence.until_outcome is not None:
        ends.append(f"until an occurrence is completed {recurrence.until_outcome}")
    cadence = (
        "counted from the first occurrence"
        if recurrence.from_ is RecurrenceFrom.schedule
        else "counted from each completion"
    )
    return ", ".join([f"every {recurrence.every}", *ends, cadence])


def _sla(sla: SlaDefinition | None) -> str:
    if sla is None:
        return "none"
    text = sla.target
    if sla.warning:
        text += f", warning {sla.warning} before"
    if sla.allows_revision:
        text += ", may be revised"
    return text


def _dependency(dep: Dependency) -> str:
    return f"{dep.task} (then wait {dep.lag})" if dep.lag else dep.task


def _outcome(outcome: Outcome) -> str:
    text = f"{outcome.id}: {outcome.label}"
    if outcome.adds_tasks:
        text += f" -> adds {', '.join(outcome.adds_tasks)}"
    if outcome.follow_on_type:
        text += f" -> opens {outcome.follow_on_type}"
    return text


def _field(info: InformationField) -> str:
    text = f"{info.id}: {info.label} [{info.response_type.value}"
    text += ", mandatory]" if info.mandatory else "]"
    if info.options:
        text += f" options: {', '.join(info.options)}"
    if info.min is not None or info.max is not None:
        low = "" if info.min is None else str(info.min)
        high = "" if info.max is None else str(info.max)
        text += f" from {low or '…'} to {high or '…'}"
    return text


def _path(path: TaskPath) -> str:
    """``refer: outcome x, when arrears above 500 -> adds referral -> sends t``."""
    when = [f"outcome {path.outcome}"] if path.outcome else []
    when += [f"when {describe(path.when)}"] if path.when else []
    text = f"{path.id}: {', '.join(when) or 'always'}"
    if path.adds_tasks:
        text += f" -> adds {', '.join(path.adds_tasks)}"
    if path.sends:
        text += f" -> sends {path.sends.template}"
    if path.completes_case:
        text += f" -> completes the case: {path.completes_case}"
    return text


def _summary(catalog: Catalog) -> str:
    definitions = catalog.definitions()
    tasks = sum(len(t.tasks) for t in definitions)
    versions = ""
    if len(definitions) != len(catalog.versions):
        versions = f" ({_plural(len(definitions), 'definition')})"
    return (
        f"{_plural(len(catalog.versions), 'provision type')}{versions}, "
        f"{_plural(tasks, 'task')}, {_plural(len(catalog.calendars), 'calendar')}"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _load(definitions: Path | None) -> Catalog:
    """The catalog, or exit 1 with one line saying what is wrong and what to run."""
    directory = definitions or default_definitions_dir()
    try:
        return load_catalog(directory)
    except DefinitionsInvalid as error:
        first = f"; the first is {error.problems[0]}" if error.problems else ""
        _fail(
            f"the definitions in {directory} have {_plural(len(error.problems), 'problem')}"
            f"{first}; run `support-provision definitions validate {directory}` to see them all"
        )
    except Exception as error:  # no traceback for people
        _fail(f"could not load the definitions in {directory}: {error}")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _console() -> Console:
    """A console for people; piped output gets full-width lines rather than 80 columns."""
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 140))
    return console
