"""The processes a benchmark measures: a worker of its own (`worker_process.py`) and the
dev server, read from /proc (CPU seconds, resident memory) so that neither is confused
with the client that drives the load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starter.cache_budget import MEMORY_ENV

from .env import BENCH_RING, IDENTITY_RING, Bench, bounded, progress

READY_TIMEOUT = 120.0
STOP_TIMEOUT = 90.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_pid() -> int:
    """The dev server `WorkflowEnvironment.start_local` started: our child running
    `server start-dev`."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if int(stat[1]) == me and b"start-dev" in cmdline:
                return int(entry.name)
    raise RuntimeError("no dev server among this process's children")


class WorkerProcess:
    """A worker (the service's, or the bare one) in a child process."""

    def __init__(self, process: asyncio.subprocess.Process, kind: str, ready: dict[str, Any]):
        self.process = process
        self.kind = kind
        self.pid = int(ready["pid"])
        self.max_cached_workflows = ready.get("max_cached_workflows")

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    async def stats(self) -> dict[str, Any]:
        """Its RSS after a garbage collection, and the SDK's cache counters so far."""
        return await bounded(f"{self.kind} worker stats", self._ask("stats"), 60)

    async def _ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        answer = await self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"the {self.kind} worker exited")
        return dict(json.loads(answer))


@contextlib.asynccontextmanager
async def worker_process(
    bench: Bench,
    kind: str,
    task_queue: str,
    profile: Path | None = None,
    memory: str = "",
) -> AsyncIterator[WorkerProcess]:
    """Run a worker of `kind` ("case" or "bare") on `task_queue` until the block ends; a
    case worker with `memory` as its budget (`SUPPORT_PROVISION_WORKER_MEMORY`) if given."""
    command = [sys.executable, "-m", "bench.worker_process", kind]
    command += ["--target", bench.temporal.client.service_client.config.target_host]
    command += ["--namespace", bench.temporal.client.namespace, "--task-queue", task_queue]
    command += ["--db-url", bench.db_url]
    if profile is not None:
        command += ["--profile", str(profile)]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
        # The bench's rings, so the worker opens what the bench's client seals and
        # verifies whom it signs as.
        env={
            **os.environ,
            "SUPPORT_PROVISION_PAYLOAD_KEYS": BENCH_RING.as_line(),
            "SUPPORT_PROVISION_IDENTITY_KEYS": IDENTITY_RING.as_line(),
        }
        | ({MEMORY_ENV: memory} if memory else {}),
    )
    try:
        assert process.stdout is not None
        line = await bounded(f"{kind} worker start", process.stdout.readline(), READY_TIMEOUT)
        if not line:
            raise RuntimeError(f"the {kind} worker exited before it polled")
        handle = WorkerProcess(process, kind, json.loads(line))
        progress(f"{kind} worker pid {handle.pid}, cache {handle.max_cached_workflows}")
        yield handle
    finally:
        if process.returncode is None:
            with contextlib.suppress(Exception):
                assert process.stdin is not None
                process.stdin.write(b"stop\n")
                await process.stdin.drain()
            try:
                await bounded(f"{kind} worker stop", process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
