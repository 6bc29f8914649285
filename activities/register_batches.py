"""Register writes that arrive together, committed together.

SQLite takes one writer at a time, and every commit waits for the disk: written one by
one, a burst of cases queues its register writes behind each other's commits, each paying
for its own transaction. So the writes that are waiting when a transaction begins go in
it together (one statement a table for all of them, one commit), and each write's caller
is answered when that commit lands.

A batch that fails is written again one update at a time, so that one case's bad update
fails only its own write, and each caller gets the failure that is its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from activities.contracts import RegisterUpdate

BATCH_LIMIT = 64
"""Updates one transaction carries at most: a burst is written in steps of this many."""

Write = Callable[[Sequence[RegisterUpdate]], Awaitable[None]]


@dataclass
class _Waiting:
    update: RegisterUpdate
    landed: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """Writes the updates handed to `record` in shared transactions, through `write`
    (which writes a batch of updates of distinct cases in one transaction).

    One batch is written at a time, by a task of its own, so a caller that gives up
    waiting (a local activity cut off at its time limit) stops no one else's write:
    its update is written all the same, which is harmless, since writes are idempotent."""

    def __init__(self, write: Write, limit: int = BATCH_LIMIT) -> None:
        self._write = write
        self._limit = limit
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    def waiting(self) -> int:
        """Updates waiting for a transaction to take them (for tests)."""
        return len(self._waiting)

    async def record(self, update: RegisterUpdate) -> None:
        waiting = _Waiting(update)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="register writes")
        await asyncio.shield(waiting.landed)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                await self._write([w.update for w in batch])
            except Exception:
                await self._one_by_one(batch)
            else:
                for waiting in batch:
                    _settle(waiting.landed, None)

    def _take(self) -> list[_Waiting]:
        """The next batch: in arrival order, one update a case (a second update of a case
        waits for the next batch, so updates of a case land in the order they came)."""
        batch: list[_Waiting] = []
        cases: set[str] = set()
        rest: list[_Waiting] = []
        for waiting in self._waiting:
            ref = waiting.update.case_ref
            if len(batch) < self._limit and ref not in cases:
                batch.append(waiting)
                cases.add(ref)
            else:
                rest.append(waiting)
        self._waiting = rest
        return batch

    async def _one_by_one(self, batch: list[_Waiting]) -> None:
        for waiting in batch:
            try:
                await self._write([waiting.update])
            except Exception as failure:
                _settle(waiting.landed, failure)
            else:
                _settle(waiting.landed, None)


def _settle(landed: asyncio.Future[None], failure: BaseException | None) -> None:
    if landed.done():
        return
    if failure is None:
        landed.set_result(None)
    else:
        landed.set_exception(failure)
        with contextlib.suppress(BaseException):
            landed.exception()  # retrieved: a caller that gave up waiting logs nothing
