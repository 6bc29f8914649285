"""History per occurrence of a recurring task, against a task completed once.

Two cases of N tasks each, side by side on the same server and worker: in the *recurring*
case one task recurs N times (every 2 seconds, a 1-hour SLA with a breach rule), each
occurrence completed by an update once it has opened; in the *baseline* case N separate
tasks with the same SLA and rule are completed by update one after the other. What an
occurrence costs beyond a completion is the timer that opens it, its workflow task and the
register write that records it. The marginal figure (events added by each further
occurrence or task, from N=5 to N=20) is the one that says how a series grows.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from casemodel.requests import CompleteTask
from definitions.schema import ProvisionType

from .env import Bench, bounded, progress
from .history import settle
from .provision_types import OWNER
from .stats import count_by_type, ratio

SIZES = (5, 20)
EVERY_SECONDS = 2
TIMEOUT = 120.0


def _rule(task_id: str) -> dict[str, Any]:
    return {"id": f"late-{task_id}", "trigger": "breach", "template": "task-sla-breach"}


def recurring_type(n: int) -> ProvisionType:
    return ProvisionType.model_validate(
        {
            "id": "bench-recurring",
            "name": "Bench recurring",
            "category": "support_plan",
            "audience": "internal",
            "tasks": [
                {
                    "id": "check-in",
                    "name": "Check-in",
                    "recurrence": {"every": f"{EVERY_SECONDS} seconds", "times": n},
                    "sla": {"target": "1 hour"},
                    "escalations": [_rule("check-in")],
                }
            ],
        }
    )


def separate_type(n: int) -> ProvisionType:
    return ProvisionType.model_validate(
        {
            "id": "bench-separate",
            "name": "Bench separate",
            "category": "support_plan",
            "audience": "internal",
            "tasks": [
                {
                    "id": f"task-{i}",
                    "name": f"Task {i}",
                    "sla": {"target": "1 hour"},
                    "escalations": [_rule(f"task-{i}")],
                }
                for i in range(n)
            ],
        }
    )


async def _history(cases: Any, case_ref: str, handle: Any) -> dict[str, Any]:
    summary = await bounded(f"result of {case_ref}", cases.result(case_ref), TIMEOUT)
    history = await bounded(f"history of {case_ref}", handle.fetch_history(), TIMEOUT)
    return {
        "case_ref": case_ref,
        "status": summary.status.value,
        "tasks_completed": summary.tasks_completed,
        "events": len(history.events),
        "history_bytes": sum(e.ByteSize() for e in history.events),
        "events_by_type": count_by_type(history.events),
    }


async def _start(cases: Any, provision_type: ProvisionType, label: str) -> tuple[str, Any]:
    """Open a case of `provision_type`: its reference and its workflow handle."""
    case_ref = f"{label}-{uuid.uuid4().hex[:8]}"
    started = await bounded(
        f"start {case_ref}",
        cases.start_case(provision_type, tenant_ref="TEN-BENCH", case_ref=case_ref, owner=OWNER),
        TIMEOUT,
    )
    return case_ref, cases.client.get_workflow_handle(started.workflow_id)


async def run_recurring(cases: Any, n: int) -> dict[str, Any]:
    case_ref, handle = await _start(cases, recurring_type(n), f"RECUR-{n}")
    for number in range(1, n + 1):
        key = "check-in" if number == 1 else f"check-in#{number}"
        deadline = time.monotonic() + TIMEOUT
        while True:  # the occurrence opens on its timer, EVERY_SECONDS after the one before
            state = await bounded(f"state of {case_ref}", cases.state(case_ref), TIMEOUT)
            task = next((t for t in state.tasks if t.key == key), None)
            if task is not None and task.status.value == "open":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} of {case_ref} did not open")
            await settle(handle)
            await asyncio.sleep(0.05)
        await settle(handle)
        await bounded(f"complete {key}", cases.send(case_ref, CompleteTask(task=key)), TIMEOUT)
    return await _history(cases, case_ref, handle)


async def run_separate(cases: Any, n: int) -> dict[str, Any]:
    case_ref, handle = await _start(cases, separate_type(n), f"SEPARATE-{n}")
    for i in range(n):
        await settle(handle)
        await bounded(
            f"complete task-{i}", cases.send(case_ref, CompleteTask(task=f"task-{i}")), TIMEOUT
        )
    return await _history(cases, case_ref, handle)


async def run(bench: Bench, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    began = time.perf_counter()
    rows: dict[str, dict[int, dict[str, Any]]] = {"recurring": {}, "separate": {}}
    async with bench.worker("recurrence") as (_, cases):
        for n in sizes:
            rows["separate"][n] = await run_separate(cases, n)
            rows["recurring"][n] = await run_recurring(cases, n)
            progress(
                f"recurrence: N={n:>3} separate events={rows['separate'][n]['events']} "
                f"recurring events={rows['recurring'][n]['events']}"
            )
    low, high = min(sizes), max(sizes)
    marginal = {
        kind: (rows[kind][high]["events"] - rows[kind][low]["events"]) / (high - low)
        for kind in rows
    }
    marginal_bytes = {
        kind: (rows[kind][high]["history_bytes"] - rows[kind][low]["history_bytes"]) / (high - low)
        for kind in rows
    }
    return {
        "sizes": list(sizes),
        "every_seconds": EVERY_SECONDS,
        "cases": {kind: list(by_n.values()) for kind, by_n in rows.items()},
        "events_per_added": marginal,
        "bytes_per_added": marginal_bytes,
        "ratio": round(ratio(marginal["recurring"], marginal["separate"]), 3),
        "bytes_ratio": round(ratio(marginal_bytes["recurring"], marginal_bytes["separate"]), 3),
        "seconds": round(time.perf_counter() - began, 1),
    }


def report(result: dict[str, Any]) -> list[str]:
    lines = [
        "Recurrence: history per occurrence of a recurring task vs per task completed once",
        f"(occurrences every {result['every_seconds']} s, each completed by update once open;",
        " baseline: as many separate tasks completed by update; both with a 1-hour SLA and a",
        " breach rule that never fires)",
        "",
        f"{'N':>4} {'separate ev':>11} {'recurring ev':>12} {'separate B':>10} {'recurring B':>11}",
    ]
    for sep, rec in zip(result["cases"]["separate"], result["cases"]["recurring"], strict=True):
        lines.append(
            f"{sep['tasks_completed']:>4} {sep['events']:>11} {rec['events']:>12} "
            f"{sep['history_bytes']:>10} {rec['history_bytes']:>11}"
        )
    per = result["events_per_added"]
    per_bytes = result["bytes_per_added"]
    lines += [
        "",
        f"Each further task/occurrence adds: separate {per['separate']:.1f} events "
        f"({per_bytes['separate']:.0f} B), recurring {per['recurring']:.1f} events "
        f"({per_bytes['recurring']:.0f} B): ratio {result['ratio']:.2f} "
        f"(bytes {result['bytes_ratio']:.2f})",
        f"Recurrence benchmark took {result['seconds']:.0f}s",
    ]
    return lines
