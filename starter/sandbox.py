"""The sandbox the case workflow runs in, shared by workers and the replayer.

`holidays` loads each country's rules lazily on first use; inside the sandbox that import
would re-run module set-up that reads the clock. Passing it (and `dateutil`, which it
uses) through keeps bank holiday look-ups deterministic and fast.

Our pure modules pass through too: the case model and the definitions (with pydantic,
which they are built on) are plain deterministic Python without module state that a case
changes, so one import serves every case instead of one per case. `workflows/` itself
stays sandboxed (each case imports it afresh, so the sandbox still checks what it does),
but it is compiled once per process (`starter.compiled`).

`workflows.identities` is passed through because its interceptor (outside the sandbox)
and the workflow's handlers (inside) must share one context variable: the identity the
interceptor verified for the message being handled.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from .compiled import compile_once

PASSED_THROUGH = (
    "holidays",
    "dateutil",
    "casemodel",
    "definitions",
    "pydantic",
    "pydantic_core",
    "workflows.identities",
)
SANDBOXED = ("workflows",)
"""Imported afresh by each case, compiled once."""


def workflow_runner() -> SandboxedWorkflowRunner:
    compile_once(*SANDBOXED)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )
