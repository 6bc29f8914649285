"""Register writes that wait together are committed together, one update a case a batch,
and a batch that fails is written again update by update."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from activities.contracts import RegisterUpdate
from activities.register_batches import GroupCommit
from tests.integration.db_fixtures import stages, update
from tests.waiting import eventually

pytestmark = pytest.mark.asyncio


def _update(case_ref: str, step: int = -1) -> RegisterUpdate:
    return update(stages(case_ref)[step])


class Recorder:
    """Stands in for a transaction: notes each batch, fails those naming `refused`, and
    lets the test hold the first batch until it is released."""

    def __init__(self, refused: str = "") -> None:
        self.batches: list[list[tuple[str, int]]] = []
        self.refused = refused
        self.release = asyncio.Event()
        self.release.set()
        self.held = 0
        """Updates in the transaction the test holds open."""

    async def write(self, updates: Sequence[RegisterUpdate]) -> None:
        self.held = len(updates)
        await self.release.wait()
        self.held = 0
        if any(u.case_ref == self.refused for u in updates):
            raise RuntimeError(f"no room for {self.refused}")
        self.batches.append([(u.case_ref, u.last_seq) for u in updates])


async def handed_over(recorder: Recorder, commit: GroupCommit, count: int) -> None:
    """Wait until `count` updates are in the held transaction or waiting for the next."""

    async def probe() -> bool:
        return recorder.held > 0 and recorder.held + commit.waiting() == count

    await eventually(probe, what=f"{count} updates handed to the group commit")


async def test_writes_waiting_behind_a_transaction_share_the_next() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    first = asyncio.create_task(commit.record(_update("CASE-0")))
    await handed_over(recorder, commit, 1)  # the first write's transaction has begun
    others = [asyncio.create_task(commit.record(_update(f"CASE-{i}"))) for i in range(1, 21)]
    await handed_over(recorder, commit, 21)
    recorder.release.set()
    await asyncio.gather(first, *others)
    assert [len(b) for b in recorder.batches] == [1, 20]
    assert sorted(ref for b in recorder.batches for ref, _ in b) == sorted(
        f"CASE-{i}" for i in range(21)
    )


async def test_a_batch_holds_one_update_a_case_in_the_order_they_came() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    early, late = _update("CASE-1", 1), _update("CASE-1", -1)
    assert early.last_seq < late.last_seq
    waits = [asyncio.create_task(commit.record(u)) for u in (early, _update("CASE-2"), late)]
    await handed_over(recorder, commit, 3)
    recorder.release.set()
    await asyncio.gather(*waits)
    written = [entry for batch in recorder.batches for entry in batch]
    assert [seq for ref, seq in written if ref == "CASE-1"] == [early.last_seq, late.last_seq]
    assert all(len({ref for ref, _ in b}) == len(b) for b in recorder.batches)


async def test_a_batch_is_bounded() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write, limit=8)
    waits = [asyncio.create_task(commit.record(_update(f"CASE-{i}"))) for i in range(20)]
    await handed_over(recorder, commit, 20)
    recorder.release.set()
    await asyncio.gather(*waits)
    assert max(len(b) for b in recorder.batches) == 8
    assert sum(len(b) for b in recorder.batches) == 20


async def test_a_failing_update_fails_its_own_write_only() -> None:
    recorder = Recorder(refused="CASE-3")
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    waits = [asyncio.create_task(commit.record(_update(f"CASE-{i}"))) for i in range(6)]
    await handed_over(recorder, commit, 6)
    recorder.release.set()
    results = await asyncio.gather(*waits, return_exceptions=True)
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [3]
    assert "no room for CASE-3" in str(results[3])
    written = {ref for batch in recorder.batches for ref, _ in batch}
    assert written == {f"CASE-{i}" for i in range(6)} - {"CASE-3"}


async def test_a_caller_that_gives_up_stops_no_one_else() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    gives_up = asyncio.create_task(commit.record(_update("CASE-1")))
    stays = asyncio.create_task(commit.record(_update("CASE-2")))
    await handed_over(recorder, commit, 2)
    gives_up.cancel()
    recorder.release.set()
    await stays
    with pytest.raises(asyncio.CancelledError):
        await gives_up
    written = {ref for batch in recorder.batches for ref, _ in batch}
    assert written == {"CASE-1", "CASE-2"}  # its write went ahead: harmless, idempotent
