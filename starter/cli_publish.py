"""Published definitions on the command line: publish, list versions, show one, diff two.

Plain functions, so that `support-provision definitions` can call them from its own
commands; `register(app)` adds them to a Typer app as ``publish``, ``versions``,
``published`` and ``diff``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.table import Table

from activities.database import definitions_store as store
from activities.database.directory import (
    DirectoryInvalid,
    default_directory_file,
    load_directory,
    owner_problems,
)
from definitions.loader import DefinitionsInvalid, default_definitions_dir, load_catalog
from definitions.schema import ProvisionType

from .cli_db import with_session
from .console import console, current_user, fail, print_json


def publish_command(
    definitions: Path | None = None,
    by: str | None = None,
    json_out: bool = False,
    directory_file: Path | None = None,
) -> None:
    """Validate the catalog and its owners, then publish every type whose content changed."""
    definitions = definitions or default_definitions_dir()
    try:
        catalog = load_catalog(definitions)
    except DefinitionsInvalid as error:
        _fail_all(
            [str(p) for p in error.problems],
            f"nothing published: run `support-provision definitions validate {definitions}`",
        )
    directory_file = directory_file or default_directory_file()
    try:
        directory = load_directory(directory_file)
    except DirectoryInvalid as error:
        _fail_all(error.problems, "nothing published: the directory file has problems")
    problems = owner_problems(catalog.types.values(), directory)
    if problems:
        _fail_all(
            [
                f"{catalog.files.get(p.type_id, p.type_id)}: {p.location}: {p.message}"
                for p in problems
            ],
            f"nothing published: owners must be in {directory_file}",
        )
    by = by or current_user()
    now = datetime.now(UTC)

    async def work(session: Any) -> list[store.PublishResult]:
        return await store.publish(session, catalog.types.values(), by, now)

    try:
        results = with_session(work, what="publish the definitions")
    except store.PublishConflict as error:
        fail(str(error))
    if json_out:
        print_json([vars(r) for r in results])
        return
    for r in results:
        state = "published" if r.changed else "unchanged"
        typer.echo(f"{r.type_id}: v{r.version} {state}")
    changed = sum(r.changed for r in results)
    typer.echo(f"{changed} of {len(results)} provision types published by {by}.")


def versions_command(type_id: str | None = None, json_out: bool = False) -> None:
    """Every version of ``type_id``; without one, the latest version of every type."""

    async def work(session: Any) -> list[store.VersionInfo]:
        if type_id is None:
            return await store.list_latest(session)
        return await store.versions(session, type_id)

    rows = with_session(work, what="read the published definitions")
    if type_id is not None and not rows:
        fail(f'"{type_id}" has never been published; run `support-provision definitions publish`')
    if json_out:
        print_json([_info_json(r) for r in rows])
        return
    if not rows:
        typer.echo("Nothing is published yet; run `support-provision definitions publish`.")
        return
    table = Table(title=f"Versions of {type_id}" if type_id else "Latest published versions")
    for column in ("Type", "Version", "Published", "By", "Content hash"):
        table.add_column(column)
    for r in rows:
        when = f"{r.published_at:%Y-%m-%d %H:%M} UTC"
        table.add_row(r.type_id, str(r.version), when, r.published_by, r.content_hash[:12])
    console.print(table)


def show_version(type_id: str, version: int | None = None, json_out: bool = False) -> None:
    """One published version of a type (the latest by default), as YAML or JSON."""
    number, definition = _fetch(type_id, version)
    if json_out:
        print_json({"type_id": type_id, "version": number, "definition": _json(definition)})
        return
    typer.echo(f"# {type_id} v{number}")
    typer.echo(yaml.safe_dump(_json(definition), sort_keys=False, allow_unicode=True), nl=False)


def diff_command(type_id: str, a: int, b: int | None = None, json_out: bool = False) -> None:
    """What changed from version ``a`` to version ``b`` (the latest by default)."""
    _, old = _fetch(type_id, a)
    b, new = _fetch(type_id, b)
    lines = store.diff(old, new, a_label=f"{type_id} v{a}", b_label=f"{type_id} v{b}")
    if json_out:
        print_json({"type_id": type_id, "from": a, "to": b, "diff": lines})
    elif lines:
        typer.echo("\n".join(lines))
    else:
        typer.echo(f"{type_id} v{a} and v{b} have the same content.")


def register(app: typer.Typer) -> None:
    """Add ``publish``, ``versions``, ``published`` and ``diff`` to ``app``."""
    app.command("publish")(_publish)
    app.command("versions")(_versions)
    app.command("published")(_published)
    app.command("diff")(_diff)


# --- typer wrappers -------------------------------------------------------------------

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
TypeArg = Annotated[str, typer.Argument(metavar="TYPE", help="Id of the provision type.")]


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


def _versions(
    type_id: Annotated[
        str | None, typer.Argument(metavar="[TYPE]", help="Id of a provision type.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List the versions of a type, or the latest version of every type."""
    versions_command(type_id, as_json)


def _published(
    type_id: TypeArg,
    version: Annotated[
        int | None, typer.Option("--version", metavar="N", help="Version number.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a published version of a type (the latest by default)."""
    show_version(type_id, version, as_json)


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


def _fetch(type_id: str, number: int | None) -> tuple[int, ProvisionType]:
    async def work(session: Any) -> tuple[int, ProvisionType] | None:
        if number is None:
            return await store.latest(session, type_id)
        found = await store.version(session, type_id, number)
        return (number, found) if found else None

    found = with_session(work, what="read the published definitions")
    if found is None:
        which = f"version {number} of " if number is not None else ""
        fail(f'{which}"{type_id}" is not published; see `support-provision definitions versions`')
    return found


def _json(definition: ProvisionType) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_defaults=True)


def _info_json(info: store.VersionInfo) -> dict[str, Any]:
    return {**vars(info), "published_at": info.published_at.isoformat()}


def _fail_all(problems: list[str], summary: str) -> NoReturn:
    for problem in problems:
        typer.echo(problem, err=True)
    fail(summary)
