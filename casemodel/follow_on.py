"""Follow-on cases: the case a case's outcome opens, and how far opening it has got.

A tenancy sustainment assessment that finds a financial need opens a financial inclusion
support plan for the same tenant, exactly once, however often the workflow is retried or
its worker dies. The case model decides what is due (the type, the reference, the owner
it proposes) and keeps the progress (`FollowOn`); the workflow carries it out and reports
back, each attempt's result through `opened` or `failed`. Like the rest of the core it is
given the time, and it never reads a clock.

**The follow-on's reference** is derived from the parent's, so every attempt, on every
worker, asks for the same case: the parent's reference, a hyphen, and the initials of
the follow-on type's id in capitals (`TSA-1` opens `TSA-1-FISP`, a
financial-inclusion-support-plan). A reference that would pass the 100 characters a
reference may have keeps the start of the parent's, then eight hex digits of the
parent's whole reference (sha256), then the initials: still readable, still one per
parent.

**A reference another case holds** (somebody opened a case under it by hand, before the
parent ended) would stop the parent for good: every attempt would be refused, and the
parent does not finish until its follow-on is open. So the follow-on moves to the next
reference of its series, `TSA-1-FISP-2`, then `-3`, up to `-9` (`ALTERNATIVES`), trying
each at once; the case's log says which reference was taken and which it tried instead.
Only when all nine are taken does it keep retrying the last, with the wait doubling.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from .state import FollowOn, FollowOnStatus

if TYPE_CHECKING:
    from .state import CaseState, LogEntry

__all__ = ["FollowOn", "FollowOnStatus", "CaseFollowOn", "follow_on_ref", "retry_delay"]

FIRST_RETRY = timedelta(minutes=1)
"""How long after a failed attempt the next one goes, by default; it doubles from there."""
LONGEST_RETRY = timedelta(hours=1)
"""Retries never wait longer than this: a type published at last opens its follow-on
within the hour."""
REF_LIMIT = 100
"""The length a reference may have (`casemodel.requests.REF_LIMIT`, which imports this)."""
HASHED = 8
"""Hex digits of the parent's reference kept in a follow-on reference that was shortened."""
ALTERNATIVES = 9
"""References a follow-on may take in turn when another case holds the one before."""


def follow_on_ref(parent_ref: str, type_id: str, alternative: int = 1) -> str:
    """The reference of the case of `type_id` that case `parent_ref` opens (see the module
    docstring): deterministic, readable, a valid reference of at most 100 characters.
    `alternative` 2 and on are the references it takes when another case holds the one
    before (`TSA-1-FISP-2`)."""
    suffix = _initials(type_id) + (f"-{alternative}" if alternative > 1 else "")
    plain = f"{parent_ref}-{suffix}"
    if len(plain) <= REF_LIMIT:
        return plain
    digest = hashlib.sha256(parent_ref.encode("utf-8")).hexdigest()[:HASHED].upper()
    kept = parent_ref[: REF_LIMIT - len(suffix) - HASHED - 2]
    return f"{kept}-{digest}-{suffix}"


def retry_delay(attempts: int, first: timedelta = FIRST_RETRY) -> timedelta:
    """How long to wait after `attempts` failed attempts: `first`, doubling, at most an
    hour (`LONGEST_RETRY`)."""
    if attempts <= 0:
        return timedelta(0)
    if first >= LONGEST_RETRY:
        return LONGEST_RETRY
    # Doubling past an hour is capped long before the exponent grows large.
    doublings = min(attempts - 1, 32)
    return min(first * 2**doublings, LONGEST_RETRY)


def _initials(type_id: str) -> str:
    """`financial-inclusion-support-plan` → `FISP`."""
    return "".join(word[0] for word in type_id.split("-") if word).upper() or "X"


class CaseFollowOn:
    """The follow-on rules of a case. A mixin of `Case`, like `CaseTime` and `CaseMemory`."""

    state: CaseState

    if TYPE_CHECKING:

        def _log(
            self, now: datetime, kind: str, by: str, task_key: str | None = ..., detail: str = ...
        ) -> list[LogEntry]: ...

    @property
    def follow_on(self) -> FollowOn | None:
        return self.state.follow_on

    @property
    def case_chain(self) -> str | None:
        """The first case's reference of the chain this case is part of (the `CaseChain`
        search attribute); None for a case that neither was opened from another nor opens
        one."""
        state = self.state
        if state.opened_from is not None:
            return state.chain_ref or state.opened_from
        return state.case_ref if state.follow_on is not None else None

    def follow_on_wanted(self, now: datetime) -> bool:
        """Whether an attempt to open the follow-on should go now."""
        due = self.state.follow_on
        if due is None or not due.pending:
            return False
        return due.next_attempt_at is None or due.next_attempt_at <= now

    def follow_on_opened(
        self, now: datetime, *, owner: str, type_version: int | None, existed: bool = False
    ) -> list[LogEntry]:
        """The follow-on case is open (`existed`: an earlier attempt had opened it)."""
        due = self.state.follow_on
        if due is None or not due.pending:
            return []
        due.status, due.owner, due.type_version = FollowOnStatus.opened, owner, type_version
        due.opened_at, due.next_attempt_at = now, None
        version = f" v{type_version}" if type_version is not None else ""
        detail = (
            f"opened {due.describe()}{version} for tenant {self.state.tenant_ref}, owner {owner}"
            + (" (an earlier attempt had opened it)" if existed else "")
        )
        return self._log(now, FOLLOW_ON_OPENED, SYSTEM, None, detail)

    def follow_on_failed(
        self, now: datetime, reason: str, *, first_retry: timedelta = FIRST_RETRY
    ) -> list[LogEntry]:
        """An attempt failed: record why, and when the next one goes."""
        due = self.state.follow_on
        if due is None or not due.pending:
            return []
        due.attempts += 1
        due.status, due.reason, due.failed_at = FollowOnStatus.failed, reason, now
        due.next_attempt_at = now + retry_delay(due.attempts, first_retry)
        detail = (
            f"{due.describe()} not opened (attempt {due.attempts}): {reason}; next attempt at "
            f"{due.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        return self._log(now, FOLLOW_ON_FAILED, SYSTEM, None, detail)

    def follow_on_taken(
        self, now: datetime, reason: str, *, first_retry: timedelta = FIRST_RETRY
    ) -> list[LogEntry]:
        """An attempt found the follow-on's reference held by another case: the next one
        tries the next reference of its series at once (see the module docstring), until
        there is none left, and then waits as after any failed attempt."""
        due = self.state.follow_on
        if due is None or not due.pending:
            return []
        if due.alternative >= ALTERNATIVES:
            return self.follow_on_failed(now, reason, first_retry=first_retry)
        taken = due.case_ref
        due.alternative += 1
        due.attempts += 1
        due.case_ref = follow_on_ref(self.state.case_ref, due.type, due.alternative)
        due.status, due.reason, due.failed_at = FollowOnStatus.failed, reason, now
        due.next_attempt_at = None
        detail = (
            f"{taken} ({due.type}) not opened (attempt {due.attempts}): {reason}; "
            f"trying {due.case_ref} instead"
        )
        return self._log(now, FOLLOW_ON_FAILED, SYSTEM, None, detail)

    def _make_follow_on_due(self, type_id: str | None, now: datetime) -> None:
        """The case ended with an outcome naming `type_id`: its follow-on is due."""
        state = self.state
        if type_id is None or state.follow_on is not None:
            return
        state.follow_on = FollowOn(
            type=type_id,
            case_ref=follow_on_ref(state.case_ref, type_id),
            owner=state.owner,
            due_at=now,
        )


FOLLOW_ON_OPENED = "follow_on_opened"
FOLLOW_ON_FAILED = "follow_on_failed"
SYSTEM = "follow-on"
"""Who the log says opened a follow-on, or tried: the service, not a person."""
