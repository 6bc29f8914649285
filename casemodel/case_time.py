"""The time rules of a case: SLA clocks, pauses and holds, revised targets, escalations.

A mixin of `Case`, kept apart so the plan rules and the time rules each read on their own.
Like the rest of the core it is given the time; `tick(now)` is how the workflow tells the
case that time has passed, and `next_due()` is when it should next be told.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from definitions.schema import EscalationAction, Priority, TaskDefinition

from . import errors
from .escalation import Firing, Pending, Subject, pending
from .requests import REVISION_HORIZON
from .sla import Clock, ClockState, Interval, RevisedTarget, clock, worst
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
    }
)
SLA = "sla"


class CaseTime:
    state: CaseState
    calendar: Calendar
    type: ProvisionType

    if TYPE_CHECKING:

        def _log(
            self, now: datetime, kind: str, by: str, task_key: str | None = ..., detail: str = ...
        ) -> list[LogEntry]: ...
        def definition(self, task: TaskInstance) -> TaskDefinition: ...
        def _require_open_case(self) -> None: ...
        def _release(self, now: datetime, by: str) -> None: ...
        def instance(self, ref: str) -> TaskInstance: ...

    # -- clocks ------------------------------------------------------------------------

    def clocks(self, now: datetime) -> list[Clock]:
        """Every SLA clock of the case: the case's first, then each task's that has opened."""
        found = []
        state = self.state
        if self.type.sla is not None:
            found.append(
                clock(
                    subject="case",
                    name=self.type.name,
                    calendar=self.calendar,
                    target_text=self.type.sla.target,
                    warning_text=self.type.sla.warning,
                    started_at=state.opened_at,
                    stopped_at=state.resolved_at,
                    stops=state.pauses,
                    revision=state.revisions.get("case"),
                    now=now,
                )
            )
        for task in state.tasks:
            sla = self.definition(task).sla
            if sla is None or task.opened_at is None:
                continue
            found.append(
                clock(
                    subject=task.key,
                    name=task.name,
                    calendar=self.calendar,
                    target_text=sla.target,
                    warning_text=sla.warning,
                    started_at=task.opened_at,
                    stopped_at=task.resolved_at if not task.active else None,
                    stops=state.pauses + task.holds,
                    revision=state.revisions.get(task.key),
                    now=now,
                )
            )
        return found

    def sla_state(self, now: datetime) -> ClockState:
        """The state the UI shows for the case: paused, or the worst of its running clocks."""
        if self.state.status is CaseStatus.open and self.state.paused:
            return ClockState.paused
        clocks = self.clocks(now)
        running = [c.state for c in clocks if c.running]
        if running:
            return worst(running)
        case_clock = next((c for c in clocks if c.subject == "case"), None)
        return case_clock.state if case_clock else ClockState.on_track

    # -- when to wake ------------------------------------------------------------------

    def pending_escalations(self, now: datetime) -> list[Pending]:
        if self.state.status is not CaseStatus.open or self.state.paused:
            return []
        found: list[Pending] = []
        for subject in self._subjects(now):
            found.extend(pending(subject, self.state.firings, self.calendar))
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
        for c in self.clocks(now):
            if not c.running or self._held(c.subject):
                continue
            what = "the case" if c.subject == "case" else c.subject
            if c.warning_at is not None and c.warning_at > now:
                candidates.append((c.warning_at, f"warning point of {what}"))
            if c.due_at > now:
                candidates.append((c.due_at, f"target of {what}"))
        for task in self.state.tasks:
            if task.status is TaskStatus.blocked:
                ready = self.ready_at(task)  # type: ignore[attr-defined]
                if ready is not None and ready > now and not self._waits_on_tasks(task):
                    candidates.append((ready, f"lag before {task.key}"))
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
            now, "target_revised", by, task_key, f"new target {due_at.isoformat()}: {reason}"
        )

    # -- internals ---------------------------------------------------------------------

    def _held(self, subject: str) -> bool:
        if subject == "case":
            return False
        task = next((t for t in self.state.tasks if t.key == subject), None)
        return bool(task and task.holds and task.holds[-1].end is None)

    def _waits_on_tasks(self, task: TaskInstance) -> bool:
        return any(
            not self._satisfied(d.task)  # type: ignore[attr-defined]
            for d in self.definition(task).depends_on
        )

    def _subjects(self, now: datetime) -> list[Subject]:
        clocks = {c.subject: c for c in self.clocks(now)}
        found = []
        if self.type.sla is not None or self.type.escalations:
            found.append(
                Subject(
                    key="case",
                    clock=clocks.get("case"),
                    rules=self.type.escalations,
                    last_activity=self._last_activity(None),
                    stops=self.state.pauses,
                    clock_since=self._clock_since("case", clocks.get("case")),
                )
            )
        for task in self.state.tasks:
            if task.status is not TaskStatus.open or self._held(task.key):
                continue
            rules = self.definition(task).escalations
            if not rules:
                continue
            found.append(
                Subject(
                    key=task.key,
                    clock=clocks.get(task.key),
                    rules=rules,
                    last_activity=self._last_activity(task.key),
                    stops=self.state.pauses + task.holds,
                    clock_since=self._clock_since(task.key, clocks.get(task.key)),
                )
            )
        return found

    def _clock_since(self, key: str, clock: Clock | None) -> datetime | None:
        if clock is None:
            return None
        revision = self.state.revisions.get(key)
        return max(clock.started_at, revision.revised_at) if revision else clock.started_at

    def _last_activity(self, task_key: str | None) -> datetime:
        entries = [
            e
            for e in self.state.log
            if e.kind not in SYSTEM_KINDS and (task_key is None or e.task_key == task_key)
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
                task = next(t for t in self.state.tasks if t.key == task_key)
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


def _span(amount: object) -> str:
    text = str(amount)
    return text.split(".")[0]
