"""The time rules of a case: SLA clocks, pauses and holds, revised targets, escalations.

A mixin of `Case`, kept apart so the plan rules and the time rules each read on their own.
Like the rest of the core it is given the time; `tick(now)` is how the workflow tells the
case that time has passed, and `next_due()` is when it should next be told.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from definitions.schema import EscalationAction, Priority, TaskDefinition

from . import errors
from .escalation import Firing, Pending, Subject, pending
from .requests import REVISION_HORIZON
from .sla import Clock, ClockState, Interval, RevisedTarget, clock, state_at, worst
from .state import CaseStatus, LogEntry, TaskInstance, TaskStatus

if TYPE_CHECKING:
    from definitions.schema import ProvisionType

    from .calendars import Calendar
    from .state import CaseState

# Automatic entries that are not activity on a case or task (they must not reset stagnation).
SYSTEM_KINDS = frozenset(
    {
        "escalation_fired",
        "task_reassigned",
        "case_reassigned",
        "priority_raised",
        "request_rejected",
        "follow_on_opened",
        "follow_on_failed",
    }
)
SLA = "sla"


class CaseTime:
    state: CaseState

    if TYPE_CHECKING:

        @property
        def calendar(self) -> Calendar: ...
        @property
        def type(self) -> ProvisionType: ...

        def _log(
            self, now: datetime, kind: str, by: str, task_key: str | None = ..., detail: str = ...
        ) -> list[LogEntry]: ...
        def definition(self, task: TaskInstance) -> TaskDefinition: ...
        def _require_open_case(self) -> None: ...
        def _release(self, now: datetime, by: str) -> None: ...
        def in_progress(self) -> list[TaskInstance]: ...
        def instance(self, ref: str) -> TaskInstance: ...
        def _replan_series(self, now: datetime) -> None: ...

    # -- clocks ------------------------------------------------------------------------
    #
    # Working out a due point in a working calendar is the costly part of a workflow task,
    # so each clock is worked out once and kept until something it depends on changes:
    # its start and stop, the pauses and holds, a revised target. A closed clock never
    # changes again. Only the state at a given instant is worked out each time.

    def _start_keeping_time(self) -> None:
        self._clocks: dict[str, tuple[tuple[Any, ...], Clock, bool]] = {}
        self._schedules: dict[str, tuple[tuple[Any, ...], list[Pending]]] = {}
        self._firings: dict[str, list[Firing]] = {}
        for firing in self.state.firings:
            self._firings.setdefault(firing.subject, []).append(firing)

    def _forget_clock(self, subject: str) -> None:
        self._clocks.pop(subject, None)
        self._schedules.pop(subject, None)

    def clocks(self, now: datetime) -> list[Clock]:
        """Every SLA clock of the case: the case's first, then each task's that has opened."""
        found = []
        if self.type.sla is not None:
            found.append(self.clock_of("case", now))
        for task in self.state.tasks:
            if task.opened_at is not None and self.definition(task).sla is not None:
                found.append(self.clock_of(task.key, now))
        return [c for c in found if c is not None]

    def running_clocks(self, now: datetime) -> list[Clock]:
        """The clocks still running (the case's first): the only ones a workflow task needs."""
        found = []
        if self.type.sla is not None and self.state.resolved_at is None:
            found.append(self.clock_of("case", now))
        for task in self.in_progress():
            if task.opened_at is not None:
                found.append(self.clock_of(task.key, now))
        return [c for c in found if c is not None and c.running]

    def clock_of(self, subject: str, now: datetime) -> Clock | None:
        """The clock of the case (`case`) or of a task (its key) as it stands at `now`."""
        planned = self._planned_clock(subject)
        if planned is None:
            return None
        found, paused = planned
        if found.stopped_at is not None:
            return found  # met, missed or cancelled, for good
        return replace(found, state=state_at(found, paused, now))

    def _planned_clock(self, subject: str) -> tuple[Clock, bool] | None:
        state = self.state
        if subject == "case":
            sla, name, started, stopped = (
                self.type.sla,
                self.type.name,
                state.opened_at,
                state.resolved_at,
            )
            stops = state.pauses
            called_off = False
        else:
            task = self._by_key.get(subject)  # type: ignore[attr-defined]
            if task is None or task.opened_at is None:
                return None
            sla, name, started = self.definition(task).sla, task.name, task.opened_at
            stopped = task.resolved_at if not task.active else None
            stops = state.pauses + task.holds
            called_off = task.status is TaskStatus.cancelled
        if sla is None:
            return None
        revision = state.revisions.get(subject)
        stamp = (started, stopped, called_off, _stamp(stops), revision and revision.revised_at)
        kept = self._clocks.get(subject)
        if kept is not None and kept[0] == stamp:
            return kept[1], kept[2]
        found = clock(
            subject=subject,
            name=name,
            calendar=self.calendar,
            target_text=sla.target,
            warning_text=sla.warning,
            started_at=started,
            stopped_at=stopped,
            stops=stops,
            revision=revision,
            now=started,
        )
        if called_off:
            found = replace(found, state=ClockState.cancelled)
        paused = stopped is None and any(s.end is None for s in stops)
        self._clocks[subject] = (stamp, found, paused)
        return found, paused

    def sla_state(self, now: datetime) -> ClockState:
        """The state the UI shows for the case: paused, or the worst of its running clocks."""
        if self.state.status is CaseStatus.open and self.state.paused:
            return ClockState.paused
        running = [c.state for c in self.running_clocks(now)]
        if running:
            return worst(running)
        case_clock = self.clock_of("case", now)
        return case_clock.state if case_clock else ClockState.on_track

    # -- when to wake ------------------------------------------------------------------

    def pending_escalations(self, now: datetime) -> list[Pending]:
        if self.state.status is not CaseStatus.open or self.state.paused:
            return []
        found: list[Pending] = []
        for subject, stamp in self._subjects(now):
            kept = self._schedules.get(subject.key)
            if kept is None or kept[0] != stamp:
                mine = self._firings.get(subject.key, [])
                kept = (stamp, list(pending(subject, mine, self.calendar)))
                self._schedules[subject.key] = kept
            found.extend(kept[1])
        return sorted(found, key=lambda p: (p.at, p.subject, p.path))

    def next_due(self, now: datetime) -> tuple[datetime, str] | None:
        """The next instant something happens by itself, and what it is; None if nothing.

        Clock transitions count too, so that the SLA state shown in the UI turns to
        `warning` and `breached` on time even where no rule fires.
        """
        if self.state.status is not CaseStatus.open or self.state.paused:
            return None
        candidates: list[tuple[datetime, str]] = [
            (p.at, p.describe()) for p in self.pending_escalations(now)
        ]
        for c in self.running_clocks(now):
            if self._held(c.subject):
                continue
            what = "the case" if c.subject == "case" else c.subject
            if c.warning_at is not None and c.warning_at > now:
                candidates.append((c.warning_at, f"warning point of {what}"))
            if c.due_at > now:
                candidates.append((c.due_at, f"target of {what}"))
        for task in self.in_progress():
            if task.status is TaskStatus.blocked:
                ready = self.ready_at(task)  # type: ignore[attr-defined]
                if ready is not None and ready > now and not self._waits_on_tasks(task):
                    candidates.append((ready, f"lag before {task.key}"))
                opens = task.opens_at
                if opens is not None and opens > now and not self._waits_on_tasks(task):
                    candidates.append((opens, f"occurrence {task.key} falls due"))
        return min(candidates, key=lambda c: c[0]) if candidates else None

    def tick(self, now: datetime) -> list[Firing]:
        """Let time pass: open tasks whose lag is over, fire every escalation now due.

        One at a time, earliest first: a firing may make a repeat or follow-on due that
        was missed while nobody was looking, and that goes before anything due later.
        """
        if self.state.status is not CaseStatus.open or self.state.paused:
            return []
        self._release(now, SLA)
        fired: list[Firing] = []
        for _ in range(1000):  # the rest, if ever more, on the next tick (next_due is past)
            due = self.pending_escalations(now)
            if not due or due[0].at > now:
                break
            fired.append(self._fire(due[0], now))
        return fired

    # -- requests ----------------------------------------------------------------------

    def check_pause(self, reason: str | None = None) -> None:
        self._require_open_case()
        if not self.type.may_be_held:
            raise errors.NotAllowed(
                f"Cases of {self.type.name} may not be paused: their SLA runs without a break."
            )
        if self.state.paused:
            since = self.state.pauses[-1]
            raise errors.NotAllowed(
                f"Case {self.state.case_ref} is already paused since "
                f"{since.start:%Y-%m-%d %H:%M} ({since.reason}); resume it first."
            )
        if reason is not None and not reason.strip():
            raise errors.NotAllowed("Pausing a case needs a reason, e.g. 'tenant in hospital'.")

    def pause(self, *, reason: str, by: str, now: datetime) -> list[LogEntry]:
        """Stop every clock of the case; nothing fires until `resume`."""
        self.check_pause(reason)
        self.state.pauses.append(Interval(start=now, reason=reason, by=by))
        return self._log(now, "case_paused", by, None, reason)

    def check_resume(self) -> None:
        self._require_open_case()
        if not self.state.paused:
            raise errors.NotAllowed(f"Case {self.state.case_ref} is not paused.")

    def resume(self, *, by: str, now: datetime) -> list[LogEntry]:
        self.check_resume()
        stop = self.state.pauses[-1]
        stop.end = now
        held = self.calendar.working_time_between(stop.start, now)
        entries = self._log(now, "case_resumed", by, None, f"paused for {_span(held)}")
        self._replan_series(now)
        self._release(now, by)
        return entries

    def check_hold(self, ref: str, reason: str | None = None) -> TaskInstance:
        """A task's hold stops its clock like a pause, so it needs the type's leave too."""
        self._require_open_case()
        if not self.type.may_be_held:
            raise errors.NotAllowed(
                f"Tasks of {self.type.name} may not be held: their SLAs run without a break."
            )
        task = self.instance(ref)
        if not task.active:
            raise errors.TaskNotOpen(f"{task.key} is {task.status.value}; only open work is held.")
        if self._held(task.key):
            raise errors.NotAllowed(f"{task.key} is already held; release it first.")
        if reason is not None and not reason.strip():
            raise errors.NotAllowed("Holding a task needs a reason, e.g. 'awaiting the GP'.")
        return task

    def hold_task(self, ref: str, *, reason: str, by: str, now: datetime) -> list[LogEntry]:
        task = self.check_hold(ref, reason)
        task.holds.append(Interval(start=now, reason=reason, by=by))
        return self._log(now, "task_held", by, task.key, reason)

    def check_release(self, ref: str) -> TaskInstance:
        self._require_open_case()
        task = self.instance(ref)
        if not task.active:
            raise errors.TaskNotOpen(
                f"{task.key} is {task.status.value}; there is nothing to release."
            )
        if not self._held(task.key):
            raise errors.NotAllowed(f"{task.key} is not held.")
        return task

    def release_task(self, ref: str, *, by: str, now: datetime) -> list[LogEntry]:
        task = self.check_release(ref)
        task.holds[-1].end = now
        return self._log(now, "task_released", by, task.key)

    def check_revise(
        self, subject: str, due_at: datetime, reason: str, now: datetime | None = None
    ) -> str:
        """Which clock a revision applies to (`case` or a task key).

        Given `now`, a target more than ten years from it either way is refused: it is a
        typo, and working-time arithmetic across centuries would stall the case.
        """
        self._require_open_case()
        if subject == "case":
            sla = self.type.sla
            key = "case"
        else:
            task = self.instance(subject)
            if not task.active:
                raise errors.TaskNotOpen(
                    f"{task.key} is {task.status.value}; its clock has stopped and its target "
                    "stands."
                )
            sla = self.definition(task).sla
            key = task.key
        if sla is None:
            raise errors.NotAllowed(f"{subject} has no SLA target to revise.")
        if not sla.allows_revision:
            raise errors.NotAllowed(
                f"The SLA of {subject} does not allow revision; its target is fixed."
            )
        if not reason.strip():
            raise errors.NotAllowed("Revising a target needs a reason, recorded in the log.")
        if due_at.tzinfo is None or due_at.utcoffset() is None:
            raise errors.NotAllowed("Give the revised target with its UTC offset.")
        if now is not None and abs(due_at - now) > REVISION_HORIZON:
            raise errors.OutOfRange(
                f"The revised target {due_at:%Y-%m-%d} is more than ten years from now; "
                "check the date."
            )
        return key

    def revise_target(
        self, subject: str, *, due_at: datetime, reason: str, by: str, now: datetime
    ) -> list[LogEntry]:
        key = self.check_revise(subject, due_at, reason, now)
        self.state.revisions[key] = RevisedTarget(
            due_at=due_at, revised_at=now, reason=reason, by=by
        )
        task_key = None if key == "case" else key
        return self._log(
            now,
            "target_revised",
            by,
            task_key,
            f"new target {due_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {reason}",
        )

    # -- internals ---------------------------------------------------------------------

    def _held(self, subject: str) -> bool:
        if subject == "case":
            return False
        task = self._by_key.get(subject)  # type: ignore[attr-defined]
        return bool(task and task.holds and task.holds[-1].end is None)

    def _waits_on_tasks(self, task: TaskInstance) -> bool:
        return any(
            not self._satisfied(d.task)  # type: ignore[attr-defined]
            for d in self.definition(task).depends_on
        )

    def _subjects(self, now: datetime) -> list[tuple[Subject, tuple[Any, ...]]]:
        """What escalations are about now, each with what its schedule depends on."""
        found = []
        if self.type.sla is not None or self.type.escalations:
            found.append(self._subject("case", self.type.escalations, None, now))
        for task in self.in_progress():
            if task.status is not TaskStatus.open or self._held(task.key):
                continue
            rules = self.definition(task).escalations
            if rules:
                found.append(self._subject(task.key, rules, task, now))
        return found

    def _subject(
        self, key: str, rules: Any, task: TaskInstance | None, now: datetime
    ) -> tuple[Subject, tuple[Any, ...]]:
        planned = self._planned_clock(key)
        found = planned[0] if planned else None
        stops = self.state.pauses + task.holds if task is not None else self.state.pauses
        last_activity = self._last_activity(task.key if task is not None else None)
        subject = Subject(
            key=key,
            clock=found,
            rules=rules,
            last_activity=last_activity,
            stops=stops,
            clock_since=self._clock_since(key, found),
        )
        stamp = (
            self._clocks[key][0] if planned else None,
            _stamp(stops),
            last_activity,
            len(self._firings.get(key, ())),
        )
        return subject, stamp

    def _clock_since(self, key: str, clock: Clock | None) -> datetime | None:
        if clock is None:
            return None
        revision = self.state.revisions.get(key)
        return max(clock.started_at, revision.revised_at) if revision else clock.started_at

    def _last_activity(self, task_key: str | None) -> datetime:
        """When a person or system last did something to the task (or the case)."""
        if task_key is None:
            return self.state.last_activity_at or self.state.opened_at
        task = self._by_key.get(task_key)  # type: ignore[attr-defined]
        if task is not None and task.last_activity_at is not None:
            return task.last_activity_at
        entries = [
            e for e in self.state.log if e.kind not in SYSTEM_KINDS and e.task_key == task_key
        ]
        return entries[-1].at if entries else self.state.opened_at

    def _fire(self, item: Pending, now: datetime) -> Firing:
        firing = Firing(
            key=item.key(self.state.case_ref),
            subject=item.subject,
            rule=item.path,
            trigger=item.trigger.value,
            occurrence=item.occurrence,
            due_at=item.at,
            fired_at=now,
            template=item.action.template,
        )
        self.state.firings.append(firing)
        self._firings.setdefault(item.subject, []).append(firing)
        task_key = None if item.subject == "case" else item.subject
        self._log(
            now,
            "escalation_fired",
            SLA,
            task_key,
            f"{item.trigger.value} rule {item.path} (occurrence {item.occurrence}) "
            f"due {item.at:%Y-%m-%d %H:%M}",
        )
        self._act(item.action, task_key, now)
        return firing

    def _act(self, action: EscalationAction, task_key: str | None, now: datetime) -> None:
        if action.reassign_to:
            if task_key is None:
                if self.state.owner != action.reassign_to:
                    self.state.owner = action.reassign_to
                    self._log(now, "case_reassigned", SLA, None, f"to {action.reassign_to}")
            else:
                task = self._by_key[task_key]  # type: ignore[attr-defined]
                if task.owner != action.reassign_to:
                    task.owner = action.reassign_to
                    self._log(now, "task_reassigned", SLA, task_key, f"to {action.reassign_to}")
        if action.raise_priority is not None:
            current = Priority(self.state.priority)
            if action.raise_priority.rank > current.rank:
                self.state.priority = action.raise_priority.value
                self._log(
                    now, "priority_raised", SLA, task_key, f"to {action.raise_priority.value}"
                )


def _stamp(stops: list[Interval]) -> tuple[Any, ...]:
    """What the stops look like to a clock: how many, and whether the last has ended."""
    return (len(stops), stops[-1].start, stops[-1].end) if stops else (0,)


def _span(amount: object) -> str:
    text = str(amount)
    return text.split(".")[0]
