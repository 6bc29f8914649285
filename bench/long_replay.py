"""What a long-lived workflow costs when its worker has it cached, and when it has not.

A workflow the worker holds in its cache takes an update in one workflow task. One it
does not hold (evicted, or its worker restarted) is rebuilt first: the server sends the
whole history of its current run and the new worker replays it before it can answer.
Each sample stops the worker, starts a new one on the same task queue, proves it polls
with a throwaway workflow of its own (so the wait for a poller is not counted), then
times the first update (evicted) and the next few (cached). Before each timed update the
workflow is idle: nothing pending, no activity in flight.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from starter.sandbox import workflow_runner
from workflows.identities import IdentityInterceptor

from .env import IDENTITY_RING, bounded, progress
from .history import settle

REQUEST_TIMEOUT = 60.0
REPLAY_TIMEOUT = 120.0

NewWorker = Callable[[], AbstractAsyncContextManager[Any]]
"""A new worker on the workflow's task queue, running for the block."""


async def cached_and_evicted(
    label: str,
    handle: WorkflowHandle[Any, Any],
    new_worker: NewWorker,
    warm_up: Callable[[], Awaitable[None]],
    request: Callable[[], Awaitable[Any]],
    samples: int,
    cached_each: int,
) -> dict[str, Any]:
    """`samples` evicted updates, each on a new worker, and `cached_each` cached ones
    after each; with the length of the run each evicted update had to replay. The
    workflow must be idle, and no worker running it, when this begins."""
    evicted: list[float] = []
    cached: list[float] = []
    lengths: list[int] = []
    for number in range(samples):
        # The workflow is idle (settled under the last worker) and that worker is gone.
        async with new_worker():
            await bounded(f"{label}: warm-up", warm_up(), REQUEST_TIMEOUT)
            lengths.append(await history_length(handle))
            evicted.append(await _timed(label, request))
            for _ in range(cached_each):
                await settle(handle)
                cached.append(await _timed(label, request))
            await settle(handle)
        progress(
            f"long: {label} sample {number + 1}/{samples}: evicted {evicted[-1] * 1000:.0f} ms "
            f"(run of {lengths[-1]} events), cached "
            + ", ".join(f"{x * 1000:.0f}" for x in cached[-cached_each:])
            + " ms"
        )
    return {
        "evicted": _summary(evicted),
        "cached": _summary(cached),
        "evicted_over_cached": round(statistics.median(evicted) / statistics.median(cached), 1),
        "run_events_at_eviction": lengths,
    }


async def _timed(label: str, request: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await bounded(f"{label}: update", request(), REQUEST_TIMEOUT)
    return time.perf_counter() - began


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """Events in the current run so far."""
    described = await bounded("describe", handle.describe(), REQUEST_TIMEOUT)
    return described.raw_description.workflow_execution_info.history_length


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": statistics.median(values),
        "max": max(values),
        "min": min(values),
        "samples": [round(x, 4) for x in values],
    }


async def replay_times(
    label: str,
    workflows: list[type],
    history: WorkflowHistory,
    times: int = 3,
    sandboxed: bool = True,
    *,
    data_converter: DataConverter,
) -> dict[str, Any]:
    """Seconds a `Replayer` (`data_converter`, the bench client's: the service's converter
    and codec; its sandbox, or none) takes over
    `history`; the first replay of a new replayer is reported apart, as it sets up the
    sandbox. Without the sandbox shows how much of a replay is the sandbox's."""
    replayer = Replayer(
        workflows=workflows,
        data_converter=data_converter,
        workflow_runner=workflow_runner() if sandboxed else UnsandboxedWorkflowRunner(),
        interceptors=[IdentityInterceptor(IDENTITY_RING)],
    )
    seconds = []
    for _ in range(times + 1):
        began = time.perf_counter()
        await bounded(f"replay of {label}", replayer.replay_workflow(history), REPLAY_TIMEOUT)
        seconds.append(time.perf_counter() - began)
    progress(
        f"long: replayed {label} ({len(history.events)} events"
        f"{'' if sandboxed else ', no sandbox'}): " + ", ".join(f"{x:.3f}" for x in seconds) + " s"
    )
    return {
        "events": len(history.events),
        "first": round(seconds[0], 4),
        "median": statistics.median(seconds[1:]),
        "max": max(seconds[1:]),
        "samples": [round(x, 4) for x in seconds[1:]],
    }
