"""What sealing payloads costs: an update's round trip and a case's history, with the
codec and without it, in the same run on the same dev server.

Two clients of one server, each with its own worker and task queue: one seals every
payload with the bench's key (AES-256-GCM, `protection.codec`), as the service does; the
other is the plain pydantic converter, as before the codec. Each opens a long-lived plan
and takes the same updates (a check-in added with a note, then completed with a note),
the two cases in turn, so both see the same machine. Every update is timed from the
client's call to its answer; each case's history is then read and measured.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from casemodel.requests import AddTask, CompleteTask
from protection.codec import PayloadSealer
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from workflows.names import workflow_id_for

from . import long_case
from .env import (
    BENCH_RING,
    IDENTITY_RING,
    Bench,
    bounded,
    new_task_queue,
    progress,
    running,
    signed,
)
from .provision_types import long_lived_type
from .stats import percentile, ratio

UPDATES = 200
TIMEOUT = 60.0
BUDGET = 4_000
"""Each case stays in one run (a hand-over would time as an update): the codec is what is
measured, not continue-as-new."""
NOTE = (
    "Weekly call: tenant says the new payment plan is holding; next visit agreed, "
    "interpreter not needed this time. "
)


async def run(bench: Bench, updates: int = UPDATES) -> dict[str, Any]:
    began = time.perf_counter()
    sealed_client = bench.temporal.client
    config = sealed_client.config()
    config["data_converter"] = pydantic_data_converter
    plain_client = Client(**config)
    kinds: dict[str, dict[str, Any]] = {}
    async with (
        _case(bench, sealed_client, "sealed") as sealed,
        _case(bench, plain_client, "plain") as plain,
    ):
        for kind in (sealed, plain):  # warm-up: the first requests of a worker, not counted
            await _round(kind, -1)
        for number in range(updates // 2):
            for kind in (sealed, plain) if number % 2 == 0 else (plain, sealed):
                await _round(kind, number)
        for kind in (sealed, plain):
            kinds[kind["name"]] = await _figures(kind)
            progress(
                f"codec: {kind['name']}: p50 {kinds[kind['name']]['update_ms']['p50']:.1f} ms, "
                f"{kinds[kind['name']]['history_bytes']} history bytes"
            )
    s, p = kinds["sealed"], kinds["plain"]
    return {
        "updates_per_case": updates,
        "history_budget": BUDGET,
        "sealed": s,
        "plain": p,
        "ratios": {
            "update_p50": round(ratio(s["update_ms"]["p50"], p["update_ms"]["p50"]), 3),
            "update_p95": round(ratio(s["update_ms"]["p95"], p["update_ms"]["p95"]), 3),
            "history_bytes": round(ratio(s["history_bytes"], p["history_bytes"]), 3),
            "history_json_bytes": round(ratio(s["history_json_bytes"], p["history_json_bytes"]), 3),
            "start_event_bytes": round(ratio(s["start_event_bytes"], p["start_event_bytes"]), 3),
            "bytes_per_event": round(ratio(s["bytes_per_event"], p["bytes_per_event"]), 3),
        },
        "seal_open_microseconds": seal_open_cost(),
        "seconds": round(time.perf_counter() - began, 1),
    }


@contextlib.asynccontextmanager
async def _case(bench: Bench, client: Client, name: str) -> AsyncIterator[dict[str, Any]]:
    """A worker for `client` on a task queue of its own, and a plan opened on it."""
    task_queue = new_task_queue(f"codec-{name}")
    settings = Settings(task_queue=task_queue, history_budget=BUDGET)
    worker = build_worker(client, task_queue, bench.sessions, ring=IDENTITY_RING)
    async with running(worker):
        cases = signed(client, settings)
        case_ref = f"CODEC-{name}-{uuid.uuid4().hex[:8]}"
        await bounded(
            f"start {case_ref}",
            cases.start_case(long_lived_type(), tenant_ref="TEN-CODEC", case_ref=case_ref),
            TIMEOUT,
        )
        await bounded(
            "agree the plan",
            cases.send(case_ref, CompleteTask(task="agree-plan")),
            TIMEOUT,
        )
        yield {"name": name, "cases": cases, "case_ref": case_ref, "ms": []}


async def _timed(kind: dict[str, Any], request: Any, number: int) -> Any:
    began = time.perf_counter()
    result = await bounded(
        f"{request.kind} on {kind['case_ref']}",
        kind["cases"].send(kind["case_ref"], request),
        TIMEOUT,
    )
    if number >= 0:
        kind["ms"].append((time.perf_counter() - began) * 1000)
    return result


async def _round(kind: dict[str, Any], number: int) -> None:
    """Two updates: a check-in added, then completed, each with a note."""
    added = await _timed(kind, AddTask(task="check-in", note=NOTE), number)
    key = next(c.task_key for c in added.changes if c.kind == "task_added" and c.task_key)
    await _timed(kind, CompleteTask(task=key, note=NOTE), number)


async def _figures(kind: dict[str, Any]) -> dict[str, Any]:
    cases: CaseClient = kind["cases"]
    runs = await long_case.runs_of(cases.client, workflow_id_for(kind["case_ref"]))
    events = [e for r in runs for e in r.events]
    ms = kind["ms"]
    return {
        "case_ref": kind["case_ref"],
        "runs": len(runs),
        "updates_timed": len(ms),
        "update_ms": {
            "p50": round(percentile(ms, 50), 2),
            "p95": round(percentile(ms, 95), 2),
            "max": round(max(ms), 2),
            "mean": round(sum(ms) / len(ms), 2),
        },
        "events": len(events),
        "history_bytes": sum(e.ByteSize() for e in events),
        "history_json_bytes": sum(len(r.to_json()) for r in runs),
        "start_event_bytes": events[0].ByteSize(),
        # Register writes batch by timing, so the two cases' event counts differ a little.
        "bytes_per_event": round(sum(e.ByteSize() for e in events) / len(events), 1),
    }


def seal_open_cost(rounds: int = 2_000) -> dict[str, float]:
    """Microseconds the codec spends on one payload of 1 KB and of 30 KB (a start input
    with its type snapshot), sealing and opening, outside Temporal."""
    sealer = PayloadSealer(BENCH_RING)
    out: dict[str, float] = {}
    for label, size in (("1KB", 1_000), ("30KB", 30_000)):
        payload = Payload(metadata={"encoding": b"json/plain"}, data=b"x" * size)
        began = time.perf_counter()
        sealed = [sealer.seal(payload) for _ in range(rounds)]
        out[f"seal_{label}"] = round((time.perf_counter() - began) / rounds * 1e6, 1)
        began = time.perf_counter()
        for one in sealed:
            sealer.open(one)
        out[f"open_{label}"] = round((time.perf_counter() - began) / rounds * 1e6, 1)
    return out


def report(result: dict[str, Any]) -> list[str]:
    s, p, r = result["sealed"], result["plain"], result["ratios"]
    lines = [
        "Payload codec: the same updates to two cases on one server, sealed (AES-256-GCM)",
        f"and plain, in turn ({result['updates_per_case']} updates each; ratio = sealed / plain)",
        "",
        f"{'':<22} {'plain':>10} {'sealed':>10} {'ratio':>7}",
        f"{'update p50 (ms)':<22} {p['update_ms']['p50']:>10.1f} {s['update_ms']['p50']:>10.1f} "
        f"{r['update_p50']:>7.3f}",
        f"{'update p95 (ms)':<22} {p['update_ms']['p95']:>10.1f} {s['update_ms']['p95']:>10.1f} "
        f"{r['update_p95']:>7.3f}",
        f"{'history bytes':<22} {p['history_bytes']:>10} {s['history_bytes']:>10} "
        f"{r['history_bytes']:>7.3f}",
        f"{'history JSON bytes':<22} {p['history_json_bytes']:>10} "
        f"{s['history_json_bytes']:>10} {r['history_json_bytes']:>7.3f}",
        f"{'start event bytes':<22} {p['start_event_bytes']:>10} {s['start_event_bytes']:>10} "
        f"{r['start_event_bytes']:>7.3f}",
        f"{'events':<22} {p['events']:>10} {s['events']:>10}",
        f"{'bytes per event':<22} {p['bytes_per_event']:>10} {s['bytes_per_event']:>10} "
        f"{r['bytes_per_event']:>7.3f}",
        "  codec alone, µs a payload: "
        + ", ".join(f"{k} {v}" for k, v in result["seal_open_microseconds"].items()),
        f"\nCodec benchmark took {result['seconds']:.0f}s",
    ]
    return lines
