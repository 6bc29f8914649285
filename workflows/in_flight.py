"""What a case has on its way: its register write, behind the case, and notices (of
escalations, and of the communications paths recorded).

Neither may hold the case up: a database or a mail server that is away must not stop it
keeping time. So the register is written one write at a time, each carrying all that was
logged since the last landed, and notices go out in the background; a hand-over to the
next run carries over what has not landed (the register's position, unconfirmed notices).

On code that writes the register locally first (the `register-local-first` patch), a write
runs as a local activity, in the worker that runs the workflow task: no task queue round
trip, no activity events and no second workflow task for its result, only one marker (its
input is not in history either). A local write holds its workflow task until it lands, so
it is bounded to a few seconds; if it does not land, the same changes go as a (remote)
activity that retries for ever, as before, and writes stay remote until one lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimedOut

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        CASE_REF_TAKEN,
        NOTIFY_ESCALATION,
        OWNER_REFUSED,
        RECORD_CASE_CHANGES,
        EscalationNotice,
        RegisterUpdate,
    )
    from casemodel.case import Case
    from casemodel.escalation import Firing
    from casemodel.paths import PATH_TRIGGER

    from .names import notice_queue

REGISTER_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=20))
"""The register must catch up however long the database is away, and soon after it is
back: tried for ever, at most 20 s apart (it was 2 minutes, and after a 5-minute outage the
register caught up 77 s after the database had returned). A case has one write in flight
at most, carrying all that changed, so this is one attempt per 20 s per case whose register
is behind. A retry policy is not part of what replay checks: no patch."""
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5)
)
"""A notice must reach its recipients however long the mail server is away."""
LOCAL_TIMEOUT = timedelta(seconds=3)
LOCAL_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=2)
"""A local write holds its workflow task: two tries of at most 3 s, then a remote one."""
NOTICES_PATCH = "notices-own-queue"
"""Histories recorded before notices had their own task queue, a heartbeat and a retry
within 20 s replay with the notice scheduled as it was (the case's queue, a minute to
close, no heartbeat, retries up to five minutes apart)."""
NOTIFY_HEARTBEAT = timedelta(seconds=10)
"""A worker that dies mid-notice is noticed this soon, and the notice retried."""
NOTIFY_RETRY_SOON = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=20),
)
"""With the patch: a notice is tried again within 20 s of the mail server or database
coming back, not up to five minutes later (a few rows a firing: cheap to retry)."""
NOTIFY_CLOSE = timedelta(minutes=2)
"""One attempt mails a firing's few recipients, each within the mailer's 30 s timeout."""


class InFlight:
    def __init__(self, recorded_seq: int = 0) -> None:
        self.recorded_seq = recorded_seq
        """The log is in the register up to here (carried from run to run)."""
        self.local_first = False
        """Whether register writes go as local activities first (set by the workflow)."""
        self.since: Callable[[str], bool] = workflow.patched
        """Whether the case runs on code with a patch (the workflow's answer, which a case
        on current code gives without a marker a patch)."""
        self._write: asyncio.Task[Any] | None = None
        self._write_local = False
        self._remote_until_landed = False
        self._write_seq = 0
        self._write_rebases = False
        info = workflow.info()
        self._rebase = info.run_id != info.original_execution_run_id
        """Whether this run's next write rebases the register: a run that a reset made
        (Temporal keeps the run it was reset from as the original) takes over the register
        from what the run reset away wrote after the reset point."""
        self._notices: dict[str, tuple[str, asyncio.Task[Any]]] = {}  # by firing key

    def written(self) -> bool:
        """A register write landed: the next one may go."""
        return self._write is not None and self._write.done()

    def collect(self) -> bool:
        """Take note of what landed; whether a register write had."""
        self._notices = {key: sent for key, sent in self._notices.items() if not sent[1].done()}
        if not self.written():
            return False
        write, self._write = self._write, None
        if write is not None and (taken := _ref_taken(write.exception())) is not None:
            raise taken
        if self._write_local and write is not None and write.exception() is not None:
            self._remote_until_landed = True  # the next write sends the same changes remotely
            self._rebase |= self._write_rebases
            return False
        self.recorded_seq = self._write_seq
        if not self._write_local:
            self._remote_until_landed = False
        return True

    def write(self, case: Case) -> None:
        """Write what changed since the last write, unless a write is still in flight."""
        if self._write is not None:
            return  # the next turn after it lands writes what changed meanwhile
        # Only a write made now, not one replayed, rebases: what a replayed write carried
        # is in the register already (a local activity's input is not part of what replay
        # checks, and the write goes or not as it did).
        rebase = self._rebase and not workflow.unsafe.is_replaying()
        info = workflow.info()
        update = RegisterUpdate.since(
            case,
            info.workflow_id,
            self.recorded_seq,
            workflow.now(),
            rebase=rebase,
            first_run_id=info.first_execution_run_id,
            opening=self.recorded_seq == 0 and info.continued_run_id is None,
        )
        if update is None:
            return
        self._rebase &= not rebase  # until that write fails (`collect`)
        summary = f"register: log {self.recorded_seq + 1}-{update.last_seq}"
        self._write_local = self.local_first and not self._remote_until_landed
        if self._write_local:
            self._write = workflow.start_local_activity(
                RECORD_CASE_CHANGES,
                update,
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=LOCAL_RETRY,
                summary=summary,
            )
        else:
            self._write = workflow.start_activity(
                RECORD_CASE_CHANGES,
                update,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=REGISTER_RETRY,
                summary=summary,
            )
        self._write_seq = update.last_seq
        self._write_rebases = rebase

    async def write_inline(self, case: Case) -> None:
        """The register written before the case goes on, as histories before writing
        behind did."""
        self.write(case)
        if self._write is not None:
            await self._landed(self._write)
            self.collect()

    async def _landed(self, write: asyncio.Task[Any]) -> None:
        """Wait for `write` to end; a local one that failed is sent again remotely.

        A local write that ran out of time fails with an `ActivityError` when it happens,
        but with the bare `TimeoutError` when its marker is replayed: both are the same
        failure (a worker that rebuilt such a case raised the second, failing the
        workflow on replay where it had gone on)."""
        try:
            await write
        except (ActivityError, ActivityTimedOut) as failed:
            if (taken := _ref_taken(failed)) is not None:
                raise taken from None
            if not self._write_local:
                raise

    def notify(self, case: Case, firing: Firing) -> None:
        if self.since(NOTICES_PATCH):
            options: dict[str, Any] = {
                "task_queue": notice_queue(workflow.info().task_queue),
                "start_to_close_timeout": NOTIFY_CLOSE,
                "heartbeat_timeout": NOTIFY_HEARTBEAT,
                "retry_policy": NOTIFY_RETRY_SOON,
            }
        else:
            options = {"start_to_close_timeout": timedelta(minutes=1), "retry_policy": NOTIFY_RETRY}
        self._notices[firing.key] = (
            firing.subject,
            workflow.start_activity(
                NOTIFY_ESCALATION,
                EscalationNotice.of(case, firing, workflow.info().workflow_id, workflow.now()),
                **options,
                summary=f"communication {firing.rule} of {firing.subject}"
                if firing.trigger == PATH_TRIGGER
                else f"escalation {firing.rule} of {firing.subject} #{firing.occurrence}",
            ),
        )

    def landed(self) -> bool:
        """Nothing on its way: a quiet point to hand over at."""
        no_write = self._write is None or self._write.done()
        return no_write and all(sent.done() for _, sent in self._notices.values())

    def unconfirmed(self) -> list[str]:
        """Escalations whose notices are still on their way, by firing key."""
        return [key for key, (_, sent) in self._notices.items() if not sent.done()]

    def notified(self) -> list[str]:
        """Tasks whose notices are on their way: kept whole until the notices land."""
        return [subject for subject, sent in self._notices.values() if not sent.done()]

    async def drain(self, case: Case, *, register: bool, refuses: Callable[[], bool]) -> None:
        """Wait until everything logged is in the register and every notice has gone.

        A cancellation of the workflow meanwhile must not cut them off (the case has
        ended; its last notices may be waiting for a mail server that is away): if
        `refuses` it (the workflow's answer to one: True when refused and recorded), what
        is on its way is waited for still; if not, it is cancelled as it was before."""
        while register:
            if self._write is not None:
                write = self._write
                await self._through_cancellation(self._landed(write), [write], refuses)
                self.collect()
            self.write(case)
            if self._write is None:
                break
        if self._notices:
            sent = [task for _, task in self._notices.values()]
            await self._through_cancellation(asyncio.gather(*sent), sent, refuses)

    @staticmethod
    async def _through_cancellation(
        waited: Awaitable[Any], tasks: list[asyncio.Task[Any]], refuses: Callable[[], bool]
    ) -> None:
        """Await `waited`; on a cancellation the workflow refuses, await it still; on one
        it takes, cancel `tasks`, as awaiting them bare did."""
        future = asyncio.ensure_future(waited)
        while True:
            try:
                await asyncio.shield(future)
                return
            except asyncio.CancelledError:
                if not refuses():
                    for task in tasks:
                        task.cancel()
                    future.cancel()
                    raise
                if future.done():  # it ended as the cancellation came: as it ended
                    future.result()
                    return


REFUSED_WRITES = frozenset({CASE_REF_TAKEN, OWNER_REFUSED})
"""The failures of a register write that end the case: its reference is another case's
(`activities.contracts.CASE_REF_TAKEN`), or its first write names an owner who may not own
a case (`OWNER_REFUSED`)."""


def _ref_taken(error: BaseException | None) -> ApplicationError | None:
    """The failure a case ends with whose register write was refused (`REFUSED_WRITES`):
    nothing it did would be recorded, or it would escalate to nobody, so it must not go
    on. Old histories have no such failure (writes were retried for ever, and the owner
    was not checked), so they replay as they ran."""
    while error is not None:
        if isinstance(error, ApplicationError) and error.type in REFUSED_WRITES:
            return ApplicationError(error.message, type=error.type, non_retryable=True)
        error = error.__cause__
    return None
