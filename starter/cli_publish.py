"""Published definitions on the command line: publish, list versions, show one, diff two.

Plain functions, so that `support-provision definitions` can call them from its own
commands; `register(app)` adds them to a Typer app as ``publish``, ``versions``,
``published`` and ``diff``. Each version has the period of its definition; on a day, the
version in effect is the highest one whose period covers it, and `versions` shows where
each stands (`definitions.periods.Standing`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
import yaml
from rich.table import Table

from activities.database import definitions_store as store
from definitions.loader import Problem, default_definitions_dir
from definitions.periods import Period, Standing, View, standings
from definitions.schema import ProvisionType

from .catalog_check import check_catalog, templates_open_cases_need
from .cli_db import with_session
from .console import (
    AtOption,
    bad_usage,
    console,
    current_user,
    day_option,
    fail,
    print_json,
    view_option,
)


def publish_command(
    definitions: Path | None = None,
    by: str | None = None,
    json_out: bool = False,
    directory_file: Path | None = None,
) -> None:
    """Validate the catalog as `definitions validate` does (schema, owners, groups,
    templates: `catalog_check`), then publish every definition (each version of a type,
    with its period) whose content changed. Any problem publishes nothing."""
    definitions = definitions or default_definitions_dir()
    checked = check_catalog(definitions, directory_file, datetime.now(UTC))
    catalog = checked.catalog
    if checked.problems or catalog is None:
        count = len(checked.problems)
        _fail_all(
            [str(p) for p in checked.problems],
            f"nothing published: {count} problem{'s' if count != 1 else ''} in {definitions} "
            f"(`support-provision definitions validate {definitions}` checks it again)",
        )
    by = by or current_user()
    now = datetime.now(UTC)

    left_out: list[store.VersionInfo] = []

    async def work(session: Any) -> list[store.PublishResult] | list[Problem]:
        gone = await templates_open_cases_need(session, definitions)
        if gone:
            return gone
        ids = {d.id for d in catalog.definitions()}
        withdrawn = await store.withdrawals(session)
        left_out.extend(
            info
            for info in await store.list_latest(session)
            if info.type_id not in ids
            and info.type_id not in withdrawn
            and (info.effective_to is None or info.effective_to >= now.date())
        )
        return await store.publish(session, catalog.definitions(), by, now)

    try:
        outcome = with_session(work, what="publish the definitions")
    except store.PublishConflict as error:
        fail(str(error))
    results = [r for r in outcome if isinstance(r, store.PublishResult)]
    if len(results) != len(outcome):
        count = len(outcome)
        _fail_all(
            [str(p) for p in outcome],
            f"nothing published: {count} template{'s' if count != 1 else ''} that open "
            f"cases need {'are' if count != 1 else 'is'} gone from {definitions}",
        )
    for info in left_out:
        # Publishing adds versions; it never withdraws one: a file taken out of the
        # catalog leaves its type published, and cases still open on it.
        typer.echo(
            f"{info.type_id} has no file in {definitions} but stays published and in "
            f"effect (v{info.version}, {info.period}): new cases still open on it, since "
            "publishing never withdraws a type; `support-provision definitions withdraw "
            f"{info.type_id}` does.",
            err=True,
        )
    if json_out:
        print_json([vars(r) for r in results])
        return
    for r in results:
        state = "published" if r.changed else "unchanged"
        period = Period(r.effective_from, r.effective_to)
        shown = "" if period.is_open else f" ({period})"
        typer.echo(f"{r.type_id}: v{r.version}{shown} {state}")
    changed = sum(r.changed for r in results)
    typer.echo(f"{changed} of {len(results)} provision type definitions published by {by}.")


def versions_command(
    type_id: str | None = None,
    json_out: bool = False,
    at: date | None = None,
    view: View | None = None,
) -> None:
    """The published versions in ``view`` on the day ``at`` (default today, in each
    type's calendar): of one type or of every type. With a type and neither, every version
    of it, each with where it stands today; without a type, the current view."""

    async def work(session: Any) -> list[store.VersionInfo]:
        return await store.versions(session, type_id)

    found = with_session(work, what="read the published definitions", read_only=True)
    if type_id is not None and not found:
        fail(f'"{type_id}" has never been published; run `support-provision definitions publish`')
    if view is None and (at is not None or type_id is None):
        view = View.current
    rows = [
        (info, standing)
        for info, standing in _standings(found, at)
        if view is None or standing.value == view.value
    ]
    if json_out:
        print_json([{**_info_json(info), "standing": standing.value} for info, standing in rows])
        return
    if not found:
        typer.echo("Nothing is published yet; run `support-provision definitions publish`.")
        return
    day = f"on {at}" if at is not None else "today"
    titles = {
        None: f"Versions of {type_id}, as they stand {day}",
        View.current: f"Published versions in effect {day}",
        View.expired: f"Published versions that ended before {day.removeprefix('on ')}",
        View.future: f"Published versions that start after {day.removeprefix('on ')}",
    }
    if not rows:
        typer.echo(f"{titles[view]}: none.")
        return
    table = Table(title=titles[view])
    for column in ("Type", "Version", "In effect", "Standing", "Published", "By", "Content hash"):
        table.add_column(column)
    for info, standing in rows:
        when = f"{info.published_at:%Y-%m-%d %H:%M} UTC"
        table.add_row(
            info.type_id,
            str(info.version),
            str(info.period),
            standing.value,
            when,
            info.published_by,
            info.content_hash[:12],
        )
    console.print(table)


def show_version(
    type_id: str, version: int | None = None, json_out: bool = False, at: date | None = None
) -> None:
    """One published version of a type (by default the one in effect today, or on ``at``),
    as YAML or JSON."""
    number, definition = _fetch(type_id, version, at)
    if json_out:
        print_json({"type_id": type_id, "version": number, "definition": _json(definition)})
        return
    period = Period.of(definition)
    typer.echo(f"# {type_id} v{number}" + ("" if period.is_open else f", in effect {period}"))
    typer.echo(yaml.safe_dump(_json(definition), sort_keys=False, allow_unicode=True), nl=False)


def diff_command(type_id: str, a: int, b: int | None = None, json_out: bool = False) -> None:
    """What changed from version ``a`` to version ``b`` (the latest by default)."""
    _, old = _fetch(type_id, a)
    b, new = _fetch(type_id, b, latest=True)
    lines = store.diff(old, new, a_label=f"{type_id} v{a}", b_label=f"{type_id} v{b}")
    if json_out:
        print_json({"type_id": type_id, "from": a, "to": b, "diff": lines})
    elif lines:
        typer.echo("\n".join(lines))
    else:
        typer.echo(f"{type_id} v{a} and v{b} have the same content.")


def register(app: typer.Typer) -> None:
    """Add ``publish``, ``withdraw``, ``versions``, ``published`` and ``diff`` to ``app``."""
    app.command("publish")(_publish)
    app.command("withdraw")(_withdraw)
    app.command("versions")(_versions)
    app.command("published")(_published)
    app.command("diff")(_diff)


# --- typer wrappers -------------------------------------------------------------------

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
TypeArg = Annotated[str, typer.Argument(metavar="TYPE", help="Id of the provision type.")]


def _withdraw(
    type_id: TypeArg,
    from_day: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="The first day it is out of use, YYYY-MM-DD (default: today, UTC).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", metavar="WHO", help="Who is withdrawing it.")
    ] = None,
) -> None:
    """Take a published type out of use from a day on: no case opens on it then (cases
    that opened before run on). Publishing never withdraws a type; this does."""
    day = day_option(from_day, option="--from") or datetime.now(UTC).date()
    who = by or current_user()
    now = datetime.now(UTC)

    async def work(session: Any) -> None:
        await store.withdraw(session, type_id, day, who, now)

    try:
        with_session(work, what="withdraw the type")
    except LookupError as missing:
        fail(f"{missing}; nothing to withdraw.")
    typer.echo(f"{type_id} withdrawn from {day} by {who}: no case opens on it from that day.")


def _publish(
    definitions: Annotated[
        Path | None,
        typer.Option("--definitions", metavar="DIR", help="Definitions directory."),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", metavar="WHO", help="Who is publishing.")
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--directory", metavar="FILE", help="Directory file for owner checks."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate the definitions and publish a new version of each type that changed."""
    publish_command(definitions, by, as_json, directory)


ViewOption = Annotated[
    str | None,
    typer.Option(
        "--view",
        metavar="VIEW",
        help="current: in effect on the day (the default without a TYPE, or with --at); "
        "expired: ended before it; future: starting after it.",
        show_default=False,
    ),
]


def _versions(
    type_id: Annotated[
        str | None, typer.Argument(metavar="[TYPE]", help="Id of a provision type.")
    ] = None,
    at: AtOption = None,
    view: ViewOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List published versions with their periods: those in effect today (or on --at
    DATE), expired or future (--view); with a TYPE, all of its versions and where each
    stands."""
    day = day_option(at, option="--at")
    versions_command(type_id, as_json, day, view_option(view) if view is not None else None)


def _published(
    type_id: TypeArg,
    version: Annotated[
        int | None, typer.Option("--version", metavar="N", help="Version number.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="DATE",
            help="Show the version in effect on this day, YYYY-MM-DD (default: today).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a published version of a type (by default the one in effect today)."""
    if version is not None and at is not None:
        bad_usage("--version names a version and --at the day of the one in effect: give one.")
    show_version(type_id, version, as_json, day_option(at, option="--at"))


def _diff(
    type_id: TypeArg,
    a: Annotated[int, typer.Argument(metavar="FROM", help="The older version.")],
    b: Annotated[
        int | None, typer.Argument(metavar="[TO]", help="The newer version (default: latest).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show what changed between two published versions of a type."""
    diff_command(type_id, a, b, as_json)


# --- helpers --------------------------------------------------------------------------


def _fetch(
    type_id: str, number: int | None, at: date | None = None, *, latest: bool = False
) -> tuple[int, ProvisionType]:
    """A version by number; else the highest (``latest``) or the one in effect on ``at``."""

    async def work(session: Any) -> tuple[int, ProvisionType] | None:
        if number is None:
            if latest:
                return await store.latest(session, type_id)
            return await store.in_effect(session, type_id, at)
        found = await store.version(session, type_id, number)
        return (number, found) if found else None

    found = with_session(work, what="read the published definitions", read_only=True)
    if found is None:
        if number is not None:
            which = f"version {number} of "
        elif latest:
            which = ""
        else:
            which = f"no version in effect {f'on {at}' if at else 'today'} of "
        fail(f'{which}"{type_id}" is not published; see `support-provision definitions versions`')
    return found


def _standings(
    found: list[store.VersionInfo], at: date | None
) -> list[tuple[store.VersionInfo, Standing]]:
    """Each version with where it stands on ``at`` (today in its type's calendar when not
    given) among the versions of its type."""
    result: list[tuple[store.VersionInfo, Standing]] = []
    for type_id in dict.fromkeys(info.type_id for info in found):
        mine = [info for info in found if info.type_id == type_id]
        day = at or datetime.now(ZoneInfo(mine[-1].time_zone)).date()
        result += zip(mine, standings([info.period for info in mine], day), strict=True)
    return result


def _json(definition: ProvisionType) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_defaults=True)


def _info_json(info: store.VersionInfo) -> dict[str, Any]:
    return {
        "type_id": info.type_id,
        "version": info.version,
        "content_hash": info.content_hash,
        "published_at": info.published_at.isoformat(),
        "published_by": info.published_by,
        "effective_from": info.effective_from.isoformat() if info.effective_from else None,
        "effective_to": info.effective_to.isoformat() if info.effective_to else None,
    }


def _fail_all(problems: list[str], summary: str) -> NoReturn:
    for problem in problems:
        typer.echo(problem, err=True)
    fail(summary)
