"""Every check a catalog must pass before any of it is published, in one place.

`definitions validate` reports what this finds; `definitions publish` and the dev stack's
bootstrap refuse to store a catalog it finds a problem in. They once ran only the schema
and the owners, so a type naming a template that does not exist, a template with an
unknown field or a stakeholder group nobody defined was published, and its escalation
reached no one when it fired, which is what validating was for.

Each stage runs on whatever could be read, so one run lists every problem; a stage that
fails unexpectedly becomes a problem too, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from definitions.loader import (
    CALENDARS_FILE,
    Catalog,
    CatalogReading,
    Problem,
    TypeFile,
    read_catalog,
)
from definitions.schema import ProvisionType


@dataclass
class CatalogCheck:
    """What checking a definitions folder found: the catalog when it could be read whole,
    its problems (none: it may be published) and warnings (which do not stop it)."""

    catalog: Catalog | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_catalog(directory: Path, people: Path | None, now: datetime) -> CatalogCheck:
    """Check the definitions in `directory` against the directory file `people` (default:
    `$SUPPORT_PROVISION_DIRECTORY` or the shipped one): schema, calendars, owners, groups
    and assignees, templates (each renders; each one a rule names exists), and advice."""
    try:
        reading = read_catalog(directory)
        problems, warnings = list(reading.problems), []
        if reading.type_files:
            problems += _unreported(_directory_problems(reading.type_files, people), problems)
            problems += _unreported(_template_problems(reading), problems)
            problems.sort(key=lambda p: (p.file != CALENDARS_FILE, p.file))
            warnings = _advice(reading, now)
        return CatalogCheck(reading.catalog, problems, warnings)
    except Exception as error:  # checking must never end in a traceback
        return CatalogCheck(None, [Problem(str(directory), "", f"could not be validated: {error}")])


def _advice(reading: CatalogReading, now: datetime) -> list[Problem]:
    """The warnings of every type that validated, counted in the calendar it names
    (`casemodel.type_advice`), by file."""
    from casemodel.type_advice import advise

    calendars = reading.calendars or {}
    warnings = []
    for type_file in sorted(reading.type_files, key=lambda found: found.file):
        model = type_file.provision_type
        if model is None or model.calendar not in calendars:
            continue  # its problems are reported; advice waits until it validates
        try:
            found = advise(model, now, calendar=calendars[model.calendar])
        except Exception as error:  # advice must never hide the problems, nor end in a traceback
            warnings.append(Problem(type_file.file, "", f"could not be advised on: {error!r}"))
            continue
        warnings += [Problem(type_file.file, w.location, w.message) for w in found]
    return warnings


def _checked(type_file: TypeFile) -> ProvisionType | dict[str, Any]:
    """The validated type, or the file's raw data when the schema refused part of it."""
    return type_file.provision_type or type_file.data


def _unreported(found: list[Problem], already: list[Problem]) -> list[Problem]:
    """``found`` without those at a field that already has a problem (one per field)."""
    taken = {(p.file, p.location) for p in already}
    return [p for p in found if (p.file, p.location) not in taken]


def _directory_problems(type_files: list[TypeFile], people: Path | None) -> list[Problem]:
    """Owners, reassignment targets and notified groups must be in the directory."""
    from activities.database.directory import (
        DirectoryInvalid,
        default_directory_file,
        group_ids,
        load_directory,
        owner_ids,
        owner_problems,
    )
    from definitions.references import assignee_references, group_references

    path = people or default_directory_file()
    try:
        found = load_directory(path)
    except DirectoryInvalid as invalid:
        return list(invalid.located)
    groups, owners = group_ids(found), owner_ids(found)
    problems = []
    for type_file in type_files:
        checked = [_checked(type_file)]
        problems += [
            Problem(type_file.file, p.location, p.message) for p in owner_problems(checked, found)
        ]
        unknown = [
            (
                ref,
                "is not a stakeholder group of the directory; groups are: "
                f"{', '.join(sorted(groups))}",
            )
            for ref in group_references(checked)
            if ref.target not in groups
        ] + [
            (ref, "is not a person, role or team of the directory")
            for ref in assignee_references(checked)
            if ref.target not in owners
        ]
        problems += [
            Problem(type_file.file, ref.location, f'"{ref.target}" {why}') for ref, why in unknown
        ]
    return problems


def _template_problems(reading: CatalogReading) -> list[Problem]:
    """Every template renders, and every template a rule names exists."""
    from activities.templates import check_templates, templates_dir
    from definitions.references import template_references

    references = [
        (type_file.file, ref)
        for type_file in reading.type_files
        for ref in template_references([_checked(type_file)])
    ]
    referenced = [(f"{file}: {ref.location}", ref.target) for file, ref in references]
    fields = {(file, ref.location) for file, ref in references}
    problems = []
    for found in check_templates(templates_dir(reading.directory), referenced):
        file, _, location = found.file.partition(": ")
        message = found.message
        if found.line:
            location = f"line {found.line}"
        elif (file, head := message.partition(": ")[0]) in fields:
            # A missing template is reported at the field that names it.
            location, message = head, message.partition(": ")[2]
        problems.append(Problem(file, location, message))
    return problems


async def templates_open_cases_need(session: Any, directory: Path) -> list[Problem]:
    """Templates that open cases still escalate with, gone from the catalog's templates
    folder: a rename or removal would be published, and every notice of those cases that
    names it would fail for good when it fires. One problem per template and version,
    with how many cases and one of them."""
    from activities.database import definitions_store
    from activities.database.register import open_versions
    from activities.templates import TemplateStore, templates_dir
    from definitions.references import template_references

    folder = templates_dir(directory)
    present = set(TemplateStore(folder).template_ids())
    problems = []
    for running in await open_versions(session):
        definition = await definitions_store.version(session, running.type_id, running.version)
        if definition is None:
            continue
        needed = sorted({ref.target for ref in template_references([definition])} - present)
        cases = f"{running.cases} open case{'s' if running.cases != 1 else ''}"
        for template_id in needed:
            problems.append(
                Problem(
                    f"{folder.name}/",
                    "",
                    f"there is no template {template_id!r}, but {running.type_id} "
                    f"v{running.version} names it and {cases} run on that version (such as "
                    f"{running.example}): keep {template_id}.subject.j2 and "
                    f"{template_id}.text.j2 until they close, or their notices fail",
                )
            )
    return problems
