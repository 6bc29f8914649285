"""End-to-end rate: cases of 5 tasks completed by updates, against a bare workflow taking
the same 5 updates, on the same server in the same run.

Each kind has its own worker process (`processes.py`), so its CPU is its own. The two kinds
take turns, round after round (the order alternates), each round `cases / rounds` cases
with `concurrency` in flight; every figure is per round, and the ratio of each round to the
bare round beside it is what is reported (median and spread), since the machine is shared.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from casemodel.requests import CompleteTask

from .bare import TAKE
from .env import Bench, bounded, new_task_queue, progress
from .processes import WorkerProcess, cpu_seconds, server_pid, worker_process
from .provision_types import OWNER, many_tasks_type
from .stats import count_by_type, percentile, ratio

TASKS = 5
CASE_TIMEOUT = 120.0
WARM_UP = 5


class Kind:
    """One kind of workflow the rate is measured on: how one is run from start to end."""

    def __init__(self, name: str, worker: WorkerProcess, run_one: Callable[[str], Awaitable[str]]):
        self.name = name
        self.worker = worker
        self.run_one = run_one
        self.workflow_ids: list[str] = []


def case_kind(bench: Bench, worker: WorkerProcess, task_queue: str) -> Kind:
    cases = bench.cases(task_queue)
    provision_type = many_tasks_type(TASKS, rules=True)

    async def run_one(ref: str) -> str:
        # Not waiting for the first workflow task (`verdict_within`), as the bare kind's
        # start does not: its result, awaited below, says whether it opened.
        started = await cases.start_case(
            provision_type, tenant_ref="TEN-BENCH", case_ref=ref, owner=OWNER, verdict_within=None
        )
        for task in provision_type.tasks:
            await cases.send(ref, CompleteTask(task=task.id))
        await cases.result(ref)
        return started.workflow_id

    return Kind("case", worker, run_one)


def bare_kind(bench: Bench, worker: WorkerProcess, task_queue: str) -> Kind:
    client = bench.temporal.client

    async def run_one(ref: str) -> str:
        handle = await client.start_workflow(
            "BenchBareCaseWorkflow", TASKS, id=ref, task_queue=task_queue
        )
        for i in range(1, TASKS + 1):
            await handle.execute_update(TAKE, f"task-{i:03d}")
        await handle.result()
        return ref

    return Kind("bare", worker, run_one)


async def _batch(kind: Kind, count: int, concurrency: int, label: str) -> list[str]:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str:
        async with gate:
            ref = f"RATE-{label}-{kind.name}-{i}-{uuid.uuid4().hex[:6]}"
            return await bounded(f"{kind.name} {ref}", kind.run_one(ref), CASE_TIMEOUT)

    return await asyncio.gather(*(one(i) for i in range(count)))


async def _round(kind: Kind, count: int, concurrency: int, label: str, server: int) -> dict:
    worker0, server0, wall0 = kind.worker.cpu(), cpu_seconds(server), time.perf_counter()
    ids = await _batch(kind, count, concurrency, label)
    wall = time.perf_counter() - wall0
    kind.workflow_ids += ids
    return {
        "kind": kind.name,
        "cases": count,
        "seconds": wall,
        "rate": count / wall,
        "worker_cpu_ms": 1000 * (kind.worker.cpu() - worker0) / count,
        "server_cpu_ms": 1000 * (cpu_seconds(server) - server0) / count,
    }


async def _histories(bench: Bench, ids: list[str]) -> dict[str, Any]:
    events, sizes, by_type = [], [], []
    for workflow_id in ids:
        handle = bench.temporal.client.get_workflow_handle(workflow_id)
        history = await bounded(f"history of {workflow_id}", handle.fetch_history(), 60)
        events.append(len(history.events))
        sizes.append(sum(e.ByteSize() for e in history.events))
        by_type.append(count_by_type(history.events))
    return {
        "events": sum(events) / len(events),
        "bytes": sum(sizes) / len(sizes),
        "events_min_max": [min(events), max(events)],
        "by_type_first": by_type[0],
    }


async def run(
    bench: Bench,
    cases: int = 300,
    concurrency: int = 50,
    rounds: int = 3,
    profile: Path | None = None,
) -> dict[str, Any]:
    case_queue, bare_queue = new_task_queue("rate-case"), new_task_queue("rate-bare")
    server = server_pid()
    per_round = max(1, cases // rounds)
    async with (
        worker_process(bench, "case", case_queue, profile) as case_worker,
        worker_process(bench, "bare", bare_queue) as bare_worker,
    ):
        kinds = [
            case_kind(bench, case_worker, case_queue),
            bare_kind(bench, bare_worker, bare_queue),
        ]
        for kind in kinds:
            await _batch(kind, WARM_UP, WARM_UP, "warm")
        results: list[dict[str, Any]] = []
        for r in range(rounds):
            order = kinds if r % 2 == 0 else kinds[::-1]
            for kind in order:
                results.append(await _round(kind, per_round, concurrency, f"r{r}", server))
                got = results[-1]
                progress(
                    f"rate round {r + 1}/{rounds} {kind.name}: {got['rate']:.1f} cases/s, "
                    f"worker {got['worker_cpu_ms']:.1f} ms, server {got['server_cpu_ms']:.1f} ms"
                )
        progress("rate: reading histories")
        histories = {k.name: await _histories(bench, k.workflow_ids) for k in kinds}
    return {
        "cases": per_round * rounds,
        "concurrency": concurrency,
        "rounds": results,
        "ratios": _ratios(results),
        "histories": histories,
    }


def _ratios(rounds: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Case / bare, round by round (each case round against the bare round beside it)."""
    case = [r for r in rounds if r["kind"] == "case"]
    bare = [r for r in rounds if r["kind"] == "bare"]
    out: dict[str, dict[str, float]] = {}
    for figure in ("rate", "worker_cpu_ms", "server_cpu_ms"):
        values = [ratio(c[figure], b[figure]) for c, b in zip(case, bare, strict=True)]
        out[figure] = {"median": percentile(values, 50), "min": min(values), "max": max(values)}
    return out


def report(results: dict[str, Any]) -> list[str]:
    def mean(kind: str, figure: str) -> float:
        values = [r[figure] for r in results["rounds"] if r["kind"] == kind]
        return sum(values) / len(values)

    ratios, hist = results["ratios"], results["histories"]
    lines = [
        f"End-to-end rate: {results['cases']} cases of {TASKS} tasks a kind, "
        f"{results['concurrency']} in flight, {len(results['rounds']) // 2} rounds interleaved",
        "| | case | bare | case / bare (median, min-max over rounds) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for figure, label in (
        ("rate", "cases/s"),
        ("worker_cpu_ms", "worker CPU ms/case"),
        ("server_cpu_ms", "server CPU ms/case"),
    ):
        r = ratios[figure]
        lines.append(
            f"| {label} | {mean('case', figure):.1f} | {mean('bare', figure):.1f} | "
            f"**{r['median']:.2f}** ({r['min']:.2f}-{r['max']:.2f}) |"
        )
    for figure, label in (("events", "events/case"), ("bytes", "history bytes/case")):
        c, b = hist["case"][figure], hist["bare"][figure]
        lines.append(f"| {label} | {c:,.1f} | {b:,.1f} | {ratio(c, b):.2f} |")
    lines.append(f"  case events by type: {hist['case']['by_type_first']}")
    return lines
