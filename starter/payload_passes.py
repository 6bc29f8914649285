"""One pass over an activation's payloads instead of three, where no external storage is set.

SDK 1.35 walks every activation it decodes, and every completion it encodes, three times:
once for payloads that are external-storage references, once to fetch or store payloads in
external storage (each payload list in an asyncio task of its own), and once for the codec.
A worker without external storage, as ours is, does nothing in the first two walks but
copy each list and raise if it meets a reference it cannot follow; yet the three walks were
a sixth of a case worker's CPU, and the case worker walks twice per request (the update,
then the register write's result).

`install()` replaces the SDK's two walking functions with ones that apply the SDK's own
three steps to each payload list in turn, in a single walk, with the same visitor (so each
payload keeps the serialisation context of its command). A data converter that has
external storage goes through the SDK's functions unchanged. An SDK whose functions are not
the ones this was written for is left as it is, with a warning.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import temporalio.bridge.worker as bridge_worker
import temporalio.converter._extstore as extstore
from temporalio.api.common.v1 import Payload
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

log = logging.getLogger("support_provision.payload_passes")

_DECODE = ("activation", "data_converter", "decode_headers", "storage_concurrency_limit")
_ENCODE = ("completion", "data_converter", "encode_headers", "storage_concurrency_limit")
_DECODE_STEPS = (
    "_decode_reference_payload_sequence",
    "_external_retrieve_payload_sequence",
    "_decode_payload_sequence",
)
_ENCODE_STEPS = (
    "_encode_payload_sequence",
    "_external_store_payload_sequence",
    "_encode_reference_payload_sequence",
)
"""The SDK's steps for each payload list, in the order its three walks take them."""
_SDK_DECODE = bridge_worker.decode_activation
_SDK_ENCODE = bridge_worker.encode_completion


async def decode_activation(
    activation: Any, data_converter: Any, decode_headers: bool, storage_concurrency_limit: int
) -> Any:
    walked = (activation, data_converter, decode_headers, storage_concurrency_limit)
    return await _walk_once(_SDK_DECODE, _DECODE_STEPS, *walked)


async def encode_completion(
    completion: Any, data_converter: Any, encode_headers: bool, storage_concurrency_limit: int
) -> Any:
    walked = (completion, data_converter, encode_headers, storage_concurrency_limit)
    return await _walk_once(_SDK_ENCODE, _ENCODE_STEPS, *walked)


async def _walk_once(
    sdk_walks: Callable[..., Awaitable[Any]],
    steps: Sequence[str],
    root: Any,
    data_converter: Any,
    headers: bool,
    storage_concurrency_limit: int,
) -> Any:
    """The SDK's `steps` of `data_converter`, applied to each payload list of `root` in
    turn, in one walk; the SDK's own walks where external storage is set."""
    if data_converter.external_storage:
        return await sdk_walks(root, data_converter, headers, storage_concurrency_limit)
    taken = [getattr(data_converter, step) for step in steps]

    async def each(payloads: Sequence[Payload]) -> list[Payload]:
        for step in taken:
            payloads = await step(payloads)
        return list(payloads)

    visitor = CommandAwarePayloadVisitor(skip_search_attributes=True, skip_headers=not headers)
    # The SDK's own payload-list function: it writes back each list the step returns.
    await visitor.visit(bridge_worker._Visitor(each), root)
    return extstore.StorageOperationMetrics()  # nothing was fetched from or put in storage


def _fits_sdk() -> bool:
    """Whether the SDK's functions, and the steps they take, are the ones this replaces."""
    from temporalio.converter import DataConverter

    def params(function: Any) -> tuple[str, ...]:
        return tuple(inspect.signature(function).parameters)

    fields = {field.name for field in dataclasses.fields(DataConverter)}
    return (
        params(_SDK_DECODE) == _DECODE
        and params(_SDK_ENCODE) == _ENCODE
        and "external_storage" in fields
        and all(hasattr(DataConverter, step) for step in (*_DECODE_STEPS, *_ENCODE_STEPS))
        and hasattr(bridge_worker, "_Visitor")
        and hasattr(extstore, "StorageOperationMetrics")
    )


def install() -> bool:
    """Walk payloads once from now on, in this process; whether it could."""
    if bridge_worker.decode_activation is decode_activation:
        return True
    if not _fits_sdk():
        log.warning(
            "this Temporal SDK walks payloads differently from the one the worker was "
            "written for; its own three walks are used (slower, no less correct)"
        )
        return False
    bridge_worker.decode_activation = decode_activation
    bridge_worker.encode_completion = encode_completion
    return True


def installed() -> bool:
    return bridge_worker.decode_activation is decode_activation
