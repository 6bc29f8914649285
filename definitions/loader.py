"""Load the definitions catalog and report every problem in it at once.

Configuration administrators fix definitions by reading what validation says, so each
problem names the file (relative to the definitions directory), the field path inside it
(or the line) and what to do. Validation never stops at the first problem: pydantic's
errors are translated one by one, and the rules of a type (`definitions.invariants`: task
ids, dependencies, cycles, durations) run on the raw YAML data even when the model did not
validate, so one bad task does not hide the mistakes in the others. Files are read within
the limits of `definitions.limits`, and each type's snapshot must fit in a Temporal
history with room to spare.

Several files may define the same type id, each for its own period (`effective_from`,
`effective_to`): a new version of the type from a date. Their periods may not overlap, and
on every day a definition is in effect the tasks and escalation rules in effect that day
must still make a type that runs (`definitions.invariants.check_dated_rules`).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from . import limits
from .calendars import (
    CalendarDefinition,
    CalendarFileError,
    WorkingTimeCalendarDefinition,
    load_calendar_definitions,
)
from .invariants import check_dated_rules, check_provision_type, check_publishing_rules
from .periods import Period, View, first_days, local_date
from .schema import CALENDAR_CONTEXT, DATE_ERROR, RULES_ERROR, ProvisionType
from .type_data import entries, get
from .yaml_files import BoundedLoader, DefinitionFileRefused, read_definition_text

ENV_VAR = "SUPPORT_PROVISION_DEFINITIONS"
CALENDARS_FILE = "calendars.yaml"
TYPES_DIR = "types"
DEFAULT_CALENDAR = ProvisionType.model_fields["calendar"].default


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the definitions, located by file and field path."""

    file: str
    location: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.location}" if self.location else self.file
        return f"{where}: {self.message}"


class DefinitionsInvalid(Exception):
    """The definitions have problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the definitions:"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class UnknownProvisionType(KeyError):
    """A provision type id that the catalog does not contain."""

    def __init__(self, type_id: str, known: Iterable[str]) -> None:
        self.type_id = type_id
        self.known = sorted(known)
        hint = _did_you_mean(type_id, self.known)
        self.message = (
            f'there is no provision type "{type_id}"{hint}; '
            f"provision types are: {', '.join(self.known) or '(none)'}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return self.message


class NotInEffectOn(UnknownProvisionType):
    """A provision type the catalog has, but with no definition in effect on a day."""

    def __init__(self, type_id: str, day: date, definitions: Iterable[tuple[str, str]]) -> None:
        super().__init__(type_id, [type_id])
        self.day = day
        listed = "; ".join(f"{period} ({file})" for period, file in definitions)
        self.message = (
            f'provision type "{type_id}" has no definition in effect on {day}; its '
            f"definitions are in effect {listed}"
        )
        self.args = (self.message,)


@dataclass(frozen=True)
class Catalog:
    """A validated set of provision types and the calendars they count SLAs in.

    ``versions`` holds every definition of each type id, ordered by ``effective_from``
    (one without comes first). Their periods do not overlap, so on any day at most one of
    them is in effect. ``files`` names the file of each, by type id and effective_from.
    Where a day is not given, it is today in the time zone of the type's calendar.
    """

    directory: Path
    versions: dict[str, tuple[ProvisionType, ...]]
    calendars: dict[str, CalendarDefinition]
    files: dict[tuple[str, date | None], str] = field(default_factory=dict)

    def definitions(self) -> list[ProvisionType]:
        """Every definition of every type, by type id, then by when it takes effect."""
        return [
            definition for type_id in sorted(self.versions) for definition in self.versions[type_id]
        ]

    def file_of(self, provision_type: ProvisionType) -> str:
        """The file (relative to the definitions directory) that defines this version."""
        return self.files.get((provision_type.id, provision_type.effective_from), provision_type.id)

    def type(self, type_id: str, on: date | None = None) -> ProvisionType:
        """The definition of ``type_id`` in effect on ``on``.

        Raises `UnknownProvisionType` for an id the catalog lacks, and its `NotInEffectOn`
        when none of the id's definitions is in effect that day.
        """
        versions = self.versions.get(type_id)
        if not versions:
            raise UnknownProvisionType(type_id, self.versions)
        found = next((t for t in versions if Period.of(t).covers(_day(t, on))), None)
        if found is None:
            day = on or _day(versions[0], on)
            raise NotInEffectOn(
                type_id, day, [(str(Period.of(t)), self.file_of(t)) for t in versions]
            )
        return found

    def in_effect(self, on: date | None = None) -> list[ProvisionType]:
        """The definition of each type in effect on ``on``, by type id."""
        return self.view(View.current, on)

    def view(self, view: View, on: date | None = None) -> list[ProvisionType]:
        """The definitions in ``view`` on ``on``: in effect (current), ended before it
        (expired) or starting after it (future); by type id, then by when they start."""
        return [t for t in self.definitions() if Period.of(t).view(_day(t, on)) is view]


def _day(provision_type: ProvisionType, on: date | None) -> date:
    return on if on is not None else local_date(provision_type, datetime.now(UTC))


def default_definitions_dir() -> Path:
    """``$SUPPORT_PROVISION_DEFINITIONS`` if set, else the catalog shipped with the package."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured) if configured else Path(__file__).parent / "catalog"


def load_catalog(directory: Path) -> Catalog:
    """The catalog in ``directory``; raises `DefinitionsInvalid` listing every problem."""
    catalog, problems = validate_catalog(directory)
    if catalog is None or problems:
        raise DefinitionsInvalid(problems)
    return catalog


def validate_catalog(directory: Path) -> tuple[Catalog | None, list[Problem]]:
    """Every problem in ``directory``; the catalog only when there are none."""
    reading = read_catalog(directory)
    return reading.catalog, reading.problems


@dataclass(frozen=True)
class TypeFile:
    """A types file that reads as a mapping: its raw data, and its type if that validated."""

    file: str
    data: dict[str, Any]
    provision_type: ProvisionType | None


@dataclass(frozen=True)
class CatalogReading:
    """All that could be read from a definitions directory, valid or not.

    ``catalog`` is there only when ``problems`` is empty. ``type_files`` are the types
    files that parsed, so later checks (templates, the directory) can still look at each:
    at its validated type, or at its raw data when the schema refused part of it.
    """

    directory: Path
    problems: list[Problem]
    type_files: list[TypeFile] = field(default_factory=list)
    catalog: Catalog | None = None


def read_catalog(directory: Path) -> CatalogReading:
    """Read and check ``directory``, reporting every problem found in one pass."""
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        problem = Problem(
            str(directory),
            "",
            f"the definitions directory {what}; point at a directory holding "
            f"{CALENDARS_FILE} and {TYPES_DIR}/*.yaml",
        )
        return CatalogReading(directory, [problem])
    problems: list[Problem] = []
    calendars = _load_calendars(directory, problems)
    sources = list(_read_types(directory, problems))
    if not sources and not any(p.file.partition("/")[0] == TYPES_DIR for p in problems):
        problems.append(
            Problem(
                TYPES_DIR,
                "",
                f"no provision types found; add one YAML file per type under "
                f"{directory / TYPES_DIR}",
            )
        )

    type_ids = {t for source in sources if isinstance(t := source.data.get("id"), str)}
    problems.extend(_overlapping_definitions(sources))

    type_files: list[TypeFile] = []
    snapshots: dict[str, list[ProvisionType]] = {}
    files: dict[tuple[str, date | None], str] = {}
    for source in sources:
        try:
            calendar = _calendar_of(source.data, calendars)
            model = _validate_model(source, calendar, problems)
            problems.extend(
                Problem(source.file, p.location, p.message)
                for p in check_publishing_rules(model if model is not None else source.data)
            )
            if model is not None:
                # On raw data, so each problem is located as the file writes it.
                problems.extend(
                    Problem(source.file, p.location, p.message)
                    for p in check_dated_rules(source.data, calendar=calendar)
                )
            problems.extend(_catalog_problems(source, type_ids, calendars))
            snapshot = _snapshot_within_limit(source, model, calendar, problems)
        except Exception as error:  # a bug here must not hide the other files' problems
            problems.append(Problem(source.file, "", f"could not be checked: {error!r}"))
            model = snapshot = None
        type_files.append(TypeFile(source.file, source.data, model))
        if snapshot is not None:
            snapshots.setdefault(snapshot.id, []).append(snapshot)
            files[(snapshot.id, snapshot.effective_from)] = source.file

    if not problems:
        problems.extend(_follow_on_coverage(type_files, snapshots))
    problems = _grouped(problems)
    if problems or calendars is None:
        return CatalogReading(directory, problems, type_files)
    versions = {
        type_id: tuple(sorted(found, key=lambda t: _start_key(t.effective_from)))
        for type_id, found in sorted(snapshots.items())
    }
    return CatalogReading(directory, [], type_files, Catalog(directory, versions, calendars, files))


def _start_key(day: date | None) -> date:
    return date.min if day is None else day


def _overlapping_definitions(sources: list[_Source]) -> list[Problem]:
    """Two definitions of one type id whose periods share a day: which one a case opening
    that day should run on is ambiguous. Reported at the later-starting one, naming both."""
    by_id: dict[str, list[tuple[Period, _Source]]] = {}
    for source in sources:
        type_id = source.data.get("id")
        period = Period.of(source.data)
        if isinstance(type_id, str) and period.is_well_formed:
            by_id.setdefault(type_id, []).append((period, source))
    problems = []
    for type_id, found in by_id.items():
        found.sort(key=lambda item: (_start_key(item[0].start), item[1].file))
        for index, (period, source) in enumerate(found):
            for earlier, other in found[:index]:
                if not earlier.overlaps(period):
                    continue
                if earlier.is_open and period.is_open:
                    field, message = (
                        "id",
                        (
                            f'"{type_id}" is already the id of the provision type in {other.file}, '
                            "and neither has a period; type ids must be unique, so rename one of "
                            "them, or give each a period (effective_from, effective_to) to make a "
                            "new version from a date"
                        ),
                    )
                else:
                    field, message = (
                        "effective_from",
                        (
                            f'"{type_id}" is also defined in {other.file}, in effect {earlier}, '
                            f"and this definition is in effect {period}; two definitions of one "
                            f"type may not be in effect on the same day, so end {other.file} "
                            "sooner (its effective_to before this effective_from) or start this "
                            "one later"
                        ),
                    )
                problems.append(Problem(source.file, field, message))
    return problems


def _follow_on_coverage(
    type_files: list[TypeFile], snapshots: dict[str, list[ProvisionType]]
) -> list[Problem]:
    """A follow-on type is in effect on every day the type that opens it is: a case that
    closes with the outcome then must find a definition to open."""
    problems = []
    for type_file in type_files:
        model = type_file.provision_type
        if model is None:
            continue
        whole = Period.of(model)
        for index, outcome in enumerate(model.outcomes):
            follow_on = outcome.follow_on_type
            if follow_on is None or follow_on not in snapshots:
                continue
            periods = [Period.of(t) for t in snapshots[follow_on]]
            uncovered = next(
                (d for d in first_days(whole, periods) if not any(p.covers(d) for p in periods)),
                None,
            )
            if uncovered is not None:
                problems.append(
                    Problem(
                        type_file.file,
                        f"outcomes[{index}].follow_on_type",
                        f'"{follow_on}" has no definition in effect on {uncovered}, while this '
                        f"type is ({whole}); a case closing with this outcome then could not "
                        f"open its follow-on case, so extend a definition of {follow_on}",
                    )
                )
    return problems


def _grouped(problems: list[Problem]) -> list[Problem]:
    """Grouped by file, calendars first; within a file, in the order they were found, and
    no more than `limits.PROBLEMS_PER_FILE` of them."""
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(problem.file, []).append(problem)
    listed = []
    for file in sorted(by_file, key=lambda f: (f != CALENDARS_FILE, f)):
        found = by_file[file]
        listed += found[: limits.PROBLEMS_PER_FILE]
        if (more := len(found) - limits.PROBLEMS_PER_FILE) > 0:
            listed.append(
                Problem(file, "", f"and {more:,} more problems in this file; fix these first")
            )
    return listed


SNAPSHOT_YEARS = (2020, 2045)
"""Bank holidays a type snapshot carries; cases running past the last year see none."""


def _snapshot(calendar: CalendarDefinition) -> CalendarDefinition:
    if isinstance(calendar, WorkingTimeCalendarDefinition):
        return calendar.with_bank_holidays(*SNAPSHOT_YEARS)
    return calendar


def _calendar_of(
    data: dict[str, Any], calendars: dict[str, CalendarDefinition] | None
) -> CalendarDefinition | None:
    name = data.get("calendar", DEFAULT_CALENDAR)
    return calendars.get(name) if calendars and isinstance(name, str) else None


def _snapshot_within_limit(
    source: _Source,
    model: ProvisionType | None,
    calendar: CalendarDefinition | None,
    problems: list[Problem],
) -> ProvisionType | None:
    """The type as its cases will carry it, when it fits in a Temporal history.

    Each type carries its calendar's definition, so a case counts in the calendar it
    opened with and publishing a changed calendar makes a new version of the type.
    """
    if model is None or calendar is None:
        return None
    snapshot = model.model_copy(update={"resolved_calendar": _snapshot(calendar)})
    size = len(snapshot.model_dump_json().encode())
    if size > limits.SNAPSHOT_BYTES:
        problems.append(
            Problem(
                source.file,
                "",
                f"is {size / 1024:,.0f} KiB as the snapshot each of its cases carries in its "
                f"Temporal history; the limit is {limits.SNAPSHOT_BYTES // 1024} KiB, so "
                "shorten its descriptions, help texts and labels, or split it into smaller "
                "types",
            )
        )
        return None
    return snapshot


# --- reading files ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    file: str
    data: dict[str, Any]


def _load_calendars(
    directory: Path, problems: list[Problem]
) -> dict[str, CalendarDefinition] | None:
    """The calendars, or ``None`` when they could not be loaded (and that is a problem)."""
    path = directory / CALENDARS_FILE
    if not path.is_file():
        problems.append(
            Problem(
                CALENDARS_FILE,
                "",
                "not found; the definitions directory needs a calendars file naming the "
                "calendars that provision types count their SLAs in",
            )
        )
        return None
    try:
        loaded = load_calendar_definitions(path, display_name=CALENDARS_FILE)
        return {calendar.id: calendar for calendar in loaded.calendars}
    except CalendarFileError as error:
        for line in error.problems:
            text = line.removeprefix(f"{CALENDARS_FILE}: ")
            location, _, message = text.partition(": ")
            at_line = re.fullmatch(r"line \d+", location) is not None
            if not message or (" " in location and not at_line):  # the whole file's
                location, message = "", text
            problems.append(Problem(CALENDARS_FILE, location, message))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as error:
        problems.append(Problem(CALENDARS_FILE, "", f"could not be read: {error}"))
    return None


def _read_types(directory: Path, problems: list[Problem]) -> Iterator[_Source]:
    types_dir = directory / TYPES_DIR
    if not types_dir.is_dir():
        problems.append(
            Problem(
                TYPES_DIR,
                "",
                f"directory not found; add {directory / TYPES_DIR} with one YAML file per "
                f"provision type",
            )
        )
        return
    paths = sorted(
        p
        for p in types_dir.iterdir()
        if p.suffix in (".yaml", ".yml") and not p.name.startswith(".")
    )
    for path in paths:
        file = path.relative_to(directory).as_posix()
        data = _read_yaml(path, file, problems)
        if data is not None:
            yield _Source(file, data)


def _read_yaml(path: Path, file: str, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        text = read_definition_text(path)
    except DefinitionFileRefused as refused:
        problems.append(Problem(file, "", refused.message))
        return None
    except UnicodeDecodeError as error:
        problems.append(Problem(file, "", f"is not UTF-8 text ({error.reason}); save it as UTF-8"))
        return None
    except OSError as error:
        problems.append(Problem(file, "", f"could not be read: {error.strerror or error}"))
        return None
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        problems.extend(_duplicate_keys(node, file))
        data = loader.construct_document(node) if node is not None else None
    except DefinitionFileRefused as refused:
        problems.append(Problem(file, f"line {refused.line}", refused.message))
        return None
    except yaml.YAMLError as error:
        problems.append(Problem(file, "", _yaml_error_message(error)))
        return None
    except ValueError as error:  # e.g. a number with thousands of digits
        problems.append(Problem(file, "", f"could not be read: {error}"))
        return None
    finally:
        loader.dispose()
    if data is None:
        problems.append(Problem(file, "", "is empty; it should describe one provision type"))
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(
                file,
                "",
                f"should be a mapping of keys (id: ..., name: ..., tasks: ...) describing one "
                f"provision type, not {_describe(data)}",
            )
        )
        return None
    return data


def _yaml_error_message(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    detail = f"{problem} ({context})" if context else problem
    return f"is not valid YAML: {where}{detail}; check the indentation and quoting there"


def _duplicate_keys(
    node: yaml.Node | None, file: str, path: str = "", seen_nodes: set[int] | None = None
) -> Iterator[Problem]:
    """PyYAML silently keeps the last of two equal keys; an administrator wants to know."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias: already checked, and it may refer to itself
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                yield Problem(
                    file,
                    _join(path, key),
                    f"appears twice in the same mapping (lines {seen[key]} and {line}); "
                    f"YAML keeps only the last one, so remove or merge one of them",
                )
            else:
                seen[key] = line
            yield from _duplicate_keys(value_node, file, _join(path, key), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, file, f"{path}[{index}]", seen_nodes)


# --- translating pydantic errors --------------------------------------------------------


def _validate_model(
    source: _Source, calendar: CalendarDefinition | None, problems: list[Problem]
) -> ProvisionType | None:
    """The type, or None with its problems added: the schema's, or the rules of a type.

    The rules run on what the file says, so each problem is located as the file writes it
    (``depends_on[0]`` for a plain task id); when the model refused a rule that the raw
    data hides (a value the schema converts), the model's own finding is reported.
    """
    try:
        return ProvisionType.model_validate(source.data, context={CALENDAR_CONTEXT: calendar})
    except ValidationError as error:
        details = error.errors(include_url=False)
    broken_rules = [d for d in details if d["type"] == RULES_ERROR]
    for detail in details:
        if detail["type"] != RULES_ERROR:
            loc = tuple(detail["loc"])
            problems.append(Problem(source.file, _format_loc(loc), _pydantic_message(detail)))
    found = [
        Problem(source.file, p.location, p.message)
        for p in check_provision_type(source.data, calendar=calendar)
    ]
    if broken_rules and not found:
        located = broken_rules[0].get("ctx", {}).get("problems", [])
        found = [Problem(source.file, where, message) for where, message in located]
    problems.extend(found)
    return None


_PERIOD_KEYS = ("effective_from", "effective_to")


def _pydantic_message(detail: Any) -> str:
    kind = detail["type"]
    loc = tuple(detail["loc"])
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden" and loc[-1] in _PERIOD_KEYS and "follow_on" in loc[-3:]:
        return (
            "a follow-on rule has no period of its own: it is in effect with the rule it "
            f"follows; remove `{loc[-1]}` here, or end that rule and start a new one"
        )
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        listing = f"; allowed keys here are: {', '.join(allowed)}" if allowed else ""
        return f'unexpected key "{key}"{_did_you_mean(key, allowed)}{listing}'
    if kind == "enum":
        choices = _enum_values(loc) or re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return (
            f"{_render(value)} is not one of {', '.join(choices)}"
            f"{_did_you_mean(str(value), choices)}"
        )
    if kind == "string_pattern_mismatch":
        suggestion = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
        example = f', e.g. "{suggestion}"' if suggestion and suggestion != value else ""
        return (
            f"{_render(value)} is not a valid id; use lowercase letters, digits and hyphens"
            f"{example}"
        )
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return (
            f"is too long ({len(str(value)):,} characters); the limit is "
            f"{ctx.get('max_length'):,}, so shorten it"
        )
    if kind == "too_long":
        actual = ctx.get("actual_length")
        count = f"{actual:,} entries" if isinstance(actual, int) else "too many entries"
        return f"has {count}; the limit is {ctx.get('max_length'):,}, so remove some"
    if kind == "string_type":
        hint = ""
        if isinstance(value, bool):
            hint = "; YAML reads yes/no/on/off/true/false as true or false, so put it in quotes"
        elif isinstance(value, int | float):
            hint = "; put it in quotes"
        return f"expected text, got {_describe(value)}{hint}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {_describe(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_describe(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys, got {_describe(value)}"
    if kind == DATE_ERROR:
        return str(detail["msg"])
    if kind in ("value_error", "assertion_error"):
        return str(detail["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{detail['msg']} (got {_describe(value)})"


def _annotation_at(loc: tuple[Any, ...]) -> Any:
    """The annotation of the field at a pydantic ``loc``, walking into nested models."""
    annotation: Any = ProvisionType
    for part in loc:
        if isinstance(part, int):
            continue
        model = _find(annotation, lambda t: isinstance(t, type) and issubclass(t, BaseModel))
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
    return annotation


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model = _find(_annotation_at(loc), lambda t: isinstance(t, type) and issubclass(t, BaseModel))
    # As the file writes them: `for`, not the attribute `for_`.
    return [f.alias or name for name, f in model.model_fields.items()] if model else []


def _enum_values(loc: tuple[Any, ...]) -> list[str]:
    enum = _find(_annotation_at(loc), lambda t: isinstance(t, type) and issubclass(t, Enum))
    return [str(member.value) for member in enum] if enum else []


def _find(annotation: Any, wanted: Any) -> Any:
    """The first type inside ``annotation`` (tuples, unions, Annotated) that is ``wanted``."""
    if annotation is None:
        return None
    if wanted(annotation):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            if arg is not Ellipsis and (found := _find(arg, wanted)) is not None:
                return found
    return None


# --- checks that need the rest of the catalog --------------------------------------------


def _catalog_problems(
    source: _Source, type_ids: set[str], calendars: dict[str, CalendarDefinition] | None
) -> list[Problem]:
    """The type's calendar is in calendars.yaml; its follow-on types are in the catalog."""
    data, found = source.data, []
    calendar = data.get("calendar", DEFAULT_CALENDAR)
    if calendars is not None and isinstance(calendar, str) and calendar not in calendars:
        known = sorted(calendars)
        default = "" if "calendar" in data else " (the default when `calendar` is not set)"
        found.append(
            Problem(
                source.file,
                "calendar",
                f'"{calendar}"{default} is not a calendar in {CALENDARS_FILE}'
                f"{_did_you_mean(calendar, known)}; calendars are: {', '.join(known)}",
            )
        )
    for index, outcome in entries(data, "outcomes"):
        follow_on = get(outcome, "follow_on_type")
        if isinstance(follow_on, str) and follow_on not in type_ids:
            known = sorted(type_ids)
            found.append(
                Problem(
                    source.file,
                    f"outcomes[{index}].follow_on_type",
                    f'"{follow_on}" is not a provision type{_did_you_mean(follow_on, known)}; '
                    f"provision types are: {', '.join(known)}",
                )
            )
    return found


# --- small helpers ----------------------------------------------------------------------


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, str(part))
    return text


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _render(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...")
    return _describe(value)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return f"the text {_render(value)}"
    return repr(value)
