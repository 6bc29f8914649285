"""The case register, written behind the case: one write in flight, each with all that changed.

A database that is away must not stop a case keeping time, so the workflow starts a write
and goes on; when it lands, the next write carries everything logged meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.contracts import RECORD_CASE_CHANGES, RegisterUpdate
    from casemodel.state import CaseState

WRITE_TIMEOUT = timedelta(seconds=30)
REGISTER_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=2))
"""The register must catch up however long the database is away: for ever, slowly."""


class RegisterWriter:
    def __init__(self, recorded_seq: int = 0) -> None:
        self.recorded_seq = recorded_seq
        """The log is in the register up to here (carried from run to run)."""
        self._write: asyncio.Task[Any] | None = None
        self._write_seq = 0

    def landed(self) -> bool:
        """A write finished and the next one may go."""
        return self._write is not None and self._write.done()

    def idle(self) -> bool:
        return self._write is None or self._write.done()

    def collect(self) -> bool:
        """Take note of a write that landed; whether one had."""
        if not self.landed():
            return False
        self.recorded_seq = self._write_seq
        self._write = None
        return True

    def start(self, state: CaseState) -> None:
        """Write what changed since the last write, unless a write is still in flight."""
        if self._write is not None:
            return  # the next turn after it lands writes what changed meanwhile
        update = RegisterUpdate.since(state, workflow.info().workflow_id, self.recorded_seq)
        if update is None:
            return
        self._write = workflow.start_activity(
            RECORD_CASE_CHANGES,
            update,
            start_to_close_timeout=WRITE_TIMEOUT,
            retry_policy=REGISTER_RETRY,
            summary=f"register: log {self.recorded_seq + 1}-{update.last_seq}",
        )
        self._write_seq = update.last_seq

    async def write(self, state: CaseState) -> None:
        """The register written inline, as histories before writing behind did."""
        self.start(state)
        if self._write is not None:
            await self._write
            self.collect()

    async def drain(self, state: CaseState) -> None:
        """Wait until everything logged is in the register."""
        while True:
            if self._write is not None:
                await self._write
                self.collect()
            self.start(state)
            if self._write is None:
                return
