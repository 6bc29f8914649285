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

The sandbox itself is the SDK's, with two costs taken out (`QuickSandboxedRunner`): it
entered the sandbox (compiling a snippet of code and swapping the import machinery in and
out) once for every payload the codec visits, only to ask the workflow which serialisation
context the payload belongs to, and it compiled its own snippets afresh on every entry.
Together that was a fifth of a case worker's CPU. What runs inside the sandbox, and what it
refuses, is unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import temporalio.worker.workflow_sandbox._runner as sandbox_runner
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
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

log = logging.getLogger("support_provision.sandbox")

_IN_SANDBOX = "__temporal_in_sandbox"
_NEEDED = ("_run_code", "get_serialization_context", "get_external_store_context")


def _quick_instance_class() -> type[WorkflowInstance] | None:
    """The SDK's sandboxed workflow instance with the two costs taken out, or None on an
    SDK whose instance is not the one this was written for (it is then used as it is)."""
    sdk_instance: Any = getattr(sandbox_runner, "_Instance", None)
    if sdk_instance is None or not all(hasattr(sdk_instance, n) for n in _NEEDED):
        return None

    class QuickInstance(sdk_instance):
        """The SDK's sandboxed workflow instance, but:

        * the serialisation context of a payload is asked of the workflow directly: it
          only reads which command the payload belongs to, imports nothing and runs no
          workflow code, so it needs neither the sandbox's import machinery nor a snippet
          compiled to enter it;
        * the snippets that do enter the sandbox (create, activate) are compiled once.
        """

        _snippets: dict[str, Any] = {}

        def _run_code(self, code: str, **extra_globals: Any) -> None:
            compiled = self._snippets.get(code)
            if compiled is None:
                compiled = self._snippets[code] = compile(code, "<sandbox>", "exec")
            super()._run_code(compiled, **extra_globals)  # exec takes code as it takes text

        def get_serialization_context(self, command_info: Any) -> Any:
            return self.globals_and_locals[_IN_SANDBOX].get_serialization_context(command_info)

        def get_external_store_context(self, command_info: Any) -> Any:
            return self.globals_and_locals[_IN_SANDBOX].get_external_store_context(command_info)

    return QuickInstance


QUICK_INSTANCE = _quick_instance_class()


class QuickSandboxedRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner, building quick instances (the SDK's own on an SDK they
    do not fit)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        if QUICK_INSTANCE is None:  # pragma: no cover - only on a rebuilt SDK sandbox
            return super().create_instance(det)
        return QUICK_INSTANCE(det, self.runner_class, self.restrictions)  # type: ignore[call-arg]


def quick() -> bool:
    """Whether workers run the quick sandbox instance (a test checks it stays so)."""
    return QUICK_INSTANCE is not None


def workflow_runner() -> SandboxedWorkflowRunner:
    compile_once(*SANDBOXED)
    if not quick():  # pragma: no cover
        log.warning("this SDK's sandbox is not the one expected: payloads enter it one by one")
    return QuickSandboxedRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )
