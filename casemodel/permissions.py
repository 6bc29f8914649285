"""Who may do what to a case: the permission each request needs, and who holds it.

Plain rules over the verified identity the workflow hands over (`Caller`: the claims of
`protection.identity`, computed from the directory when the token was issued) and the
case as it stands. Nothing here reads a clock, a database or a header.

| Request | Permission | Held by a person who is … |
| --- | --- | --- |
| start | `open-case` | any active person of the directory |
| complete_task, signal | `complete-task` | the task's or case's owner, or a manager of either |
| cancel_task | `cancel-task` | as complete-task |
| bypass_task | `bypass-task` | as complete-task |
| undo_completion | `undo` | as complete-task |
| hold_task, release_task | `hold-task` | as complete-task |
| add_task | `add-task` | the case owner, their manager or a team leader |
| pause_case, resume_case | `pause-case` | the case owner, their manager or a team leader |
| close_case | `close-case` | the case owner, their manager or a team leader |
| revise_target | `revise-target` | the case owner, their manager or a team leader |
| stop_recurrence | `stop-recurrence` | the case owner, their manager or a team leader |

"Owner" is owner-level: the identity is the owner (`sub`), holds the owning role, or is in
the owning team. "Manager or team leader" is the owner among the ids the identity
`manages`. A partner agency may complete only tasks whose owner is its agency; a service
(another system) may complete the tasks the directory lists for it and hold the
permissions it `may`; `grants` are what the identity holds on every case.
"""

from __future__ import annotations

from typing import Protocol

from . import errors
from .requests import (
    AddTask,
    BypassTask,
    CancelTask,
    CloseCase,
    CompleteTask,
    HoldTask,
    PauseCase,
    ReleaseTask,
    Request,
    ResumeCase,
    ReviseTarget,
    StartCase,
    StopRecurrence,
    UndoCompletion,
)
from .state import CaseState, TaskInstance

OPEN_CASE = "open-case"
COMPLETE_TASK = "complete-task"
ADD_TASK = "add-task"
CANCEL_TASK = "cancel-task"
BYPASS_TASK = "bypass-task"
UNDO = "undo"
HOLD_TASK = "hold-task"
PAUSE_CASE = "pause-case"
CLOSE_CASE = "close-case"
REVISE_TARGET = "revise-target"
STOP_RECURRENCE = "stop-recurrence"

TASK_LEVEL = (COMPLETE_TASK, CANCEL_TASK, BYPASS_TASK, UNDO, HOLD_TASK)
"""Held by the task's owner, the case owner, or a manager or team leader of either."""
CASE_LEVEL = (ADD_TASK, PAUSE_CASE, CLOSE_CASE, REVISE_TARGET, STOP_RECURRENCE)
"""Held by the case owner, their manager or a team leader."""
ALL = (OPEN_CASE, *TASK_LEVEL, *CASE_LEVEL)
"""Every permission, as the directory's `may` and the README name them."""
OPEN_FOLLOW_ON = "open-follow-on"
"""Opening a case as another's follow-on (a start naming `opened_from`): the worker's own
identity holds it, for the follow-ons it opens, and no directory entry can be granted it.
Anyone else who could name a parent could link a case of their own to it, which the
parent would then take for its follow-on."""
ANY_TASK = "*"
"""In a service's `tasks`: every task."""
UNSIGNED = "unknown"
"""The `by` a request carries when its sender leaves it out."""

_NEEDS: dict[type[Request], str] = {
    CompleteTask: COMPLETE_TASK,
    AddTask: ADD_TASK,
    CancelTask: CANCEL_TASK,
    BypassTask: BYPASS_TASK,
    UndoCompletion: UNDO,
    HoldTask: HOLD_TASK,
    ReleaseTask: HOLD_TASK,
    PauseCase: PAUSE_CASE,
    ResumeCase: PAUSE_CASE,
    CloseCase: CLOSE_CASE,
    ReviseTarget: REVISE_TARGET,
    StopRecurrence: STOP_RECURRENCE,
    StartCase: OPEN_CASE,
}
_VERBS = {
    COMPLETE_TASK: "complete {task} in",
    ADD_TASK: "add a task to",
    CANCEL_TASK: "cancel {task} in",
    BYPASS_TASK: "bypass {task} in",
    UNDO: "undo {task} in",
    HOLD_TASK: "hold or release {task} in",
    PAUSE_CASE: "pause or resume",
    CLOSE_CASE: "close",
    REVISE_TARGET: "revise a target of",
    STOP_RECURRENCE: "stop a recurrence in",
}


class Caller(Protocol):
    """A verified identity, as `protection.identity.Identity` carries it."""

    @property
    def sub(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...
    @property
    def team(self) -> str | None: ...
    @property
    def manages(self) -> tuple[str, ...]: ...
    @property
    def agency(self) -> str | None: ...
    @property
    def tasks(self) -> tuple[str, ...]: ...
    @property
    def grants(self) -> tuple[str, ...]: ...
    @property
    def label(self) -> str: ...
    @property
    def exp(self) -> int: ...
    @property
    def aud(self) -> str | None: ...
    @property
    def jti(self) -> str | None: ...


def needs(request: Request) -> str:
    """The permission `request` needs."""
    return _NEEDS[type(request)]


def signed_by(caller: Caller, claimed: str, *, default: str = UNSIGNED) -> str:
    """Who the case records: the identity's `sub`. A request may leave `by` out or name
    that same identity; naming anyone else is refused, never silently rewritten."""
    if claimed not in (default, caller.sub):
        raise errors.NotPermitted(
            f'The request says it is by "{claimed[:60]}", but {caller.label} sent it; leave '
            "`by` out: the case records who is signed in."
        )
    return caller.sub


def admit(
    caller: Caller, request: Request, state: CaseState | None, task: TaskInstance | None
) -> None:
    """Raise `NotPermitted` unless `caller` holds what `request` needs on the case `state`
    (None for a case still to open); `task` is the task it names, when the case has it."""
    permission = needs(request)
    if permission == OPEN_CASE:
        if OPEN_CASE not in caller.grants:
            raise errors.NotPermitted(
                f"{caller.label} may not open cases: open-case needs a person of the directory "
                "or a service the directory lets open cases."
            )
        return
    assert state is not None, "only opening a case has no case yet"
    if holds(caller, permission, state, task):
        return
    verb = _VERBS[permission].format(task=task.key if task else getattr(request, "task", "a task"))
    raise errors.NotPermitted(
        f"{caller.label} may not {verb} {state.case_ref}: {permission} needs "
        f"{_who(caller, permission, task)}."
    )


def holds(caller: Caller, permission: str, state: CaseState, task: TaskInstance | None) -> bool:
    """Whether `caller` holds `permission` on the case `state`, for `task` where it names one."""
    if caller.kind == "agency":
        owner = task.owner if task else None
        return permission == COMPLETE_TASK and owner is not None and owner == caller.agency
    if caller.kind == "service":
        if permission == COMPLETE_TASK:
            return task is not None and (ANY_TASK in caller.tasks or task.task in caller.tasks)
        return permission in caller.grants
    if permission in caller.grants:
        return True
    owners = [state.owner]
    if permission in TASK_LEVEL and task is not None:
        owners.append(task.owner)
    return any(answers_for(caller, owner) for owner in owners)


def answers_for(caller: Caller, owner: str) -> bool:
    """Owner-level (the owner, one of its roles, its team) or manager-level (the owner is
    among those it manages or leads)."""
    return (
        owner == caller.sub
        or owner in caller.roles
        or (caller.team is not None and owner == caller.team)
        or owner in caller.manages
    )


def _who(caller: Caller, permission: str, task: TaskInstance | None) -> str:
    if caller.kind == "agency":
        if permission != COMPLETE_TASK:
            return "someone of the landlord: a partner agency may only complete its own tasks"
        owner = f" ({task.key} is owned by {task.owner})" if task else ""
        return f"a task owned by the agency{owner}"
    if caller.kind == "service" and permission == COMPLETE_TASK:
        listed = ", ".join(caller.tasks[:10]) or "none"
        return f"a task the directory lets the service complete (its tasks: {listed})"
    if caller.kind == "service":
        return "a service the directory grants it (`may`)"
    if permission in TASK_LEVEL:
        return "the task's owner or the case owner, or a manager or team leader of either"
    return "the case owner, their manager or a team leader"
