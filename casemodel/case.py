"""The rules of a support provision case.

`Case` wraps a `CaseState` and offers one method a request. Each method first works out
everything it will do, raising a `CaseRuleError` if the rules refuse, and only then
changes the state, so a refusal always leaves the case exactly as it was. Methods take the
current time as an argument: the case never reads a clock. Each returns the log entries it
appended, which is "what changed" for the caller to act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from definitions.effective import NotInEffect, in_effect, opening_day
from definitions.invariants import list_problems
from definitions.schema import Outcome, ProvisionType, TaskDefinition

from . import errors, intake, permissions, rules, snapshots
from .calendars import Calendar
from .case_time import SYSTEM_KINDS, CaseTime
from .follow_on import CaseFollowOn
from .instants import when
from .memory import KEEP_RESOLVED, CaseMemory
from .paths import CasePaths
from .recurrence import CaseSeries
from .requests import (
    STARTER,
    CompleteTask,
    ContinueCase,
    Encoded,
    Request,
    RequestResult,
    StartCase,
    read_start,
)
from .responses import ResponseValue, check_responses
from .sla import after
from .state import (
    DONE,
    MAX_IN_PROGRESS,
    CaseState,
    CaseStatus,
    LogEntry,
    TaskInstance,
    TaskStatus,
)

CASE_OPENED = "case-opened"
HANDLED_KEPT = 2_000
"""Fire-and-forget request ids a case remembers (the latest), so a retry is not applied
twice; a sender retrying after 2,000 more requests to the same case is not a retry."""


class Case(CaseTime, CaseMemory, CaseSeries, CasePaths, CaseFollowOn):
    def __init__(self, state: CaseState, *, weeks_to_opening: bool = True) -> None:
        """`weeks_to_opening`: a point N weeks on that falls when a working calendar is
        closed moves to its next opening; False counts weeks as cases that opened before
        that rule did (the workflow's `weeks-to-opening` patch)."""
        self.state = state
        self._weeks_to_opening = weeks_to_opening
        self.since: rules.Since = rules.every_rule
        """Whether the case runs on the rules of a patch (the workflow's answer, asked only
        where a rule would decide otherwise than before it); every rule by default."""
        self._calendar: Calendar | None = None
        self._definitions = {t.id: t for t in state.provision_type.tasks}
        # Which definitions depend on each one, to find a task's dependants without
        # looking at every task of a plan that may have grown for years.
        # (Lists, not sets: a set's order changes from one process to the next, and a
        # workflow must decide the same way on every worker.)
        self._dependant_ids: dict[str, list[str]] = {}
        for definition in state.provision_type.tasks:
            for dependency in definition.depends_on:
                dependants = self._dependant_ids.setdefault(dependency.task, [])
                if definition.id not in dependants:
                    dependants.append(definition.id)
        self._by_key: dict[str, TaskInstance] = {}
        self._by_definition: dict[str, list[TaskInstance]] = {}
        for index, task in enumerate(state.tasks):
            if task.position is None:  # a state from before positions were kept
                task.position = index
            self._index(task)
        state.tasks_added = max(state.tasks_added, len(state.tasks))
        self._handled = set(state.handled_requests)
        self._in_progress: list[TaskInstance] = []
        self._in_progress_at: tuple[int, int] | None = None
        self._start_keeping_time()

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        provision_type: ProvisionType,
        *,
        case_ref: str,
        tenant_ref: str,
        owner: str,
        now: datetime,
        opened_by: str,
        type_version: int | None = None,
        weeks_to_opening: bool = True,
        opened_from: str | None = None,
        chain_ref: str | None = None,
    ) -> Case:
        """Open a case and expand the tasks its type links automatically.

        The case gets the tasks and escalation rules in effect on the day it opens (in its
        calendar) and keeps them for as long as it runs. A type that breaks the rules every
        type meets is refused (`CaseNotStarted`): one made without validation
        (`model_construct`) reaches here too. A follow-on case names the case it was
        `opened_from` and the first case of its chain (`chain_ref`, by default that one).
        """
        try:
            provision_type = in_effect(provision_type, opening_day(provision_type, now))
        except NotInEffect as invalid:
            raise errors.CaseNotStarted(f"A case cannot open: {invalid}") from None
        problems = snapshots.problems(provision_type)
        if problems:
            raise errors.CaseNotStarted(
                f"A case of {provision_type.id} cannot open: {list_problems(problems)}."
            )
        case = cls(
            CaseState(
                case_ref=case_ref,
                tenant_ref=tenant_ref,
                owner=owner,
                provision_type=provision_type,
                opened_at=now,
                opened_by=opened_by,
                type_version=type_version,
                opened_from=opened_from,
                chain_ref=(chain_ref or opened_from) if opened_from else None,
            ),
            weeks_to_opening=weeks_to_opening,
        )
        detail = f"{provision_type.name} for {tenant_ref}"
        if opened_from:
            detail += f", opened from {opened_from}"
        case._log(now, "case_opened", opened_by, detail=detail)
        for definition in provision_type.tasks:
            if definition.automatic:
                case._append_instance(definition, now, CASE_OPENED)
        case._release(now, CASE_OPENED)
        return case

    @classmethod
    def begin(
        cls,
        arguments: Sequence[Encoded],
        now: datetime,
        *,
        lenient: bool = False,
        weeks_to_opening: bool = True,
        caller: intake.Heard = None,
        continued: bool = False,
        since: rules.Since = rules.every_rule,
    ) -> tuple[Case, StartCase | ContinueCase]:
        """The case a run's start input opens, or carries on from the run before.

        With identities (`caller` not None) a case opens only for an identity that may
        open cases, and records it as the one who opened it; a run carries a case on only
        when Temporal says it `continued` from the run before (no caller can send one)."""
        start = read_start(arguments, lenient=lenient)
        if caller is not None and isinstance(start, ContinueCase) and not continued:
            raise errors.NotPermitted(
                "A case is carried on from its last run by the case itself, never by a caller."
            )
        if caller is not None and isinstance(start, StartCase):
            if isinstance(caller, errors.CaseRuleError):
                raise caller
            opened_by = permissions.signed_by(caller, start.opened_by, default=STARTER)
            permissions.admit(caller, start, None, None)
            intake.bound(caller, start.case_ref, {}, since)
            intake.admit_follow_on(caller, start, since)
            start = start.model_copy(update={"opened_by": opened_by})
        try:
            case = (
                cls(start.state, weeks_to_opening=weeks_to_opening)
                if isinstance(start, ContinueCase)
                else cls.start(start, now, weeks_to_opening=weeks_to_opening)
            )
        except ValueError as invalid:  # a provision type that breaks its own rules
            raise errors.CaseNotStarted(f"The case cannot open: {invalid}") from None
        case.since = since
        if isinstance(start, StartCase):
            intake.taken(case, caller, now)
        return case, start

    @classmethod
    def start(cls, request: StartCase, now: datetime, *, weeks_to_opening: bool = True) -> Case:
        """Open the case a start request describes."""
        return cls.open(
            request.provision_type,
            case_ref=request.case_ref,
            tenant_ref=request.tenant_ref,
            owner=request.owner,
            now=now,
            opened_by=request.opened_by,
            type_version=request.type_version,
            weeks_to_opening=weeks_to_opening,
            opened_from=request.opened_from,
            chain_ref=request.chain_ref,
        )

    # -- reading -----------------------------------------------------------------------

    @property
    def type(self) -> ProvisionType:
        return self.state.provision_type

    @property
    def calendar(self) -> Calendar:
        if self._calendar is None:
            self._calendar = snapshots.calendar(
                self.type, weeks_move_to_opening=self._weeks_to_opening
            )
        return self._calendar

    def instance(self, ref: str) -> TaskInstance:
        """Find a task by key (`home-visit`, `home-visit#2`).

        The first instance's key is the bare definition id, so a definition id always
        names the first instance and never needs disambiguating.
        """
        task = self._by_key.get(ref)
        if task is not None:
            return task
        task_id, _, number = ref.partition("#")
        if task_id in self._definitions and self._no_longer_held(task_id, number):
            raise errors.TaskNotOpen(
                f"{ref} was resolved long ago: the case keeps its latest {KEEP_RESOLVED} "
                "resolved tasks, so it can no longer be changed; its record is in the register."
            )
        if ref in self._definitions:
            raise errors.UnknownTask(
                f'Case {self.state.case_ref} has no "{ref}" task yet; add it to the plan first.'
            )
        keys = [t.key for t in self.in_progress()][:20]
        raise errors.UnknownTask(
            f'"{ref}" is not a task of case {self.state.case_ref}; '
            f"its tasks in progress are: {', '.join(keys) or 'none'}."
        )

    def waiting_for(self, task: TaskInstance, now: datetime | None = None) -> list[str]:
        """Descriptions of what this task still waits for, empty when none.

        Without `now`, a lag after completed dependencies counts as still running.
        """
        definition = self.definition(task)
        waits = []
        for dependency in definition.depends_on:
            if not self._satisfied(dependency.task):
                waits.append(self._describe_dependency(dependency.task))
        if not waits:
            ready = self.ready_at(task, now)
            if ready is not None and (now is None or ready > now):
                waits.append(f"the agreed lag after its dependencies, until {when(ready)}")
        if task.opens_at is not None and (now is None or task.opens_at > now):
            waits.append(f"the next occurrence, due {when(task.opens_at)}")
        return waits

    def ready_at(self, task: TaskInstance, now: datetime | None = None) -> datetime | None:
        """When the lags after this task's completed dependencies have all passed.

        Paused time does not count against a lag: given `now`, a pause still running counts
        as ending now, so a lag never runs out while the case is paused.
        """
        pauses = self.state.pauses
        if now is not None and self.state.paused:
            last = pauses[-1]
            pauses = [*pauses[:-1], last.model_copy(update={"end": max(last.start, now)})]
        ready: datetime | None = None
        for dependency in self.definition(task).depends_on:
            if not dependency.lag:
                continue
            done = [
                t.resolved_at
                for t in self._instances_of(dependency.task)
                if t.status in DONE and t.resolved_at
            ]
            earlier = self.state.earlier.get(dependency.task)
            if earlier is not None and earlier.last_done_at is not None:
                done.append(earlier.last_done_at)
            if done:
                at = after(self.calendar, max(done), dependency.lag, pauses)
                ready = at if ready is None else max(ready, at)
        return ready

    def in_progress(self) -> list[TaskInstance]:
        """The tasks blocked or open, in plan order: all that a workflow task looks at.

        Worked out again only when the log has moved on (every change to a task is
        logged) or the plan has changed length, however many tasks the plan holds.
        """
        at = (self.state.last_seq, len(self.state.tasks))
        if at != self._in_progress_at:
            self._in_progress = [t for t in self.state.tasks if t.active]
            self._in_progress_at = at
        return self._in_progress

    def dependants_of(self, task_id: str) -> list[TaskInstance]:
        """The task instances held whose definitions depend on `task_id`, in plan order."""
        found = [t for d in self._dependant_ids.get(task_id, ()) for t in self._instances_of(d)]
        return sorted(found, key=_plan_order)

    # -- requests ----------------------------------------------------------------------
    #
    # One entry to check a request and one to carry it out, by its type, and the same for
    # a request as it arrived (raw) and for fire-and-forget: `casemodel.intake`.

    def check(self, request: Request, now: datetime) -> None:
        """Raise the `CaseRuleError` the rules refuse `request` with now; change nothing."""
        intake.check(self, request, now)

    def apply(self, request: Request, now: datetime, *, by: str | None = None) -> list[LogEntry]:
        """Carry out `request`: the log entries it appended, or the refusal, unchanged."""
        return intake.apply(self, request, now, by=by, since=self.since)

    def judge(
        self,
        kind: str,
        arguments: Sequence[Encoded],
        now: datetime,
        *,
        caller: intake.Heard = None,
    ) -> Request:
        return intake.judge(self, kind, arguments, now, caller=caller)

    def answer(
        self,
        kind: str,
        arguments: Sequence[Encoded],
        now: datetime,
        *,
        lenient: bool = False,
        caller: intake.Heard = None,
    ) -> RequestResult:
        return intake.answer(self, kind, arguments, now, lenient=lenient, caller=caller)

    def receive(
        self,
        kind: str,
        arguments: Sequence[Encoded],
        now: datetime,
        *,
        lenient: bool = False,
        caller: intake.Heard = None,
    ) -> bool:
        return intake.receive(self, kind, arguments, now, lenient=lenient, caller=caller)

    def authorise(self, request: Request, caller: intake.Heard) -> str:
        """Who the case records for `request` from `caller`; `NotPermitted` when it may not."""
        return intake.authorise(self, request, caller, self.since)

    def report(self, request: CompleteTask, now: datetime) -> list[LogEntry]:
        return intake.report(self, request, now)

    def refuse_cancellation(self, now: datetime) -> list[LogEntry]:
        return intake.refuse_cancellation(self, now)

    def reject(
        self,
        kind: str,
        refusal: errors.CaseRuleError,
        now: datetime,
        *,
        by: str = "unknown",
        request_id: str | None = None,
        task: str | None = None,
    ) -> list[LogEntry]:
        return intake.reject(self, kind, refusal, now, by=by, request_id=request_id, task=task)

    def complete_task(
        self,
        ref: str,
        *,
        outcome: str | None,
        responses: dict[str, Any] | None,
        note: str | None,
        by: str,
        now: datetime,
    ) -> list[LogEntry]:
        task, checked = self.check_complete(ref, outcome=outcome, responses=responses)
        start = len(self.state.log)
        task.status = TaskStatus.completed
        task.outcome = outcome
        task.responses = checked
        task.note = note
        task.resolved_at = now
        task.resolved_by = by
        detail = f"outcome {outcome}" if outcome else "completed"
        self._log(now, "task_completed", by, task.key, detail + (f": {note}" if note else ""))
        self._follow_path(task, now, by)
        if self.state.status is CaseStatus.open:  # a path may have completed the case
            self._occurrence_done(task, now, by)
            self._release(now, by)
            self._complete_case_if_done(now, by)
        return self.state.log[start:]

    def check_complete(
        self, ref: str, *, outcome: str | None, responses: dict[str, Any] | None
    ) -> tuple[TaskInstance, dict[str, ResponseValue]]:
        self._require_open_case()
        task = self.instance(ref)
        self._require_workable(task, "completed")
        definition = self.definition(task)
        if definition.outcomes:
            if outcome is None:
                raise errors.InvalidOutcome(
                    f"{task.key} needs an outcome: one of {_ids(definition.outcomes)}."
                )
            if definition.outcome(outcome) is None:
                raise errors.InvalidOutcome(
                    f'"{outcome}" is not an outcome of {task.key}; '
                    f"choose one of {_ids(definition.outcomes)}."
                )
        elif outcome is not None:
            raise errors.InvalidOutcome(
                f"{task.key} is completed without an outcome; leave the outcome out."
            )
        return task, check_responses(definition, responses or {})

    def record_completion(
        self,
        ref: str,
        *,
        request_id: str | None,
        outcome: str | None,
        responses: dict[str, Any] | None,
        note: str | None,
        by: str,
        now: datetime,
    ) -> list[LogEntry]:
        """A fire-and-forget completion: applied once, or recorded as rejected."""
        if request_id is not None and request_id in self._handled:
            return []
        if request_id is None and self._already_completed(ref, outcome):
            return []
        try:
            entries = self.complete_task(
                ref, outcome=outcome, responses=responses, note=note, by=by, now=now
            )
        except errors.CaseRuleError as refusal:
            entries = self.reject(
                "complete_task", refusal, now, by=by, request_id=request_id, task=ref
            )
        if request_id is not None:
            self._remember(request_id)
        return entries

    def add_task(self, task_id: str, *, note: str | None, by: str, now: datetime) -> list[LogEntry]:
        definition = self.check_add(task_id)
        start = len(self.state.log)
        task = self._append_instance(definition, now, by, note=note)
        self._release(now, by)
        if task.status is TaskStatus.blocked:
            self._log(
                now, "task_blocked", by, task.key, "waits for " + _and(self.waiting_for(task))
            )
        return self.state.log[start:]

    def check_add(self, task_id: str) -> TaskDefinition:
        self._require_open_case()
        definition = self._definitions.get(task_id)
        if definition is None:
            raise errors.UnknownTask(
                f'"{task_id}" is not a task of {self.type.name}; '
                f"its tasks are: {_ids(self.type.tasks)}."
            )
        if len(self.in_progress()) >= MAX_IN_PROGRESS:
            raise errors.NotAllowed(
                f"Case {self.state.case_ref} has {MAX_IN_PROGRESS} tasks in progress, as many "
                "as a plan may hold; complete or cancel some before adding more."
            )
        if not definition.repeatable:
            existing = [
                t for t in self._instances_of(task_id) if t.status is not TaskStatus.cancelled
            ]
            if existing:
                raise errors.NotRepeatable(
                    f"{definition.name} may appear only once in a plan and {existing[0].key} "
                    f"is already {existing[0].status.value}."
                )
            if self._done_earlier(task_id):
                raise errors.NotRepeatable(
                    f"{definition.name} may appear only once in a plan and it was done already."
                )
        return definition

    def cancel_task(
        self, ref: str, *, cascade: bool, reason: str | None, by: str, now: datetime
    ) -> list[LogEntry]:
        doomed = self.check_cancel(ref, cascade=cascade)
        start = len(self.state.log)
        # The occurrence still to come goes with its series, which ends after these.
        series_rest = self._series_going_with(doomed[:1])
        cancelled = [t for t in doomed if t not in series_rest]
        for position, task in enumerate(cancelled):
            task.status = TaskStatus.cancelled
            task.resolved_at = now
            task.resolved_by = by
            task.note = reason
            why = reason or "cancelled"
            if position:
                needs = {d.task for d in self.definition(task).depends_on}
                cause = next(t for t in cancelled[:position] if t.task in needs)
                why = f"depends on {cause.key}, which was cancelled"
            self._log(now, "task_cancelled", by, task.key, why)
        self._end_series_of_cancelled(cancelled, now, by)
        self._release(now, by)
        self._complete_case_if_done(now, by)
        return self.state.log[start:]

    def left_empty_by(self, doomed: Sequence[TaskInstance]) -> bool:
        """Whether cancelling `doomed` would leave the case nothing in progress and nothing
        done, so that it would neither complete nor have work to do."""
        gone = {t.key for t in doomed}
        if any(t.active and t.key not in gone for t in self.state.tasks):
            return False
        return not self._anything_done()

    def decision_cancelled_by(self, doomed: Sequence[TaskInstance]) -> TaskInstance | None:
        """The task that decides the case's outcome which cancelling `doomed` would take
        with it, leaving none to decide it; None when the cancellation leaves one, or the
        type decides no outcome by a task. A deciding task is mandatory and every outcome
        of it names a case outcome (`agree-outcome` of an assessment: need-identified,
        signposted, ...): without it the case would complete with no outcome, and open
        no follow-on for the need it was to find."""
        if self.state.outcome is not None:
            return None
        deciding = [
            t
            for t in self.state.tasks
            if t.mandatory
            and t.status is not TaskStatus.cancelled
            and (outcomes := self.definition(t).outcomes)
            and all(o.case_outcome for o in outcomes)
        ]
        if not deciding or any(t.status is TaskStatus.completed for t in deciding):
            return None
        gone = {t.key for t in doomed}
        if any(t.key not in gone for t in deciding):
            return None
        return next(t for t in doomed if t.key in {d.key for d in deciding})

    def _anything_done(self) -> bool:
        """Whether a task of the case was completed or bypassed, held or let go."""
        return any(t.status in DONE for t in self.state.tasks) or any(
            e.done for e in self.state.earlier.values()
        )

    def check_cancel(self, ref: str, *, cascade: bool) -> list[TaskInstance]:
        """The tasks a cancellation takes with it, the named one first."""
        self._require_open_case()
        task = self.instance(ref)
        if not task.active:
            raise errors.TaskNotOpen(
                f"{task.key} is already {task.status.value}"
                + (
                    " and cannot be cancelled; undo the completion first."
                    if task.status is TaskStatus.completed
                    else "."
                )
            )
        series_rest = self._series_going_with([task])
        doomed = self._cascade_from(task, series_rest)
        dependants = [t for t in doomed[1:] if t not in series_rest]
        if dependants and not cascade:
            one = len(dependants) == 1
            raise errors.HasDependants(
                f"Cancelling {task.key} would also cancel {_and(t.key for t in dependants)}, "
                f"which {'depends' if one else 'depend'} on it; ask again with cascade to "
                f"cancel {'it' if one else 'them'} too."
            )
        return doomed

    def bypass_task(
        self, ref: str, *, reason: str | None, by: str, now: datetime
    ) -> list[LogEntry]:
        task = self.check_bypass(ref)
        start = len(self.state.log)
        task.status = TaskStatus.bypassed
        task.resolved_at = now
        task.resolved_by = by
        task.note = reason
        self._log(now, "task_bypassed", by, task.key, reason or "bypassed")
        self._occurrence_done(task, now, by)
        self._release(now, by)
        self._complete_case_if_done(now, by)
        return self.state.log[start:]

    def check_bypass(self, ref: str) -> TaskInstance:
        self._require_open_case()
        task = self.instance(ref)
        # A task already done or cancelled says so first: advice to cancel a task that is
        # cancelled, because it is mandatory, told the caller nothing true.
        if not task.active:
            raise errors.TaskNotOpen(f"{task.key} is already {task.status.value}.")
        if task.mandatory:
            raise errors.NotOptional(
                f"{task.key} is mandatory and cannot be bypassed; complete it, or cancel it "
                "if it is no longer needed."
            )
        return task

    def undo_completion(
        self, ref: str, *, reason: str | None, by: str, now: datetime
    ) -> list[LogEntry]:
        task = self.check_undo(ref)
        start = len(self.state.log)
        self._occurrence_undone(task)
        previous = task.outcome
        task.status = TaskStatus.open
        task.outcome = None
        task.responses = {}
        task.resolved_at = None
        task.resolved_by = None
        task.note = None
        detail = f"was {previous}" if previous else "completion undone"
        self._log(
            now, "completion_undone", by, task.key, detail + (f": {reason}" if reason else "")
        )
        for added in list(self.state.tasks):
            if added.added_by_task == task.key and added.active:
                added.status = TaskStatus.cancelled
                added.resolved_at = now
                added.resolved_by = by
                self._log(now, "task_cancelled", by, added.key, f"completion of {task.key} undone")
        for dependant in self.dependants_of(task.task):
            if dependant.status is TaskStatus.open and self.waiting_for(dependant, now):
                dependant.status = TaskStatus.blocked
                dependant.opened_at = None
                self._log(now, "task_blocked", by, dependant.key, f"waits for {task.key} again")
        if self.waiting_for(task, now):
            # A repeatable dependency gained an instance after this task opened.
            task.status = TaskStatus.blocked
            task.opened_at = None
            self._log(
                now, "task_blocked", by, task.key, "waits for " + _and(self.waiting_for(task, now))
            )
        self._release(now, by)
        return self.state.log[start:]

    def check_undo(self, ref: str) -> TaskInstance:
        self._require_open_case()
        task = self.instance(ref)
        if task.status is not TaskStatus.completed:
            raise errors.CannotUndo(f"{task.key} is {task.status.value}, not completed.")
        others_done = self._done_earlier(task.task) or any(
            t.status in DONE for t in self._instances_of(task.task) if t is not task
        )
        dependants = (
            [] if others_done else [t for t in self.dependants_of(task.task) if t.status in DONE]
        )
        added = [t for t in self.state.tasks if t.added_by_task == task.key and t.status in DONE]
        reasons = []
        if dependants:
            reasons.append(_already(dependants, "depends on it", "depend on it"))
        elif not others_done and any(
            self._done_earlier(d) for d in self._dependant_ids.get(task.task, ())
        ):
            reasons.append("tasks that depend on it are already resolved")
        if self._ended_by(task):
            reasons.append(f"its outcome {task.outcome} ended the series of {task.task}")
        if added:
            reasons.append(_already(added, "its outcome added", "its outcome added"))
        elif task.key in self.state.undo_blocked:
            reasons.append("tasks its outcome added are already resolved")
        if reasons:
            raise errors.CannotUndo(
                f"The completion of {task.key} cannot be undone: {'; '.join(reasons)}."
            )
        return task

    def close(
        self, *, outcome: str | None, reason: str | None, by: str, now: datetime
    ) -> list[LogEntry]:
        chosen = self.check_close(outcome)
        start = len(self.state.log)
        for task in self.state.tasks:
            if task.active:
                task.status = TaskStatus.cancelled
                task.resolved_at = now
                task.resolved_by = by
                self._log(now, "task_cancelled", by, task.key, "case closed")
        self._end_every_series(now, by, "case closed")
        self.state.status = CaseStatus.closed
        self.state.outcome = outcome
        self.state.close_reason = reason
        self.state.resolved_at = now
        self.state.follow_on_type = chosen.follow_on_type if chosen else None
        self._make_follow_on_due(self.state.follow_on_type, now)
        detail = f"outcome {outcome}" if outcome else "closed"
        self._log(now, "case_closed", by, None, detail + (f": {reason}" if reason else ""))
        return self.state.log[start:]

    def check_close(self, outcome: str | None) -> Outcome | None:
        self._require_open_case()
        if self.type.outcomes:
            if outcome is None or self.type.outcome(outcome) is None:
                given = (
                    f'"{outcome}" is not an outcome of'
                    if outcome
                    else "Closing needs an outcome of"
                )
                raise errors.InvalidOutcome(
                    f"{given} {self.type.name}; choose one of {_ids(self.type.outcomes)}."
                )
            return self.type.outcome(outcome)
        if outcome is not None:
            raise errors.InvalidOutcome(
                f"{self.type.name} has no case outcomes; close it without one."
            )
        return None

    # -- internals ---------------------------------------------------------------------

    def definition(self, task: TaskInstance) -> TaskDefinition:
        """The definition a task instance was made from, in the case's snapshot."""
        return self._definitions[task.task]

    def _instances_of(self, task_id: str) -> list[TaskInstance]:
        return self._by_definition.get(task_id, [])

    def _done_earlier(self, task_id: str) -> bool:
        earlier = self.state.earlier.get(task_id)
        return earlier is not None and earlier.done > 0

    def _no_longer_held(self, task_id: str, number: str) -> bool:
        earlier = self.state.earlier.get(task_id)
        if earlier is None or not earlier.instances:
            return False
        ever = earlier.instances + len(self._instances_of(task_id))
        return not number or (number.isdigit() and int(number) <= ever)

    def _satisfied(self, task_id: str) -> bool:
        instances = self._instances_of(task_id)
        if any(t.active for t in instances):
            return False
        return self._done_earlier(task_id) or any(t.status in DONE for t in instances)

    def _describe_dependency(self, task_id: str) -> str:
        instances = self._instances_of(task_id)
        active = [t for t in instances if t.active]
        if active:
            return ", ".join(f"{t.key} ({t.status.value})" for t in active)
        if instances or task_id in self.state.earlier:
            return f"{task_id} (cancelled; add it again)"
        return f"{task_id} (not in the plan yet; add it)"

    def _require_open_case(self) -> None:
        if self.state.status is not CaseStatus.open:
            raise errors.CaseNotOpen(
                f"Case {self.state.case_ref} is {self.state.status.value}; it takes no more "
                "changes."
            )

    def _require_workable(self, task: TaskInstance, verb: str) -> None:
        if task.status is TaskStatus.open:
            return
        if task.status is TaskStatus.blocked:
            raise errors.TaskBlocked(
                f"{task.key} cannot be {verb} yet: it waits for {_and(self.waiting_for(task))}."
            )
        when = f" at {task.resolved_at.isoformat()}" if task.resolved_at else ""
        others = [t.key for t in self._instances_of(task.task) if t.active]
        if others:
            when += f"; {_and(others)} {'is' if len(others) == 1 else 'are'} in progress"
        raise errors.TaskNotOpen(f"{task.key} is already {task.status.value}{when}.")

    def _already_completed(self, ref: str, outcome: str | None) -> bool:
        try:
            task = self.instance(ref)
        except errors.CaseRuleError:
            return False
        return task.status is TaskStatus.completed and task.outcome == outcome

    def _next_key(self, task_id: str) -> str:
        earlier = self.state.earlier.get(task_id)
        count = len(self._instances_of(task_id)) + (earlier.instances if earlier else 0)
        return task_id if count == 0 else f"{task_id}#{count + 1}"

    def _append_instance(
        self,
        definition: TaskDefinition,
        now: datetime,
        by: str,
        *,
        note: str | None = None,
        added_by_task: str | None = None,
    ) -> TaskInstance:
        task = TaskInstance(
            key=self._next_key(definition.id),
            task=definition.id,
            name=definition.name,
            status=TaskStatus.blocked,
            owner=definition.owner or self.state.owner,
            mandatory=definition.mandatory,
            added_by=by,
            added_at=now,
            added_by_task=added_by_task,
            note=note,
            position=self.state.tasks_added,
            occurrence=self.occurrence_number(definition),
        )
        self.state.tasks_added += 1
        self.state.tasks.append(task)
        self._index(task)
        self._log(now, "task_added", by, task.key, note or "")
        return task

    def _follow_path(self, task: TaskInstance, now: datetime, by: str) -> None:
        """The workflow path of a completion: its outcome's `adds_tasks`, then the paths
        of the task whose condition holds (`casemodel.paths`)."""
        chosen = self.definition(task).outcome(task.outcome) if task.outcome else None
        for task_id in chosen.adds_tasks if chosen else ():
            self._add_on_path(
                task_id,
                now,
                by,
                note=f"outcome {task.outcome} of {task.key}",
                added_by_task=task.key,
            )
        self._follow_paths(task, now, by)

    def _add_on_path(
        self, task_id: str, now: datetime, by: str, *, note: str, added_by_task: str
    ) -> None:
        """Add a task a workflow path names, unless the plan has it and it is not
        repeatable; undoing the completion that added it cancels it."""
        definition = self._definitions.get(task_id)
        if definition is None:
            return
        present = self._done_earlier(task_id) or any(
            t.status is not TaskStatus.cancelled for t in self._instances_of(task_id)
        )
        if present and not definition.repeatable:
            return
        self._append_instance(definition, now, by, note=note, added_by_task=added_by_task)

    def _release(self, now: datetime, by: str) -> None:
        """Open every blocked task that waits for nothing now. Opening a task satisfies
        no dependency, but opening an occurrence of a recurring task may add the next,
        which may be due already (a worker that was away): go round while that added
        tasks."""
        added = None
        while added != self.state.tasks_added:
            added = self.state.tasks_added
            for task in self.in_progress():
                if task.status is TaskStatus.blocked and not self.waiting_for(task, now):
                    task.status = TaskStatus.open
                    task.opened_at = self.occurrence_opening(task, now)
                    self._log(now, "task_opened", by, task.key)
                    self._occurrence_opened(task, now)

    def _cascade_from(
        self, task: TaskInstance, with_it: Sequence[TaskInstance] = ()
    ) -> list[TaskInstance]:
        """The tasks cancelling `task` takes with it (first `with_it`, what goes anyway)."""
        doomed = [task, *with_it]
        changed = True
        while changed:
            changed = False
            for other in self.state.tasks:
                if not other.active or other in doomed:
                    continue
                if any(
                    any(t.task == d.task for t in doomed)
                    and not self._satisfiable_without(d.task, doomed)
                    for d in self.definition(other).depends_on
                ):
                    doomed.append(other)
                    changed = True
        return doomed

    def _satisfiable_without(self, task_id: str, doomed: Iterable[TaskInstance]) -> bool:
        gone = {t.key for t in doomed}
        return self._done_earlier(task_id) or any(
            t.status in DONE or (t.active and t.key not in gone)
            for t in self._instances_of(task_id)
        )

    def _complete_case_if_done(self, now: datetime, by: str) -> None:
        tasks = self.state.tasks
        if any(t.mandatory and t.active for t in tasks):
            return
        if not self._anything_done():
            return
        self._complete_case(now, by, "every mandatory task is resolved")

    def _complete_case(
        self, now: datetime, by: str, detail: str, *, outcome: str | None = None
    ) -> None:
        """Complete the case, cancelling what is still in progress; with the case
        `outcome` a path names, or else the one its tasks' outcomes say."""
        for task in self.state.tasks:
            if task.active:
                task.status = TaskStatus.cancelled
                task.resolved_at = now
                task.resolved_by = by
                self._log(now, "task_cancelled", by, task.key, "case completed")
        self._end_every_series(now, by, "case completed")
        self.state.status = CaseStatus.completed
        self.state.resolved_at = now
        if outcome is not None:
            self._adopt(outcome)
            detail = f"outcome {outcome}: {detail}"
        else:
            self._adopt_case_outcome()
        self._make_follow_on_due(self.state.follow_on_type, now)
        self._log(now, "case_completed", by, None, detail)

    def _adopt_case_outcome(self) -> None:
        """A task outcome may say what the case's outcome is, e.g. `need-identified`."""
        done = [t for t in self.state.tasks if t.status is TaskStatus.completed and t.outcome]
        hint = self.state.case_outcome_hint
        for task in sorted(done, key=lambda t: t.resolved_at or self.state.opened_at, reverse=True):
            chosen = self.definition(task).outcome(task.outcome or "")
            if chosen is not None and chosen.case_outcome:
                if hint is not None and task.resolved_at and hint.at >= task.resolved_at:
                    break  # a task no longer held named a case outcome no earlier than this
                self._adopt(chosen.case_outcome)
                return
        if hint is not None:
            self._adopt(hint.outcome)

    def _adopt(self, outcome: str) -> None:
        case_outcome = self.type.outcome(outcome)
        self.state.outcome = outcome
        self.state.follow_on_type = case_outcome.follow_on_type if case_outcome else None

    def _log(
        self,
        now: datetime,
        kind: str,
        by: str,
        task_key: str | None = None,
        detail: str = "",
    ) -> list[LogEntry]:
        state = self.state
        seq = max(state.last_seq, state.log[-1].seq if state.log else 0) + 1
        entry = LogEntry(seq=seq, at=now, kind=kind, by=by, task_key=task_key, detail=detail)
        state.log.append(entry)
        state.last_seq = seq
        task = self._by_key.get(task_key) if task_key else None
        if task is not None:
            task.changed_seq = seq
        if kind not in SYSTEM_KINDS:  # what people and systems did, for stagnation rules
            state.last_activity_at = now
            if task is not None:
                task.last_activity_at = now
        return [entry]

    def _index(self, task: TaskInstance) -> None:
        self._by_key[task.key] = task
        self._by_definition.setdefault(task.task, []).append(task)

    def _remember(self, request_id: str) -> None:
        handled = self.state.handled_requests
        handled.append(request_id)
        self._handled.add(request_id)
        if len(handled) > HANDLED_KEPT:
            for forgotten in handled[:-HANDLED_KEPT]:
                self._handled.discard(forgotten)
            del handled[:-HANDLED_KEPT]


def _plan_order(task: TaskInstance) -> int:
    return task.position if task.position is not None else 0


def _ids(items: Iterable[Any]) -> str:
    return ", ".join(item.id for item in items)


def _and(words: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    words = list(words)
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def _already(tasks: list[TaskInstance], singular: str, plural: str) -> str:
    """`x, which depends on it, is already completed`, or the same for several tasks."""
    if len(tasks) == 1:
        return f"{tasks[0].key}, which {singular}, is already {tasks[0].status.value}"
    statuses = _and(f"{t.key} ({t.status.value})" for t in tasks)
    return f"{statuses}, which {plural}, are already resolved"
