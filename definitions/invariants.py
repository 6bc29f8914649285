"""The rules every provision type meets, however it was made.

A type reaches a case from the loader (YAML files), from a published version in the
database, or straight from another system through Temporal. Whichever way it came, a case
of it must be able to run: its dependencies and workflow paths name its own tasks, they
form no cycle, at least one task joins the plan when the case opens, its ids are unique,
task outcomes name case outcomes it has, a recurring task's series has an end (`times`,
`for` or `until_outcome`, an outcome of that task), the conditions of its paths test fields
the task has with operators and values that fit them, and every duration is one an SLA can
mean (in the calendar the type counts in). `check_provision_type` is that one set of rules:
`ProvisionType` runs it on every construction, the loader reports what it finds with the
file in front, and the case model may ask again before opening a case.

Periods (`effective_from`, `effective_to`) must be well formed wherever they are written.
`check_dated_rules` asks the same rules again on each day the type is in effect, of the
tasks and escalation rules in effect that day: a task may not wait for, or add, a task
that is not in effect while it is, and some task in effect must be automatic.

`check_publishing_rules` adds what a definition must also get right to be published,
though a case would run without it: mistakes that would only surprise whoever wrote them
(a warning rule with no warning period never fires; a fixed address that is not an email
address, checked as the directory's are, is never mailed). The loader applies both; a
type built in code or sent by another system need only meet the first, so a case already
running on a published type is never refused for what these rules add. Rules that need
the rest of the catalog (a follow-on type exists, a calendar of that name exists) are the
loader's; templates and the directory are checked by `definitions validate`.
"""

from __future__ import annotations

import calendar as gregorian
import difflib
import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import conditions, limits
from .addresses import address_problem
from .calendars import ContinuousCalendarDefinition, WorkingTimeCalendarDefinition
from .durations import MAXIMUM, Duration, DurationError, DurationUnit, parse_duration
from .periods import Period, first_days
from .type_data import actions, entries, get, values

if TYPE_CHECKING:
    from .calendars import CalendarDefinition
    from .schema import ProvisionType

__all__ = [
    "TypeProblem",
    "check_dated_rules",
    "check_provision_type",
    "check_publishing_rules",
    "list_problems",
]

SPAN_DAYS = MAXIMUM[DurationUnit.DAYS]
"""The longest a duration may run in its calendar, in days: the ten years of `MAXIMUM`.
Working units in a calendar with little open time would otherwise run for centuries."""


@dataclass(frozen=True)
class TypeProblem:
    """One broken rule, located by field path inside the type, e.g. ``tasks[2].id``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


PROBLEMS_LISTED = 5
"""How many problems a refusal spells out; the rest are counted, so one message stays
readable however broken the type is."""


def list_problems(problems: list[TypeProblem]) -> str:
    """The first few problems joined for a refusal, e.g. ``a: …; b: …; and 3 more``."""
    listed = "; ".join(str(p) for p in problems[:PROBLEMS_LISTED])
    more = len(problems) - PROBLEMS_LISTED
    return listed + (f"; and {more} more" if more > 0 else "")


def check_provision_type(
    provision_type: ProvisionType | Mapping[str, Any],
    *,
    calendar: CalendarDefinition | None = None,
) -> list[TypeProblem]:
    """Every rule ``provision_type`` breaks, in the order of its fields; empty when none.

    ``provision_type`` is a `ProvisionType` or the raw mapping it is made from (the loader
    checks raw data when the schema refused part of it, so that one run reports
    everything); values of the wrong shape are skipped, as the schema reports them.
    ``calendar`` is what the type's durations count in, for a type that does not carry it
    yet (the loader passes the one its `calendar` names); by default its
    `resolved_calendar`, and around the clock when it has none.
    """
    if calendar is None:
        resolved = get(provision_type, "resolved_calendar")
        if isinstance(resolved, ContinuousCalendarDefinition | WorkingTimeCalendarDefinition):
            calendar = resolved
    return _Rules(calendar).check(provision_type)


class _Rules:
    def __init__(self, calendar: CalendarDefinition | None) -> None:
        self.calendar = calendar
        self.problems: list[TypeProblem] = []

    def add(self, location: str, message: str) -> None:
        self.problems.append(TypeProblem(location, message))

    def check(self, data: Any) -> list[TypeProblem]:
        self.case_outcomes = [
            o_id for _, o in entries(data, "outcomes") if isinstance(o_id := get(o, "id"), str)
        ]
        self._check_period(data, "")
        self._check_sla(get(data, "sla"), "sla")
        self._check_escalations(data, "escalations")
        tasks = entries(data, "tasks")
        if isinstance(get(data, "tasks"), list | tuple) and not values(data, "tasks"):
            self.add("tasks", "the type has no tasks; a case of this type would have nothing to do")
        task_ids = self._unique_ids(tasks, "tasks", "task")
        if tasks and all(get(t, "automatic") is False for _, t in tasks):
            self.add(
                "tasks",
                "no task is automatic, so a case would open with nothing to do; "
                "leave `automatic: false` off at least one task",
            )
        for index, task in tasks:
            self._check_task(f"tasks[{index}]", task, task_ids)
        self._check_cycles(tasks, task_ids)
        self._outcomes(data, "outcomes")
        return self.problems

    # -- tasks -------------------------------------------------------------------------

    def _check_task(self, where: str, task: Any, task_ids: list[str]) -> None:
        task_id = get(task, "id")
        self._check_period(task, where)
        seen: set[str] = set()
        for index, dep in enumerate(values(task, "depends_on")):
            at = f"{where}.depends_on[{index}]"
            target = dep
            if not isinstance(dep, str):
                self._check_duration(get(dep, "lag"), f"{at}.lag")
                target, at = get(dep, "task"), f"{at}.task"
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
        for index, outcome in self._outcomes(task, f"{where}.outcomes"):
            at = f"{where}.outcomes[{index}]"
            for k, added in enumerate(values(outcome, "adds_tasks")):
                if isinstance(added, str) and added not in task_ids:
                    self.add(f"{at}.adds_tasks[{k}]", _unknown_task(added, task_ids))
            case_outcome = get(outcome, "case_outcome")
            if isinstance(case_outcome, str) and case_outcome not in self.case_outcomes:
                self.add(
                    f"{at}.case_outcome",
                    f'"{case_outcome}" is not one of the type\'s case outcomes; they are: '
                    f"{', '.join(self.case_outcomes) or 'none'}",
                )
        self._unique_ids(entries(task, "fields"), f"{where}.fields", "field")
        self._check_paths(task, f"{where}.paths", task_ids)
        self._check_sla(get(task, "sla"), f"{where}.sla")
        self._check_escalations(task, f"{where}.escalations")
        self._check_recurrence(task, f"{where}.recurrence")

    def _check_recurrence(self, task: Any, where: str) -> None:
        """A recurrence counts in durations, ends somehow, and ends on an outcome the task
        has: a series that never ends, or waits for an outcome nobody can record, would
        keep a case open for ever."""
        recurrence = get(task, "recurrence")
        if not _is_mapping(recurrence):
            return
        self._check_duration(get(recurrence, "every"), f"{where}.every")
        period = _aliased(recurrence, "for")
        self._check_duration(period, f"{where}.for")
        until = get(recurrence, "until_outcome")
        if get(recurrence, "times") is None and period is None and until is None:
            self.add(
                where,
                "a recurrence needs an end, or the task would repeat for ever: give `times` "
                '(that many occurrences), `for` (a period from the first, e.g. "3 months") '
                "or `until_outcome` (an outcome of this task), or more than one of them",
            )
        if not isinstance(until, str):
            return
        outcomes = [
            o_id for _, o in entries(task, "outcomes") if isinstance(o_id := get(o, "id"), str)
        ]
        if until in outcomes:
            return
        if not outcomes:
            message = (
                f'the task has no outcomes, so no occurrence could be completed with "{until}" '
                "and the series would never end this way; add it to the task's `outcomes`"
            )
        else:
            message = (
                f'"{until}" is not an outcome of this task{_did_you_mean(until, outcomes)}; '
                f"its outcomes are: {', '.join(outcomes)}"
            )
        self.add(f"{where}.until_outcome", message)

    # -- paths (decisions on what was recorded) ----------------------------------------

    def _check_paths(self, task: Any, where: str, task_ids: list[str]) -> None:
        paths = entries(task, "paths")
        self._unique_ids(paths, where, "path")
        outcomes = [
            o_id for _, o in entries(task, "outcomes") if isinstance(o_id := get(o, "id"), str)
        ]
        fields = {
            f_id: info
            for _, info in entries(task, "fields")
            if isinstance(f_id := get(info, "id"), str)
        }
        for index, path in paths:
            at = f"{where}[{index}]"
            outcome = get(path, "outcome")
            if isinstance(outcome, str) and outcome not in outcomes:
                known = ", ".join(outcomes) if outcomes else "none, so leave `outcome` out"
                self.add(
                    f"{at}.outcome",
                    f'"{outcome}" is not an outcome of this task'
                    f"{_did_you_mean(outcome, outcomes)}; its outcomes are: {known}",
                )
            for k, added in enumerate(values(path, "adds_tasks")):
                if isinstance(added, str) and added not in task_ids:
                    self.add(f"{at}.adds_tasks[{k}]", _unknown_task(added, task_ids))
            completes = get(path, "completes_case")
            if isinstance(completes, str) and completes not in self.case_outcomes:
                self.add(
                    f"{at}.completes_case",
                    f'"{completes}" is not one of the type\'s case outcomes'
                    f"{_did_you_mean(completes, self.case_outcomes)}; they are: "
                    f"{', '.join(self.case_outcomes) or 'none, so add the outcome to the type'}",
                )
            when = get(path, "when")
            if _is_mapping(when):
                tests = self._check_condition(when, f"{at}.when", fields, depth=0)
                if tests > limits.CONDITION_TESTS:
                    self.add(
                        f"{at}.when",
                        f"the condition tests fields {tests} times; the limit is "
                        f"{limits.CONDITION_TESTS}, so split the decision into several paths",
                    )

    def _check_condition(self, node: Any, at: str, fields: dict[str, Any], depth: int) -> int:
        """Report what is wrong in one condition and those under it; how many tests of a
        field it holds (counted as far as it is read)."""
        joins = [(key, parts) for key in ("all", "any") if (parts := _joined(node, key))]
        if joins:
            if depth >= limits.CONDITION_DEPTH:
                self.add(
                    at,
                    f"`all` and `any` nest more than {limits.CONDITION_DEPTH} levels deep here; "
                    "a decision that deep cannot be read, so split it into several paths",
                )
                return 0
            tests = 0
            for key, parts in joins:
                for k, part in enumerate(parts):
                    if _is_mapping(part):
                        tests += self._check_condition(part, f"{at}.{key}[{k}]", fields, depth + 1)
            return tests
        field_id = get(node, "field")
        if not isinstance(field_id, str):
            return 1  # the schema reports a test without a field
        info = fields.get(field_id)
        if info is None:
            known = ", ".join(fields) or "none"
            self.add(
                f"{at}.field",
                f'"{field_id}" is not a field of this task'
                f"{_did_you_mean(field_id, list(fields))}; its fields are: {known}",
            )
            return 1
        operators = [name for name in conditions.FITS if get(node, name) is not None]
        response_type = get(info, "response_type")
        if len(operators) != 1 or not isinstance(response_type, str):
            return 1  # the schema reports it
        operator, value = operators[0], get(node, operators[0])
        label = get(info, "label")
        named = f'"{label}"' if isinstance(label, str) else f'"{field_id}"'
        if not conditions.fits(operator, response_type):
            hint = ""
            if operator == "equals" and response_type == "multi_lookup":
                hint = "; use one_of: a multi_lookup holds several answers"
            self.add(
                f"{at}.{operator}",
                f"`{operator}` does not fit {named}, {_a(response_type)} field: it fits "
                f"{conditions.fitting_types(operator)} fields{hint}",
            )
            return 1
        if operator in ("is_true", "is_empty"):
            return 1  # true or false, which the schema checks
        options = [o for o in values(info, "options") if isinstance(o, str)]
        checked = (
            [(f"{at}.one_of[{k}]", item) for k, item in enumerate(values(node, "one_of"))]
            if operator == "one_of"
            else [(f"{at}.{operator}", value)]
        )
        for where, item in checked:
            try:
                conditions.read(str(response_type), options, item)
            except ValueError as error:
                self.add(where, f"{error}, as {named} is {_a(response_type)} field")
        return 1

    def _check_cycles(self, tasks: list[tuple[int, Any]], task_ids: list[str]) -> None:
        """Report each dependency cycle once, naming the tasks in it in order.

        Depth first without recursion: raw data may hold more tasks than the schema allows.
        """
        known = set(task_ids)
        index_of: dict[str, int] = {}
        # Each dependency as (task it names, where it names it: the entry, or its `task`).
        edges: dict[str, list[tuple[str, str]]] = {}
        for index, task in tasks:
            task_id = get(task, "id")
            if not isinstance(task_id, str) or task_id in index_of:
                continue
            index_of[task_id] = index
            edges[task_id] = [
                (target, f"depends_on[{k}]" if isinstance(dep, str) else f"depends_on[{k}].task")
                for k, dep in enumerate(values(task, "depends_on"))
                if isinstance(target := dep if isinstance(dep, str) else get(dep, "task"), str)
                and target in known
                and target != task_id
            ]
        on_path, finished = set(), set()
        reported: set[frozenset[str]] = set()
        for root in edges:
            if root in finished:
                continue
            path, stack = [root], [iter(edges[root])]
            on_path.add(root)
            while stack:
                for target, _ in stack[-1]:
                    if target in on_path:
                        cycle = path[path.index(target) :]
                        if frozenset(cycle) not in reported:
                            reported.add(frozenset(cycle))
                            self._report_cycle(cycle, index_of, edges)
                    elif target not in finished:
                        path.append(target)
                        on_path.add(target)
                        stack.append(iter(edges.get(target, [])))
                        break
                else:
                    stack.pop()
                    done = path.pop()
                    on_path.discard(done)
                    finished.add(done)

    def _report_cycle(
        self, cycle: list[str], index_of: dict[str, int], edges: dict[str, list[tuple[str, str]]]
    ) -> None:
        start = min(range(len(cycle)), key=lambda i: index_of[cycle[i]])
        cycle = cycle[start:] + cycle[:start]
        first, second = cycle[0], cycle[1 % len(cycle)]
        where = next(where for target, where in edges[first] if target == second)
        self.add(
            f"tasks[{index_of[first]}].{where}",
            f"dependency cycle {' -> '.join([*cycle, cycle[0]])}: each task waits for the next, "
            "so none of them could ever start; remove one of these dependencies",
        )

    # -- escalations ---------------------------------------------------------------------

    def _check_escalations(self, owner: Any, where: str) -> None:
        rules = entries(owner, "escalations")
        self._unique_ids(rules, where, "escalation rule")
        for index, rule in rules:
            at = f"{where}[{index}]"
            self._check_period(rule, at)
            self._check_duration(get(rule, "stagnation_after"), f"{at}.stagnation_after")
            self._check_duration(get(rule, "delay"), f"{at}.delay")
            self._check_action(rule, at, depth=0)

    def _check_action(self, action: Any, at: str, depth: int) -> None:
        repeat = get(action, "repeat")
        if repeat is not None:
            self._check_duration(get(repeat, "every"), f"{at}.repeat.every")
        children = entries(action, "follow_on")
        if children and depth >= limits.FOLLOW_ON_DEPTH:
            self.add(
                f"{at}.follow_on",
                f"follow-on rules nest more than {limits.FOLLOW_ON_DEPTH} levels deep here; "
                "put later steps beside each other with longer `after` periods instead",
            )
            return
        self._unique_ids(children, f"{at}.follow_on", "follow-on rule")
        for index, child in children:
            self._check_duration(get(child, "after"), f"{at}.follow_on[{index}].after")
            self._check_action(child, f"{at}.follow_on[{index}]", depth + 1)

    # -- periods -------------------------------------------------------------------------

    def _check_period(self, node: Any, where: str) -> None:
        period = Period.of(node)
        if not period.is_well_formed:
            self.add(
                _join(where, "effective_to"),
                f"{period.end} is before effective_from {period.start}; effective_to is the "
                "last day in effect, so it cannot come before the first: correct one of them",
            )

    # -- durations -----------------------------------------------------------------------

    def _check_sla(self, sla: Any, where: str) -> None:
        self._check_duration(get(sla, "target"), f"{where}.target")
        self._check_duration(get(sla, "warning"), f"{where}.warning")

    def _check_duration(self, text: Any, where: str) -> Duration | None:
        if not isinstance(text, str):
            return None
        try:
            duration = parse_duration(text)
        except DurationError as error:
            self.add(where, str(error))
            return None
        if (problem := _span_problem(duration, self.calendar)) is not None:
            self.add(where, problem)
            return None
        return duration

    # -- ids -----------------------------------------------------------------------------

    def _outcomes(self, owner: Any, where: str) -> list[tuple[int, Any]]:
        outcomes = entries(owner, "outcomes")
        self._unique_ids(outcomes, where, "outcome")
        return outcomes

    def _unique_ids(self, items: list[tuple[int, Any]], where: str, kind: str) -> list[str]:
        first: dict[str, int] = {}
        for index, item in items:
            item_id = get(item, "id")
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


def check_dated_rules(
    provision_type: ProvisionType | Mapping[str, Any],
    *,
    calendar: CalendarDefinition | None = None,
) -> list[TypeProblem]:
    """What breaks the rules of a type on some day it is in effect, though the type as a
    whole meets them: its tasks and escalation rules have periods of their own, and on
    each day only those in effect then are part of a case that opens.

    What is in effect changes only on a day a period starts or the day after one ends, so
    the rules are asked on the first day of each stretch in between, within the type's own
    period. Each problem is reported once, at the field as the file writes it, with the
    first day it happens; a part that is never in effect within its type (or its task) is
    a problem too. Takes a `ProvisionType` or its raw mapping, like `check_provision_type`;
    what that already reports (malformed periods included) is not reported again.
    """
    whole = Period.of(provision_type)
    problems: list[TypeProblem] = []
    if not whole.is_well_formed:
        return problems
    parts = list(_dated_parts(provision_type, whole))
    for where, kind, period, within in parts:
        if not period.is_well_formed or period.overlaps(within):
            continue
        late = period.start is not None and within.end is not None and period.start > within.end
        field = "effective_from" if late else "effective_to"
        problems.append(
            TypeProblem(
                _join(where, field),
                f"the {kind} is in effect {period} and its {_owner(kind)} {within}, so the "
                f"{kind} is never part of a case; correct its dates or remove it",
            )
        )
    days = first_days(whole, [period for _, _, period, _ in parts if period.is_well_formed])
    if not days:
        return problems
    reported = {p.location for p in problems}
    reported |= {p.location for p in check_provision_type(provision_type, calendar=calendar)}
    reported |= {p.location for p in check_publishing_rules(provision_type)}
    for day in days:
        on_day = _AsOn(provision_type, day)
        found = [(p, False) for p in _missing_on(provision_type, day)]
        found += [(p, True) for p in _Rules(calendar).check(on_day)]
        found += [(p, True) for p in check_publishing_rules(on_day)]
        for problem, general in found:
            if problem.location in reported:
                continue
            reported.add(problem.location)
            message = f"on {day}: {problem.message}" if general else problem.message
            problems.append(TypeProblem(problem.location, message))
    return problems


def _dated_parts(data: Any, whole: Period) -> Iterator[tuple[str, str, Period, Period]]:
    """Each task and escalation rule: where it is, what it is, its period, and the period
    it lies within (its type's, or for a task's rule, the days both its task and its type
    are in effect)."""
    for index, rule in entries(data, "escalations"):
        yield f"escalations[{index}]", "escalation rule", Period.of(rule), whole
    for index, task in entries(data, "tasks"):
        where, period = f"tasks[{index}]", Period.of(task)
        yield where, "task", period, whole
        if period.is_well_formed and period.overlaps(whole):
            for k, rule in entries(task, "escalations"):
                yield (
                    f"{where}.escalations[{k}]",
                    "task's escalation rule",
                    Period.of(rule),
                    period.intersection(whole),
                )


def _owner(kind: str) -> str:
    return "task" if kind == "task's escalation rule" else "type"


def _missing_on(data: Any, day: date) -> list[TypeProblem]:
    """The mistakes periods make on ``day``, said in their own words: no task in effect,
    none automatic, a task in effect that waits for or adds one that is not."""
    tasks = entries(data, "tasks")
    periods = {
        task_id: Period.of(task) for _, task in tasks if isinstance(task_id := get(task, "id"), str)
    }
    live = [(i, t) for i, t in tasks if Period.of(t).covers(day)]
    if tasks and not live:
        return [
            TypeProblem(
                "tasks",
                f"no task is in effect on {day}, while the type is ({Period.of(data)}), so a "
                "case opening that day would have nothing to do; extend a task's period or "
                "end the type's sooner",
            )
        ]
    found = []
    if live and all(get(t, "automatic") is False for _, t in live):
        found.append(
            TypeProblem(
                "tasks",
                f"no task in effect on {day} is automatic, so a case opening that day would "
                "open with nothing to do; extend an automatic task's period",
            )
        )

    def gone(target: Any) -> bool:
        return isinstance(target, str) and target in periods and not periods[target].covers(day)

    for index, task in live:
        where = f"tasks[{index}]"
        for k, dep in enumerate(values(task, "depends_on")):
            target = dep if isinstance(dep, str) else get(dep, "task")
            if gone(target):
                at = f"{where}.depends_on[{k}]" + ("" if isinstance(dep, str) else ".task")
                found.append(
                    TypeProblem(
                        at,
                        f'"{target}" is not in effect on {day} (it is {periods[target]}), but '
                        f"this task is, and would wait for a task its case never has; end "
                        f'this task when "{target}" ends, or extend "{target}"',
                    )
                )
        adders = [(f"{where}.outcomes[{j}]", o) for j, o in entries(task, "outcomes")]
        adders += [(f"{where}.paths[{j}]", p) for j, p in entries(task, "paths")]
        for at, adder in adders:
            for k, added in enumerate(values(adder, "adds_tasks")):
                if gone(added):
                    found.append(
                        TypeProblem(
                            f"{at}.adds_tasks[{k}]",
                            f'adds "{added}", which is not in effect on {day} (it is '
                            f"{periods[added]}), though this task is; end this path when "
                            f'"{added}" ends, or extend "{added}"',
                        )
                    )
    return found


class _AsOn(Mapping[str, Any]):
    """A type, or one of its tasks, as in effect on one day: its tasks and escalation
    rules not in effect read as nothing, so those in effect keep their indexes and every
    rule locates its problems as the file writes them."""

    def __init__(self, node: Any, day: date) -> None:
        self._node = node
        self._day = day

    def _keys(self) -> list[str]:
        if isinstance(self._node, BaseModel):
            return list(type(self._node).model_fields)
        return [key for key in self._node if isinstance(key, str)]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        value = get(self._node, key)
        if key in ("tasks", "escalations") and isinstance(value, list | tuple):
            return [
                (_AsOn(item, self._day) if key == "tasks" else item)
                if _is_mapping(item) and Period.of(item).covers(self._day)
                else None
                for item in value
            ]
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


def check_publishing_rules(provision_type: ProvisionType | Mapping[str, Any]) -> list[TypeProblem]:
    """What a definition must also get right to be published, though a case would run.

    Takes a `ProvisionType` or its raw mapping, like `check_provision_type`.
    """
    problems: list[TypeProblem] = []

    def add(location: str, message: str) -> None:
        problems.append(TypeProblem(location, message))

    owners = [("", "type", provision_type)]
    owners += [(f"tasks[{i}].", "task", task) for i, task in entries(provision_type, "tasks")]
    for prefix, kind, owner in owners:
        sla = get(owner, "sla")
        for at, message in _sla_mistakes(sla):
            add(f"{prefix}sla.{at}", message)
        for index, rule in entries(owner, "escalations"):
            trigger = get(rule, "trigger")
            if trigger in ("warning", "breach") and not _is_mapping(sla):
                add(
                    f"{prefix}escalations[{index}].trigger",
                    f"a {trigger} rule needs an SLA to count from; give this {kind} an `sla` "
                    "or use a stagnation rule",
                )
            elif trigger == "warning" and _is_mapping(sla) and not get(sla, "warning"):
                add(
                    f"{prefix}escalations[{index}].trigger",
                    "a warning rule needs the SLA's `warning` period; add one to the `sla`",
                )
    for at, message in _address_mistakes(provision_type):
        add(at, message)
    for index, outcome in entries(provision_type, "outcomes"):
        if values(outcome, "adds_tasks"):
            add(
                f"outcomes[{index}].adds_tasks",
                "a case outcome closes the case, so it cannot add tasks; "
                "put this workflow path on a task outcome instead",
            )
    for t, task in entries(provision_type, "tasks"):
        for index, outcome in entries(task, "outcomes"):
            if get(outcome, "follow_on_type") is not None:
                add(
                    f"tasks[{t}].outcomes[{index}].follow_on_type",
                    "only case outcomes open follow-on cases; move follow_on_type to an "
                    "outcome under the type's `outcomes`",
                )
        for index, path in entries(task, "paths"):
            if get(path, "completes_case") is not None and values(path, "adds_tasks"):
                add(
                    f"tasks[{t}].paths[{index}].adds_tasks",
                    "this path also completes the case, which cancels what is in progress, so "
                    "the tasks it adds would be cancelled at once; put them on a path of their own",
                )
        labels: dict[str, int] = {}
        for index, info in entries(task, "fields"):
            label = get(info, "label")
            if not isinstance(label, str):
                continue
            key = label.strip().casefold()
            if key in labels:
                add(
                    f"tasks[{t}].fields[{index}].label",
                    f'"{label}" is also the label of tasks[{t}].fields[{labels[key]}]; '
                    "labels must differ so people can tell the fields apart",
                )
            else:
                labels[key] = index
    return problems


def _address_mistakes(provision_type: Any) -> Iterator[tuple[str, str]]:
    """Each fixed address a rule or path notifies that is not an email address, checked as
    the directory checks its own (`definitions.addresses`); one too long for any address
    is the schema's to report."""
    for at, action in actions(provision_type):
        for index, address in enumerate(values(get(action, "notify"), "addresses")):
            if not isinstance(address, str) or len(address) > limits.ADDRESS_LENGTH:
                continue
            if (problem := address_problem(address)) is not None:
                yield f"{at}.notify.addresses[{index}]", problem


def _sla_mistakes(sla: Any) -> list[tuple[str, str]]:
    """A warning period that is not shorter than its target (durations that parse only)."""
    target_text, warning_text = get(sla, "target"), get(sla, "warning")
    if not isinstance(target_text, str) or not isinstance(warning_text, str):
        return []
    try:
        target, warning = parse_duration(target_text), parse_duration(warning_text)
    except DurationError:
        return []  # check_provision_type reports it
    if _shorter(warning, target):
        return []
    return [
        (
            "warning",
            f'"{warning_text}" is not shorter than the target "{target_text}"; the warning '
            "point falls this long before the target, so make it shorter",
        )
    ]


def _span_problem(duration: Duration, calendar: CalendarDefinition | None) -> str | None:
    """Why ``duration`` would run for longer than `SPAN_DAYS` in ``calendar``, if it would."""
    if not duration.is_working_time or not isinstance(calendar, WorkingTimeCalendarDefinition):
        return None  # calendar time, or around the clock: MAXIMUM already bounds it
    days_a_week = len(calendar.working_days)
    per_week: float
    if duration.unit is DurationUnit.WORKING_DAYS:
        per_week, what = days_a_week, f"{days_a_week} working days a week"
    else:
        opens = calendar.opens.hour * 60 + calendar.opens.minute
        closes = calendar.closes.hour * 60 + calendar.closes.minute
        per_week = days_a_week * (closes - opens) / 60
        what = f"{per_week:g} working hours a week"
    if per_week <= 0 or duration.amount / per_week * 7 <= SPAN_DAYS:
        return None
    years = duration.amount / per_week / 52.18
    most = math.floor(SPAN_DAYS / 7 * per_week)
    return (
        f'"{duration}" would run for about {years:.0f} years in the calendar '
        f'"{calendar.id}" ({what}); a duration may run for at most about ten years of its '
        f"calendar, here at most {most:,} {duration.unit.words(most)}"
    )


def _shorter(warning: Duration, target: Duration) -> bool:
    """Whether the warning is shorter; True when only a calendar or a start could tell.

    Working units depend on a calendar, and months on where they start (28 to 31 days), so
    the comparison is conservative: False only when the warning is at least the target
    wherever the clock starts.
    """
    if warning.unit == target.unit:
        return warning.amount < target.amount
    if warning.is_working_time or target.is_working_time:
        return True
    shortest_warning, _ = _length_bounds(warning, target)
    _, longest_target = _length_bounds(target, warning)
    return shortest_warning < longest_target


_ZERO_TIME = timedelta(0)
_HOUR = timedelta(hours=1)
_DAY_UNITS = (DurationUnit.MONTHS, DurationUnit.WEEKS, DurationUnit.DAYS)


def _length_bounds(duration: Duration, other: Duration) -> tuple[timedelta, timedelta]:
    """The shortest and longest ``duration`` can be, measured for comparing with ``other``.

    Days, weeks and months are all wall-clock days, so against each other they compare in
    days; against hours, minutes or seconds a month may also gain or lose the hour of a
    clock change. Fixed units keep their nominal length, as before months existed.
    """
    if duration.has_fixed_length:
        return duration.to_timedelta(), duration.to_timedelta()
    shortest, longest = _month_span_days(duration.amount)
    slack = _ZERO_TIME if other.unit in _DAY_UNITS else _HOUR
    return timedelta(days=shortest) - slack, timedelta(days=longest) + slack


_MONTH_SPAN_STARTS = (date(2097, 1, 1), date(2104, 12, 31))
"""Start days that see every month length: leap years every four, and 2100, which is not."""


@functools.lru_cache(maxsize=128)
def _month_span_days(months: int) -> tuple[int, int]:
    """The fewest and most days ``months`` months span, over every start day of the month
    (a month after 31 January is the last day of February)."""
    first, last = _MONTH_SPAN_STARTS
    shortest = longest = None
    day = first
    while day <= last:
        years, index = divmod(day.month - 1 + months, 12)
        year, month = day.year + years, index + 1
        end = date(year, month, min(day.day, gregorian.monthrange(year, month)[1]))
        span = (end - day).days
        shortest = span if shortest is None else min(shortest, span)
        longest = span if longest is None else max(longest, span)
        day += timedelta(days=1)
    assert shortest is not None and longest is not None
    return shortest, longest


def _unknown_task(task_id: str, task_ids: list[str]) -> str:
    known = ", ".join(task_ids) if task_ids else "(none)"
    return (
        f'"{task_id}" is not a task of this type{_did_you_mean(task_id, task_ids)}; '
        f"tasks are: {known}"
    )


def _did_you_mean(value: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _aliased(node: Any, key: str) -> Any:
    """``key`` of raw data, or of a model whose field is spelt with a trailing underscore
    because the key is a Python keyword (`Recurrence.for_`)."""
    if isinstance(node, BaseModel):
        return getattr(node, f"{key}_", None)
    found = get(node, key)
    return found if found is not None else get(node, f"{key}_")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _joined(node: Any, key: str) -> list[Any]:
    """The conditions under `all` or `any` of a condition, raw or a model (whose
    attributes are `all_` and `any_`), up to their limit."""
    if isinstance(node, BaseModel):
        found = getattr(node, f"{key}_", None)
        return list(found[: limits.CONDITION_PARTS]) if isinstance(found, tuple) else []
    return values(node, key)


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping | BaseModel)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
