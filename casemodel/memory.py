"""What a case that lives for years keeps in mind, and what it leaves to the register.

A support plan with monthly reviews stays open for years and resolves thousands of tasks.
Every workflow task and every hand-over to a new run would grow with them if the state
held them all, so once the register holds a resolved task or a log entry, the state lets
go of it (`tidy`) and keeps only what the rules still ask: the tasks in progress, the
latest resolved ones (which may still be undone), a tally of the rest by definition, the
latest log entries, and the escalations that can still matter.

A mixin of `Case`, like `CaseTime`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from .requests import CONTINUE_BYTES, FOLLOW_ON_RETRY, ContinueCase
from .state import DONE, CaseOutcomeHint, Earlier, TaskInstance, TaskStatus

if TYPE_CHECKING:
    from definitions.schema import TaskDefinition

    from .escalation import Firing
    from .state import CaseState

KEEP_RESOLVED = 50
"""Resolved tasks a case keeps one by one, the latest: these may still be undone."""
LOG_KEPT = 20
"""Log entries a case keeps once the register holds them, the latest, for a glance."""
DETAILED = 10
"""Resolved tasks that keep their note and responses in the state; the register has all."""


class CaseMemory:
    state: CaseState
    _by_key: dict[str, TaskInstance]
    _by_definition: dict[str, list[TaskInstance]]
    _firings: dict[str, list[Firing]]

    if TYPE_CHECKING:

        def definition(self, task: TaskInstance) -> TaskDefinition: ...
        def in_progress(self) -> list[TaskInstance]: ...
        def _forget_clock(self, subject: str) -> None: ...
        def awaiting_hand_over(self) -> list[str]: ...

    def carry(
        self,
        recorded_seq: int,
        *,
        unconfirmed: list[str],
        keep: Collection[str],
        budget: int,
        follow_on_retry: int = FOLLOW_ON_RETRY,
    ) -> ContinueCase | None:
        """What the next run takes over, after letting go of what the register holds; None
        when that is more than a run may carry (the register far behind). The state goes
        whole, so a follow-on still to open (`state.follow_on`, its attempts and when the
        next goes) is opened by the next run, once."""
        self.tidy(recorded_seq, keep=keep)
        carried = ContinueCase(
            state=self.state,
            recorded_seq=recorded_seq,
            unconfirmed=unconfirmed,
            history_budget=budget,
            follow_on_retry=follow_on_retry,
        )
        return carried if len(carried.model_dump_json()) <= CONTINUE_BYTES else None

    def tidy(self, recorded_seq: int, keep: Collection[str] = ()) -> int:
        """Let go of what the register holds, up to log position `recorded_seq`.

        Only what the register already has is let go: a task whose latest change is not
        yet written stays whole until it is, and so does a task in `keep` (one whose
        escalation notice is still on its way) or one whose communication has not been
        handed over yet. Returns how many tasks were let go.
        """
        state = self.state
        keep = {*keep, *self.awaiting_hand_over()}
        log = state.log
        first_unrecorded = next(
            (i for i, entry in enumerate(log) if entry.seq > recorded_seq), len(log)
        )
        del log[: max(0, min(first_unrecorded, len(log) - LOG_KEPT))]
        if len(state.tasks) - len(self.in_progress()) <= min(DETAILED, KEEP_RESOLVED):
            return 0  # a young case: nothing to let go of yet
        resolved = [t for t in state.tasks if not t.active]
        for task in resolved[:-DETAILED]:
            if task.changed_seq <= recorded_seq and (task.responses or task.note):
                task.responses, task.note = {}, None
        surplus = len(resolved) - KEEP_RESOLVED
        if surplus <= 0:
            return 0
        going = [t for t in resolved if t.changed_seq <= recorded_seq and t.key not in keep]
        going = going[:surplus]
        for task in going:
            self._let_go(task)
        gone = {t.key for t in going}
        state.tasks = [t for t in state.tasks if t.key not in gone]
        return len(going)

    def _let_go(self, task: TaskInstance) -> None:
        state = self.state
        earlier = state.earlier.setdefault(task.task, Earlier())
        earlier.instances += 1
        if task.status is TaskStatus.completed:
            earlier.completed += 1
        elif task.status is TaskStatus.bypassed:
            earlier.bypassed += 1
        else:
            earlier.cancelled += 1
        done_at = task.resolved_at if task.status in DONE else None
        if done_at is not None and (earlier.last_done_at is None or done_at > earlier.last_done_at):
            earlier.last_done_at = done_at
        self._remember_case_outcome(task)
        # An undo of the task that added this one must still see it was done.
        source = task.added_by_task
        if task.status in DONE and source in self._by_key and source not in state.undo_blocked:
            state.undo_blocked.append(source)
        if task.key in state.undo_blocked:
            state.undo_blocked.remove(task.key)
        # A resolved task no longer held can never be undone, so its escalations are over.
        if self._firings.pop(task.key, None):
            state.firings = [f for f in state.firings if f.subject != task.key]
        if any(c.subject == task.key for c in state.communications):
            state.communications = [c for c in state.communications if c.subject != task.key]
        state.revisions.pop(task.key, None)
        self._forget_clock(task.key)
        del self._by_key[task.key]
        self._by_definition[task.task].remove(task)

    def _remember_case_outcome(self, task: TaskInstance) -> None:
        if task.status is not TaskStatus.completed or not task.outcome or not task.resolved_at:
            return
        chosen = self.definition(task).outcome(task.outcome)
        if chosen is None or not chosen.case_outcome:
            return
        hint = self.state.case_outcome_hint
        if hint is None or task.resolved_at > hint.at:  # on a tie, the first in the plan
            self.state.case_outcome_hint = CaseOutcomeHint(
                at=task.resolved_at, outcome=chosen.case_outcome
            )
