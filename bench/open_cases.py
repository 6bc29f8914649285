"""Open cases: what a worker holds for each case it has open, and how opening holds up as
their number passes the workflow cache.

Cases of 5 tasks (an SLA of an hour each, so no timer fires during the run) are opened
band by band up to each count (1,000, 5,000, 10,000 by default) and left waiting; a bare
workflow that waits (`bench/bare.py` `BareWorkflow`) is opened to the same counts on a
worker of its own, the two kinds band by band in turn. For each band: the opening rate
(cases opened over the time until the worker has gone quiet), the worker's CPU per opened
case, its RSS after a garbage collection over what it held before the first band, per
open and per cached case, the SDK's cache counters (hits, misses, forced evictions,
replays), and the latency of one update to the case opened last (cached) and to the
earliest opened case no update has touched yet (evicted once more are open than the
cache holds: `--worker-memory` sets the case worker's budget, and so its cache).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from casemodel.requests import CompleteTask

from .bare import TAKE
from .env import Bench, bounded, new_task_queue, progress
from .processes import WorkerProcess, worker_process
from .provision_types import OWNER, many_tasks_type
from .stats import ratio

COUNTS = (1000, 5000, 10000)
QUIET_WINDOW = 1.5
"""The worker has gone quiet when its CPU has not moved for this long."""
BUSY_CPU = 0.01
"""CPU seconds in a 0.25 s poll that count as busy (4 % of a core)."""
START_TIMEOUT = 120.0


class Opener:
    """Opens cases of one kind and sends one of them an update."""

    def __init__(self, bench: Bench, kind: str, worker: WorkerProcess, task_queue: str):
        self.bench, self.kind, self.worker, self.task_queue = bench, kind, worker, task_queue
        self.ids: list[str] = []
        self.type = many_tasks_type(5, rules=True)
        self.cases = bench.cases(task_queue)
        self.touched = 0
        """Cases updated so far, earliest opened first: the next untouched is ids[touched]."""

    async def open_one(self, i: int) -> None:
        ref = f"OPEN-{self.kind}-{i}-{uuid.uuid4().hex[:6]}"
        if self.kind == "case":
            # Not waiting for the first workflow task, as the bare kind's start does not.
            started = await self.cases.start_case(
                self.type, tenant_ref="TEN-BENCH", case_ref=ref, owner=OWNER, verdict_within=None
            )
            self.ids.append(started.workflow_id)
        else:
            await self.bench.temporal.client.start_workflow(
                "BenchBareWorkflow", id=ref, task_queue=self.task_queue
            )
            self.ids.append(ref)

    async def update(self, workflow_id: str, task: int) -> float:
        """Seconds one update took."""
        began = time.perf_counter()
        if self.kind == "case":
            case_ref = workflow_id.removeprefix("case-")  # workflows.names.workflow_id_for
            await self.cases.send(case_ref, CompleteTask(task=f"task-{task:03d}"))
        else:
            handle = self.bench.temporal.client.get_workflow_handle(workflow_id)
            await handle.execute_update(TAKE, f"task-{task:03d}")
        return time.perf_counter() - began


async def _quiet(worker: WorkerProcess, began: float) -> float:
    """When the worker last worked (perf_counter), once it has been quiet a while."""
    last_cpu, last_busy = worker.cpu(), time.perf_counter()
    deadline = time.monotonic() + 600
    while time.perf_counter() - last_busy < QUIET_WINDOW:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{worker.kind} worker still busy after 600s")
        await asyncio.sleep(0.25)
        cpu = worker.cpu()
        if cpu - last_cpu > BUSY_CPU:
            last_busy = time.perf_counter()
        last_cpu = cpu
    return max(last_busy, began)


async def _band(opener: Opener, target: int, concurrency: int, base: dict[str, Any]) -> dict:
    worker = opener.worker
    before = await worker.stats()
    first = len(opener.ids)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await bounded(f"open {opener.kind} {i}", opener.open_one(i), START_TIMEOUT)

    cpu0, began = worker.cpu(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(first, target)))
    ended = await _quiet(worker, began)
    cpu = worker.cpu() - cpu0
    after = await worker.stats()
    opened = target - first
    cache = worker.max_cached_workflows or 0
    cached = min(target, cache) if cache else target
    held = after["rss"] - base["rss"]
    latest = await opener.update(opener.ids[-1], 1)
    oldest = await opener.update(opener.ids[opener.touched], 1)  # least recently used
    opener.touched += 1
    metrics = {
        k: after["metrics"].get(k, 0) - before["metrics"].get(k, 0) for k in after["metrics"]
    }
    metrics["sticky_cache_size"] = after["metrics"].get("sticky_cache_size", 0)
    return {
        "kind": opener.kind,
        "open": target,
        "opened": opened,
        "seconds": ended - began,
        "rate": opened / (ended - began),
        "cpu_ms_per_opened": 1000 * cpu / opened,
        "rss": after["rss"],
        "bytes_per_open": held / target,
        "bytes_per_cached": held / cached,
        "cached": cached,
        "max_cached_workflows": cache,
        "metrics": metrics,
        "update_latest_ms": 1000 * latest,
        "update_first_ms": 1000 * oldest,
    }


async def run(
    bench: Bench, counts: tuple[int, ...] = COUNTS, concurrency: int = 50, memory: str = ""
) -> dict[str, Any]:
    case_queue, bare_queue = new_task_queue("open-case"), new_task_queue("open-bare")
    bands: list[dict[str, Any]] = []
    async with (
        worker_process(bench, "case", case_queue, memory=memory) as case_worker,
        worker_process(bench, "bare", bare_queue) as bare_worker,
    ):
        openers = [
            Opener(bench, "case", case_worker, case_queue),
            Opener(bench, "bare", bare_worker, bare_queue),
        ]
        bases = {}
        for opener in openers:  # a first workflow imports what every later one shares
            await opener.open_one(-1)
            opener.ids.clear()
            await _quiet(opener.worker, time.perf_counter())
            bases[opener.kind] = await opener.worker.stats()
        for target in counts:
            for opener in openers:
                band = await _band(opener, target, concurrency, bases[opener.kind])
                bands.append(band)
                progress(
                    f"open {opener.kind} to {target}: {band['rate']:.0f}/s, "
                    f"{band['cpu_ms_per_opened']:.1f} ms CPU each, "
                    f"{band['bytes_per_cached'] / 1024:.0f} KiB a cached one, "
                    f"misses {band['metrics'].get('sticky_cache_miss', 0)}"
                )
        await _terminate(bench, [i for o in openers for i in o.ids])
    return {
        "counts": list(counts),
        "concurrency": concurrency,
        "worker_memory": memory or "default",
        "bands": bands,
    }


async def _terminate(bench: Bench, ids: list[str]) -> None:
    """End what was opened, so later benchmarks on this server start clean."""
    gate = asyncio.Semaphore(50)

    async def one(workflow_id: str) -> None:
        async with gate:
            handle = bench.temporal.client.get_workflow_handle(workflow_id)
            await bounded(f"terminate {workflow_id}", handle.terminate("bench done"), 30)

    progress(f"open: terminating {len(ids)} workflows")
    await asyncio.gather(*(one(i) for i in ids), return_exceptions=True)


def report(results: dict[str, Any]) -> list[str]:
    bands = results["bands"]
    lines = [
        f"Open cases ({results['concurrency']} starts in flight, case worker memory "
        f"{results.get('worker_memory', 'default')}), case vs bare, band by band",
        "| open | kind | opened/s | CPU ms each | KiB per cached | cached (cache) | misses | "
        "replays | update latest ms | update least recent ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for b in bands:
        m = b["metrics"]
        lines.append(
            f"| {b['open']:,} | {b['kind']} | {b['rate']:.0f} | {b['cpu_ms_per_opened']:.1f} | "
            f"{b['bytes_per_cached'] / 1024:.0f} | {b['cached']:,} ({b['max_cached_workflows']:,}) "
            f"| {m.get('sticky_cache_miss', 0)} | {m.get('workflow_task_replay', 0)} | "
            f"{b['update_latest_ms']:.0f} | {b['update_first_ms']:.0f} |"
        )
    lines += _ratios(bands)
    return lines


def _ratios(bands: list[dict[str, Any]]) -> list[str]:
    out = []
    for kind in ("case", "bare"):
        mine = [b for b in bands if b["kind"] == kind]
        if len(mine) > 1:
            out.append(
                f"  {kind}: opening rate at {mine[-1]['open']:,} / at {mine[0]['open']:,} = "
                f"{ratio(mine[-1]['rate'], mine[0]['rate']):.2f}"
            )
    pairs = zip(
        [b for b in bands if b["kind"] == "case"],
        [b for b in bands if b["kind"] == "bare"],
        strict=False,
    )
    for c, b in pairs:
        out.append(
            f"  at {c['open']:,}: case / bare opening rate {ratio(c['rate'], b['rate']):.2f}, "
            f"CPU each {ratio(c['cpu_ms_per_opened'], b['cpu_ms_per_opened']):.2f}, "
            f"memory per cached {ratio(c['bytes_per_cached'], b['bytes_per_cached']):.2f}"
        )
    return out
