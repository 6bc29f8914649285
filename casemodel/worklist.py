"""What a housing officer's worklist shows of a task: its due points, SLA state and what
it waits for, and which tasks a register write must carry so those stay true.

The case register keeps these figures on each task row, worked out from the case at each
register write, so that the worklist is one query across every case, without Temporal.
A due point moves only when the case logs something (a task opens, a pause ends, a hold,
a revised target), and each such change rewrites the rows it moves (`recorded_keys`).
The passing of time moves no due point, only the state: so the state the worklist shows
is worked out again when it is read (`state_at`), from the stored points and the time of
reading; only a clock that is stopped (the case paused, the task held) keeps the state
it was written with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from definitions.durations import Duration, DurationError, parse_duration

from .case import Case
from .sla import ClockState
from .state import LogEntry, TaskInstance, TaskStatus

WAITS_SEPARATOR = "; "
"""Between the things a blocked task waits for, in the register's one text column (a
single description may itself hold commas)."""

MOVES_EVERY_CLOCK = frozenset({"case_paused", "case_resumed"})
"""Log entries about the whole case that move (or stop) every task's clock and lag."""


@dataclass(frozen=True)
class TaskFigures:
    """A task's figures as the register keeps them, as of one instant."""

    warning_at: datetime | None
    due_at: datetime | None
    sla_state: ClockState | None
    """The clock's state at that instant; None for a task without a running clock."""
    held: bool
    waits_for: str | None
    """What a blocked task waits for, in words; None for one that waits for nothing."""
    opens_at: datetime | None
    """When a blocked task opens, where that is known: an occurrence of a recurring task
    when it falls due, a task waiting only for the agreed lag after its dependencies when
    the lag is over."""


def figures(case: Case, task: TaskInstance, now: datetime) -> TaskFigures:
    """The figures of `task` as its case stands at `now`."""
    clock = case.clock_of(task.key, now)
    held = bool(task.holds) and task.holds[-1].end is None
    waits: list[str] = []
    opens_at = task.opens_at
    if task.status is TaskStatus.blocked:
        waits = case.waiting_for(task, now)
        if opens_at is None and not case._waits_on_tasks(task):
            opens_at = case.ready_at(task, now)
    return TaskFigures(
        warning_at=clock.warning_at if clock else None,
        due_at=clock.due_at if clock else None,
        # A blocked task of a paused case opens no sooner than it resumes: stopped too.
        sla_state=clock.state
        if clock
        else (ClockState.paused if case.state.paused and task.active else None),
        held=held,
        waits_for=WAITS_SEPARATOR.join(waits) if waits else None,
        opens_at=opens_at,
    )


def state_at(
    stored: str | None,
    *,
    held: bool,
    warning_at: datetime | None,
    due_at: datetime | None,
    now: datetime,
) -> ClockState | None:
    """The SLA state of a register row at `now`: from its due points, except that a clock
    stopped when the row was written (a paused case, a held task) stays stopped, since
    resuming or releasing it rewrites the row. None for a task with no due point."""
    if due_at is None:
        return None
    if held or stored == ClockState.paused.value:
        return ClockState.paused
    if stored in (ClockState.met.value, ClockState.missed.value, ClockState.cancelled.value):
        return ClockState(stored)
    if now >= due_at:
        return ClockState.breached
    if warning_at is not None and now >= warning_at:
        return ClockState.warning
    return ClockState.on_track


def recorded_keys(case: Case, entries: Iterable[LogEntry]) -> set[str]:
    """The tasks whose register rows a write of `entries` must rewrite.

    Each task a log entry names (every change to a task is logged under its key); every
    task in progress when the case was paused or resumed (their clocks and lags stop or
    move on, with nothing logged under their keys); and each blocked task that depends on
    a task that changed (what it waits for reads differently now).
    """
    entries = list(entries)
    keys = {entry.task_key for entry in entries if entry.task_key}
    in_progress = case.in_progress()
    if any(entry.kind in MOVES_EVERY_CLOCK for entry in entries):
        return keys | {task.key for task in in_progress}
    if not keys:
        return keys
    changed = {task.task for task in case.state.tasks if task.key in keys}
    waiting = [t for t in in_progress if t.status is TaskStatus.blocked and t.key not in keys]
    for task in waiting:
        if any(d.task in changed for d in case.definition(task).depends_on):
            keys.add(task.key)
    return keys


# --- reading a period -----------------------------------------------------------------

SHORTHANDS = {
    "wd": "working days",
    "wh": "working hours",
    "w": "weeks",
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
}
"""Short forms a person types at the command line: `5d`, `2wd`, `36h`."""
_SHORT = re.compile(r"(?P<amount>[0-9]+)\s*(?P<unit>[A-Za-z]+)")


def read_period(text: str) -> Duration:
    """A period as the definitions write durations (`5 days`, `2 working days`), or in
    short (`5d`, `2wd`, `36h`, `2w`, `90min`, `30s`); raises `DurationError` saying which
    forms are accepted."""
    short = _SHORT.fullmatch(text.strip())
    if short is not None and short["unit"].lower() in SHORTHANDS:
        text = f"{short['amount']} {SHORTHANDS[short['unit'].lower()]}"
    try:
        return parse_duration(text)
    except DurationError as error:
        forms = ", ".join(f"{key} ({words})" for key, words in SHORTHANDS.items())
        raise DurationError(f"{error}; or in short: {forms}") from None
