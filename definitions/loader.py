"""Load the definitions catalog and report every problem in it at once.

Configuration administrators fix definitions by reading what validation says, so each
problem names the file (relative to the definitions directory), the field path inside it
and what to do. Validation never stops at the first problem: pydantic's errors are
translated one by one, and the cross-reference checks (task ids, dependencies, cycles,
calendars, follow-on types, durations) run on the raw YAML data even when the model did
not validate, so one bad task does not hide the mistakes in the others.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from .calendars import (
    CalendarDefinition,
    CalendarFileError,
    WorkingTimeCalendarDefinition,
    load_calendar_definitions,
)
from .durations import Duration, DurationError, parse_duration
from .schema import ProvisionType

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


@dataclass(frozen=True)
class Catalog:
    """A validated set of provision types and the calendars they count SLAs in."""

    directory: Path
    types: dict[str, ProvisionType]
    calendars: dict[str, CalendarDefinition]
    files: dict[str, str] = field(default_factory=dict)

    def type(self, type_id: str) -> ProvisionType:
        try:
            return self.types[type_id]
        except KeyError:
            raise UnknownProvisionType(type_id, self.types) from None


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
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        return None, [
            Problem(
                str(directory),
                "",
                f"the definitions directory {what}; point at a directory holding "
                f"{CALENDARS_FILE} and {TYPES_DIR}/*.yaml",
            )
        ]
    problems: list[Problem] = []
    calendars = _load_calendars(directory, problems)
    sources = list(_read_types(directory, problems))
    if not sources and not any(p.file == TYPES_DIR for p in problems):
        problems.append(
            Problem(
                TYPES_DIR,
                "",
                f"no provision types found; add one YAML file per type under "
                f"{directory / TYPES_DIR}",
            )
        )

    files: dict[str, str] = {}
    for source in sources:
        type_id = source.data.get("id")
        if not isinstance(type_id, str):
            continue
        if type_id in files:
            problems.append(
                Problem(
                    source.file,
                    "id",
                    f'"{type_id}" is already the id of the provision type in '
                    f"{files[type_id]}; type ids must be unique, rename one of them",
                )
            )
        else:
            files[type_id] = source.file

    types: dict[str, ProvisionType] = {}
    for source in sources:
        try:
            model = _validate_model(source, problems)
            problems.extend(_TypeChecker(source.file, set(files), calendars).check(source.data))
        except Exception as error:  # a bug here must not hide the other files' problems
            problems.append(Problem(source.file, "", f"could not be checked: {error!r}"))
            continue
        if model is not None and files.get(model.id) == source.file:
            types[model.id] = model

    if problems or calendars is None:
        # Grouped by file, calendars first; within a file, in the order they were found.
        problems.sort(key=lambda p: (p.file != CALENDARS_FILE, p.file))
        return None, problems
    # Each type carries its calendar's definition, so a case counts in the calendar it
    # opened with and publishing a changed calendar makes a new version of the type.
    types = {
        type_id: t.model_copy(update={"resolved_calendar": _snapshot(calendars[t.calendar])})
        for type_id, t in types.items()
    }
    return Catalog(directory, types, calendars, files), []


SNAPSHOT_YEARS = (2020, 2045)
"""Bank holidays a type snapshot carries; cases running past the last year see none."""


def _snapshot(calendar: CalendarDefinition) -> CalendarDefinition:
    if isinstance(calendar, WorkingTimeCalendarDefinition):
        return calendar.with_bank_holidays(*SNAPSHOT_YEARS)
    return calendar


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
            if not message or " " in location:  # a problem with the whole file
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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problems.append(Problem(file, "", f"is not UTF-8 text ({error.reason}); save it as UTF-8"))
        return None
    except OSError as error:
        problems.append(Problem(file, "", f"could not be read: {error.strerror or error}"))
        return None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        problems.extend(_duplicate_keys(node, file))
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        problems.append(Problem(file, "", _yaml_error_message(error)))
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


def _validate_model(source: _Source, problems: list[Problem]) -> ProvisionType | None:
    try:
        return ProvisionType.model_validate(source.data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            loc = tuple(detail["loc"])
            problems.append(Problem(source.file, _format_loc(loc), _pydantic_message(detail)))
        return None


def _pydantic_message(detail: Any) -> str:
    kind = detail["type"]
    loc = tuple(detail["loc"])
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return "is required but missing"
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
        return f"is too long ({len(str(value))} characters); the limit is {ctx.get('max_length')}"
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
    return list(model.model_fields) if model else []


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


# --- cross-reference checks on the raw data ---------------------------------------------


class _TypeChecker:
    """Checks one type's raw data: ids, references, cycles, durations and calendars."""

    def __init__(
        self, file: str, type_ids: set[str], calendars: dict[str, CalendarDefinition] | None
    ) -> None:
        self.file = file
        self.type_ids = type_ids
        self.calendars = calendars
        self.problems: list[Problem] = []

    def add(self, location: str, message: str) -> None:
        self.problems.append(Problem(self.file, location, message))

    def check(self, data: dict[str, Any]) -> list[Problem]:
        self.case_outcomes = [
            o.get("id") for _, o in _items(data.get("outcomes")) if isinstance(o.get("id"), str)
        ]
        self._check_calendar(data.get("calendar", DEFAULT_CALENDAR), "calendar" in data)
        self._check_sla(data.get("sla"), "sla")
        self._check_escalations(data.get("escalations"), "escalations", data.get("sla"))
        raw_tasks = data.get("tasks")
        tasks = _items(raw_tasks)
        if isinstance(raw_tasks, list) and not raw_tasks:
            self.add("tasks", "the type has no tasks; a case of this type would have nothing to do")
        task_ids = self._unique_ids(tasks, "tasks", "task")
        if tasks and all(t.get("automatic") is False for _, t in tasks):
            self.add(
                "tasks",
                "no task is automatic, so a case would open with nothing to do; "
                "leave `automatic: false` off at least one task",
            )
        for index, task in tasks:
            self._check_task(f"tasks[{index}]", task, task_ids)
        self._check_cycles(tasks, task_ids)
        for index, outcome in self._outcomes(data.get("outcomes"), "outcomes"):
            if outcome.get("adds_tasks"):
                self.add(
                    f"outcomes[{index}].adds_tasks",
                    "a case outcome closes the case, so it cannot add tasks; "
                    "put this workflow path on a task outcome instead",
                )
            self._check_follow_on(f"outcomes[{index}]", outcome)
        return self.problems

    def _check_task(self, where: str, task: dict[str, Any], task_ids: list[str]) -> None:
        task_id = task.get("id")
        seen: set[str] = set()
        for index, dep in enumerate(_list(task.get("depends_on"))):
            at = f"{where}.depends_on[{index}]"
            target = dep
            if isinstance(dep, dict):
                self._check_duration(dep.get("lag"), f"{at}.lag")
                target, at = dep.get("task"), f"{at}.task"
            if not isinstance(target, str):
                continue
            if target == task_id:
                self.add(
                    at,
                    f'task "{task_id}" depends on itself, so it could never start; '
                    "remove this dependency",
                )
            elif target not in task_ids:
                self.add(at, _unknown_task(target, task_ids))
            elif target in seen:
                self.add(at, f'"{target}" is listed twice in depends_on; remove one of them')
            seen.add(target)
        for index, outcome in self._outcomes(task.get("outcomes"), f"{where}.outcomes"):
            for k, added in enumerate(_list(outcome.get("adds_tasks"))):
                if isinstance(added, str) and added not in task_ids:
                    self.add(
                        f"{where}.outcomes[{index}].adds_tasks[{k}]", _unknown_task(added, task_ids)
                    )
            case_outcome = outcome.get("case_outcome")
            if isinstance(case_outcome, str) and case_outcome not in self.case_outcomes:
                self.add(
                    f"{where}.outcomes[{index}].case_outcome",
                    f'"{case_outcome}" is not one of the type\'s case outcomes; they are: '
                    f"{', '.join(self.case_outcomes) or 'none'}",
                )
            if outcome.get("follow_on_type") is not None:
                self.add(
                    f"{where}.outcomes[{index}].follow_on_type",
                    "only case outcomes open follow-on cases; move follow_on_type to an "
                    "outcome under the type's `outcomes`",
                )
        fields = _items(task.get("fields"))
        self._unique_ids(fields, f"{where}.fields", "field")
        labels: dict[str, int] = {}
        for index, info in fields:
            label = info.get("label")
            if not isinstance(label, str):
                continue
            key = label.strip().casefold()
            if key in labels:
                self.add(
                    f"{where}.fields[{index}].label",
                    f'"{label}" is also the label of {where}.fields[{labels[key]}]; '
                    "labels must differ so people can tell the fields apart",
                )
            else:
                labels[key] = index
        self._check_sla(task.get("sla"), f"{where}.sla")
        self._check_escalations(task.get("escalations"), f"{where}.escalations", task.get("sla"))

    def _check_escalations(self, raw: Any, where: str, sla: Any) -> None:
        rules = _items(raw)
        self._unique_ids(rules, where, "escalation rule")
        for index, rule in rules:
            at = f"{where}[{index}]"
            trigger = rule.get("trigger")
            if trigger in ("warning", "breach") and not isinstance(sla, dict):
                self.add(
                    f"{at}.trigger",
                    f"a {trigger} rule needs an SLA to count from; give this "
                    f"{'task' if 'tasks[' in where else 'type'} an `sla` or use a "
                    "stagnation rule",
                )
            elif trigger == "warning" and isinstance(sla, dict) and not sla.get("warning"):
                self.add(
                    f"{at}.trigger",
                    "a warning rule needs the SLA's `warning` period; add one to the `sla`",
                )
            self._check_duration(rule.get("stagnation_after"), f"{at}.stagnation_after")
            self._check_duration(rule.get("delay"), f"{at}.delay")
            self._check_action(rule, at)

    def _check_action(self, action: dict[str, Any], at: str) -> None:
        repeat = action.get("repeat")
        if isinstance(repeat, dict):
            self._check_duration(repeat.get("every"), f"{at}.repeat.every")
        children = _items(action.get("follow_on"))
        self._unique_ids(children, f"{at}.follow_on", "follow-on rule")
        for index, child in children:
            self._check_duration(child.get("after"), f"{at}.follow_on[{index}].after")
            self._check_action(child, f"{at}.follow_on[{index}]")

    def _outcomes(self, raw: Any, where: str) -> list[tuple[int, dict[str, Any]]]:
        outcomes = _items(raw)
        self._unique_ids(outcomes, where, "outcome")
        return outcomes

    def _unique_ids(
        self, items: list[tuple[int, dict[str, Any]]], where: str, kind: str
    ) -> list[str]:
        first: dict[str, int] = {}
        for index, item in items:
            item_id = item.get("id")
            if not isinstance(item_id, str):
                continue
            if item_id in first:
                self.add(
                    f"{where}[{index}].id",
                    f'"{item_id}" is already the id of {where}[{first[item_id]}]; '
                    f"{kind} ids must be unique, rename one of them",
                )
            else:
                first[item_id] = index
        return list(first)

    def _check_follow_on(self, where: str, outcome: dict[str, Any]) -> None:
        follow_on = outcome.get("follow_on_type")
        if isinstance(follow_on, str) and follow_on not in self.type_ids:
            known = sorted(self.type_ids)
            self.add(
                f"{where}.follow_on_type",
                f'"{follow_on}" is not a provision type{_did_you_mean(follow_on, known)}; '
                f"provision types are: {', '.join(known)}",
            )

    def _check_calendar(self, calendar: Any, explicit: bool) -> None:
        if self.calendars is None or not isinstance(calendar, str):
            return
        if calendar not in self.calendars:
            known = sorted(self.calendars)
            default = "" if explicit else " (the default when `calendar` is not set)"
            self.add(
                "calendar",
                f'"{calendar}"{default} is not a calendar in {CALENDARS_FILE}'
                f"{_did_you_mean(calendar, known)}; calendars are: {', '.join(known)}",
            )

    def _check_sla(self, sla: Any, where: str) -> None:
        if not isinstance(sla, dict):
            return
        target = self._check_duration(sla.get("target"), f"{where}.target")
        warning = self._check_duration(sla.get("warning"), f"{where}.warning")
        if target and warning and not _shorter(warning, target):
            self.add(
                f"{where}.warning",
                f'"{sla["warning"]}" is not shorter than the target "{sla["target"]}"; the '
                "warning point falls this long before the target, so make it shorter",
            )

    def _check_duration(self, text: Any, where: str) -> Duration | None:
        if not isinstance(text, str):
            return None
        try:
            return parse_duration(text)
        except DurationError as error:
            self.add(where, str(error))
            return None

    def _check_cycles(self, tasks: list[tuple[int, dict[str, Any]]], task_ids: list[str]) -> None:
        """Report each dependency cycle once, naming the tasks in it in order."""
        known = set(task_ids)
        index_of: dict[str, int] = {}
        edges: dict[str, list[tuple[str, int]]] = {}
        for index, task in tasks:
            task_id = task.get("id")
            if not isinstance(task_id, str) or task_id in index_of:
                continue
            index_of[task_id] = index
            edges[task_id] = [
                (target, k)
                for k, dep in enumerate(_list(task.get("depends_on")))
                if isinstance(target := dep.get("task") if isinstance(dep, dict) else dep, str)
                and target in known
                and target != task_id
            ]
        state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
        path: list[str] = []
        reported: set[frozenset[str]] = set()

        def visit(node: str) -> None:
            state[node] = 1
            path.append(node)
            for target, _ in edges.get(node, []):
                if state.get(target) == 1:
                    cycle = path[path.index(target) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        self._report_cycle(cycle, index_of, edges)
                elif target not in state:
                    visit(target)
            path.pop()
            state[node] = 2

        for task_id in edges:
            if task_id not in state:
                visit(task_id)

    def _report_cycle(
        self, cycle: list[str], index_of: dict[str, int], edges: dict[str, list[tuple[str, int]]]
    ) -> None:
        start = min(range(len(cycle)), key=lambda i: index_of[cycle[i]])
        cycle = cycle[start:] + cycle[:start]
        first, second = cycle[0], cycle[1 % len(cycle)]
        k = next(k for target, k in edges[first] if target == second)
        dep = f"tasks[{index_of[first]}].depends_on[{k}]"
        self.add(
            dep,
            f"dependency cycle {' -> '.join([*cycle, cycle[0]])}: each task waits for the next, "
            "so none of them could ever start; remove one of these dependencies",
        )


# --- small helpers ----------------------------------------------------------------------


def _items(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return [(i, item) for i, item in enumerate(_list(value)) if isinstance(item, dict)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _unknown_task(task_id: str, task_ids: list[str]) -> str:
    known = ", ".join(task_ids) if task_ids else "(none)"
    return (
        f'"{task_id}" is not a task of this type{_did_you_mean(task_id, task_ids)}; '
        f"tasks are: {known}"
    )


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _shorter(warning: Duration, target: Duration) -> bool:
    """Whether the warning is shorter; True when only a calendar could tell (working units)."""
    if warning.unit == target.unit:
        return warning.amount < target.amount
    if warning.is_working_time or target.is_working_time:
        return True
    return warning.to_timedelta() < target.to_timedelta()


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
