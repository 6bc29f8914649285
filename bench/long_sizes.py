"""How big a case's start event is, now that it carries its type in its carried form.

For each shipped type (and a 50-task type with SLAs and rules, and the long-lived plan) a
case is started through `CaseClient.start_case` on a task queue no worker polls, so it
never runs: its start event is read from the server and the case terminated. The same
event is then sized with its input encoded as it was before the carried form, the whole
`provision_type.model_dump_json()` in place of the carried form, everything else alike.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pydantic_core
from temporalio.api.history.v1 import HistoryEvent

from definitions.loader import default_definitions_dir, load_catalog
from definitions.schema import ProvisionType

from .env import Bench, bounded, new_task_queue, opened
from .provision_types import OWNER, long_lived_type, many_tasks_type
from .stats import ratio

REQUEST_TIMEOUT = 60.0
TYPE_FIELD = "provisionType"
"""The start input's field for the type, as the client encodes it (camelCase)."""


def types_measured() -> dict[str, ProvisionType]:
    catalog = load_catalog(default_definitions_dir())
    return {
        **{t.id: t for t in catalog.in_effect()},
        "bench-rules-50 (50 tasks, SLA and 3 rules each)": many_tasks_type(50, rules=True),
        "bench-long-lived-plan": long_lived_type(),
    }


def in_clear(event: HistoryEvent) -> HistoryEvent:
    """The start event with its input opened: both encodings compared in clear, so the
    figures measure the carried form, not the codec (`python -m bench codec` does)."""
    clear = HistoryEvent()
    clear.CopyFrom(event)
    payloads = clear.workflow_execution_started_event_attributes.input.payloads
    payloads[0].CopyFrom(opened(payloads[0]))
    return clear


def old_encoding(event: HistoryEvent, provision_type: ProvisionType) -> tuple[HistoryEvent, bytes]:
    """The start event as it was before the carried form: the whole type in the input."""
    old = in_clear(event)
    payload = old.workflow_execution_started_event_attributes.input.payloads[0]
    start = json.loads(payload.data)
    start[TYPE_FIELD] = json.loads(provision_type.model_dump_json())
    payload.data = pydantic_core.to_json(start)
    return old, payload.data


async def start_event_sizes(bench: Bench) -> list[dict[str, Any]]:
    cases = bench.cases(new_task_queue("sizes"))  # no worker: the cases never run
    rows = []
    for name, provision_type in types_measured().items():
        case_ref = f"SIZE-{uuid.uuid4().hex[:8]}"
        started = await bounded(
            f"start {case_ref}",
            cases.start_case(
                provision_type, tenant_ref="TEN-BENCH", case_ref=case_ref, owner=OWNER
            ),
            REQUEST_TIMEOUT,
        )
        handle = cases.client.get_workflow_handle(started.workflow_id)
        history = await bounded(f"history of {case_ref}", handle.fetch_history(), REQUEST_TIMEOUT)
        await bounded(f"terminate {case_ref}", handle.terminate("measured"), REQUEST_TIMEOUT)
        event = in_clear(history.events[0])
        now_input = event.workflow_execution_started_event_attributes.input.payloads[0].data
        old_event, old_input = old_encoding(event, provision_type)
        rows.append(
            {
                "type": name,
                "tasks": len(provision_type.tasks),
                "before_event_bytes": old_event.ByteSize(),
                "now_event_bytes": event.ByteSize(),
                "ratio": round(ratio(event.ByteSize(), old_event.ByteSize()), 3),
                "before_input_bytes": len(old_input),
                "now_input_bytes": len(now_input),
                "now_calendar_bytes": _json_bytes(
                    json.loads(now_input)[TYPE_FIELD].get("resolved_calendar")
                ),
            }
        )
    return rows


def _json_bytes(value: Any) -> int:
    return 0 if value is None else len(pydantic_core.to_json(value))
