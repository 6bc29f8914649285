"""The sandbox the case workflow runs in, shared by workers and the replayer.

`holidays` loads each country's rules lazily on first use; inside the sandbox that import
would re-run module set-up that reads the clock. Passing it (and `dateutil`, which it
uses) through keeps bank holiday look-ups deterministic and fast.

`workflows.identities` is passed through because its interceptor (outside the sandbox)
and the workflow's handlers (inside) must share one context variable: the identity the
interceptor verified for the message being handled.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("holidays", "dateutil", "workflows.identities")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )
