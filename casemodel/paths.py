"""Decisions on what was recorded: the paths a task's completion follows.

A mixin of `Case`, like `CaseTime` and `CaseMemory`. When a task is completed, every path
of its definition whose outcome matches (or that names none) and whose condition holds
on the recorded responses (`casemodel.conditions`) is followed, in order: it adds its
tasks (as an outcome's `adds_tasks` does: once, unless repeatable, undone with the
completion), records its communication, and completes the case with its outcome, which
ends the path and every path after it. The log says which path was followed and why.

A communication is recorded like an escalation's firing (`Firing`, trigger `path`) with a
key of its own per case, task instance and path, so the workflow sends it through the
same outbox and activity, once: `take_communications` hands over what was recorded since
it was last asked, and a completion undone and made again does not record it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from definitions.schema import CommunicationStep, TaskDefinition, TaskPath

from .conditions import evaluate
from .escalation import Firing

if TYPE_CHECKING:
    from .state import CaseState, LogEntry, TaskInstance

PATH_TRIGGER = "path"
"""The trigger of a communication a path recorded, where an escalation says `breach`."""
RULE_PREFIX = "path:"


def communication_rule(path_id: str) -> str:
    """The `rule` a path's communication is recorded under, e.g. `path:refer-for-advice`."""
    return f"{RULE_PREFIX}{path_id}"


def communication_step(definition: TaskDefinition, rule: str) -> CommunicationStep | None:
    """The communication step a recorded communication's `rule` names, if it has one."""
    if not rule.startswith(RULE_PREFIX):
        return None
    path = definition.path(rule.removeprefix(RULE_PREFIX))
    return path.sends if path is not None else None


class CasePaths:
    state: CaseState

    if TYPE_CHECKING:

        def definition(self, task: TaskInstance) -> TaskDefinition: ...
        def _log(
            self, now: datetime, kind: str, by: str, task_key: str | None = ..., detail: str = ...
        ) -> list[LogEntry]: ...
        def _add_on_path(
            self, task_id: str, now: datetime, by: str, *, note: str, added_by_task: str
        ) -> None: ...
        def _complete_case(
            self, now: datetime, by: str, detail: str, *, outcome: str | None = ...
        ) -> None: ...

    def _follow_paths(self, task: TaskInstance, now: datetime, by: str) -> None:
        """Follow the paths of a task just completed, in order; the first that completes
        the case is the last followed."""
        definition = self.definition(task)
        for path in definition.paths:
            if path.outcome is not None and path.outcome != task.outcome:
                continue
            verdict = evaluate(path.when, definition, task.responses)
            if not verdict.holds:
                continue
            self._log(now, "path_followed", by, task.key, f"path {path.id}: {verdict.reason}")
            for task_id in path.adds_tasks:
                self._add_on_path(
                    task_id, now, by, note=f"path {path.id} of {task.key}", added_by_task=task.key
                )
            if path.sends is not None:
                self._record_communication(task, path, path.sends, now, by)
            if path.completes_case is not None:
                self._complete_case(
                    now, by, f"path {path.id} of {task.key}", outcome=path.completes_case
                )
                return

    def _record_communication(
        self, task: TaskInstance, path: TaskPath, step: CommunicationStep, now: datetime, by: str
    ) -> None:
        rule = communication_rule(path.id)
        key = f"{self.state.case_ref}/{task.key}/{rule}#1"
        if any(c.key == key for c in self.state.communications):
            return  # recorded before this completion was undone and made again: sent once
        self.state.communications.append(
            Firing(
                key=key,
                subject=task.key,
                rule=rule,
                trigger=PATH_TRIGGER,
                occurrence=1,
                due_at=now,
                fired_at=now,
                template=step.template,
            )
        )
        self.state.outgoing.append(key)
        self._log(now, "communication_recorded", by, task.key, f"{step.template} (path {path.id})")

    def take_communications(self) -> list[Firing]:
        """The communications recorded since this was last asked, to send: each is
        handed over once, and carried to the next run until it is."""
        if not self.state.outgoing:
            return []
        wanted = set(self.state.outgoing)
        self.state.outgoing = []
        return [c for c in self.state.communications if c.key in wanted]

    def awaiting_hand_over(self) -> list[str]:
        """Tasks whose communications are recorded but not yet handed over: kept whole."""
        if not self.state.outgoing:
            return []
        wanted = set(self.state.outgoing)
        return [c.subject for c in self.state.communications if c.key in wanted]

    def recorded(self, key: str) -> Firing | None:
        """The escalation firing or the communication recorded under ``key``."""
        return next(
            (f for f in (*self.state.firings, *self.state.communications) if f.key == key), None
        )
