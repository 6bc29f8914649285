"""The rules of recurring tasks: each occurrence a task instance, the series what is to come.

A mixin of `Case`, like `CaseTime` and `CaseMemory`. When the first occurrence of a
recurring task opens, its series begins. The next occurrence joins the plan at once,
`blocked` until it falls due (its `opens_at`; it waits for "the next occurrence, due ..."):
on a `schedule` cadence when the one before opens, so it opens on time even while the last
is still open and late on its own clock; on a `completion` cadence when the one before is
done. So while a series runs it always has an instance in progress, and a task that
depends on it waits until the series has ended and its last occurrence is resolved.

A series ends after `times` occurrences, when the next would fall due at or after its `for`
period's end, when an occurrence is completed with `until_outcome`, when a person stops it
(`stop_recurrence`), when one of its occurrences is cancelled, with the case, and when its
next occurrence would take the case past the tasks a plan may hold in progress
(`MAX_IN_PROGRESS`, 200; `limit`): occurrences nobody completes, falling due for years,
would otherwise grow the case without end, past what it can show or hand over. Ending
cancels the occurrence still waiting to fall due; occurrences already open stay open: they
are work that fell due. The dates themselves are `casemodel.series`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from definitions.schema import RecurrenceFrom

from . import errors
from .instants import when
from .rules import PILE_UP_2026_12, RULES_2026_12, Since
from .series import next_occurrence
from .state import DONE, MAX_IN_PROGRESS, Series, TaskInstance, TaskStatus

if TYPE_CHECKING:
    from definitions.schema import ProvisionType, Recurrence, TaskDefinition

    from .calendars import Calendar
    from .state import CaseState, LogEntry

SERIES = "series"
"""Who the log says added an occurrence or ended a series by itself."""


class CaseSeries:
    state: CaseState
    _definitions: dict[str, TaskDefinition]
    since: Since

    if TYPE_CHECKING:

        @property
        def calendar(self) -> Calendar: ...
        @property
        def type(self) -> ProvisionType: ...

        def _log(
            self, now: datetime, kind: str, by: str, task_key: str | None = ..., detail: str = ...
        ) -> list[LogEntry]: ...
        def _require_open_case(self) -> None: ...
        def _release(self, now: datetime, by: str) -> None: ...
        def _complete_case_if_done(self, now: datetime, by: str) -> None: ...
        def _instances_of(self, task_id: str) -> list[TaskInstance]: ...
        def in_progress(self) -> list[TaskInstance]: ...
        def _append_instance(
            self,
            definition: TaskDefinition,
            now: datetime,
            by: str,
            *,
            note: str | None = ...,
            added_by_task: str | None = ...,
        ) -> TaskInstance: ...
        def instance(self, ref: str) -> TaskInstance: ...
        def definition(self, task: TaskInstance) -> TaskDefinition: ...

    # -- reading -----------------------------------------------------------------------

    def series_of(self, task_id: str) -> Series | None:
        """The series of a recurring task definition, once its first occurrence opened."""
        return self.state.series.get(task_id)

    def upcoming(self, task_id: str) -> TaskInstance | None:
        """The occurrence of a running series still waiting to fall due, if any."""
        return next(
            (
                t
                for t in self._instances_of(task_id)
                if t.status is TaskStatus.blocked and t.opens_at is not None
            ),
            None,
        )

    def occurrence_number(self, definition: TaskDefinition) -> int | None:
        """The place a new instance of `definition` takes in its series: 1 for the first of
        a new series; None for one added by hand beside a running series, or for a task
        that does not recur."""
        if definition.recurrence is None:
            return None
        series = self.series_of(definition.id)
        if series is not None and not series.ended:
            return None
        pending = any(t.active and t.occurrence == 1 for t in self._instances_of(definition.id))
        return None if pending else 1

    # -- what happens to occurrences ---------------------------------------------------

    def _occurrence_opened(self, task: TaskInstance, now: datetime) -> None:
        """Begin the series at its first occurrence; on a schedule, plan the next."""
        recurrence = self._definitions[task.task].recurrence
        if recurrence is None or task.occurrence is None:
            return
        series = self.series_of(task.task)
        if task.occurrence == 1 and (series is None or series.ended):
            if series is not None and self._ended_after(series, task):
                return  # its series ended (stopped, say): opening again begins no other
            series = Series(task=task.task, first_at=task.opened_at or now, occurrences=1)
            self.state.series[task.task] = series
        if series is None or series.ended:
            return
        # An occurrence opens again after an undo blocked it (a dependency was undone and
        # done again): the series already has its next on the way.
        if recurrence.from_ is RecurrenceFrom.schedule and self.upcoming(task.task) is None:
            self._plan_next(series, recurrence, now, last=task)

    def _ended_after(self, series: Series, task: TaskInstance) -> bool:
        """Whether `series` ended after `task`, its first occurrence, was added: the task
        opens again (what it depends on was undone and done again), but its series has
        ended and a new one begins only with a first occurrence added since. Before the
        December 2026 rules a series began again, so that a series a person had stopped
        went on, unasked (histories from then replay so)."""
        ended = series.ended_at
        return (
            ended is not None
            and task.added_at < ended
            and self.since(RULES_2026_12)  # asked only here, where the rule decides
        )

    def _occurrence_done(self, task: TaskInstance, now: datetime, by: str) -> None:
        """An occurrence completed or bypassed: the series may end here, or plan the next."""
        recurrence = self._definitions[task.task].recurrence
        series = self.series_of(task.task)
        if recurrence is None or series is None or series.ended or task.occurrence is None:
            return
        if recurrence.until_outcome and task.outcome == recurrence.until_outcome:
            self._end_series(
                series, now, by, "outcome", f"{task.key} was completed with {task.outcome}"
            )
            return
        if recurrence.from_ is RecurrenceFrom.completion and self.upcoming(task.task) is None:
            series.last_done_at = task.resolved_at or now
            self._plan_next(series, recurrence, now, last=task)

    def _occurrence_undone(self, task: TaskInstance) -> None:
        """Undoing the completion that planned the next occurrence (a `completion` cadence)
        takes that occurrence back: the series counts it no more, and plans it again when
        the occurrence is next done."""
        series = self.series_of(task.task)
        waiting = self.upcoming(task.task)
        if series is None or series.ended or waiting is None or waiting.added_by_task != task.key:
            return
        series.occurrences -= 1
        series.next_at = None

    def _plan_next(
        self, series: Series, recurrence: Recurrence, now: datetime, *, last: TaskInstance
    ) -> None:
        due = next_occurrence(
            self.calendar,
            recurrence,
            first_at=series.first_at,
            occurrences=series.occurrences,
            last_done_at=series.last_done_at,
            stops=self.state.pauses,
        )
        if due is None:
            bound = (
                "times" if recurrence.times and series.occurrences >= recurrence.times else "for"
            )
            why = (
                f"{series.occurrences} occurrences, as many as it has"
                if bound == "times"
                else f"the next would fall due after its period of {recurrence.for_}"
            )
            self._end_series(series, now, SERIES, bound, why)
            return
        if len(self.in_progress()) >= MAX_IN_PROGRESS and self.since(PILE_UP_2026_12):
            why = (
                f"the case has {MAX_IN_PROGRESS} tasks in progress, as many as a plan may hold; "
                "its occurrences still open stay open"
            )
            self._end_series(series, now, SERIES, "limit", why)
            return
        definition = self._definitions[series.task]
        completion = recurrence.from_ is RecurrenceFrom.completion
        task = self._append_instance(
            definition,
            now,
            SERIES,
            note=f"occurrence {series.occurrences + 1}, due {when(due)}",
            added_by_task=last.key if completion else None,
        )
        task.occurrence = series.occurrences + 1
        task.opens_at = due
        series.occurrences += 1
        series.next_at = due

    def _end_series(self, series: Series, now: datetime, by: str, reason: str, why: str) -> None:
        """End a series for `reason`: the occurrence still to fall due is cancelled."""
        if series.ended:
            return
        series.end(now, by, reason)
        self._log(now, "series_ended", by, None, f"{series.task}: {why}")
        waiting = self.upcoming(series.task)
        if waiting is not None:
            series.occurrences -= 1  # it never fell due: the series did not have it
            waiting.status = TaskStatus.cancelled
            waiting.resolved_at = now
            waiting.resolved_by = by
            self._log(now, "task_cancelled", by, waiting.key, f"its series ended: {why}")

    def _end_every_series(self, now: datetime, by: str, why: str) -> None:
        for series in self.state.series.values():
            if not series.ended:
                series.end(now, by, why)

    def _replan_series(self, now: datetime) -> None:
        """After a pause: every occurrence still to fall due moves on by the paused time."""
        for series in self.state.series.values():
            recurrence = self._definitions[series.task].recurrence
            waiting = self.upcoming(series.task)
            if series.ended or recurrence is None or waiting is None:
                continue
            due = next_occurrence(
                self.calendar,
                recurrence,
                first_at=series.first_at,
                occurrences=series.occurrences - 1,
                last_done_at=series.last_done_at,
                stops=self.state.pauses,
            )
            if due is None:  # the period ran out while paused: no longer due
                why = f"its period of {recurrence.for_} ended"
                self._end_series(series, now, SERIES, "for", why)
                continue
            waiting.opens_at = series.next_at = due

    def occurrence_opening(self, task: TaskInstance, now: datetime) -> datetime:
        """When an occurrence that falls due opens counts from: its due point, so a worker
        that was away opens each occurrence it missed on its own clock; the first (and an
        instance that waited for other tasks) from `now`."""
        if task.opens_at is not None and (task.occurrence or 0) > 1 and task.opens_at <= now:
            return task.opens_at
        return now

    # -- requests ----------------------------------------------------------------------

    def check_stop_recurrence(self, ref: str, reason: str | None) -> Series:
        """The running series a stop applies to (named by the task id or an occurrence)."""
        self._require_open_case()
        task_id = ref.partition("#")[0]
        definition = self._definitions.get(task_id)
        if definition is None:
            self.instance(ref)  # refuses with the tasks there are
            raise errors.UnknownTask(f'"{ref}" is not a task of {self.type.name}.')
        if definition.recurrence is None:
            raise errors.NotRecurring(
                f"{definition.name} does not recur, so there is no series to stop; cancel "
                "the task instead."
            )
        series = self.series_of(task_id)
        if series is None:
            raise errors.NotRecurring(
                f"The series of {definition.name} has not begun: it begins when its first "
                "occurrence opens."
            )
        if series.ended:
            raise errors.NotRecurring(
                f"The series of {definition.name} already ended at "
                f"{when(series.ended_at or self.state.opened_at)} ({series.end_reason})."
            )
        if reason is not None and not reason.strip():
            raise errors.NotAllowed("Stopping a series needs a reason, recorded in the log.")
        return series

    def stop_recurrence(self, ref: str, *, reason: str, by: str, now: datetime) -> list[LogEntry]:
        series = self.check_stop_recurrence(ref, reason)
        start = len(self.state.log)
        self._log(now, "recurrence_stopped", by, None, f"{series.task}: {reason}")
        self._end_series(series, now, by, "stopped", f"stopped by {by}")
        self._release(now, by)
        self._complete_case_if_done(now, by)
        return self.state.log[start:]

    def _series_going_with(self, doomed: list[TaskInstance]) -> list[TaskInstance]:
        """A cancelled occurrence ends its series: the one still to fall due goes too."""
        extra = []
        for task in doomed:
            series = self.series_of(task.task)
            if task.occurrence is None or series is None or series.ended:
                continue
            waiting = self.upcoming(task.task)
            if waiting is not None and waiting not in doomed and waiting not in extra:
                extra.append(waiting)
        return extra

    def _end_series_of_cancelled(
        self, cancelled: list[TaskInstance], now: datetime, by: str
    ) -> None:
        """End the series of each occurrence a person cancelled (and with it the one still
        to come); one cancelled before it fell due is not one the series had."""
        for task in cancelled:
            series = self.series_of(task.task)
            if task.occurrence is not None and series is not None and not series.ended:
                if task.opened_at is None and task.opens_at is not None:
                    series.occurrences -= 1
                self._end_series(series, now, by, "cancelled", f"{task.key} was cancelled")

    def _ended_by(self, task: TaskInstance) -> bool:
        """Whether `task`'s completion is what ended its series (then it cannot be undone)."""
        series = self.series_of(task.task)
        recurrence = self._definitions[task.task].recurrence
        return (
            series is not None
            and recurrence is not None
            and series.end_reason == "outcome"
            and task.status in DONE
            and task.outcome == recurrence.until_outcome
            and task.resolved_at == series.ended_at
        )
