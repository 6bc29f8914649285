"""Advice on a provision type: what would not stop its cases, but would surprise its author.

`definitions validate` refuses what a case cannot run on (`definitions.invariants`); this
module finds what a case would run on badly, which only calendar arithmetic can tell, so
it lives beside the calendars rather than in `definitions`. `advise` is the one entry
point: a pure function of a type, its calendar and ``now``, returning located warnings.

* **Occurrences that pile up**: a recurring task (`from: schedule`) whose interval is
  shorter than its own SLA target opens its next occurrence before the last is due.
  Counted in the type's calendar from an *ordinary start*: opening time on the first
  working day of the coming February (a month with no bank holiday in any UK nation),
  midnight on 1 February for a calendar that never closes. A series that counts from
  completion never piles up: the next falls due after the previous was completed.
* **SLA synchronisation**: the longest chain of dependencies of a case (automatic tasks
  joined by `depends_on`; each task takes its full SLA target, each dependency its lag, a
  task with no SLA only passes the lags on) that ends after the case target. Counted in
  the type's calendar from the *worst-case start*, said in the message: one minute before
  closing on the last working day before the longest closure of the year ahead (Christmas
  and its bank holidays in the UK calendars), when a working-day target is furthest from
  calendar time; and from the ordinary start too, when months are shortest. The start
  with the later overrun is reported. A recurring task in a chain takes its whole series:
  `times` occurrences, or those falling within `for`, each due at its target (a series
  bounded only by `until_outcome` counts its first occurrence, since nobody can say when
  the outcome comes).

A case of the type opening on the start's day gets only the tasks in effect that day
(`definitions.effective.in_effect`), so the chain is worked out on those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from definitions import limits
from definitions.calendars import CalendarDefinition
from definitions.durations import Duration, DurationError, parse_duration
from definitions.effective import NotInEffect, in_effect
from definitions.schema import ProvisionType, RecurrenceFrom, TaskDefinition

from .calendars import UTC, Calendar, WorkingCalendar, calendar_for

__all__ = ["StatedStart", "TypeWarning", "advise", "ordinary_start", "worst_case_start"]

YEAR_AHEAD = 366
"""Days looked ahead of ``now`` for the longest closure."""
BEFORE_CLOSING = timedelta(minutes=1)
_ONE_DAY = timedelta(days=1)
ARROW = " → "


@dataclass(frozen=True)
class TypeWarning:
    """One piece of advice, located by field path inside the type, e.g. ``sla.target``."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass(frozen=True)
class StatedStart:
    """A start the advice counts from, and why that one, in words for the message."""

    at: datetime
    why: str


def advise(
    provision_type: ProvisionType,
    now: datetime,
    *,
    calendar: CalendarDefinition | None = None,
) -> list[TypeWarning]:
    """Every warning for ``provision_type``, in the order of its fields; empty when none.

    ``calendar`` is the definition the type counts in, for a type that does not carry its
    `resolved_calendar` yet (the loader's models); by default the one it carries, and
    around the clock when there is none. ``now`` fixes the year ahead the starts are
    chosen in, so the advice is the same for the same day.
    """
    definition = calendar if calendar is not None else provision_type.resolved_calendar
    counting = calendar_for(definition)
    ordinary = ordinary_start(counting, now)
    warnings = []
    starts = [worst_case_start(counting, now), ordinary]
    found = [
        overrun
        for start in starts
        if (overrun := _overrun(provision_type, counting, start)) is not None
    ]
    if found:
        worst = max(found, key=lambda overrun: overrun.by)
        warnings.append(TypeWarning("sla.target", worst.message(counting)))
    return warnings + _piling_up(provision_type, counting, ordinary)


# -- the starts ---------------------------------------------------------------------------


def worst_case_start(calendar: Calendar, now: datetime) -> StatedStart:
    """One minute before closing on the last working day before the longest closure in
    the year after ``now`` (the earliest of equally long ones); for a calendar that never
    closes, the ordinary start."""
    if not isinstance(calendar, WorkingCalendar):
        return ordinary_start(calendar, now)
    today = calendar.to_local(now).date()
    best: tuple[int, date, date] | None = None  # (closed days, last open day, reopens)
    last_open: date | None = None
    closed = 0
    for offset in range(YEAR_AHEAD + 1):
        day = today + offset * _ONE_DAY
        if calendar.is_open_day(day):
            if last_open is not None and closed and (best is None or closed > best[0]):
                best = (closed, last_open, day)
            last_open, closed = day, 0
        else:
            closed += 1
    if best is None:
        return ordinary_start(calendar, now)
    _, last_open, reopens = best
    at = calendar.opening_hours(last_open)[1] - BEFORE_CLOSING
    why = (
        f"one minute before closing on the last working day before the longest closure of "
        f"the year ahead (closed {_day(last_open + _ONE_DAY)} to {_day(reopens - _ONE_DAY)})"
    )
    return StatedStart(at, why)


def ordinary_start(calendar: Calendar, now: datetime) -> StatedStart:
    """Opening time on the first working day of the first February after ``now``: no
    UK bank holiday falls in February, and it is the shortest month; midnight on the
    1st for a calendar that never closes."""
    today = calendar.to_local(now).date()
    first = date(today.year + (today.month >= 2), 2, 1)
    if not isinstance(calendar, WorkingCalendar):
        at = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        return StatedStart(at, "the start of the first February ahead")
    day = first
    for _ in range(YEAR_AHEAD):
        if calendar.is_open_day(day):
            break
        day += _ONE_DAY
    at = calendar.opening_hours(day)[0]
    return StatedStart(at, "opening time on the first working day of the first February ahead")


# -- occurrences that pile up -----------------------------------------------------------


def _piling_up(
    provision_type: ProvisionType, calendar: Calendar, start: StatedStart
) -> list[TypeWarning]:
    warnings = []
    for index, task in enumerate(provision_type.tasks):
        recurrence = task.recurrence
        if recurrence is None or task.sla is None or recurrence.from_ is RecurrenceFrom.completion:
            continue
        every, target = _duration(recurrence.every), _duration(task.sla.target)
        if every is None or target is None:
            continue
        opens, due = _add(calendar, start.at, every), _add(calendar, start.at, target)
        if opens is None or due is None or opens >= due:
            continue
        warnings.append(
            TypeWarning(
                f"tasks[{index}].recurrence.every",
                f'"{every}" is shorter than the task\'s own SLA target "{target}", so '
                f"occurrences would pile up: from {_at(calendar, start.at)} ({start.why}, "
                f"in the calendar {calendar.name}), the next occurrence opens "
                f"{_at(calendar, opens)}, before this one is due {_at(calendar, due)}; make "
                "the interval longer or the target shorter, or count from completion",
            )
        )
    return warnings


# -- SLA synchronisation ---------------------------------------------------------------


@dataclass(frozen=True)
class _Overrun:
    chain: tuple[str, ...]
    ends: datetime
    case_due: datetime
    start: StatedStart

    @property
    def by(self) -> timedelta:
        return self.ends - self.case_due

    def message(self, calendar: Calendar) -> str:
        return (
            f"the longest chain of tasks, {ARROW.join(self.chain)}, ends "
            f"{_at(calendar, self.ends)} when each task takes its full SLA target, after the "
            f"case target, {_at(calendar, self.case_due)}: counted in the calendar "
            f"{calendar.name} from a start {_at(calendar, self.start.at)}, {self.start.why}; "
            "give the case more time, or its tasks less"
        )


def _overrun(
    provision_type: ProvisionType, calendar: Calendar, start: StatedStart
) -> _Overrun | None:
    """The chain that ends latest from ``start``, if it ends after the case target."""
    if provision_type.sla is None:
        return None
    target = _duration(provision_type.sla.target)
    case_due = _add(calendar, start.at, target) if target is not None else None
    if case_due is None:
        return None
    opening = _as_opened(provision_type, calendar.to_local(start.at).date())
    chain = _longest_chain(opening, calendar, start.at)
    if chain is None or chain[1] <= case_due:
        return None
    return _Overrun(chain[0], chain[1], case_due, start)


def _as_opened(provision_type: ProvisionType, day: date) -> ProvisionType:
    try:
        return in_effect(provision_type, day)
    except NotInEffect:
        return provision_type


def _longest_chain(
    provision_type: ProvisionType, calendar: Calendar, start: datetime
) -> tuple[tuple[str, ...], datetime] | None:
    """The automatic tasks, in dependency order, whose chain ends latest, and when.

    Each task opens when the last of the automatic tasks it depends on is done, plus that
    dependency's lag (at the case start when it depends on none) and is done at the end
    of its SLA target (or series); ties go to the task that comes first in the type.
    Only a chain that ends in a mandatory task can hold the case open past its target: an
    optional task (a series beside the plan, say) is cancelled when the case completes.
    """
    automatic = {task.id: task for task in provision_type.tasks if task.automatic}
    done: dict[str, tuple[tuple[str, ...], datetime]] = {}
    for task in _in_dependency_order(automatic):
        chain: tuple[str, ...] = ()
        latest: datetime | None = None
        for dependency in task.depends_on:
            if dependency.task not in done:
                continue
            before, finished = done[dependency.task]
            lag = _duration(dependency.lag) if dependency.lag else None
            ready = _add(calendar, finished, lag) if dependency.lag else finished
            if ready is None:
                return None
            if latest is None or ready > latest:
                chain, latest = before, ready
        opens = start if latest is None else max(start, latest)
        ends = _task_done(calendar, task, opens)
        if ends is None:
            return None
        done[task.id] = ((*chain, task.id), ends)
    holding = [found for task_id, found in done.items() if automatic[task_id].mandatory]
    if not holding:
        return None
    return max(holding, key=lambda found: found[1])


def _in_dependency_order(tasks: dict[str, TaskDefinition]) -> list[TaskDefinition]:
    """Each task after the tasks it depends on (the rules of a type forbid cycles)."""
    ordered: list[TaskDefinition] = []
    placed: set[str] = set()
    waiting = list(tasks.values())
    while waiting:
        ready = [
            task
            for task in waiting
            if all(d.task in placed or d.task not in tasks for d in task.depends_on)
        ]
        if not ready:  # a cycle: not a type a case runs on; advise on what is ordered
            break
        ordered += ready
        placed |= {task.id for task in ready}
        waiting = [task for task in waiting if task.id not in placed]
    return ordered


def _task_done(calendar: Calendar, task: TaskDefinition, opens: datetime) -> datetime | None:
    """When ``task`` is done if it opens at ``opens`` and takes its whole target: the
    last occurrence's due point for a recurring task."""
    target = _duration(task.sla.target) if task.sla else None

    def due(at: datetime) -> datetime | None:
        return _add(calendar, at, target) if target is not None else at

    recurrence = task.recurrence
    first_due = due(opens)
    if recurrence is None or first_due is None:
        return first_due
    every = _duration(recurrence.every)
    period = _duration(recurrence.for_) if recurrence.for_ else None
    last_opening = _add(calendar, opens, period) if period is not None else None
    if every is None or (period is not None and last_opening is None):
        return first_due
    occurrences = recurrence.times or (limits.OCCURRENCES if last_opening else 1)
    opened, ends = opens, first_due
    for _ in range(occurrences - 1):
        anchor = opened if recurrence.from_ is RecurrenceFrom.schedule else ends
        following = _add(calendar, anchor, every)
        if following is None or (last_opening is not None and following > last_opening):
            break
        following_due = due(following)
        if following_due is None:
            break
        opened, ends = following, max(ends, following_due)
    return ends


# -- small helpers ------------------------------------------------------------------------


def _duration(text: str | None) -> Duration | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except DurationError:
        return None  # the rules of a type report it


def _add(calendar: Calendar, start: datetime, duration: Duration | None) -> datetime | None:
    if duration is None:
        return None
    try:
        return calendar.add(start, duration)
    except ValueError:  # past the year 9999
        return None


def _at(calendar: Calendar, instant: datetime) -> str:
    return f"{calendar.to_local(instant):%a %Y-%m-%d %H:%M}"


def _day(day: date) -> str:
    return f"{day:%a %Y-%m-%d}"
