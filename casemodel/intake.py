"""How a request reaches the rules of a case: read as it arrived, judged, carried out.

Functions of a `Case`, which offers each as a method. The workflow hands over what
arrived (a request's name and its raw arguments) and the passing of time; this reads the
request (`casemodel.requests`), sends it to the rule of its kind and, for a
fire-and-forget request that cannot be taken, records why, since its sender cannot be
told. One entry to check a request (`check`, `judge`), one to carry it out (`apply`,
`answer`), one for fire-and-forget (`receive`).

Each takes who sent the request, as the workflow verified it (`caller`): an identity,
the refusal of one (`NotAuthenticated`), or None for a history recorded before requests
carried identities, which takes `by` as it was sent. With an identity, the request must
hold the permission it needs (`casemodel.permissions`) and the log records the
identity's `sub`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from . import errors, permissions
from .permissions import Caller
from .requests import (
    SIGNALS,
    UPDATES,
    AddTask,
    BypassTask,
    CancelTask,
    CloseCase,
    CompleteTask,
    Encoded,
    HoldTask,
    PauseCase,
    ReleaseTask,
    Request,
    RequestResult,
    ResumeCase,
    ReviseTarget,
    StartCase,
    StopRecurrence,
    UndoCompletion,
    excerpt,
    read_request,
)
from .rules import DECISIONS_2026_12, RULES_2026_12, Since, every_rule
from .state import LogEntry, RejectedRequest, TaskInstance

if TYPE_CHECKING:
    from .case import Case

Heard = Caller | errors.CaseRuleError | None
"""Who sent a request: a verified identity, why none was, or None before identities."""


REJECTED_KEPT = 50
"""Rejected requests the state keeps; older ones are in the case log and the register."""


def judge(
    case: Case, kind: str, arguments: Sequence[Encoded], now: datetime, *, caller: Heard = None
) -> Request:
    """Read a request as it arrived and check it: the request, or the refusal."""
    _authenticated(caller)
    request = read_request(kind, arguments, UPDATES)
    authorise(case, request, caller)
    check(case, request, now)
    return request


def answer(
    case: Case,
    kind: str,
    arguments: Sequence[Encoded],
    now: datetime,
    *,
    lenient: bool = False,
    caller: Heard = None,
) -> RequestResult:
    """Read a request as it arrived and carry it out, on the case's rules (`Case.since`):
    what changed, or the refusal."""
    _authenticated(caller)
    request = read_request(kind, arguments, UPDATES, lenient=lenient)
    by = authorise(case, request, caller, case.since)
    changes = apply(case, request, now, by=by, since=case.since)
    taken(case, caller, now)
    state = case.state
    return RequestResult(case_ref=state.case_ref, case_status=state.status, changes=changes)


def receive(
    case: Case,
    kind: str,
    arguments: Sequence[Encoded],
    now: datetime,
    *,
    lenient: bool = False,
    caller: Heard = None,
) -> bool:
    """A fire-and-forget request as it arrived: carried out once, or recorded as rejected
    with the reason, since its sender cannot be told. Whether the case changed."""
    try:
        _authenticated(caller)
        request = read_request(kind, arguments, SIGNALS, lenient=lenient)
    except errors.CaseRuleError as refusal:
        if lenient:
            return False  # before strict requests the SDK dropped such a signal unseen
        # Who signed it, when it was signed (an unreadable signal is still theirs).
        reject(case, excerpt(kind), refusal, now, by=_signer(caller))
        return True
    assert isinstance(request, CompleteTask)
    try:
        by = authorise(case, request, caller, case.since)
    except (errors.NotPermitted, errors.NotAuthenticated) as refusal:
        if isinstance(refusal, errors.NotPermitted):
            taken(case, caller, now)
        reject(
            case,
            request.kind,
            refusal,
            now,
            by=_signer(caller),
            request_id=request.request_id,
            task=request.task,
        )
        return True
    report(case, request, now, by=by)
    taken(case, caller, now)
    return True


def authorise(case: Case, request: Request, caller: Heard, since: Since = every_rule) -> str:
    """Who the case records as having made `request`, once `caller` may make it; before
    identities (None), the `by` it carries."""
    if caller is None:
        return request.by
    _authenticated(caller)
    assert not isinstance(caller, errors.CaseRuleError)
    bound(caller, case.state.case_ref, case.state.used_tokens, since)
    by = permissions.signed_by(caller, request.by)
    task = _task_of(case, request)
    if task is None and permissions.needs(request) in permissions.TASK_LEVEL:
        return by  # a task the case does not have: the rules refuse it, in their words
    permissions.admit(caller, request, case.state, task)
    if isinstance(request, CancelTask) and request.cascade and task is not None:
        _admit_cascade(case, caller, task, since)
    return by


def bound(
    caller: Caller, case_ref: str, used: Mapping[str, int], since: Since = every_rule
) -> None:
    """Refuse (`NotAuthenticated`) a token that is not for this case and this request:
    one for another case, one the case took already, or one for no case in particular
    (from before tokens were, which a history from then replays as it ran).

    Whoever can read a case's history in Temporal reads the headers of its requests, the
    tokens in them included: a token that any case would take, any number of times, could
    be lifted from there and sent again as its signer for as long as it lives."""
    if caller.aud is None or caller.jti is None:
        if since(RULES_2026_12):
            raise errors.NotAuthenticated(
                f"Not signed in (unbound): the identity token of {caller.sub} is not for one "
                f"request to {case_ref}, as a token must be; the support-provision client and CLI "
                f"sign one for every call, and `support-provision token {case_ref}` prints one "
                "for the temporal CLI."
            )
        return
    if caller.aud != case_ref:
        raise errors.NotAuthenticated(
            f"Not signed in (another case): the identity token of {caller.sub} is for case "
            f"{caller.aud[:100]}, not {case_ref}; sign one for {case_ref}."
        )
    if caller.jti in used:
        raise errors.NotAuthenticated(
            f"Not signed in (used): {case_ref} has taken this identity token of {caller.sub} "
            "already; a token is good for one request, so sign a new one (the client and "
            "CLI do for every call)."
        )


def admit_follow_on(caller: Caller, start: StartCase, since: Since = every_rule) -> None:
    """A start that names the case it follows on from is the worker's alone
    (`permissions.OPEN_FOLLOW_ON`); histories from before replay as they ran."""
    if start.opened_from is None and start.chain_ref is None:
        return
    if permissions.OPEN_FOLLOW_ON in caller.grants or not since(RULES_2026_12):
        return
    raise errors.NotPermitted(
        f"{caller.label} may not open {start.case_ref} as a follow-on of "
        f"{(start.opened_from or start.chain_ref or '')[:100]}: a follow-on case is opened "
        "by the case it follows on from, when its outcome says so; open a case of your own "
        "without opened_from and chain_ref."
    )


def taken(case: Case, caller: Heard, now: datetime) -> None:
    """Note that the case took `caller`'s token (see `bound`), forgetting those expired."""
    if caller is None or isinstance(caller, errors.CaseRuleError) or caller.jti is None:
        return
    at = int(now.timestamp())
    used = case.state.used_tokens
    if any(expires <= at for expires in used.values()):
        case.state.used_tokens = used = {j: e for j, e in used.items() if e > at}
    used[caller.jti] = caller.exp


def _admit_cascade(case: Case, caller: Caller, named: TaskInstance, since: Since) -> None:
    """Each task a cascade takes is cancelled as if by itself: the caller must hold
    cancel-task on it, or a cascade from a task of their own would cancel another's (and
    could complete the case for someone who may not close it)."""
    try:
        doomed = case.check_cancel(named.key, cascade=True)
    except errors.CaseRuleError:
        return  # the rules refuse it, in their words
    for task in doomed[1:]:
        if permissions.holds(caller, permissions.CANCEL_TASK, case.state, task):
            continue
        if not since(RULES_2026_12):
            return
        raise errors.NotPermitted(
            f"{caller.label} may not cancel {task.key} in {case.state.case_ref}, which "
            f"cancelling {named.key} would take with it: cancel-task needs the task's owner "
            f"or the case owner, or a manager or team leader of either ({task.key} is owned "
            f"by {task.owner}). Ask them to cancel it, or cancel only what is yours."
        )


def _authenticated(caller: Heard) -> None:
    if isinstance(caller, errors.CaseRuleError):
        raise caller


def _signer(caller: Heard) -> str:
    return caller.sub if caller is not None and not isinstance(caller, Exception) else "unknown"


def _task_of(case: Case, request: Request) -> TaskInstance | None:
    ref = getattr(request, "task", None)
    if not isinstance(ref, str):
        return None
    try:
        return case.instance(ref)
    except errors.CaseRuleError:
        return None


def check(case: Case, request: Request, now: datetime) -> None:
    """Raise the `CaseRuleError` the rules refuse `request` with now; change nothing."""
    match request:
        case CompleteTask():
            case.check_complete(request.task, outcome=request.outcome, responses=request.responses)
        case AddTask():
            case.check_add(request.task)
        case CancelTask():
            _check_cancel(case, request, every_rule)
        case BypassTask():
            case.check_bypass(request.task)
        case UndoCompletion():
            case.check_undo(request.task)
        case CloseCase():
            case.check_close(request.outcome)
        case PauseCase():
            case.check_pause(request.reason)
        case ResumeCase():
            case.check_resume()
        case HoldTask():
            case.check_hold(request.task, request.reason)
        case ReleaseTask():
            case.check_release(request.task)
        case ReviseTarget():
            case.check_revise(request.clock, request.due_at, request.reason, now)
            _check_ahead(request, now, every_rule)
        case StopRecurrence():
            case.check_stop_recurrence(request.task, request.reason)
        case _:
            raise errors.UnknownRequest(f"{request.kind} is not a request a case takes.")


def _check_cancel(case: Case, request: CancelTask, since: Since) -> None:
    """A cancellation that leaves the case nothing in progress and nothing done would
    leave it open with no work in it, its clock running to a breach: ending a case that
    way is closing it, which `close_case` does (with its own permission and outcome)."""
    doomed = case.check_cancel(request.task, cascade=request.cascade)
    ref = case.state.case_ref
    if case.left_empty_by(doomed) and since(RULES_2026_12):
        outcome = " --outcome …" if case.type.outcomes else ""
        raise errors.NotAllowed(
            f"Cancelling {request.task} would leave {ref} with nothing in progress and "
            f"nothing done; to end the case, close it (case close {ref}{outcome} --reason …)."
        )
    deciding = case.decision_cancelled_by(doomed)
    if deciding is not None and since(DECISIONS_2026_12):
        outcomes = ", ".join(
            sorted({o.case_outcome or "" for o in case.definition(deciding).outcomes})
        )
        took = "" if deciding.key == request.task else f", which would take {deciding.key} with it,"
        raise errors.NotAllowed(
            f"Cancelling {request.task}{took} would leave {ref} nothing to decide its outcome "
            f"({outcomes}): it would complete with none, and open no follow-on. To end the "
            f"case, close it with its outcome (case close {ref} --outcome … --reason …)."
        )


def _check_ahead(request: ReviseTarget, now: datetime, since: Since) -> None:
    """A revised target already passed breaches at once and sends every escalation of
    the clock, follow-ons to partner agencies included: a mistyped year, most likely."""
    if request.due_at <= now and since(RULES_2026_12):
        raise errors.OutOfRange(
            f"The revised target {request.due_at:%Y-%m-%d %H:%M} UTC has passed (it is now "
            f"{now:%Y-%m-%d %H:%M} UTC); a revised target must lie ahead: check the date."
        )


def apply(
    case: Case,
    request: Request,
    now: datetime,
    *,
    by: str | None = None,
    since: Since = every_rule,
) -> list[LogEntry]:
    """Carry out `request` as made `by` (default: the `by` it carries): the log entries it
    appended, or the refusal, unchanged."""
    by = by or request.by
    match request:
        case CompleteTask():
            return case.complete_task(
                request.task,
                outcome=request.outcome,
                responses=request.responses,
                note=request.note,
                by=by,
                now=now,
            )
        case AddTask():
            return case.add_task(request.task, note=request.note, by=by, now=now)
        case CancelTask():
            _check_cancel(case, request, since)
            return case.cancel_task(
                request.task, cascade=request.cascade, reason=request.reason, by=by, now=now
            )
        case BypassTask():
            return case.bypass_task(request.task, reason=request.reason, by=by, now=now)
        case UndoCompletion():
            return case.undo_completion(request.task, reason=request.reason, by=by, now=now)
        case CloseCase():
            return case.close(outcome=request.outcome, reason=request.reason, by=by, now=now)
        case PauseCase():
            return case.pause(reason=request.reason, by=by, now=now)
        case ResumeCase():
            return case.resume(by=by, now=now)
        case HoldTask():
            return case.hold_task(request.task, reason=request.reason, by=by, now=now)
        case ReleaseTask():
            return case.release_task(request.task, by=by, now=now)
        case ReviseTarget():
            case.check_revise(request.clock, request.due_at, request.reason, now)
            _check_ahead(request, now, since)
            return case.revise_target(
                request.clock, due_at=request.due_at, reason=request.reason, by=by, now=now
            )
        case StopRecurrence():
            return case.stop_recurrence(request.task, reason=request.reason, by=by, now=now)
    raise errors.UnknownRequest(f"{request.kind} is not a request a case takes.")


def report(
    case: Case, request: CompleteTask, now: datetime, *, by: str | None = None
) -> list[LogEntry]:
    """A fire-and-forget completion (a signal): applied once, or recorded as rejected."""
    return case.record_completion(
        request.task,
        request_id=request.request_id,
        outcome=request.outcome,
        responses=request.responses,
        note=request.note,
        by=by or request.by,
        now=now,
    )


CANCEL_WORKFLOW = "cancel_workflow"
"""What the log and the rejected requests call a cancellation of the case's workflow."""
CANCEL_REFUSAL = (
    "The case's workflow was asked to cancel through Temporal (the UI's Request "
    "Cancellation, or `temporal workflow cancel`), which carries no identity the worker "
    "can verify: a case is closed with `case close`, which records who closed it and why. "
    "The case goes on."
)


def refuse_cancellation(case: Case, now: datetime) -> list[LogEntry]:
    """A cancellation of the case's workflow, refused and recorded.

    Temporal's cancellation carries no identity the worker can verify, so it may not stop
    a case that the directory's roles would not let its sender close; and a case that
    ended that way would stop keeping time with nobody told, its tasks still open in the
    register and the worklist. So the case records the request as rejected and goes on.
    """
    refusal = errors.NotAuthenticated(CANCEL_REFUSAL)
    return reject(case, CANCEL_WORKFLOW, refusal, now, by="temporal")


def reject(
    case: Case,
    kind: str,
    refusal: errors.CaseRuleError,
    now: datetime,
    *,
    by: str = "unknown",
    request_id: str | None = None,
    task: str | None = None,
) -> list[LogEntry]:
    """Record a fire-and-forget request the case could not take, with the reason.

    Only the reason is kept, never what was sent: a refusal of a 1 MB note must not
    carry the note into the log, the register or the next run.
    """
    case.state.rejected.append(
        RejectedRequest(
            at=now,
            request=kind,
            request_id=request_id,
            task=task,
            by=by,
            reason=refusal.message,
            code=refusal.code,
        )
    )
    case.state.rejected_total += 1
    del case.state.rejected[:-REJECTED_KEPT]
    return case._log(now, "request_rejected", by, None, refusal.message)
