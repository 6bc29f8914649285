"""A case kept busy on the dev server, and the chain of runs it leaves behind.

Round after round a check-in is added (an update) and completed: by update, or, every
fourth round, reported by another system with a request id (a signal, fire and forget),
as a CRM would. Requests go one after another as fast as the case answers, so the case is
busy: it continues as new at its history budget many times over.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from casemodel.requests import AddTask, CompleteTask
from starter.client import CaseClient

from .env import bounded, opened, until
from .stats import count_by_type, event_name

REQUEST_TIMEOUT = 60.0
REPORT_EVERY = 4
CONTINUED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def add_check_in(cases: CaseClient, case_ref: str) -> str:
    added = await bounded(
        f"add a check-in to {case_ref}",
        cases.send(case_ref, AddTask(task="check-in")),
        REQUEST_TIMEOUT,
    )
    return next(c.task_key for c in added.changes if c.kind == "task_added" and c.task_key)


async def complete(cases: CaseClient, case_ref: str, key: str, number: int) -> int:
    """Complete `key`; every fourth by signal. How many updates that took (0 or 1)."""
    if number % REPORT_EVERY == REPORT_EVERY - 1:
        report = CompleteTask(task=key, request_id=f"crm-{number}")
        await bounded(f"report {key}", cases.report(case_ref, report), REQUEST_TIMEOUT)
        return 0
    await bounded(
        f"complete {key} of {case_ref}",
        cases.send(case_ref, CompleteTask(task=key)),
        REQUEST_TIMEOUT,
    )
    return 1


async def keep_busy(cases: CaseClient, case_ref: str, rounds: range) -> dict[str, int]:
    """Add and complete a check-in per round; the requests sent, by kind."""
    updates = signals = 0
    for number in rounds:
        key = await add_check_in(cases, case_ref)
        sent = await complete(cases, case_ref, key, number)
        updates += 1 + sent
        signals += 1 - sent
    return {"updates": updates, "signals": signals}


async def all_applied(cases: CaseClient, case_ref: str, completed: int) -> None:
    """Wait until every check-in sent is completed: signals are not waited on when sent."""

    async def done() -> bool:
        state = await cases.state(case_ref)
        held = sum(1 for t in state.tasks if t.task == "check-in" and t.status.value == "completed")
        earlier = state.earlier.get("check-in")
        return held + (earlier.completed if earlier else 0) >= completed

    await until(f"{completed} check-ins of {case_ref} completed", done, REQUEST_TIMEOUT)


async def runs_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a case, first to last, followed back from the latest through
    `continued_execution_run_id`."""
    run_id: str | None = (await client.get_workflow_handle(workflow_id).describe()).run_id
    found = []
    while run_id:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = await bounded(f"history of {run_id}", handle.fetch_history(), REQUEST_TIMEOUT)
        found.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
    return found[::-1]


def run_figures(history: WorkflowHistory) -> dict[str, Any]:
    """Size of one run: events, bytes (sum of the event protos), the start event and its
    input, and how the run ended."""
    events = history.events
    started = events[0].workflow_execution_started_event_attributes
    kinds = count_by_type(events)
    return {
        "run_id": history.run_id,
        "events": len(events),
        "bytes": sum(e.ByteSize() for e in events),
        "start_event_bytes": events[0].ByteSize(),
        "input_bytes": sum(len(p.data) for p in started.input.payloads),
        "continued": bool(started.continued_execution_run_id),
        "ended_by": "continue-as-new" if events[-1].event_type == CONTINUED else "running/other",
        "updates_accepted": kinds.get("WorkflowExecutionUpdateAccepted", 0),
        "signals": kinds.get("WorkflowExecutionSignaled", 0),
        "workflow_tasks": kinds.get("WorkflowTaskCompleted", 0),
        "activities": kinds.get("ActivityTaskScheduled", 0),
    }


def carried_parts(history: WorkflowHistory) -> dict[str, int]:
    """Bytes of each part of the state a continued run was handed (its input), largest
    first: what a long-lived case carries from run to run."""
    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    state = json.loads(opened(payload).data)["state"]
    sizes = {key: len(pydantic_core.to_json(value)) for key, value in state.items()}
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))


def bytes_by_type(history: WorkflowHistory, shown: int = 8) -> dict[str, dict[str, int]]:
    """Where a run's bytes go: events and bytes by event type, largest first."""
    found: dict[str, dict[str, int]] = {}
    for event in history.events:
        row = found.setdefault(event_name(event), {"events": 0, "bytes": 0})
        row["events"] += 1
        row["bytes"] += event.ByteSize()
    ordered = sorted(found.items(), key=lambda item: -item[1]["bytes"])
    return dict(ordered[:shown])
