"""Inputs and outputs of the case workflow.

Every message has its own type so it can grow (new optional fields) without breaking
callers or recorded histories. `by` names the person or system that asked: it is written
to the case log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from casemodel.state import CaseStatus, LogEntry
from definitions.schema import ProvisionType

TASK_QUEUE = "support-provision"


def workflow_id_for(case_ref: str) -> str:
    return f"case-{case_ref}"


class StartCase(BaseModel):
    case_ref: str
    tenant_ref: str
    owner: str
    provision_type: ProvisionType = Field(description="Snapshot taken when the case started.")
    type_version: int | None = Field(default=None, description="Published version, if any.")
    opened_by: str = "starter"


class CompleteTask(BaseModel):
    task: str = Field(description="Task key (`home-visit#2`) or definition id.")
    outcome: str | None = None
    responses: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None
    by: str = "unknown"
    request_id: str | None = Field(
        default=None, description="Makes a fire-and-forget completion idempotent."
    )


class AddTask(BaseModel):
    task: str = Field(description="Task definition id.")
    note: str | None = None
    by: str = "unknown"


class CancelTask(BaseModel):
    task: str
    cascade: bool = False
    reason: str | None = None
    by: str = "unknown"


class BypassTask(BaseModel):
    task: str
    reason: str | None = None
    by: str = "unknown"


class UndoCompletion(BaseModel):
    task: str
    reason: str | None = None
    by: str = "unknown"


class CloseCase(BaseModel):
    outcome: str | None = None
    reason: str | None = None
    by: str = "unknown"


class RequestResult(BaseModel):
    """What an accepted request changed."""

    case_ref: str
    case_status: CaseStatus
    changes: list[LogEntry]


class PauseCase(BaseModel):
    reason: str
    by: str = "unknown"


class ResumeCase(BaseModel):
    by: str = "unknown"


class HoldTask(BaseModel):
    task: str
    reason: str
    by: str = "unknown"


class ReleaseTask(BaseModel):
    task: str
    by: str = "unknown"


class ReviseTarget(BaseModel):
    clock: str = Field(description="`case`, or the key of a task.")
    due_at: datetime
    reason: str
    by: str = "unknown"
