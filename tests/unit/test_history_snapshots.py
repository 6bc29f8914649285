"""Every provision type snapshot recorded in an old history still loads.

A running case decodes its start input (with the type snapshot it opened with) whenever a
worker replays it, so tightening the definitions schema or the rules of a type must never
refuse a snapshot that was valid when it was recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from casemodel.requests import StartCase
from definitions.invariants import check_provision_type

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def start_input(path: Path) -> StartCase:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    (start,) = pydantic_data_converter.payload_converter.from_payloads(payloads, [StartCase])
    return start


def test_there_are_histories_to_check() -> None:
    assert len(HISTORIES) >= 10


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_the_recorded_snapshot_loads_and_meets_the_rules(path: Path) -> None:
    start = start_input(path)
    assert start.provision_type.tasks
    assert check_provision_type(start.provision_type) == []
