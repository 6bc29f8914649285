"""Escalation lag: how late a breach notice starts after its due point, under load.

K open cases, each with one task whose 24x7 SLA breaches 20-60 s after the case opens
(nine types, targets 20, 25, ... 60 s, assigned in turn), each with one breach rule.
lag = start of the notify_escalation activity (its ActivityTaskStarted event time)
      - the firing's due point (`state.firings[i].due_at`, from the case's own state).
The baseline is the same measurement for a case alone on the worker, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from activities.contracts import NOTIFY_ESCALATION, RECORD_CASE_CHANGES
from casemodel.requests import CompleteTask
from casemodel.state import CaseState

from .env import Bench, bounded, progress
from .provision_types import OWNER, breach_type
from .stats import event_name, event_time, ratio, summary

TARGETS = tuple(range(20, 61, 5))
REQUEST_TIMEOUT = 60.0
BREAKDOWN = {
    "timer_set_late": "timer set late (TimerStarted - its task's start)",
    "server_timer_delay": "server fired late (TimerFired - started+length)",
    "timer_fired_lag": "due -> TimerFired",
    "tick_lag": "due -> workflow task that fires (fired_at)",
    "register_before_notice": "register activity scheduled -> notice scheduled",
    "scheduled_lag": "due -> notice ActivityTaskScheduled",
    "lag": "due -> notice ActivityTaskStarted (the lag)",
}
HISTORY_SETTLE_TIMEOUT = 60.0


def firing_lags(state: CaseState, events: list[Any]) -> list[dict[str, Any]]:
    """One row per firing of the case, matched in order to its notify_escalation activity."""
    scheduled = [
        e
        for e in events
        if event_name(e) == "ActivityTaskScheduled"
        and e.activity_task_scheduled_event_attributes.activity_type.name == NOTIFY_ESCALATION
    ]
    started = {
        e.activity_task_started_event_attributes.scheduled_event_id: e
        for e in events
        if event_name(e) == "ActivityTaskStarted"
    }
    rows = []
    for firing, sched in zip(state.firings, scheduled, strict=False):
        due = firing.due_at
        before = [e for e in events if e.event_id < sched.event_id]
        timer = next((e for e in reversed(before) if event_name(e) == "TimerFired"), None)
        record = next(
            (
                e
                for e in reversed(before)
                if event_name(e) == "ActivityTaskScheduled"
                and e.activity_task_scheduled_event_attributes.activity_type.name
                == RECORD_CASE_CHANGES
            ),
            None,
        )
        start = started.get(sched.event_id)
        armed = _timer_arming(events, timer) if timer else {}
        rows.append(
            {
                "case_ref": state.case_ref,
                "rule": firing.rule,
                "due_at": due.isoformat(),
                "lag": _seconds(event_time(start), due) if start else None,
                "notice_attempt": start.activity_task_started_event_attributes.attempt
                if start
                else None,
                "scheduled_lag": _seconds(event_time(sched), due),
                "timer_fired_lag": _seconds(event_time(timer), due) if timer else None,
                "tick_lag": _seconds(firing.fired_at, due),
                **armed,
                "register_before_notice": (
                    _seconds(event_time(sched), event_time(record)) if record else None
                ),
            }
        )
    return rows


def _timer_arming(events: list[Any], fired: Any) -> dict[str, float]:
    """Why a timer fired late: set late (the workflow asked for `due - now()` when its task
    started, the server counts from when the task completed), or fired late by the server."""
    by_id = {e.event_id: e for e in events}
    timer = by_id.get(fired.timer_fired_event_attributes.started_event_id)
    if timer is None:
        return {}
    task = next(
        (
            e
            for e in reversed(events)
            if e.event_id < timer.event_id and event_name(e) == "WorkflowTaskStarted"
        ),
        None,
    )
    length = timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    out = {"server_timer_delay": _seconds(event_time(fired), event_time(timer) + length)}
    if task is not None:
        out["timer_set_late"] = _seconds(event_time(timer), event_time(task))
    return out


def _retries(events: list[Any]) -> dict[str, int]:
    """Activities of the case that needed more than one attempt, by activity name."""
    names = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if event_name(e) == "ActivityTaskScheduled"
    }
    found: dict[str, int] = {}
    for e in events:
        if event_name(e) == "ActivityTaskStarted":
            attrs = e.activity_task_started_event_attributes
            if attrs.attempt > 1:
                name = names.get(attrs.scheduled_event_id, "?")
                found[name] = found.get(name, 0) + 1
    return found


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


async def _settled_history(cases: Any, workflow_id: str, expected: int) -> list[Any]:
    """The history once each of `expected` notify activities has its started event."""
    handle = cases.client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + HISTORY_SETTLE_TIMEOUT
    while True:
        history = await bounded(
            f"history of {workflow_id}", handle.fetch_history(), REQUEST_TIMEOUT
        )
        events = list(history.events)
        ids = {
            e.event_id
            for e in events
            if event_name(e) == "ActivityTaskScheduled"
            and e.activity_task_scheduled_event_attributes.activity_type.name == NOTIFY_ESCALATION
        }
        done = {
            e.activity_task_started_event_attributes.scheduled_event_id
            for e in events
            if event_name(e) == "ActivityTaskStarted"
        }
        if len(ids) >= expected and ids <= done:
            return events
        if time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.5)


async def _wait_fired(
    bench: Bench, prefix: str, want: int, seconds: float, every: float = 0.2
) -> int:
    """Poll the outbox (a read; in WAL mode it never blocks the activities' writes)."""
    deadline = time.monotonic() + seconds
    while True:
        fired = await bench.outbox_notices(prefix)
        if fired >= want or time.monotonic() > deadline:
            return fired
        await asyncio.sleep(every)


async def baseline(bench: Bench, cases: Any, run_id: str, samples: int) -> dict[str, Any]:
    """Cases run one at a time, alone on the worker: the lag with nothing else running."""
    rows = []
    target = TARGETS[0]
    for i in range(samples):
        case_ref = f"LAGB-{run_id}-{i}"
        started = await bounded(
            f"start {case_ref}",
            cases.start_case(
                breach_type(target), tenant_ref="TEN-B", case_ref=case_ref, owner=OWNER
            ),
            REQUEST_TIMEOUT,
        )
        fired = await _wait_fired(bench, case_ref, 1, target + 120)
        if not fired:
            raise TimeoutError(f"baseline case {case_ref} did not fire within {target + 120}s")
        state = await bounded(f"state of {case_ref}", cases.state(case_ref), REQUEST_TIMEOUT)
        events = await _settled_history(cases, started.workflow_id, len(state.firings))
        lags = firing_lags(state, events)
        rows.extend(lags)
        progress(
            f"lag: baseline sample {i + 1}/{samples}: lag {lags[0]['lag']:.3f}s "
            f"(timer fired +{lags[0]['timer_fired_lag']:.3f}s, "
            f"scheduled +{lags[0]['scheduled_lag']:.3f}s)"
        )
        # Close it, so the worker is idle again before the next sample.
        await bounded(
            f"complete {case_ref}",
            cases.send(case_ref, CompleteTask(task="respond")),
            REQUEST_TIMEOUT,
        )
        await bounded(f"result of {case_ref}", cases.result(case_ref), REQUEST_TIMEOUT)
    values = [r["lag"] for r in rows if r["lag"] is not None]
    return {
        "samples": rows,
        "target_seconds": target,
        "lag": statistics.median(values),
        "lags": values,
    }


async def load(
    bench: Bench,
    cases: Any,
    run_id: str,
    count: int,
    concurrency: int,
    grace: float,
    deadline_at: float,
    arrival: float = 0.0,
) -> dict[str, Any]:
    prefix = f"LAG-{run_id}-"
    refs = [f"{prefix}{i:05d}" for i in range(count)]
    types = {t: breach_type(t) for t in TARGETS}
    started_at: dict[str, datetime] = {}
    workflow_ids: dict[str, str] = {}
    failures: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def start_one(i: int, case_ref: str) -> None:
        if arrival:  # steady arrival: case i is due i / arrival seconds after the first
            await asyncio.sleep(max(0.0, began + i / arrival - time.monotonic()))
        async with gate:
            asked = datetime.now(UTC)
            try:
                started = await bounded(
                    f"start {case_ref}",
                    cases.start_case(
                        types[TARGETS[i % len(TARGETS)]],
                        tenant_ref=f"TEN-{i:05d}",
                        case_ref=case_ref,
                        owner=OWNER,
                        verdict_within=None,  # the burst is of starts, as before the verdict
                    ),
                    REQUEST_TIMEOUT,
                )
            except Exception as error:  # noqa: BLE001 - counted and reported
                failures.append(f"{case_ref}: {error}")
                return
            started_at[case_ref] = asked
            workflow_ids[case_ref] = started.workflow_id

    stop_watch = asyncio.Event()

    async def watch() -> None:
        while not stop_watch.is_set():
            fired = await bench.outbox_notices(prefix)
            progress(f"lag: started {len(started_at)}/{count}, fired {fired}/{count}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_watch.wait(), 5)

    watcher = asyncio.create_task(watch())
    began = time.monotonic()
    try:
        pace = f"{arrival:g} a second" if arrival else "all at once"
        progress(f"lag: starting {count} cases {pace}, {concurrency} at a time")
        starts = asyncio.gather(*(start_one(i, r) for i, r in enumerate(refs)))
        await bounded("starting cases", starts, max(1.0, deadline_at - time.monotonic()))
        start_seconds = time.monotonic() - began
        progress(f"lag: {len(started_at)} cases started in {start_seconds:.1f}s")
        wait = min(max(TARGETS) + grace, deadline_at - time.monotonic())  # after the last
        fired = await _wait_fired(bench, prefix, len(started_at), wait, every=1.0)
        fire_seconds = time.monotonic() - began
    finally:
        stop_watch.set()
        await watcher
    progress(f"lag: {fired}/{len(started_at)} fired; reading states and histories")

    reader = asyncio.Semaphore(20)
    rows: list[dict[str, Any]] = []
    per_case: dict[str, dict[str, Any]] = {}

    async def read_one(case_ref: str) -> None:
        async with reader:
            try:
                state = await bounded(
                    f"state of {case_ref}", cases.state(case_ref), REQUEST_TIMEOUT
                )
                events = await _settled_history(cases, workflow_ids[case_ref], len(state.firings))
            except Exception as error:  # noqa: BLE001
                failures.append(f"{case_ref}: reading: {error}")
                return
            notices = sum(
                1
                for e in events
                if event_name(e) == "ActivityTaskScheduled"
                and e.activity_task_scheduled_event_attributes.activity_type.name
                == NOTIFY_ESCALATION
            )
            retries = _retries(events)
            per_case[case_ref] = {
                "retries": retries,
                "firings": len(state.firings),
                "notices": notices,
                "open_latency": _seconds(state.opened_at, started_at[case_ref]),
                "events": len(events),
            }
            rows.extend(firing_lags(state, events))

    read_began = time.monotonic()
    await bounded(
        "reading cases",
        asyncio.gather(*(read_one(r) for r in started_at)),
        max(60.0, deadline_at - time.monotonic() + 120),
    )
    counts = [c["firings"] for c in per_case.values()]
    return {
        "cases": count,
        "started": len(started_at),
        "concurrency": concurrency,
        "arrival_per_second": arrival or None,
        "start_seconds": round(start_seconds, 1),
        "start_rate_per_second": round(len(started_at) / start_seconds, 1)
        if start_seconds
        else None,
        "until_all_fired_seconds": round(fire_seconds, 1),
        "read_seconds": round(time.monotonic() - read_began, 1),
        "fired_in_outbox": fired,
        "cases_read": len(per_case),
        "cases_fired_once": sum(1 for c in counts if c == 1),
        "cases_not_fired": sum(1 for c in counts if c == 0) + (count - len(per_case)),
        "cases_fired_more": sum(1 for c in counts if c > 1),
        "firings": sum(counts),
        "notices_scheduled": sum(c["notices"] for c in per_case.values()),
        "firings_without_started_event": sum(1 for r in rows if r["lag"] is None),
        "retried_activities": {
            name: sum(c["retries"].get(name, 0) for c in per_case.values())
            for name in (NOTIFY_ESCALATION, RECORD_CASE_CHANGES)
        },
        "cases_with_retries": sum(1 for c in per_case.values() if c["retries"]),
        "open_latency": summary([c["open_latency"] for c in per_case.values()]),
        "failures": failures[:50],
        "failure_count": len(failures),
        "firing_rows": rows,
    }


async def run(
    bench: Bench,
    count: int = 1000,
    concurrency: int = 50,
    baseline_samples: int = 3,
    grace: float = 180.0,
    deadline: float = 1500.0,
    arrival: float = 0.0,
) -> dict[str, Any]:
    """Lag under a burst (`arrival` 0: every case started at once, `concurrency` in
    flight) or under steady arrival (`arrival` cases a second)."""
    began = time.perf_counter()
    deadline_at = time.monotonic() + deadline
    run_id = uuid.uuid4().hex[:6].upper()
    async with bench.worker("lag") as (_, cases):
        progress("lag: warm-up case (not counted)")
        warm = f"LAGW-{run_id}"
        await bounded(
            "warm-up",
            cases.start_case(
                breach_type(TARGETS[-1]), tenant_ref="TEN-W", case_ref=warm, owner=OWNER
            ),
            REQUEST_TIMEOUT,
        )
        await bounded("warm-up", cases.send(warm, CompleteTask(task="respond")), REQUEST_TIMEOUT)
        await bounded("warm-up", cases.result(warm), REQUEST_TIMEOUT)
        progress(f"lag: baseline, {baseline_samples} case(s) alone on the worker")
        base = await baseline(bench, cases, run_id, baseline_samples)
        loaded = await load(bench, cases, run_id, count, concurrency, grace, deadline_at, arrival)
    rows = loaded.pop("firing_rows")
    lags = [r["lag"] for r in rows if r["lag"] is not None]
    figures = summary(lags)
    first_try = summary(
        [r["lag"] for r in rows if r["lag"] is not None and r["notice_attempt"] == 1]
    )
    parts = {key: summary([r[key] for r in rows if r.get(key) is not None]) for key in BREAKDOWN}
    # A part the baseline has no figure for (the register written locally leaves no
    # activity events) is left out rather than failing the run.
    base_parts = {
        key: statistics.median(found)
        for key in BREAKDOWN
        if (found := [r[key] for r in base["samples"] if r.get(key) is not None])
    }
    return {
        "worker": {
            "workers": 1,
            "max_concurrent_workflow_tasks": "SDK default (100)",
            "max_concurrent_activities": "SDK default (100)",
            "max_cached_workflows": "SDK default (1000)",
        },
        "targets_seconds": list(TARGETS),
        "baseline": base,
        "load": loaded,
        "lag": figures,
        "ratios": {
            "p50": round(ratio(figures["p50"], base["lag"]), 2),
            "p99": round(ratio(figures["p99"], base["lag"]), 2),
        },
        "lag_first_attempt_only": first_try,
        "notice_attempts": dict(
            sorted(Counter(r["notice_attempt"] for r in rows if r["notice_attempt"]).items())
        ),
        "breakdown": parts,
        "baseline_breakdown": base_parts,
        "lags": [round(x, 4) for x in lags],
        "seconds": round(time.perf_counter() - began, 1),
    }


def report(result: dict[str, Any]) -> list[str]:
    lag, base, load_ = result["lag"], result["baseline"], result["load"]
    arrival = load_.get("arrival_per_second")
    pace = f"arriving {arrival:g} a second" if arrival else "started at once (a burst)"
    lines = [
        f"Escalation lag: {load_['started']} open cases on one worker, {pace}, breach points "
        f"{result['targets_seconds'][0]}-{result['targets_seconds'][-1]}s after each case opens",
        "(lag = notify_escalation ActivityTaskStarted time - firing due_at)",
        "",
        f"  firings {load_['firings']} for {load_['cases']} cases: fired exactly once "
        f"{load_['cases_fired_once']}, not fired {load_['cases_not_fired']}, "
        f"more than once {load_['cases_fired_more']}",
        f"  lag p50 {lag['p50']:.3f}s  p90 {lag['p90']:.3f}s  p99 {lag['p99']:.3f}s  "
        f"max {lag['max']:.3f}s  (min {lag['min']:.3f}s)",
        f"  baseline (case alone, median of {len(base['lags'])}): {base['lag']:.3f}s "
        f"[{', '.join(f'{x:.3f}' for x in base['lags'])}]",
        f"  ratio to baseline: p50 x{result['ratios']['p50']:.2f}  "
        f"p99 x{result['ratios']['p99']:.2f}",
        f"  notify_escalation attempts (attempt: firings): {result['notice_attempts']}",
        f"  activities retried: {load_['retried_activities']} "
        f"(in {load_['cases_with_retries']} cases); lag of notices started on their first "
        f"attempt ({result['lag_first_attempt_only']['count']}): "
        f"p50 {result['lag_first_attempt_only']['p50']:.3f}s "
        f"p99 {result['lag_first_attempt_only']['p99']:.3f}s",
        "",
        "  where the lag goes (p50 / p99 under load; baseline median):",
    ]
    for key, label in BREAKDOWN.items():
        part = result["breakdown"][key]
        if key not in result["baseline_breakdown"] or part.get("p50") is None:
            lines.append(f"    {label:<50} (none: the register is written locally)")
            continue
        lines.append(
            f"    {label:<50} {part['p50']:7.3f}s / {part['p99']:7.3f}s   "
            f"baseline {result['baseline_breakdown'][key]:.3f}s"
        )
    ol = load_["open_latency"]
    lines += [
        "",
        f"  started {load_['started']} cases in {load_['start_seconds']}s "
        f"({load_['start_rate_per_second']}/s, {load_['concurrency']} at a time); "
        f"start call -> case opened p50 {ol['p50']:.2f}s p99 {ol['p99']:.2f}s",
        f"  all fired {load_['until_all_fired_seconds']}s after the first start; "
        f"failures: {load_['failure_count']}",
        f"  worker: {result['worker']}",
        f"\nLag benchmark took {result['seconds']:.0f}s",
    ]
    return lines
