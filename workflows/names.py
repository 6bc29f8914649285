"""How a case is named in Temporal: what callers and operators address it by."""

from __future__ import annotations

WORKFLOW_TYPE = "SupportCaseWorkflow"
TASK_QUEUE = "support-provision"
STATE_QUERY = "state"


def workflow_id_for(case_ref: str) -> str:
    """Each case is the workflow `case-<case ref>`."""
    return f"case-{case_ref}"
