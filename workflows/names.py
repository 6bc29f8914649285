"""How a case is named in Temporal: what callers and operators address it by."""

from __future__ import annotations

WORKFLOW_TYPE = "SupportCaseWorkflow"
TASK_QUEUE = "support-provision"
STATE_QUERY = "state"
NOTICES_SUFFIX = "-notices"


def notice_queue(task_queue: str) -> str:
    """The task queue of a case's notices: its own, beside the case's, so a notice never
    waits for an activity slot behind register writes (a burst of cases opening)."""
    return task_queue + NOTICES_SUFFIX


def workflow_id_for(case_ref: str) -> str:
    """Each case is the workflow `case-<case ref>`."""
    return f"case-{case_ref}"


def case_ref_for(workflow_id: str) -> str:
    """The case a workflow id names (`workflow_id_for` read back); an id of another shape,
    which no case runs under, names itself."""
    return workflow_id.removeprefix("case-") or workflow_id
