"""A worker in a process of its own, so the benchmarks can read its CPU and memory apart
from the client's: `python -m bench.worker_process case|bare --target ... --task-queue ...`.

The case kind is the service's worker (`starter.worker.build_worker`, whatever it sizes);
the bare kind hosts the bare workflows of `bench/bare.py` with the SDK defaults and the
service's sandbox. It prints one JSON line when it polls, then answers each line on stdin:
`stats` (after a garbage collection: RSS and the SDK's cache counters so far) and `stop`
(it shuts down, writes its profile if asked for one, and exits).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import sys
from collections import Counter
from typing import Any

from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.worker import Worker

from protection.codec import data_converter
from protection.keys import KeyRing

from .bare_worker import bare_worker

PAYLOAD_KEYS_ENV = "SUPPORT_PROVISION_PAYLOAD_KEYS"
IDENTITY_KEYS_ENV = "SUPPORT_PROVISION_IDENTITY_KEYS"

COUNTED = (
    "sticky_cache_hit",
    "sticky_cache_miss",
    "sticky_cache_total_forced_eviction",
    "workflow_task_queue_poll_succeed",
)
"""SDK counters the benchmarks read (added up here, reported as totals)."""
OBSERVED = ("workflow_task_replay_latency", "workflow_task_execution_latency")
"""SDK histograms whose observations are counted: replays, and workflow tasks run."""
GAUGES = ("sticky_cache_size",)


def rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Metrics:
    """The SDK's metric updates, drained from its buffer and added up."""

    def __init__(self, buffer: MetricBuffer) -> None:
        self._buffer = buffer
        self.counts: Counter[str] = Counter()
        self.gauges: dict[str, float] = {}

    def drain(self) -> dict[str, Any]:
        for update in self._buffer.retrieve_updates():
            name = update.metric.name.removeprefix("temporal_")
            if name in COUNTED:
                self.counts[name] += int(update.value)
            elif name in OBSERVED:
                self.counts[name.removesuffix("_latency")] += 1
            elif name in GAUGES:
                self.gauges[name] = float(update.value)
        return {**self.counts, **self.gauges}


async def _build(args: argparse.Namespace, client: Client) -> tuple[Worker, Any]:
    if args.kind == "bare":
        return bare_worker(client, args.task_queue), None
    from activities.database.engine import create_engine, session_factory
    from starter.worker import build_worker

    engine = create_engine(args.db_url)
    ring = KeyRing.parse(os.environ[IDENTITY_KEYS_ENV], source=IDENTITY_KEYS_ENV)
    return build_worker(client, args.task_queue, session_factory(engine), ring=ring), engine


METRICS_DRAINED_EVERY = 1.0
"""Seconds between drains of the SDK's metric buffer: thousands of cases opening fill it
between two `stats` lines, and a full buffer drops updates (and has crashed the SDK)."""


async def _drain_often(metrics: Metrics) -> None:
    while True:
        await asyncio.sleep(METRICS_DRAINED_EVERY)
        metrics.drain()


async def serve(args: argparse.Namespace) -> None:
    buffer = MetricBuffer(100_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    metrics = Metrics(buffer)
    client = await Client.connect(
        args.target,
        namespace=args.namespace,
        # Sealed with the bench's ring, which the harness hands over in the environment.
        data_converter=data_converter(
            KeyRing.parse(os.environ[PAYLOAD_KEYS_ENV], source=PAYLOAD_KEYS_ENV)
        ),
        runtime=runtime,
    )
    worker, engine = await _build(args, client)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    running = asyncio.create_task(worker.run())
    draining = asyncio.create_task(_drain_often(metrics))
    max_cached = worker.config().get("max_cached_workflows")
    _say({"ready": True, "pid": os.getpid(), "max_cached_workflows": max_cached})
    try:
        while line := (await reader.readline()).decode().strip():
            if line == "stop":
                break
            if line == "stats":
                gc.collect()
                _say({"rss": rss_bytes(), "metrics": metrics.drain()})
    finally:
        draining.cancel()
        await worker.shutdown()
        await running
        if engine is not None:
            await engine.dispose()


_PROTOCOL = sys.stdout
"""The answers' stream; `main` moves it off fd 1, so nothing else printed lands in it."""


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), file=_PROTOCOL, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_process")
    parser.add_argument("kind", choices=("case", "bare"))
    parser.add_argument("--target", required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--profile", default="", help="write a cProfile of the run here")
    args = parser.parse_args()
    global _PROTOCOL
    _PROTOCOL = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what the SDK or a library prints goes to stderr, not into the answers
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(serve(args))
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
    # The worker has shut down and the database is closed. Leaving through the interpreter's
    # finalisation, a thread of the SDK's runtime (this process's own, with its metric
    # buffer) could call into Python after the interpreter had begun to go, and the process
    # died with "Fatal Python error: PyGILState_Release" instead of exiting.
    sys.stdout.flush()
    sys.stderr.flush()
    _PROTOCOL.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
