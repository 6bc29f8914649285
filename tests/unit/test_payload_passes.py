"""The worker walks an activation's payloads once (`starter.payload_passes`): what it gives
must be exactly what the SDK's three walks give, payload for payload, and an SDK whose walks
changed must show here rather than as a worker silently walking differently."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.converter._data_converter import _REFERENCE_MARKER_KEY

from protection.codec import data_converter
from protection.keys import KeyRing, generate_entry
from starter import payload_passes

pytestmark = pytest.mark.asyncio


class Reversing(PayloadCodec):
    """A deterministic codec, so that two walks can be compared byte for byte."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"test/reversed"}, data=p.data[::-1]) for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"json/plain"}, data=p.data[::-1])
            if p.metadata.get("encoding") == b"test/reversed"
            else p
            for p in payloads
        ]


def _payload(text: str, encoding: bytes = b"json/plain") -> Payload:
    return Payload(metadata={"encoding": encoding}, data=f'"{text}"'.encode())


def _activation(encoding: bytes = b"json/plain") -> WorkflowActivation:
    def p(text: str) -> Payload:
        return _payload(text, encoding)

    activation = WorkflowActivation(run_id="run-1")
    start = activation.jobs.add().initialize_workflow
    start.workflow_type = "SupportCaseWorkflow"
    start.workflow_id = "case-T-1"
    start.arguments.extend([p("start input"), p("second argument")])
    start.headers["identity"].CopyFrom(p("identity token"))
    update = activation.jobs.add().do_update
    update.id, update.name = "u-1", "complete_task"
    update.input.extend([p("complete task-001")])
    update.headers["identity"].CopyFrom(p("token of the update"))
    activation.jobs.add().resolve_activity.seq = 3
    activation.jobs[-1].resolve_activity.result.completed.result.CopyFrom(p("register written"))
    signal = activation.jobs.add().signal_workflow
    signal.signal_name = "complete_task"
    signal.input.extend([p("a signal"), p("with two arguments")])
    query = activation.jobs.add().query_workflow
    query.query_id, query.query_type = "q-1", "state"
    query.arguments.extend([p("query argument")])
    return activation


def _completion() -> WorkflowActivationCompletion:
    completion = WorkflowActivationCompletion(run_id="run-1")
    commands = completion.successful.commands
    local = commands.add().schedule_local_activity
    local.seq, local.activity_type = 1, "record_case_changes"
    local.arguments.extend([_payload("register update")])
    local.headers["identity"].CopyFrom(_payload("worker token"))
    remote = commands.add().schedule_activity
    remote.seq, remote.activity_type = 2, "notify_escalation"
    remote.arguments.extend([_payload("escalation notice")])
    commands.add().update_response.completed.CopyFrom(_payload("request result"))
    query = commands.add().respond_to_query
    query.query_id = "q-1"
    query.succeeded.response.CopyFrom(_payload("the state"))
    upsert = commands.add().upsert_workflow_search_attributes
    upsert.search_attributes.indexed_fields["CaseStatus"].CopyFrom(_payload("open"))
    commands.add().complete_workflow_execution.result.CopyFrom(_payload("case summary"))
    return completion


async def test_the_pinned_sdk_takes_the_single_walk() -> None:
    """An SDK upgrade that changed its walks shows here, not as a slower worker."""
    assert payload_passes._fits_sdk()
    assert payload_passes.install()
    assert payload_passes.installed()
    assert payload_passes.install()  # twice is once


@pytest.mark.parametrize("headers", [True, False])
async def test_one_walk_decodes_as_the_three_do(headers: bool) -> None:
    converter = DataConverter(payload_codec=Reversing())
    ours, sdks = _sealed_as_sent(), _sealed_as_sent()
    await payload_passes.decode_activation(ours, converter, headers, 4)
    await payload_passes._SDK_DECODE(sdks, converter, headers, 4)
    assert ours == sdks
    assert ours != _sealed_as_sent()  # the walk did decode something


def _sealed_as_sent() -> WorkflowActivation:
    """An activation whose payloads the reversing codec encoded."""
    activation = _activation(b"test/reversed")
    for payload in _all_payloads(activation):
        payload.data = payload.data[::-1]
    return activation


@pytest.mark.parametrize("headers", [True, False])
async def test_one_walk_encodes_as_the_three_do(headers: bool) -> None:
    converter = DataConverter(payload_codec=Reversing())
    ours, sdks = _completion(), _completion()
    await payload_passes.encode_completion(ours, converter, headers, 4)
    await payload_passes._SDK_ENCODE(sdks, converter, headers, 4)
    assert ours == sdks
    commands = ours.successful.commands
    assert commands[0].schedule_local_activity.arguments[0].metadata["encoding"] == b"test/reversed"
    # Search attributes are never encoded: the UI and visibility queries read them.
    upserted = commands[4].upsert_workflow_search_attributes.search_attributes.indexed_fields[
        "CaseStatus"
    ]
    assert upserted == _payload("open")
    local_header = commands[0].schedule_local_activity.headers["identity"]
    assert (local_header.metadata["encoding"] == b"test/reversed") is headers


async def test_sealed_payloads_open_either_way() -> None:
    """With the service's own codec (a fresh nonce each time, so no byte comparison): what
    one walk seals the SDK's walks open, and the other way round."""
    converter = data_converter(KeyRing.parse(generate_entry("k1")))
    ours, sdks = _completion(), _completion()
    await payload_passes.encode_completion(ours, converter, True, 4)
    await payload_passes._SDK_ENCODE(sdks, converter, True, 4)
    sealed = [p for p in _all_payloads(ours) if p.metadata.get("encoding") != b"json/plain"]
    assert len(sealed) == 6  # every payload but the search attribute
    for walked in (ours, sdks):
        as_activation = WorkflowActivation()
        for payload in _all_payloads(walked):
            as_activation.jobs.add().signal_workflow.input.append(payload)
        opened_ours, opened_sdks = WorkflowActivation(), WorkflowActivation()
        opened_ours.CopyFrom(as_activation)
        opened_sdks.CopyFrom(as_activation)
        await payload_passes.decode_activation(opened_ours, converter, True, 4)
        await payload_passes._SDK_DECODE(opened_sdks, converter, True, 4)
        assert opened_ours == opened_sdks
        assert [p.data for p in _all_payloads(opened_ours)] == [
            p.data for p in _all_payloads(_completion())
        ]


async def test_a_storage_reference_is_refused_as_the_sdk_refuses_it() -> None:
    """A worker without external storage cannot follow a reference: both walks say so."""
    converter = DataConverter(payload_codec=Reversing())
    for walk in (payload_passes.decode_activation, payload_passes._SDK_DECODE):
        activation = _activation()
        activation.jobs[1].do_update.input[0].metadata[_REFERENCE_MARKER_KEY] = b"true"
        with pytest.raises(RuntimeError, match="TMPRL1105"):
            await walk(activation, converter, True, 4)


async def test_a_converter_with_external_storage_takes_the_sdks_walks() -> None:
    converter = DataConverter(payload_codec=Reversing())
    object.__setattr__(converter, "external_storage", object())
    called: list[str] = []

    async def sdk_decode(*args: object) -> str:
        called.append("decode")
        return "sdk metrics"

    async def sdk_encode(*args: object) -> str:
        called.append("encode")
        return "sdk metrics"

    original = payload_passes._SDK_DECODE, payload_passes._SDK_ENCODE
    payload_passes._SDK_DECODE, payload_passes._SDK_ENCODE = sdk_decode, sdk_encode
    try:
        assert await payload_passes.decode_activation(_activation(), converter, True, 4) == (
            "sdk metrics"
        )
        assert await payload_passes.encode_completion(_completion(), converter, True, 4) == (
            "sdk metrics"
        )
    finally:
        payload_passes._SDK_DECODE, payload_passes._SDK_ENCODE = original
    assert called == ["decode", "encode"]


def _all_payloads(message: WorkflowActivation | WorkflowActivationCompletion) -> list[Payload]:
    """Every payload in the message, in a fixed order, search attributes aside."""
    found: list[Payload] = []

    def walk(node: object) -> None:
        for descriptor, value in node.ListFields():  # type: ignore[attr-defined]
            if descriptor.name == "search_attributes":
                continue
            values = value if descriptor.is_repeated else [value]
            if (
                descriptor.message_type is not None
                and descriptor.message_type.GetOptions().map_entry
            ):
                values = [value[key] for key in sorted(value)]
            for item in values:
                if isinstance(item, Payload):
                    found.append(item)
                elif hasattr(item, "ListFields"):
                    walk(item)

    walk(message)
    return found
