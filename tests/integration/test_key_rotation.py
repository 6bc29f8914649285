"""Keys rotate without breaking a running case: a case started under key 1 finishes under
key 2, on the real dev server.

A worker and a client on the ring [k1] open the case and take its first requests; both
stop, and a worker and a client on [k2, k1] (the same file after `keys rotate`) take it
over: the new worker rebuilds the case from payloads sealed with k1, seals what it
writes with k2, and the case finishes. Its whole history replays on [k2, k1] and does
not open on [k2] alone.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from casemodel.requests import AddTask, CompleteTask
from casemodel.state import CaseStatus
from protection.codec import ENCODING, data_converter
from protection.keys import KeyRing, generate_entry
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_replayer, build_worker
from tests import identities
from tests.factories import visit_type
from tests.sealing import encoding_of, history_payloads, key_id_of

KEY_1 = KeyRing.parse(generate_entry("k1"))
ROTATED = KEY_1.rotated(generate_entry("k2"))
KEY_2_ONLY = KeyRing(active="k2", keys={"k2": ROTATED.keys["k2"]})


def on_ring(env: WorkflowEnvironment, ring: KeyRing) -> Client:
    """A client of the session's server whose payloads go through `ring`, as a process
    started with that key file has."""
    return Client(**{**env.client.config(), "data_converter": data_converter(ring)})


def accepted_update_keys(history: WorkflowHistory) -> list[str]:
    """The key id of each accepted update's argument, in history order."""
    found = []
    for event in history.events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            (payload,) = request.input.args.payloads
            assert payload.metadata["encoding"] == ENCODING
            found.append(payload.metadata["encryption-key-id"].decode())
    return found


def replayer(ring: KeyRing) -> Replayer:
    return build_replayer(ring, identities.RING)


async def test_a_case_started_under_key_1_finishes_under_key_2(
    temporal_env: WorkflowEnvironment, task_queue: str, app_sessions: Any
):
    case_ref = f"ROT-{uuid.uuid4().hex[:8]}"
    settings = Settings(task_queue=task_queue)
    before = on_ring(temporal_env, KEY_1)
    async with build_worker(before, task_queue, app_sessions, settings=settings):
        cases = CaseClient(before, settings)
        await cases.start_case(visit_type(), tenant_ref="TEN-ROT", case_ref=case_ref)
        await cases.send(case_ref, CompleteTask(task="contact", note="rang, no answer"))
        await cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited"))

    after = on_ring(temporal_env, ROTATED)
    async with build_worker(after, task_queue, app_sessions, settings=settings):
        cases = CaseClient(after, settings)
        await cases.send(case_ref, AddTask(task="check-in", note="weekly call"))
        await cases.send(
            case_ref, CompleteTask(task="risk-assessment", responses={"Risk level": "low"})
        )
        await cases.send(case_ref, CompleteTask(task="benefits-check"))
        await cases.send(case_ref, CompleteTask(task="check-in"))
        result = await cases.send(case_ref, CompleteTask(task="agree-plan"))
        assert result.case_status is CaseStatus.completed
        await cases.result(case_ref)
        history = await cases._handle(case_ref).fetch_history()

    # The start input and the first updates under k1, the later ones under k2; every
    # payload sealed.
    started = history.events[0].workflow_execution_started_event_attributes
    assert {p.metadata["encryption-key-id"] for p in started.input.payloads} == {b"k1"}
    assert accepted_update_keys(history) == ["k1", "k1", *["k2"] * 5]
    every = history_payloads(history.to_json_dict())
    assert {encoding_of(p) for p in every} == {ENCODING}
    assert {key_id_of(p) for p in every} == {"k1", "k2"}

    await replayer(ROTATED).replay_workflow(history)
    with pytest.raises(Exception):  # noqa: B017 - k1's payloads stay unopened: unreadable
        await replayer(KEY_2_ONLY).replay_workflow(history)
