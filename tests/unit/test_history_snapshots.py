"""Every provision type snapshot recorded in an old history still loads.

A running case decodes its start input (with the type snapshot it opened with, or, in a
run it continued in, the state it carried over) whenever a worker replays it, so
tightening the definitions schema or the rules of a type must never refuse a snapshot
that was valid when it was recorded. Each is read as the workflow reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from casemodel.requests import ContinueCase, read_start
from definitions.invariants import check_provision_type
from definitions.schema import ProvisionType
from protection.codec import PayloadSealer
from tests.sealing import histories_ring

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def version(path: Path) -> int:
    """The code version a history was recorded on: 10 for `v10-full-journey.json` (a
    number, so that v10 comes after v5, as its name does not)."""
    return int(path.stem.split("-", 1)[0].removeprefix("v"))


def recorded_type(path: Path) -> ProvisionType:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    started = history.events[0]
    assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    payloads = started.workflow_execution_started_event_attributes.input.payloads
    # v7 on are sealed (with the test-only ring beside them); before, in clear.
    sealer = PayloadSealer(histories_ring())
    arguments = [(o.metadata["encoding"].decode(), o.data) for o in map(sealer.open, payloads)]
    start = read_start(arguments, lenient=version(path) < 5)
    return start.state.provision_type if isinstance(start, ContinueCase) else start.provision_type


def test_there_are_histories_to_check() -> None:
    assert len(HISTORIES) >= 10


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
def test_the_recorded_snapshot_loads_and_meets_the_rules(path: Path) -> None:
    provision_type = recorded_type(path)
    assert provision_type.tasks
    assert check_provision_type(provision_type) == []
