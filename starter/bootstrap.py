"""Bring the application database to the state the embedded stack needs: schema current,
directory synced from its file, and the catalog published."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from activities.database import definitions_store, migrate
from activities.database.directory import load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from definitions.periods import Period

from .catalog_check import check_catalog, templates_open_cases_need


class BootstrapError(RuntimeError):
    pass


class DefinitionsRefused(BootstrapError):
    """The definitions have problems (`catalog_check`): nothing was published."""


@dataclass
class BootstrapReport:
    upgraded: bool
    revision: str | None
    published: list[str] = field(default_factory=list)
    directory_changes: int = 0


async def bootstrap(
    url: str, *, definitions: Path, directory_file: Path, by: str
) -> BootstrapReport:
    result = await migrate.upgrade(url)
    # Checked as `definitions validate` checks: a template or group that does not exist
    # would otherwise be published, and its escalations would reach no one.
    checked = check_catalog(definitions, directory_file, datetime.now(UTC))
    catalog = checked.catalog
    if checked.problems or catalog is None:
        problems = checked.problems
        raise DefinitionsRefused(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the definitions, "
            f"e.g. {problems[0] if problems else 'none read'}; nothing published: run "
            f"`support-provision definitions validate {definitions}`."
        )
    directory = load_directory(directory_file)
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            gone = await templates_open_cases_need(session, definitions)
            if gone:
                raise DefinitionsRefused(
                    f"{gone[0]}; nothing published: restore the template, or publish once "
                    "those cases have closed."
                )
            synced = await sync_directory(session, directory)
            published = await definitions_store.publish(
                session, catalog.definitions(), by=by, now=datetime.now(UTC)
            )
    finally:
        await engine.dispose()
    return BootstrapReport(
        upgraded=result.changed,
        revision=result.after,
        published=[
            f"{p.type_id} v{p.version}" + _period(p.effective_from, p.effective_to)
            for p in published
            if p.changed
        ],
        directory_changes=len(synced.added) + len(synced.updated) + len(synced.deactivated),
    )


def _period(start: date | None, end: date | None) -> str:
    period = Period(start, end)
    return "" if period.is_open else f" ({period})"
