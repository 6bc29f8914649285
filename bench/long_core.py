"""What a workflow task costs the case model as the case ages: pure core, no Temporal.

A case of `long_lived_type` takes a check-in a day: added, then completed two hours later
(every tenth left five days, so its warning and breach fire; every fourth reported by
signal, with a request id). After every request the shell's loop runs twice, as the
workflow's does: once for the request, once when the register write it started lands
(that pass lets go of what the register holds: `tidy`). Timers fire on the way, at the
instants `next_due` names. Each loop pass is timed part by part.

The cost is sampled where the case has had 10, 100, 1,000 (and 5,000) task instances:
the passes of the rounds just before that count, median and p90. The baseline is the
same case at 10; the target is that 1,000 costs within 2x of 10. A second case, whose
register never catches up (no `tidy`), shows what letting go buys.

Times are the CPU time of this thread (`time.thread_time_ns`), so the other processes
on a shared machine do not count; the machine's load still shows in cache misses.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.contracts import RegisterUpdate
from casemodel import views
from casemodel.case import Case
from casemodel.requests import (
    JSON,
    REPORT_TASK_COMPLETED,
    AddTask,
    CompleteTask,
    Encoded,
    Request,
    RequestResult,
)

from .provision_types import OWNER, long_lived_type
from .stats import percentile, ratio

INSTANCES = (10, 100, 1000)
LARGE = 5000
REPEAT = 3
PARTS = ("tidy", "tick", "sla_state", "task_table", "next_due", "register_update")
OPENED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DONE_AFTER = timedelta(hours=2)
LATE_AFTER = timedelta(days=5)
TIMERS_PER_GAP = 100
"""A bound on timer passes between two requests; far more than the rules can make due."""


class Shell:
    """The workflow's loop body, without Temporal: what it asks of the case each pass."""

    def __init__(self, case: Case, *, tidies: bool = True) -> None:
        self.case = case
        self.tidies = tidies
        self.recorded_seq = 0
        self.writing: int | None = None
        """Log position of the register write in flight (it lands at the next pass)."""
        self.timer_at: datetime | None = None
        self.passes: list[dict[str, float]] = []
        self.handled: list[float] = []
        """CPU µs of each request's handler."""

    def workflow_task(self, now: datetime) -> None:
        case, spent = self.case, {}
        clock = time.thread_time_ns

        def timed(part: str, call: Callable[[], Any]) -> Any:
            began = clock()
            result = call()
            spent[part] = spent.get(part, 0.0) + (clock() - began) / 1000
            return result

        spent["tidy"] = 0.0
        if self.writing is not None:  # the write landed: the register holds it
            self.recorded_seq, self.writing = self.writing, None
            if self.tidies:
                timed("tidy", lambda: case.tidy(self.recorded_seq))
        timed("tick", lambda: case.tick(now))
        timed("sla_state", lambda: case.sla_state(now))
        timed("task_table", lambda: views.task_table(case, now))
        due = timed("next_due", lambda: case.next_due(now))
        self.timer_at = due[0] if due else None
        update = timed(
            "register_update",
            lambda: RegisterUpdate.from_case(
                case,
                workflow_id="case-bench",
                type_version=None,
                now=now,
                since_seq=self.recorded_seq,
                priority=case.state.priority,
            ),
        )
        if update.last_seq != self.recorded_seq:
            self.writing = update.last_seq
        spent["total"] = sum(spent.values())
        spent["instances"] = case.state.tasks_added
        self.passes.append(spent)

    def until(self, then: datetime) -> None:
        """Let time pass up to `then`: a pass at each timer that fires on the way."""
        for _ in range(TIMERS_PER_GAP):
            if self.timer_at is None or self.timer_at > then:
                return
            self.workflow_task(self.timer_at)

    def request(self, now: datetime, handler: Callable[..., Any], *args: Any) -> Any:
        """A request at `now` (`handler(*args)`, as the workflow's update or signal handler
        runs it), then the pass it causes and the pass when its write lands."""
        self.until(now)
        began = time.thread_time_ns()
        result = handler(*args)
        self.handled.append((time.thread_time_ns() - began) / 1000)
        self.workflow_task(now)
        self.workflow_task(now)
        return result


def age(instances: int, *, tidies: bool = True) -> Shell:
    """A case taken to `instances` task instances, round by round."""
    case = Case.open(
        long_lived_type(),
        case_ref="LONG-CORE",
        tenant_ref="TEN-BENCH",
        owner=OWNER,
        now=OPENED,
        opened_by="bench",
    )
    shell = Shell(case, tidies=tidies)
    now = OPENED
    shell.workflow_task(now)  # the first workflow task, opening the case
    shell.request(now, _update, case, CompleteTask(task="agree-plan"), now)
    number = 0
    while case.state.tasks_added < instances:
        number += 1
        now = _next_morning(now)
        added = shell.request(now, _update, case, AddTask(task="check-in"), now)
        now += LATE_AFTER if number % 10 == 5 else DONE_AFTER
        done = CompleteTask(task=added.changes[0].task_key, request_id=f"crm-{number}", by="crm")
        if number % 4 == 0:  # reported by another system: a signal
            shell.request(now, case.receive, REPORT_TASK_COMPLETED, _encoded(done), now)
        else:
            shell.request(now, _update, case, done, now)
    return shell


def _update(case: Case, request: Request, now: datetime) -> RequestResult:
    """An update as the workflow takes it: read and judged by the validator, then read and
    carried out by the handler."""
    case.judge(request.kind, _encoded(request), now)
    return case.answer(request.kind, _encoded(request), now)


def _encoded(request: Request) -> list[Encoded]:
    return [(JSON, request.model_dump_json().encode())]


def _next_morning(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=9, minute=0)


def sample(shells: list[Shell], instances: int) -> dict[str, Any]:
    """The passes of the rounds that took each case to `instances`: the last tenth, at
    least the last five rounds' worth."""
    window = max(5, instances // 10)
    rows = [
        p
        for shell in shells
        for p in shell.passes
        if instances - window < p["instances"] <= instances
    ]
    totals = [p["total"] for p in rows]
    return {
        "instances": instances,
        "passes": len(rows),
        "median": statistics.median(totals),
        "p90": percentile(totals, 90),
        "max": max(totals),
        "parts_median": {part: statistics.median(p[part] for p in rows) for part in PARTS},
    }


def run(large: bool = False, repeat: int = REPEAT) -> dict[str, Any]:
    """The figures of `repeat` cases aged side by side (their passes pooled), and of one
    whose register never catches up."""
    began = time.perf_counter()
    sizes = (*INSTANCES, LARGE) if large else INSTANCES
    shells = [age(sizes[-1]) for _ in range(repeat)]
    rows = [sample(shells, n) for n in sizes]
    state = shells[0].case.state
    untidy = age(INSTANCES[-1], tidies=False)
    untidy_rows = [sample([untidy], n) for n in INSTANCES]
    base = rows[0]["median"]
    by_size = {r["instances"]: r for r in rows}
    handled = [x for shell in shells for x in shell.handled]
    return {
        "type": "bench-long-lived-plan (england-and-wales working days)",
        "clock": "thread CPU time",
        "instances": list(sizes),
        "rows": rows,
        "ratio_1000_to_10": round(ratio(by_size[1000]["median"], base), 2),
        "ratio_1000_to_10_p90": round(ratio(by_size[1000]["p90"], rows[0]["p90"]), 2),
        "ratios_to_10": {r["instances"]: round(ratio(r["median"], base), 2) for r in rows},
        "without_tidy": untidy_rows,
        "without_tidy_ratio_1000_to_10": round(ratio(untidy_rows[-1]["median"], base), 2),
        "at_end": {
            "task_instances": state.tasks_added,
            "tasks_held": len(state.tasks),
            "log_held": len(state.log),
            "firings_held": len(state.firings),
            "request_ids_held": len(state.handled_requests),
            "state_json_bytes": len(state.model_dump_json()),
            "untidy_tasks_held": len(untidy.case.state.tasks),
            "untidy_state_json_bytes": len(untidy.case.state.model_dump_json()),
        },
        "repeat": repeat,
        "requests": len(handled),
        "handler_microseconds_per_request": round(statistics.median(handled), 1),
        "workflow_tasks": sum(len(shell.passes) for shell in shells),
        "seconds": round(time.perf_counter() - began, 1),
    }
