"""A payload marked sealed that does not open is refused like any unreadable request.

A caller without the codec can label junk `binary/encrypted` (the plain CLI's
`--input-meta encoding=binary/encrypted` does it), with a key id the ring lacks or with
one it holds. Before, the worker's codec failed the workflow task that carried it, which
Temporal retries for ever: one forged signal stopped a case until someone reset it. Now
the codec hands it on unopened and the case refuses it: an update back to its caller, a
signal recorded as rejected, and the case goes on taking requests.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from casemodel.requests import AddTask
from starter.client import CaseClient
from starter.identities import IdentityHeaders
from starter.settings import Settings
from starter.worker import build_worker
from tests import identities
from tests.factories import visit_type
from tests.sealing import SESSION_ENTRY

SESSION_KEY_ID = SESSION_ENTRY.split(":", 1)[0]
FORGERIES = {
    "unknown key": {"encryption-key-id": b"no-such-key"},
    "known key, junk bytes": {"encryption-key-id": SESSION_KEY_ID.encode()},
}


def forged(key: dict[str, bytes]) -> RawValue:
    metadata = {"encoding": b"binary/encrypted", "encryption-cipher": b"AES-256-GCM", **key}
    return RawValue(Payload(metadata=metadata, data=b"\x00" * 40 + b"not a sealed request"))


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_a_forged_sealed_request_is_refused_and_the_case_goes_on(
    temporal_client: Client, task_queue: str, app_sessions, forgery: str
):
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    # A caller with the right to send requests, but no codec: its payloads go as they are.
    address = temporal_client.service_client.config.target_host
    raw = await Client.connect(
        address,
        namespace=temporal_client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[IdentityHeaders(identities.suite_signer())],
    )
    async with build_worker(temporal_client, task_queue, app_sessions):
        started = await cases.start_case(
            visit_type(), tenant_ref="TEN-FORGED", case_ref=f"FORGED-{uuid.uuid4().hex[:8]}"
        )
        handle = raw.get_workflow_handle(started.workflow_id)
        payload = forged(FORGERIES[forgery])

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("add_task", payload)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.non_retryable
        assert cause.type == "malformed_request"

        await handle.signal("report_task_completed", payload)
        await cases.send(started.case_ref, AddTask(task="check-in"))  # goes on
        state = await cases.state(started.case_ref)
        assert state.rejected_total == 1
        assert "was sent sealed but could not be opened" in state.rejected[-1].reason
        assert any(t.task == "check-in" for t in state.tasks)

        history = await cases.client.get_workflow_handle(started.workflow_id).fetch_history()
        failed = [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        assert not failed, failed[0].workflow_task_failed_event_attributes.failure.message
