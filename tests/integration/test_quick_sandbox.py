"""The worker's sandbox is the SDK's, with payloads no longer entering it one by one: what a
workflow may not do is still refused, each run still has its own module, and the payloads a
codec visits still carry their command's context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
)
from temporalio.worker import Worker

from starter.sandbox import QuickSandboxedRunner, quick, workflow_runner

pytestmark = pytest.mark.asyncio

RUNS: list[int] = []
"""Module state a run changes: each run must see a fresh copy of its module."""


async def test_the_pinned_sdk_takes_the_quick_sandbox() -> None:
    """An SDK upgrade that rebuilt its sandbox instance shows here, not as a slower worker."""
    assert quick()
    assert isinstance(workflow_runner(), QuickSandboxedRunner)


@activity.defn(name="echo")
async def echo(text: str) -> str:
    return text


@workflow.defn(name="QuickSandboxClock")
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # refused by the sandbox


@workflow.defn(name="QuickSandboxState")
class ChangesModuleState:
    @workflow.run
    async def run(self) -> int:
        RUNS.append(1)
        return len(RUNS)


@workflow.defn(name="QuickSandboxEcho")
class Echoes:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(
            echo, text, start_to_close_timeout=timedelta(seconds=10)
        )


@dataclass
class ContextSeen(PayloadCodec, WithSerializationContext):
    """A codec that notes the activity each payload it encodes was meant for."""

    seen: list[str] = field(default_factory=list)
    context: SerializationContext | None = None

    def with_context(self, context: SerializationContext) -> ContextSeen:
        return ContextSeen(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if isinstance(self.context, ActivitySerializationContext):
            self.seen.append(self.context.activity_type)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def _worker(client: Client, queue: str) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        workflows=[ReadsTheClock, ChangesModuleState, Echoes],
        activities=[echo],
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=[Exception],
    )


async def test_what_a_workflow_may_not_do_is_still_refused(temporal_client: Client) -> None:
    queue = f"quick-sandbox-{uuid.uuid4().hex[:8]}"
    async with _worker(temporal_client, queue):
        with pytest.raises(WorkflowFailureError) as failed:
            await temporal_client.execute_workflow(
                ReadsTheClock.run, id=f"clock-{uuid.uuid4()}", task_queue=queue
            )
    assert "restricted" in str(failed.value.cause).lower()


async def test_each_run_has_a_module_of_its_own(temporal_client: Client) -> None:
    queue = f"quick-sandbox-{uuid.uuid4().hex[:8]}"
    async with _worker(temporal_client, queue):
        counts = [
            await temporal_client.execute_workflow(
                ChangesModuleState.run, id=f"state-{uuid.uuid4()}", task_queue=queue
            )
            for _ in range(3)
        ]
    assert counts == [1, 1, 1]
    assert RUNS == []  # the worker's own copy of this module was never touched


async def test_a_payload_still_carries_its_commands_context(temporal_client: Client) -> None:
    codec = ContextSeen()
    client = Client(
        temporal_client.service_client,
        namespace=temporal_client.namespace,
        data_converter=DataConverter(payload_codec=codec),
    )
    queue = f"quick-sandbox-{uuid.uuid4().hex[:8]}"
    async with _worker(client, queue):
        got = await client.execute_workflow(
            Echoes.run, "hello", id=f"echo-{uuid.uuid4()}", task_queue=queue
        )
    assert got == "hello"
    assert "echo" in codec.seen  # the activity's input was encoded in the activity's context
