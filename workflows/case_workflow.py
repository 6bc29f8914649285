"""The durable shell around one support provision case.

The rules live in `casemodel`; this class feeds the case what arrives and the passing of
time, and carries out what follows: search attributes and UI details, the case register,
escalation notices and the communications of paths, one timer for the earliest thing due,
continue-as-new at its budget, and the follow-on case its outcome opens (`follow_on.py`),
before it finishes.
The workflow and its handlers are dynamic so that Temporal hands them payloads undecoded:
the case model reads them, and a caller's mistake is refused to that caller (or recorded,
for a signal), never a failed workflow task.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casemodel import requests, views
    from casemodel.case import Case
    from casemodel.errors import CaseNotStarted, CaseRuleError, InvalidRequest, UnknownRequest
    from casemodel.requests import RequestResult
    from casemodel.state import CaseStatus, CaseSummary

    from . import identities
    from . import search_attributes as sa
    from .follow_on import FollowOnStep
    from .in_flight import REFUSED_WRITES, InFlight
    from .names import STATE_QUERY, WORKFLOW_TYPE, workflow_id_for

REGISTER_PATCH = "case-register"
"""Histories recorded before the case register existed replay without its activity."""
SLA_PATCH = "sla-clocks"
"""Histories recorded before SLA clocks existed replay without timers or SLA attributes."""
REGISTER_BEHIND_PATCH = "register-in-background"
"""Histories recorded while the loop awaited each register write replay that way."""
STRICT_PATCH = "strict-requests"
"""Histories recorded before requests were read strictly replay them as they were read."""
WEEKS_PATCH = "weeks-to-opening"
"""Histories recorded before a point N weeks on moved off a working calendar's closed days
replay with weeks counted as they were."""
LONG_LIVED_PATCH = "long-lived-cases"
"""Histories recorded before cases let go of what the register holds, and continued as
new, replay as they ran."""
FOLLOW_ON_PATCH = "follow-on-cases"
"""Histories recorded before follow-on cases were opened replay without the attempts, the
`CaseChain` search attribute, or waiting for the follow-on to open before finishing."""
CURRENT_PATCH = "current-behaviour-v7"
"""One marker for everything the patches before it changed: a case started on code that
has it takes every one of them (and writes the register locally first, and sends notices on
their own task queue: `in_flight.NOTICES_PATCH`) without a marker of each, which cost two
events apiece (the marker and Temporal's `TemporalChangeVersion` upsert), 14 of a 5-task
case's events. Histories without it replay patch by patch."""
REGISTER_LOCAL_PATCH = "register-local-first"
"""Histories recorded while every register write was a (remote) activity replay that way;
asked of every run, a continued one too, since runs that older code continued wrote
remotely."""
# NOTICES_PATCH ("notices-own-queue", in `in_flight.py`): histories recorded before notices
# had their own task queue and a heartbeat replay with the notice scheduled as it was.
IDENTITY_PATCH = "identities"
"""Histories recorded before requests carried identities replay with `by` as it was sent
and no permission checked; a run that starts on code that checks always checks."""
CANCEL_PATCH = "cancellation-refused"
"""Histories recorded before a case refused a cancellation of its workflow replay as they
ran (the case ended as cancelled). Asked only when a cancellation arrives, so that only a
history that holds one records its marker."""
CASE_ID_PATCH = "case-id-is-its-ref"
"""Histories recorded before a case refused to open under a workflow id other than
`case-<case ref>` replay as they ran. Asked only of a case whose id is another, so that
only such a history records its marker."""
PLAIN_REFS_PATCH = "plain-references"
"""Histories recorded before a new case refused a case or tenant reference that is not a
plain one (`casemodel.requests.PLAIN_REFERENCE`) replay as they ran. Asked only of such a
start, so that only its history records the marker."""
NOT_OPENED_PATCH = "not-opened-status"
"""Histories recorded before a case that never opened set its `CaseStatus` to
`not_opened` replay as they ran (it stayed `open`). Asked only as such a run fails, so
only its history records the marker."""
HANDOVER_SUMMARY = "hand-over: until the register write and notices land"
HANDOVER_WAIT = timedelta(seconds=10)
"""How long a hand-over waits for the register write and notices in flight to land; what
has not landed by then is carried over and done again by the next run."""
T = TypeVar("T")


@workflow.defn(dynamic=True)
class SupportCaseWorkflow:
    @workflow.init
    def __init__(self, args: Sequence[RawValue]) -> None:
        self._current = workflow.patched(CURRENT_PATCH)  # first: before any other patch
        self._case: Case | None = None
        self._identities = False  # whether requests carry identities (the patch)
        self._refusal: CaseRuleError | None = None  # why the case did not open: run fails
        start: requests.StartCase | requests.ContinueCase | None = None
        try:
            if (kind := workflow.info().workflow_type) != WORKFLOW_TYPE:
                raise UnknownRequest(
                    f'This worker runs {WORKFLOW_TYPE}, not "{requests.excerpt(kind)}".'
                )
            lenient = not self._since(STRICT_PATCH)
            self._identities = self._since(IDENTITY_PATCH)
            self._case, start = Case.begin(
                _encoded(args),
                workflow.now(),
                lenient=lenient,
                weeks_to_opening=self._since(WEEKS_PATCH),
                caller=identities.at_start() if self._identities else None,
                continued=workflow.info().continued_run_id is not None,
                # A rule newer than the case's code (`casemodel.rules`) is asked of Temporal
                # only where it decides: on replay, a request it let through then.
                since=workflow.patched,
            )
            _check_id(self._case)
            _check_references(start)
        except CaseRuleError as refusal:
            self._case, start = None, None
            self._refusal = refusal
        # A continued run was started by today's code: it never replays an older one.
        self._carried = start if isinstance(start, requests.ContinueCase) else None
        self._budget = start.history_budget if start else requests.HISTORY_BUDGET
        retry = start.follow_on_retry if start else requests.FOLLOW_ON_RETRY
        self._follow_on = FollowOnStep(retry, self._budget)
        self._chained: bool | None = None  # whether this run takes part in a chain of cases
        self._changed = True
        self._keeps_time = self._long_lived = False
        self._shown: dict[str, Any] = {}
        # A continued run starts with what its last run left; a case on current code
        # with what its start set: neither writes those again.
        if self._carried is not None or self._current:
            left = workflow.info().typed_search_attributes
            self._shown = {p.key.name: p.value for p in left if p.key.name in sa.KEYS}
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None
        self._in_flight = InFlight(self._carried.recorded_seq if self._carried else 0)
        self._next_handover = self._budget
        self._handover_from: datetime | None = None

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> CaseSummary:
        refused_at_start = self._case is None
        try:
            return await self._run()
        except ApplicationError as failure:
            refused_write = failure.type in REFUSED_WRITES
            if refused_write:
                # The register holds another case under this reference, or refused the
                # owner: this run never was a case, so it answers a query as a start
                # refused does, rather than show its own tenant and tasks as that case's.
                self._case, self._refusal = None, CaseNotStarted(failure.message)
            if (refused_at_start or refused_write) and workflow.patched(NOT_OPENED_PATCH):
                # Its start said `open`: a search for open cases must not find it.
                workflow.upsert_search_attributes([sa.CASE_STATUS.value_set(sa.NOT_OPENED)])
            raise

    async def _run(self) -> CaseSummary:
        case = self._opened()
        keeps_register = self._patched(REGISTER_PATCH)
        self._keeps_time = self._patched(SLA_PATCH)
        # A database that is away must not stop the case keeping time: the register is
        # written behind, one write in flight at a time, each carrying all that changed.
        writes_behind = self._patched(REGISTER_BEHIND_PATCH)
        self._long_lived = self._patched(LONG_LIVED_PATCH)
        in_flight, follow_on = self._in_flight, self._follow_on
        in_flight.local_first = writes_behind and self._since(REGISTER_LOCAL_PATCH)
        in_flight.since = self._since
        for key in self._carried.unconfirmed if self._carried else ():
            if (unconfirmed := case.recorded(key)) is not None:
                in_flight.notify(case, unconfirmed)
        while True:
            await self._wait(
                case,
                lambda: (
                    self._changed or self._timer_done() or in_flight.written() or follow_on.ready()
                ),
            )
            self._changed = False
            if self._timer_done():
                self._timer, self._timer_at = None, None
            if in_flight.collect() and self._long_lived:
                case.tidy(in_flight.recorded_seq, keep=in_flight.notified())
            fired = case.tick(workflow.now()) if self._keeps_time else []
            if self._in_chain(case):  # before the register write, which then records it
                follow_on.step(case)
            self._show(case)
            for firing in fired:  # in the background: a mail server away holds nothing up
                in_flight.notify(case, firing)
            # What the paths of completions recorded (none in histories before paths, so
            # they replay unchanged).
            for communication in case.take_communications():
                in_flight.notify(case, communication)
            # The timer goes out with the same workflow task, before the register write.
            if self._keeps_time and case.state.status is CaseStatus.open:
                self._arm_timer(case)
            if keeps_register and writes_behind:
                in_flight.write(case)
            elif keeps_register:
                await in_flight.write_inline(case)
            # Requests may have arrived while the register was written: go round again.
            # An ended case goes on while its follow-on is not open yet.
            ended = case.state.status is not CaseStatus.open and not self._changed
            if ended and not self._opens_follow_on(case):
                break
            if self._long_lived and self._due_for_handover():
                await self._hand_over(case)
        if self._timer is not None:
            self._timer.cancel()
        await in_flight.drain(
            case,
            register=keeps_register and writes_behind,
            refuses=lambda: self._refuses_cancellation(case),
        )
        await self._wait(case, workflow.all_handlers_finished)
        return CaseSummary.of(case.state)

    # -- what callers send: each a line, read and judged by the case model ---------------

    @workflow.query(dynamic=True)
    def query(self, name: str, args: Sequence[RawValue]) -> Any:
        if name != STATE_QUERY:
            raise _refused(UnknownRequest(f'A case answers the "{STATE_QUERY}" query only.'))
        return self._opened().state

    @workflow.update(dynamic=True)
    def request(self, name: str, args: Sequence[RawValue]) -> RequestResult:
        lenient = not self._since(STRICT_PATCH)
        # The validator judged the same state, but a handler must still never fail the
        # workflow task: a refusal here fails only the update.
        caller = self._caller()
        result = _judged(
            lambda: self._opened().answer(
                name, _encoded(args), workflow.now(), lenient=lenient, caller=caller
            )
        )
        self._changed = True
        return result

    @request.validator
    def check_request(self, name: str, args: Sequence[RawValue]) -> None:
        caller = self._caller()
        _judged(lambda: self._opened().judge(name, _encoded(args), workflow.now(), caller=caller))

    @workflow.signal(dynamic=True)
    def signal(self, name: str, args: Sequence[RawValue]) -> None:
        if self._case is not None:  # a case that did not open has nothing to record it in
            lenient = not self._since(STRICT_PATCH)
            self._changed |= self._case.receive(
                name, _encoded(args), workflow.now(), lenient=lenient, caller=self._caller()
            )

    # -- shell -------------------------------------------------------------------------

    def _opened(self) -> Case:
        if self._case is None:
            raise _refused(self._refusal or CaseNotStarted("The case did not open."))
        return self._case

    def _caller(self) -> identities.Heard:
        """Who sent the update or signal being handled (the interceptor verified its
        header); None for a run from before identities, which takes `by` as sent."""
        return identities.heard() if self._identities else None

    def _patched(self, patch: str) -> bool:
        return self._carried is not None or self._since(patch)

    def _since(self, patch: str) -> bool:
        """Whether this case runs on code with `patch` (asked of Temporal only for a case
        started before `CURRENT_PATCH`)."""
        return self._current or workflow.patched(patch)

    def _in_chain(self, case: Case) -> bool:
        """Whether this run opens follow-on cases and shows `CaseChain`: a case opened from
        another, or one whose outcome opens one, on code that does (the patch is asked only
        then, so a history of a case in no chain never records it)."""
        if self._chained is None and case.case_chain is not None:
            self._chained = self._since(FOLLOW_ON_PATCH)
            if not self._chained:
                # The code that ran this case recorded the follow-on type and opened
                # nothing: its state says so, rather than a follow-on ever pending.
                case.state.follow_on = None
        return bool(self._chained)

    def _opens_follow_on(self, case: Case) -> bool:
        """The case has ended, but its follow-on is not open yet: the workflow goes on."""
        due = case.follow_on
        return due is not None and due.pending and self._in_chain(case)

    def _due_for_handover(self) -> bool:
        length = workflow.info().get_current_history_length()
        return length >= self._next_handover or workflow.info().is_continue_as_new_suggested()

    async def _hand_over(self, case: Case) -> None:
        """Continue as new, carrying the whole case: no accepted request is lost (handlers
        have already applied theirs to the state), no notice is sent twice, no request id
        is forgotten. The register write and notices in flight get a little while to land;
        what has not landed by then, the next run does again."""
        if self._handover_from is None:
            self._handover_from = workflow.now()
        left = HANDOVER_WAIT - (workflow.now() - self._handover_from)
        in_flight, follow_on = self._in_flight, self._follow_on

        def landed() -> bool:
            return in_flight.landed() and follow_on.landed()

        if not landed() and left > timedelta(0):
            with contextlib.suppress(TimeoutError):
                await self._wait(case, landed, timeout=left, timeout_summary=HANDOVER_SUMMARY)
        await self._wait(case, workflow.all_handlers_finished)
        in_flight.collect()
        if self._in_chain(case):
            follow_on.collect(case)  # an attempt that landed: its result goes with the case
        carried = case.carry(
            in_flight.recorded_seq,
            unconfirmed=in_flight.unconfirmed(),
            keep=in_flight.notified(),
            budget=self._budget,
            follow_on_retry=follow_on.first_retry,
        )
        if carried is None:  # too much to carry: go on, and try again a little later
            self._next_handover = workflow.info().get_current_history_length() + self._budget // 10
            self._handover_from = None
            return
        workflow.continue_as_new(carried)

    async def _wait(self, case: Case, condition: Callable[[], bool], **options: Any) -> None:
        """`workflow.wait_condition`, through a cancellation of the workflow: the case
        refuses it (`Case.refuse_cancellation`), records that it did, and goes on waiting.

        On a history recorded before cases refused cancellation (no marker of the
        `CANCEL_PATCH`, which is asked only when a cancellation arrives), the case ends as
        cancelled, as it did."""
        while True:
            try:
                await workflow.wait_condition(condition, **options)
                return
            except asyncio.CancelledError:
                if not self._refuses_cancellation(case):
                    raise

    def _refuses_cancellation(self, case: Case) -> bool:
        """A cancellation of the workflow has arrived: refuse it and record that, unless
        the history was recorded before cases refused one (then the case ends)."""
        if not workflow.patched(CANCEL_PATCH):
            return False
        case.refuse_cancellation(workflow.now())
        self._changed = True  # the register takes the refusal on the next turn
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the cancellation was taken: the next wait is a wait
        return True

    def _timer_done(self) -> bool:
        return self._timer is not None and self._timer.done()

    def _arm_timer(self, case: Case) -> None:
        """Sleep until the earliest thing due; keep the running timer if that has not moved."""
        due = case.next_due(workflow.now())
        at = due[0] if due else None
        if at == self._timer_at and self._timer is not None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, at
        if due is not None:
            delay = max(due[0] - workflow.now(), timedelta(milliseconds=1))
            self._timer = asyncio.create_task(workflow.sleep(delay, summary=f"until {due[1]}"))

    def _show(self, case: Case) -> None:
        values = views.search_values(
            case, workflow.now(), keeps_time=self._keeps_time, chained=bool(self._chained)
        )
        # History grows with what changes, not with every request: only what changed is
        # written (a continued run starts with the attributes its last run left).
        changed = [(name, v) for name, v in values if self._shown.get(name, _UNSET) != v]
        if changed:
            workflow.upsert_search_attributes([sa.KEYS[name].value_set(v) for name, v in changed])
            self._shown.update(changed)
        workflow.set_current_details(views.task_table(case, workflow.now()))


_UNSET = object()


def _check_id(case: Case) -> None:
    """A case is the workflow `case-<case ref>` and no other: the register, the CLI and
    the client find it by that id, and a second workflow that took an existing case's
    reference would write its tenant, tasks and log over that case's in the register."""
    ref = case.state.case_ref
    expected = workflow_id_for(ref)
    if workflow.info().workflow_id != expected and workflow.patched(CASE_ID_PATCH):
        raise InvalidRequest(
            f'Case {requests.excerpt(ref)} runs as the workflow "{requests.excerpt(expected)}", '
            f'not "{requests.excerpt(workflow.info().workflow_id)}": start cases with '
            "`support-provision case start` or the Python client."
        )


def _check_references(start: object) -> None:
    """A new case's references are plain (`requests.unplain_reference`): they are its name
    in Temporal's UI and search. A continued run or a follow-on case takes references a
    case already runs under, which may be from before the rule: neither is refused."""
    if not isinstance(start, requests.StartCase) or start.opened_from is not None:
        return
    problem = requests.unplain_reference(start)
    if problem is not None and workflow.patched(PLAIN_REFS_PATCH):
        raise InvalidRequest(problem)


def _encoded(args: Sequence[RawValue]) -> list[requests.Encoded]:
    """Each argument's encoding and bytes, as the case model reads them."""
    return [
        (a.payload.metadata.get("encoding", b"").decode("utf-8", "replace"), a.payload.data)
        for a in args
    ]


def _judged(rule: Callable[[], T]) -> T:
    """What `rule` returns; the refusal it raises becomes the caller's, never the task's."""
    try:
        return rule()
    except CaseRuleError as refusal:
        raise _refused(refusal) from None


def _refused(refusal: CaseRuleError) -> ApplicationError:
    """A refusal as the caller receives it: the rule's words, its code, never retried."""
    return ApplicationError(refusal.message, type=refusal.code, non_retryable=True)
