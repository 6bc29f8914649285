"""The durable shell around one support provision case.

The rules live in `casemodel.Case`; this class feeds it requests (updates, signals) and
the passing of time, with the workflow's own clock, and carries out what follows: search
attributes and UI details, the case register, escalation notices. It keeps one timer, for
the earliest thing due anywhere in the case, and moves it only when that instant changes.
Refusals are raised as `ApplicationError`s whose `type` is the
rule's code, so callers see the rule's own message and no workflow task ever fails
because a caller asked for something the case does not allow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import NOTIFY_ESCALATION, RECORD_CASE_CHANGES, RegisterUpdate
    from casemodel.case import Case
    from casemodel.errors import CaseRuleError
    from casemodel.state import CaseState, CaseStatus, CaseSummary, LogEntry

    from . import details
    from . import search_attributes as sa
    from .messages import (
        AddTask,
        BypassTask,
        CancelTask,
        CloseCase,
        CompleteTask,
        HoldTask,
        PauseCase,
        ReleaseTask,
        RequestResult,
        ResumeCase,
        ReviseTarget,
        StartCase,
        UndoCompletion,
    )
    from .notices import notice_for

T = TypeVar("T")

REGISTER_PATCH = "case-register"
"""Histories recorded before the case register existed replay without its activity."""

# The register must catch up however long the database is away: retry for ever, slowly.
REGISTER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)


REGISTER_BEHIND_PATCH = "register-in-background"
"""Histories recorded while the loop awaited each register write replay that way."""

SLA_PATCH = "sla-clocks"
"""Histories recorded before SLA clocks existed replay without timers or SLA attributes."""

# A notice must reach its recipients however long the mail server is away.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


def _refuse(check: Callable[[], T]) -> T:
    try:
        return check()
    except CaseRuleError as refusal:
        raise ApplicationError(refusal.message, type=refusal.code, non_retryable=True) from None


@workflow.defn(name="SupportCaseWorkflow")
class SupportCaseWorkflow:
    @workflow.init
    def __init__(self, start: StartCase) -> None:
        self._start = start
        self._case = Case.open(
            start.provision_type,
            case_ref=start.case_ref,
            tenant_ref=start.tenant_ref,
            owner=start.owner,
            now=workflow.now(),
            opened_by=start.opened_by,
            type_version=start.type_version,
        )
        self._changed = True
        self._recorded_seq = 0
        self._shown_attributes: tuple[Any, ...] = ()
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None
        self._keeps_time = False
        self._notices: list[asyncio.Task[Any]] = []
        self._write: asyncio.Task[Any] | None = None
        self._write_seq = 0

    @workflow.run
    async def run(self, start: StartCase) -> CaseSummary:
        keeps_register = workflow.patched(REGISTER_PATCH)
        self._keeps_time = workflow.patched(SLA_PATCH)
        # A database that is away must not stop the case keeping time: the register is
        # written behind, one write in flight at a time, each carrying all that changed.
        writes_behind = workflow.patched(REGISTER_BEHIND_PATCH)
        while True:
            await workflow.wait_condition(
                lambda: self._changed or self._timer_done() or self._write_done()
            )
            self._changed = False
            if self._timer_done():
                self._timer, self._timer_at = None, None
            if self._write_done():
                self._finish_write()
            fired = self._case.tick(workflow.now()) if self._keeps_time else []
            self._show()
            # Notices go out in the background: a mail server that is down must not stop
            # the case keeping time, nor hold back the next escalation's outbox rows.
            self._notices = [n for n in self._notices if not n.done()]
            for firing in fired:
                self._notices.append(
                    workflow.start_activity(
                        NOTIFY_ESCALATION,
                        notice_for(self._case, firing, workflow.info().workflow_id, workflow.now()),
                        start_to_close_timeout=timedelta(minutes=1),
                        retry_policy=NOTIFY_RETRY,
                        summary=f"escalation {firing.rule} of {firing.subject} "
                        f"#{firing.occurrence}",
                    )
                )
            # The timer goes out with the same workflow task, before the register write.
            if self._keeps_time and self._case.state.status is CaseStatus.open:
                self._arm_timer()
            if keeps_register and writes_behind:
                self._start_write()
            elif keeps_register:
                await self._record()
            # Requests may have arrived while the register was written: go round again.
            if self._case.state.status is not CaseStatus.open and not self._changed:
                break
        if self._timer is not None:
            self._timer.cancel()
        while keeps_register and writes_behind:
            if self._write is not None:
                await self._write
                self._finish_write()
            self._start_write()
            if self._write is None:
                break
        if self._notices:
            await asyncio.gather(*self._notices)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CaseSummary.of(self._case.state)

    # -- queries -----------------------------------------------------------------------

    @workflow.query
    def state(self) -> CaseState:
        return self._case.state

    # -- updates -----------------------------------------------------------------------

    @workflow.update
    def complete_task(self, request: CompleteTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.complete_task(
                request.task,
                outcome=request.outcome,
                responses=request.responses,
                note=request.note,
                by=request.by,
                now=now,
            )
        )

    @complete_task.validator
    def _validate_complete_task(self, request: CompleteTask) -> None:
        _refuse(
            lambda: self._case.check_complete(
                request.task, outcome=request.outcome, responses=request.responses
            )
        )

    @workflow.update
    def add_task(self, request: AddTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.add_task(request.task, note=request.note, by=request.by, now=now)
        )

    @add_task.validator
    def _validate_add_task(self, request: AddTask) -> None:
        _refuse(lambda: self._case.check_add(request.task))

    @workflow.update
    def cancel_task(self, request: CancelTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.cancel_task(
                request.task, cascade=request.cascade, reason=request.reason, by=request.by, now=now
            )
        )

    @cancel_task.validator
    def _validate_cancel_task(self, request: CancelTask) -> None:
        _refuse(lambda: self._case.check_cancel(request.task, cascade=request.cascade))

    @workflow.update
    def bypass_task(self, request: BypassTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.bypass_task(
                request.task, reason=request.reason, by=request.by, now=now
            )
        )

    @bypass_task.validator
    def _validate_bypass_task(self, request: BypassTask) -> None:
        _refuse(lambda: self._case.check_bypass(request.task))

    @workflow.update
    def undo_completion(self, request: UndoCompletion) -> RequestResult:
        return self._apply(
            lambda now: self._case.undo_completion(
                request.task, reason=request.reason, by=request.by, now=now
            )
        )

    @undo_completion.validator
    def _validate_undo_completion(self, request: UndoCompletion) -> None:
        _refuse(lambda: self._case.check_undo(request.task))

    @workflow.update
    def close_case(self, request: CloseCase) -> RequestResult:
        return self._apply(
            lambda now: self._case.close(
                outcome=request.outcome, reason=request.reason, by=request.by, now=now
            )
        )

    @close_case.validator
    def _validate_close_case(self, request: CloseCase) -> None:
        _refuse(lambda: self._case.check_close(request.outcome))

    @workflow.update
    def pause_case(self, request: PauseCase) -> RequestResult:
        return self._apply(
            lambda now: self._case.pause(reason=request.reason, by=request.by, now=now)
        )

    @pause_case.validator
    def _validate_pause_case(self, request: PauseCase) -> None:
        _refuse(lambda: self._case.check_pause(request.reason))

    @workflow.update
    def resume_case(self, request: ResumeCase) -> RequestResult:
        return self._apply(lambda now: self._case.resume(by=request.by, now=now))

    @resume_case.validator
    def _validate_resume_case(self, request: ResumeCase) -> None:
        _refuse(self._case.check_resume)

    @workflow.update
    def hold_task(self, request: HoldTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.hold_task(
                request.task, reason=request.reason, by=request.by, now=now
            )
        )

    @hold_task.validator
    def _validate_hold_task(self, request: HoldTask) -> None:
        _refuse(lambda: self._case.check_hold(request.task, request.reason))

    @workflow.update
    def release_task(self, request: ReleaseTask) -> RequestResult:
        return self._apply(
            lambda now: self._case.release_task(request.task, by=request.by, now=now)
        )

    @release_task.validator
    def _validate_release_task(self, request: ReleaseTask) -> None:
        _refuse(lambda: self._case.check_release(request.task))

    @workflow.update
    def revise_target(self, request: ReviseTarget) -> RequestResult:
        return self._apply(
            lambda now: self._case.revise_target(
                request.clock,
                due_at=request.due_at,
                reason=request.reason,
                by=request.by,
                now=now,
            )
        )

    @revise_target.validator
    def _validate_revise_target(self, request: ReviseTarget) -> None:
        _refuse(lambda: self._case.check_revise(request.clock, request.due_at, request.reason))

    # -- signals -----------------------------------------------------------------------

    @workflow.signal
    def report_task_completed(self, request: CompleteTask) -> None:
        """Fire-and-forget completion: applied once; a refusal is recorded, not raised."""
        self._case.record_completion(
            request.task,
            request_id=request.request_id,
            outcome=request.outcome,
            responses=request.responses,
            note=request.note,
            by=request.by,
            now=workflow.now(),
        )
        self._changed = True

    # -- shell -------------------------------------------------------------------------

    def _apply(self, change: Callable[[Any], list[LogEntry]]) -> RequestResult:
        # The validator ran against the same state, but a handler must still never fail
        # the workflow task: a refusal here fails only the update.
        entries = _refuse(lambda: change(workflow.now()))
        self._changed = True
        state = self._case.state
        return RequestResult(case_ref=state.case_ref, case_status=state.status, changes=entries)

    async def _record(self) -> None:
        """The register written inline, as histories before REGISTER_BEHIND_PATCH did."""
        update = self._register_update()
        if update is None:
            return
        await workflow.execute_activity(
            RECORD_CASE_CHANGES,
            update,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=REGISTER_RETRY,
            summary=f"register: log {self._recorded_seq + 1}-{update.last_seq}",
        )
        self._recorded_seq = update.last_seq

    def _register_update(self) -> RegisterUpdate | None:
        state = self._case.state
        update = RegisterUpdate.from_state(
            state,
            workflow_id=workflow.info().workflow_id,
            type_version=state.type_version,
            since_seq=self._recorded_seq,
            priority=state.priority,
        )
        return None if update.last_seq == self._recorded_seq else update

    def _start_write(self) -> None:
        if self._write is not None:
            return  # the next turn after it lands writes what changed meanwhile
        update = self._register_update()
        if update is None:
            return
        self._write = workflow.start_activity(
            RECORD_CASE_CHANGES,
            update,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=REGISTER_RETRY,
            summary=f"register: log {self._recorded_seq + 1}-{update.last_seq}",
        )
        self._write_seq = update.last_seq

    def _write_done(self) -> bool:
        return self._write is not None and self._write.done()

    def _finish_write(self) -> None:
        self._recorded_seq = self._write_seq
        self._write = None

    def _timer_done(self) -> bool:
        return self._timer is not None and self._timer.done()

    def _arm_timer(self) -> None:
        """Sleep until the earliest thing due; keep the running timer if that has not moved."""
        due = self._case.next_due(workflow.now())
        at = due[0] if due else None
        if at == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, at
        if due is None or at is None:
            return
        delay = max(at - workflow.now(), timedelta(milliseconds=1))
        self._timer = asyncio.create_task(workflow.sleep(delay, summary=f"until {due[1]}"))

    def _show(self) -> None:
        state = self._case.state
        t = state.provision_type
        values: tuple[tuple[Any, Any], ...] = (
            (sa.PROVISION_TYPE, t.id),
            (sa.CATEGORY, t.category.value),
            (sa.OWNER, state.owner),
            (sa.TENANT, state.tenant_ref),
            (sa.CASE_STATUS, state.status.value),
            (sa.OPEN_TASKS, state.open_task_count()),
        )
        if self._keeps_time:
            values += (
                (sa.SLA_STATE, self._case.sla_state(workflow.now()).value),
                (sa.PRIORITY, state.priority),
            )
        # History grows with what changes, not with every request.
        if values != self._shown_attributes:
            workflow.upsert_search_attributes([key.value_set(value) for key, value in values])
            self._shown_attributes = values
        workflow.set_current_details(details.task_table(self._case, workflow.now()))
