"""Opening a case's follow-on: one attempt at a time, and a timer until the next.

The case model says what is due (`casemodel.follow_on`); this carries it out. An attempt
is the `open_follow_on` activity, which Temporal retries a few times at once for a passing
fault; when it fails even so, the case records why (`follow_on_failed`, in its log and so
in `case show` and the register) and the next attempt waits on a durable timer, a minute
doubling to an hour by default, which a restarted worker or the case's next run takes up
where it was. An attempt that finds the follow-on's reference held by another case moves
the follow-on to the next reference of its series and tries again at once. The case's
workflow does not finish until the follow-on is open.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import (
        FOLLOW_ON_REFERENCE_TAKEN,
        OPEN_FOLLOW_ON,
        FollowOnOpened,
        OpenFollowOn,
    )
    from casemodel.case import Case

NEXT_REFERENCE_PATCH = "follow-on-next-reference"
"""Histories recorded before a follow-on whose reference another case held moved to the
next reference of its series replay as they ran (retrying the same one). Asked only when
an attempt finds its reference taken, so that only such a history records the marker."""

ATTEMPT_TIMEOUT = timedelta(seconds=10)
"""An attempt reads two rows and starts a workflow: if it has not finished in this long,
its worker is gone, and the attempt is made again (safely: it opens one case at most)."""
ATTEMPT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)
"""A passing fault (a dropped connection, a worker killed mid-attempt) is retried at once;
what outlasts three tries is recorded in the case and tried again later."""


class FollowOnStep:
    def __init__(self, first_retry: int, history_budget: int) -> None:
        self.first_retry = first_retry
        """Seconds before the first retry after a failed attempt (doubling from there)."""
        self.history_budget = history_budget
        """The case's own, which its follow-on gets too."""
        self._attempt: asyncio.Task[Any] | None = None
        self._timer: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        """An attempt ended, or the wait for the next one did: look at the case again."""
        return any(t is not None and t.done() for t in (self._attempt, self._timer))

    def landed(self) -> bool:
        """No attempt on its way: a quiet point to hand over at."""
        return self._attempt is None or self._attempt.done()

    def collect(self, case: Case) -> bool:
        """Record the result of an attempt that ended; whether there was one."""
        if self._attempt is None or not self._attempt.done():
            return False
        attempt, self._attempt = self._attempt, None
        now = workflow.now()
        try:
            opened = attempt.result()
        except ActivityError as failure:
            first_retry = timedelta(seconds=self.first_retry)
            if _taken(failure) and workflow.patched(NEXT_REFERENCE_PATCH):
                case.follow_on_taken(now, _reason(failure), first_retry=first_retry)
            else:
                case.follow_on_failed(now, _reason(failure), first_retry=first_retry)
        else:
            case.follow_on_opened(
                now, owner=opened.owner, type_version=opened.type_version, existed=opened.existed
            )
        return True

    def step(self, case: Case) -> bool:
        """Record an attempt that ended, and make the next when it is due, or wait for
        it; whether the case changed (an attempt's result was recorded)."""
        now = workflow.now()
        changed = self.collect(case)
        if self._timer is not None and self._timer.done():
            self._timer = None
        due = case.follow_on
        if due is None or not due.pending or self._attempt is not None:
            return changed
        if case.follow_on_wanted(now):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            info = workflow.info()
            self._attempt = workflow.start_activity(
                OPEN_FOLLOW_ON,
                OpenFollowOn.of(
                    case,
                    task_queue=info.task_queue,
                    history_budget=self.history_budget,
                    follow_on_retry=self.first_retry,
                ),
                result_type=FollowOnOpened,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=ATTEMPT_RETRY,
                summary=f"open follow-on {due.describe()}",
            )
        elif self._timer is None and due.next_attempt_at is not None:
            delay = max(due.next_attempt_at - now, timedelta(milliseconds=1))
            self._timer = asyncio.create_task(
                workflow.sleep(delay, summary=f"until the next attempt to open {due.case_ref}")
            )
        return changed


def _taken(failure: ActivityError) -> bool:
    """Whether the attempt found the follow-on's reference held by another case."""
    cause = failure.cause
    return isinstance(cause, ApplicationError) and cause.type == FOLLOW_ON_REFERENCE_TAKEN


def _reason(failure: ActivityError) -> str:
    """The short true message of a failed attempt."""
    cause = failure.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    if isinstance(cause, TimeoutError):
        return (
            f"no worker finished the attempt within {ATTEMPT_TIMEOUT.seconds} s "
            "(a worker stopped, or the database or Temporal did not answer)"
        )
    return str(cause or failure)
