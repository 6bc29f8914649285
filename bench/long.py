"""Long-lived cases: what a workflow task costs as a case ages, how big each run's history
is, what a case carries into its start and into each next run, and what an evicted case
costs to rebuild; each beside a baseline measured in the same run.

1. The case model alone (`long_core`): µs per workflow task at 10 ... 1,000 task
   instances; the baseline is the same case at 10.
2. A case kept busy on the dev server (`long_case`), continuing as new at the default
   budget: events and bytes of each run; start event sizes before and after the carried
   form (`long_sizes`); the continue-as-new input.
3. Update latency of that case cached and evicted (`long_replay`), beside a bare Temporal
   workflow (`bare`) that took as many updates in one run; a `Replayer` over the longest
   run of the case and over the bare workflow's history.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from casemodel.requests import HISTORY_BUDGET, CompleteTask
from starter.client import CaseClient
from starter.worker import WORKFLOWS
from workflows.names import workflow_id_for

from . import long_case, long_core, long_replay, long_sizes
from .bare import CLOSE, NOTE, TAKE, UPDATE_LIMIT, BareWorkflow
from .bare_worker import bare_worker
from .env import Bench, bounded, new_task_queue, progress, running
from .history import settle
from .provision_types import OWNER, long_lived_type
from .stats import ratio

REQUESTS = 2000
SAMPLES = 5
CACHED_EACH = 3
LATE_IN_RUN = (0.6, 0.75)
"""Where in its run the case is when it is evicted: late, so the rebuild replays most of
a run (each sample adds about 50 events; the run hands over at the budget)."""
REQUEST_TIMEOUT = 60.0


class NextRequest:
    """The requests the latency samples send to the case: add a check-in, complete it."""

    def __init__(self, cases: CaseClient, case_ref: str) -> None:
        self.cases, self.case_ref = cases, case_ref
        self.key: str | None = None

    async def __call__(self) -> None:
        if self.key is None:
            self.key = await long_case.add_check_in(self.cases, self.case_ref)
        else:
            await self.cases.send(self.case_ref, CompleteTask(task=self.key))
            self.key = None


async def busy_case(bench: Bench, requests: int) -> dict[str, Any]:
    """A case that has taken `requests` requests, left late in its current run."""
    task_queue = new_task_queue("long")
    case_ref = f"LONG-{uuid.uuid4().hex[:8]}"
    kind = long_lived_type()
    async with bench.worker("long", task_queue) as (_, cases):
        await bounded(
            f"start {case_ref}",
            cases.start_case(kind, tenant_ref="TEN-LONG", case_ref=case_ref, owner=OWNER),
            REQUEST_TIMEOUT,
        )
        await bounded(
            "agree the plan",
            cases.send(case_ref, CompleteTask(task="agree-plan")),
            REQUEST_TIMEOUT,
        )
        began = time.perf_counter()
        rounds = requests // 2
        sent = await long_case.keep_busy(cases, case_ref, range(rounds))
        busy_seconds = time.perf_counter() - began
        progress(
            f"long: {sent['updates']} updates and {sent['signals']} signals in {busy_seconds:.1f}s"
        )
        handle = cases.client.get_workflow_handle(workflow_id_for(case_ref))
        low, high = (int(HISTORY_BUDGET * share) for share in LATE_IN_RUN)
        extra = 0
        while not low <= await long_replay.history_length(handle) <= high:
            more = await long_case.keep_busy(
                cases, case_ref, range(rounds + extra, rounds + extra + 1)
            )
            extra += 1
            sent = {k: sent[k] + more[k] for k in sent}
        await long_case.all_applied(cases, case_ref, rounds + extra)
        await settle(handle)  # nothing left for a worker to do when this one stops
    return {
        "task_queue": task_queue,
        "case_ref": case_ref,
        "workflow_id": workflow_id_for(case_ref),
        "rounds": rounds + extra,
        "requests": sent,
        "busy_seconds": round(busy_seconds, 1),
        "requests_per_second": round(requests / busy_seconds, 1),
    }


async def case_latency(bench: Bench, busy: dict[str, Any], samples: int) -> dict[str, Any]:
    task_queue, case_ref = busy["task_queue"], busy["case_ref"]
    cases = bench.cases(task_queue)
    handle = cases.client.get_workflow_handle(busy["workflow_id"])
    request = NextRequest(cases, case_ref)

    async def warm_up() -> None:
        """A throwaway case through the new worker: it polls, its sandbox is set up."""
        ref = f"WARM-{uuid.uuid4().hex[:8]}"
        await cases.start_case(long_lived_type(), tenant_ref="TEN-W", case_ref=ref, owner=OWNER)
        await cases.send(ref, CompleteTask(task="agree-plan"))

    return await long_replay.cached_and_evicted(
        "case",
        handle,
        lambda: bench.worker("long", task_queue),
        warm_up,
        request,
        samples,
        CACHED_EACH,
    )


async def bare_baseline(bench: Bench, requests: dict[str, int], samples: int) -> dict[str, Any]:
    """The bare workflow: the case's updates and signals in one run (as many updates as
    Temporal lets a run take, less the samples'), then cached and evicted samples."""
    client = bench.temporal.client
    task_queue = new_task_queue("bare")
    handle = await client.start_workflow(
        BareWorkflow.run, id=f"bare-{uuid.uuid4().hex[:8]}", task_queue=task_queue
    )
    updates = min(requests["updates"], UPDATE_LIMIT - samples * (1 + CACHED_EACH))
    signals = requests["signals"]
    every = max(1, (updates + signals) // max(1, signals))
    began = time.perf_counter()
    async with running(bare_worker(client, task_queue)):
        sent = 0
        for number in range(updates + signals):
            if signals and number % every == every - 1 and sent < signals:
                await bounded("bare signal", handle.signal(NOTE, f"{number}"), REQUEST_TIMEOUT)
                sent += 1
            else:
                await bounded(
                    "bare update", handle.execute_update(TAKE, f"{number}"), REQUEST_TIMEOUT
                )
        await settle(handle)
    busy_seconds = time.perf_counter() - began
    progress(
        f"long: bare workflow took {updates} updates and {signals} signals in {busy_seconds:.1f}s"
    )

    async def warm_up() -> None:
        throwaway = await client.start_workflow(
            BareWorkflow.run, id=f"bare-warm-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        await throwaway.execute_update(TAKE, "warm")
        await throwaway.signal(CLOSE)

    latency = await long_replay.cached_and_evicted(
        "bare",
        handle,
        lambda: running(bare_worker(client, task_queue)),
        warm_up,
        lambda: handle.execute_update(TAKE, "sample"),
        samples,
        CACHED_EACH,
    )
    history = await bounded("bare history", handle.fetch_history(), REQUEST_TIMEOUT)
    async with running(bare_worker(client, task_queue)):
        await handle.signal(CLOSE)
        await bounded("bare result", handle.result(), REQUEST_TIMEOUT)
    return {
        "updates": updates,
        "signals": signals,
        "update_limit": UPDATE_LIMIT,
        "busy_seconds": round(busy_seconds, 1),
        "history": history,
        **latency,
    }


def core(large: bool = False) -> dict[str, Any]:
    """Part 1, the case model alone: run before the dev server starts, so that the
    server's own start-up work does not share the CPU with it."""
    progress("long: case model cost per workflow task (pure core)")
    figures = long_core.run(large)
    at = ", ".join(f"{r['instances']}: {r['median']:.0f} µs" for r in figures["rows"])
    progress(f"long: per workflow task at {at} task instances ({figures['seconds']:.0f}s)")
    return figures


async def run(
    bench: Bench, core: dict[str, Any], requests: int = REQUESTS, samples: int = SAMPLES
) -> dict[str, Any]:
    """Parts 2 and 3, on the dev server; `core` is part 1's figures."""
    began = time.perf_counter()
    progress("long: start event sizes")
    start_sizes = await long_sizes.start_event_sizes(bench)
    progress(f"long: a case kept busy, {requests} requests")
    busy = await busy_case(bench, requests)
    case = await case_latency(bench, busy, samples)
    runs = await long_case.runs_of(bench.temporal.client, busy["workflow_id"])
    per_run = [long_case.run_figures(r) for r in runs]
    continued = [r for r, figures in zip(runs, per_run, strict=True) if figures["continued"]]
    bare = await bare_baseline(bench, busy["requests"], samples)
    bare_history = bare.pop("history")
    longest = max(runs, key=lambda r: len(r.events))
    replays = {}
    for sandboxed in (True, False):
        suffix = "" if sandboxed else "_no_sandbox"
        # The bare workflow's long history takes seconds a replay, and the figures
        # without the sandbox are a side light: fewer of those.
        replays["case_longest_run" + suffix] = await long_replay.replay_times(
            "the longest case run",
            list(WORKFLOWS),
            longest,
            3 if sandboxed else 2,
            sandboxed,
            data_converter=bench.temporal.client.data_converter,
        )
        replays["bare" + suffix] = await long_replay.replay_times(
            "the bare workflow",
            [BareWorkflow],
            bare_history,
            2 if sandboxed else 1,
            sandboxed,
            data_converter=bench.temporal.client.data_converter,
        )
    finished = [r for r in per_run if r["ended_by"] == "continue-as-new"]
    return {
        "history_budget": HISTORY_BUDGET,
        "core": core,
        "start_events": start_sizes,
        "case": {
            **busy,
            "runs": len(runs),
            "per_run": per_run,
            "events_per_finished_run": _spread([r["events"] for r in finished]),
            "bytes_per_finished_run": _spread([r["bytes"] for r in finished]),
            "continue_input_bytes": _spread([r["input_bytes"] for r in per_run if r["continued"]]),
            "carried_parts_last": long_case.carried_parts(continued[-1]) if continued else {},
            "bytes_by_event_type_longest": long_case.bytes_by_type(longest),
            "latency": case,
        },
        "bare": {
            **bare,
            "events": len(bare_history.events),
            "bytes": sum(e.ByteSize() for e in bare_history.events),
        },
        "replay": replays,
        "ratios": {
            "case_over_bare_cached": round(
                ratio(case["cached"]["median"], bare["cached"]["median"]), 2
            ),
            "case_over_bare_evicted": round(
                ratio(case["evicted"]["median"], bare["evicted"]["median"]), 2
            ),
            "case_evicted_over_cached": case["evicted_over_cached"],
            "bare_evicted_over_cached": bare["evicted_over_cached"],
            "replay_case_over_bare": round(
                ratio(replays["case_longest_run"]["median"], replays["bare"]["median"]), 2
            ),
        },
        "seconds": round(time.perf_counter() - began + core["seconds"], 1),
    }


def _spread(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {
        "count": len(values),
        "min": ordered[0],
        "median": ordered[len(ordered) // 2],
        "max": ordered[-1],
    }
