"""Who sent what reaches a case: the identity header, verified inside the workflow.

Every start, update and signal carries a signed token in the Temporal header
`support-provision-identity` (`protection.identity`). The worker is built with
`IdentityInterceptor(ring)`, which does two things:

- it puts the verifier (the ring, held outside the sandbox) where workflow code can reach
  it: an extern function of the sandbox, so no key is ever imported into workflow code;
- its inbound interceptor reads the header of each update (validator and handler alike)
  and signal, verifies it with `workflow.now()`, and hands the verdict to the handler for
  the length of the call (`heard`). The start is verified by the workflow itself, from
  the start headers, when the case opens (`at_start`).

Verifying with the workflow's own clock is what keeps replay deterministic: a handler
replayed next year sees the token at the time it first ran, so an expiry never turns an
accepted request into a refused one. What replay does need is the key: a key leaves the
verifying ring only after the namespace's retention has passed since it last signed.

A worker without the interceptor (or without a ring) refuses every request: no identity
can be verified, so none is trusted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.worker import (
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from casemodel.errors import NotAuthenticated
from casemodel.intake import Heard
from protection.codec import ENCODING as SEALED_ENCODING
from protection.identity import HEADER, Identity, IdentityRefused, verify
from protection.keys import KeyRing

VERIFIER = "support_provision_verify_identity"
"""The extern function, in the sandbox, that verifies a token at an instant."""
OPENER = "support_provision_open_identity_header"
"""The extern function, in the sandbox, that opens an identity header sealed with the
payload keys: the `temporal` CLI run with `--codec-endpoint` seals its headers too."""

_HEARD: ContextVar[Heard] = ContextVar("support_provision_heard", default=None)


def _silent() -> NotAuthenticated:
    return NotAuthenticated(
        "This worker checks no identities (it was built without the identity interceptor), "
        "so it trusts no request; run it with `support-provision worker`."
    )


class IdentityInterceptor(Interceptor):
    """The worker interceptor that verifies identities with `ring` (None: refuses all),
    opening a header sealed with the payload keys through `opener` (the payload codec's)."""

    def __init__(
        self, ring: KeyRing | None, opener: Callable[[Payload], Payload] | None = None
    ) -> None:
        self._ring = ring
        self._opener = opener

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        ring = self._ring

        def verify_at(token: object, now: datetime) -> Identity:
            if ring is None:
                raise IdentityRefused(
                    "unknown-key", "this worker holds no identity key ring to verify it with"
                )
            return verify(ring, token, now)

        input.unsafe_extern_functions[VERIFIER] = verify_at
        if self._opener is not None:
            input.unsafe_extern_functions[OPENER] = self._opener
        return _HeaderInbound


class _HeaderInbound(WorkflowInboundInterceptor):
    """Hands each update and signal handler the identity its header establishes."""

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        with _hearing(input.headers):
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        with _hearing(input.headers):
            return await self.next.handle_update_handler(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        with _hearing(input.headers):
            await self.next.handle_signal(input)


@contextmanager
def _hearing(headers: Mapping[str, Payload]) -> Iterator[None]:
    reset = _HEARD.set(established(headers))
    try:
        yield
    finally:
        _HEARD.reset(reset)


def heard() -> Heard:
    """The identity that sent the update or signal being handled, or why there is none."""
    return _HEARD.get() or _silent()


START_TIME_PATCH = "start-verified-when-sent"
"""Histories recorded while a start's identity was verified at the run's first workflow
task only replay as they ran: a case started while no worker ran for longer than a
token lives, or reset later than that, had failed `not_authenticated`. Asked only when
the token does not hold now but did when Temporal took the start, so that only such a
history records the marker."""


def at_start() -> Heard:
    """The identity that started this run, from its start headers, or why there is none.

    Verified as of when Temporal took the start (the started event's time, which a reset
    keeps), not only as of the first workflow task: the start was signed when it was
    sent, and neither a worker that was away nor a reset long after may turn it into a
    refusal that fails the case."""
    info = workflow.info()
    now = established(info.headers)
    if isinstance(now, NotAuthenticated) and info.workflow_start_time < workflow.now():
        sent = established(info.headers, at=info.workflow_start_time)
        if not isinstance(sent, NotAuthenticated) and workflow.patched(START_TIME_PATCH):
            return sent
    return now


def established(
    headers: Mapping[str, Payload], *, at: datetime | None = None
) -> Identity | NotAuthenticated:
    """The identity `headers` carry, verified now (or `at`), or the `NotAuthenticated`
    refusal."""
    verifier: Callable[[object, datetime], Identity] | None = workflow.extern_functions().get(
        VERIFIER
    )
    if verifier is None:
        return _silent()
    try:
        return verifier(_token(headers.get(HEADER)), at or workflow.now())
    except IdentityRefused as refused:
        return NotAuthenticated(
            f"Not signed in ({refused.reason}): {refused.message}. Requests carry a signed "
            f"identity in the {HEADER} header; the support-provision client and CLI sign them."
        )


def _token(payload: Payload | None) -> object:
    """The token a header payload carries: a JSON string, as the SDK and the `temporal`
    CLI write it (`--headers support-provision-identity='"<token>"'`), sealed or not."""
    if payload is None:
        return None
    if payload.metadata.get("encoding") == SEALED_ENCODING:
        opener = workflow.extern_functions().get(OPENER)
        if opener is None:
            raise IdentityRefused(
                "malformed", "the identity header is sealed, and this worker holds no payload keys"
            )
        try:
            payload = opener(payload)
        except Exception as error:  # noqa: BLE001 - a seal that will not open, in its words
            raise IdentityRefused(
                "malformed", f"the identity header will not open: {error}"
            ) from None
    if payload.metadata.get("encoding") != b"json/plain":
        raise IdentityRefused("malformed", "the identity header is not JSON text")
    try:
        return json.loads(payload.data)
    except (ValueError, UnicodeDecodeError):
        raise IdentityRefused("malformed", "the identity header is not JSON") from None
