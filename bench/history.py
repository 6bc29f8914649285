"""History growth: events per case for a type with SLAs and rules vs the same type without.

Every task is completed within seconds, so no rule ever fires: the design goal is that
the rules cost (almost) nothing in history, one timer for the whole case, never moved.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from casemodel import views as details
from casemodel.case import Case
from casemodel.requests import CompleteTask

from .env import Bench, bounded, progress
from .provision_types import OWNER, many_tasks_type
from .stats import count_by_type, event_name, ratio

SIZES = (5, 20, 50)
UPDATE_TIMEOUT = 60.0
RESULT_TIMEOUT = 120.0

TIMER_EVENTS = ("TimerStarted", "TimerCanceled", "TimerFired")


async def settle(handle: Any, seconds: float = 30.0) -> None:
    """Wait until the case is idle: no workflow task and no activity pending.

    People complete tasks minutes apart, so in real use each request finds the case idle;
    without this, requests sent back to back share workflow tasks and register writes and
    the event count depends on timing.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        raw = (await bounded("describe", handle.describe(), seconds)).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{handle.id} still busy after {seconds:.0f}s")


async def run_case(
    bench: Bench, cases: Any, n: int, rules: bool, burst: bool = False
) -> dict[str, Any]:
    """One case: start it, complete every task by update, wait for it to end, read history."""
    provision_type = many_tasks_type(n, rules=rules)
    case_ref = f"HIST-{n}-{'R' if rules else 'P'}-{uuid.uuid4().hex[:8]}"
    wall, cpu = time.perf_counter(), time.process_time()
    started = await bounded(
        f"start {case_ref}",
        cases.start_case(provision_type, tenant_ref="TEN-BENCH", case_ref=case_ref, owner=OWNER),
        UPDATE_TIMEOUT,
    )
    handle = cases.client.get_workflow_handle(started.workflow_id)
    for task in provision_type.tasks:
        if not burst:
            await settle(handle)
        await bounded(
            f"complete {task.id} of {case_ref}",
            cases.send(case_ref, CompleteTask(task=task.id)),
            UPDATE_TIMEOUT,
        )
    summary = await bounded(f"result of {case_ref}", cases.result(case_ref), RESULT_TIMEOUT)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    history = await bounded(f"history of {case_ref}", handle.fetch_history(), UPDATE_TIMEOUT)
    events = history.events
    by_type = count_by_type(events)
    return {
        "case_ref": case_ref,
        "tasks": n,
        "rules": rules,
        "status": summary.status.value,
        "tasks_completed": summary.tasks_completed,
        "events": len(events),
        "history_bytes": sum(e.ByteSize() for e in events),
        "start_event_bytes": events[0].ByteSize(),
        "bytes_after_start": sum(e.ByteSize() for e in events[1:]),
        "workflow_tasks": by_type.get("WorkflowTaskCompleted", 0),
        "events_by_type": by_type,
        "timers": {name: by_type.get(name, 0) for name in TIMER_EVENTS},
        "activities": _activities_by_name(events),
        "wall_seconds": round(wall, 3),
        "python_cpu_seconds": round(cpu, 3),
    }


def _activities_by_name(events: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for e in events:
        if event_name(e) == "ActivityTaskScheduled":
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            found[name] = found.get(name, 0) + 1
    return found


def core_cost(n: int, rules: bool, rounds: int = 20) -> dict[str, float]:
    """Microseconds the case model spends per workflow task, outside Temporal.

    What the workflow does on each task: tick, the SLA state and task table for the UI,
    and next_due for the timer; measured with half the tasks done.
    """
    provision_type = many_tasks_type(n, rules=rules)
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    case = Case.open(
        provision_type, case_ref="CORE", tenant_ref="T", owner=OWNER, now=t0, opened_by="bench"
    )
    now = t0
    for task in provision_type.tasks[: n // 2]:
        now += timedelta(seconds=1)
        case.complete_task(task.id, outcome=None, responses={}, note=None, by="bench", now=now)
    parts = {
        "tick": lambda: case.tick(now),
        "sla_state": lambda: case.sla_state(now),
        "task_table": lambda: details.task_table(case, now),
        "next_due": lambda: case.next_due(now),
    }
    out: dict[str, float] = {}
    for name, call in parts.items():
        call()
        begin = time.perf_counter()
        for _ in range(rounds):
            call()
        out[name] = (time.perf_counter() - begin) / rounds * 1e6
    out["total"] = sum(out.values())
    return {k: round(v, 1) for k, v in out.items()}


async def run(
    bench: Bench, sizes: tuple[int, ...] = SIZES, repeat: int = 3, burst: bool = False
) -> dict[str, Any]:
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    async with bench.worker("history") as (_, cases):
        progress("history: warm-up case (not counted)")
        await run_case(bench, cases, 2, rules=True)
        for n in sizes:
            for attempt in range(repeat):
                for rules in (False, True):
                    result = await run_case(bench, cases, n, rules, burst)
                    result["attempt"] = attempt + 1
                    rows.append(result)
                    progress(
                        f"history: N={n:>3} {'rules   ' if rules else 'baseline'} "
                        f"events={result['events']:>5} timers={result['timers']} "
                        f"wall={result['wall_seconds']:.1f}s"
                    )
    by_size = []
    for n in sizes:
        plain = [r for r in rows if r["tasks"] == n and not r["rules"]]
        ruled = [r for r in rows if r["tasks"] == n and r["rules"]]
        plain_events = sum(r["events"] for r in plain) / len(plain)
        ruled_events = sum(r["events"] for r in ruled) / len(ruled)
        plain_bytes = sum(r["history_bytes"] for r in plain) / len(plain)
        ruled_bytes = sum(r["history_bytes"] for r in ruled) / len(ruled)
        plain_rest = sum(r["bytes_after_start"] for r in plain) / len(plain)
        ruled_rest = sum(r["bytes_after_start"] for r in ruled) / len(ruled)
        by_size.append(
            {
                "tasks": n,
                "baseline_events_each": [r["events"] for r in plain],
                "rules_events_each": [r["events"] for r in ruled],
                "baseline_events": plain_events,
                "rules_events": ruled_events,
                "ratio": round(ratio(ruled_events, plain_events), 3),
                "baseline_bytes": plain_bytes,
                "rules_bytes": ruled_bytes,
                "bytes_ratio": round(ratio(ruled_bytes, plain_bytes), 3),
                "baseline_start_event_bytes": plain[0]["start_event_bytes"],
                "rules_start_event_bytes": ruled[0]["start_event_bytes"],
                "bytes_after_start_ratio": round(ratio(ruled_rest, plain_rest), 3),
                "rules_timers": _mean_timers(ruled),
                "baseline_timers": _mean_timers(plain),
                "events_by_type": {
                    "baseline": plain[0]["events_by_type"],
                    "rules": ruled[0]["events_by_type"],
                },
                "wall_seconds": {
                    "baseline": sum(r["wall_seconds"] for r in plain) / len(plain),
                    "rules": sum(r["wall_seconds"] for r in ruled) / len(ruled),
                },
                "python_cpu_seconds": {
                    "baseline": sum(r["python_cpu_seconds"] for r in plain) / len(plain),
                    "rules": sum(r["python_cpu_seconds"] for r in ruled) / len(ruled),
                },
                "core_microseconds_per_workflow_task": {
                    "baseline": core_cost(n, rules=False),
                    "rules": core_cost(n, rules=True),
                },
            }
        )
    return {
        "sizes": list(sizes),
        "repeat": repeat,
        "requests": "back to back (burst)" if burst else "each on an idle case (settled)",
        "by_size": by_size,
        "cases": rows,
        "seconds": round(time.perf_counter() - began, 1),
    }


def _mean_timers(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {name: sum(r["timers"][name] for r in rows) / len(rows) for name in TIMER_EVENTS}


def report(result: dict[str, Any]) -> list[str]:
    lines = [
        "History growth: every task completed by update within seconds, no rule fires",
        f"(requests {result['requests']}; baseline: same type with no SLAs and no rules;",
        f" ratio = rules / baseline; mean of {result['repeat']} case(s) per row)",
        "",
        f"{'tasks':>5} {'baseline ev':>11} {'rules ev':>9} {'ratio':>6} "
        f"{'TimerStarted':>12} {'TimerCanceled':>13} {'TimerFired':>10} "
        f"{'bytes ratio':>11} {'(w/o start ev)':>14}",
    ]
    for row in result["by_size"]:
        t = row["rules_timers"]
        lines.append(
            f"{row['tasks']:>5} {row['baseline_events']:>11.1f} {row['rules_events']:>9.1f} "
            f"{row['ratio']:>6.3f} {t['TimerStarted']:>12.1f} {t['TimerCanceled']:>13.1f} "
            f"{t['TimerFired']:>10.1f} {row['bytes_ratio']:>11.3f} "
            f"{row['bytes_after_start_ratio']:>14.3f}"
        )
    lines.append(
        "  start event bytes (the type definition travels in the start input): "
        + ", ".join(
            f"N={r['tasks']} {r['baseline_start_event_bytes']} -> {r['rules_start_event_bytes']}"
            for r in result["by_size"]
        )
    )
    if result["repeat"] > 1:
        lines += ["", f"Each of {result['repeat']} cases per kind (events; the table shows means):"]
        for row in result["by_size"]:
            lines.append(
                f"  N={row['tasks']:>3}: baseline {row['baseline_events_each']}  "
                f"rules {row['rules_events_each']}"
            )
    lines += ["", "Events by type (largest N, first case of each kind):"]
    last = result["by_size"][-1]
    kinds = sorted(set(last["events_by_type"]["baseline"]) | set(last["events_by_type"]["rules"]))
    lines.append(f"  {'event type':<44} {'baseline':>8} {'rules':>6}")
    for kind in kinds:
        lines.append(
            f"  {kind:<44} {last['events_by_type']['baseline'].get(kind, 0):>8} "
            f"{last['events_by_type']['rules'].get(kind, 0):>6}"
        )
    lines += [
        "",
        "Cost per case (wall s / Python CPU s of worker+client; model µs per workflow task):",
    ]
    for row in result["by_size"]:
        w, c = row["wall_seconds"], row["python_cpu_seconds"]
        core = row["core_microseconds_per_workflow_task"]
        lines.append(
            f"  N={row['tasks']:>3}: wall {w['baseline']:.2f} -> {w['rules']:.2f}  "
            f"cpu {c['baseline']:.2f} -> {c['rules']:.2f}  "
            f"model {core['baseline']['total']:.0f} -> {core['rules']['total']:.0f} µs "
            f"(rules: {_parts(core['rules'])})"
        )
    lines.append(f"\nHistory benchmark took {result['seconds']:.0f}s")
    return lines


def _parts(costs: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f}" for k, v in costs.items() if k != "total")
