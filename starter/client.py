"""The Python client other systems use to run support provision cases.

It hides Temporal's vocabulary: a refusal arrives as `CaseRefused` (or a subclass) whose
message is the case rule's own words and whose `code` a program can branch on.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode

from activities.database import worklist
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import display_url
from activities.database.register import ENDED_OUTSIDE
from activities.database.settings import (
    DatabaseMissing,
    UnsupportedDatabase,
    existing_database_url,
)
from activities.database.worklist import WorklistTask
from activities.follow_on import ExistingCase
from casemodel.errors import CaseNotStarted
from casemodel.requests import (
    FOLLOW_ON_RETRY,
    HISTORY_BUDGET,
    REPORT_TASK_COMPLETED,
    STARTER,
    UPDATES,
    CompleteTask,
    Request,
    RequestResult,
    StartCase,
    describe,
    unplain_reference,
)
from casemodel.state import CaseState, CaseStatus, CaseSummary
from casemodel.worklist import read_period
from definitions.durations import Duration, DurationError
from definitions.schema import ProvisionType
from protection.codec import data_converter
from workflows import search_attributes as sa
from workflows.names import STATE_QUERY, WORKFLOW_TYPE, workflow_id_for

from .cli_db import explain
from .connection import (
    CLOSED_AFTER_HANDSHAKE,
    NOT_TLS,
    SECURE_CALL_FAILED,
    SECURE_CONNECTION_FAILED,
    unreachable_reason,
)
from .ended_outside import ENDED
from .identities import IdentityHeaders, Signer
from .payload_keys import PayloadKeysUnavailable
from .settings import Settings
from .temporal_tls import TemporalConnectionError, connect_options

QUERY_TIMEOUT = timedelta(seconds=10)
UPDATE_TIMEOUT = timedelta(seconds=30)
TASK_FAILED_RETRIES = (0.05, 0.2, 0.5, 1.0, 2.0)
"""Pauses before sending a request again that Temporal dropped because the workflow task
that took it failed (see `_dropped_with_its_task`); within `UPDATE_TIMEOUT` in all."""


class CaseRefused(Exception):
    """A request the service refused; `message` says why and what to do."""

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class DuplicateCase(CaseRefused):
    def __init__(self, case_ref: str) -> None:
        super().__init__(
            f"A case with reference {case_ref} already exists; choose another reference "
            "or work on the existing case.",
            "duplicate_case",
        )


class CaseNotFound(CaseRefused):
    def __init__(self, case_ref: str) -> None:
        super().__init__(
            f"There is no case {case_ref}; check the reference (`support-provision case list`).",
            "case_not_found",
        )


class ServiceUnavailable(CaseRefused):
    """Temporal cannot be reached; the message names the cause, never the transport's text."""

    def __init__(self, address: str, cause: object, *, secured: bool = False) -> None:
        reason = unreachable_reason(cause, secured=secured)
        super().__init__(
            f"Cannot reach Temporal at {address} ({reason}); {_HINTS.get(reason, _START)}.",
            "service_unavailable",
        )


_START = "start it with `support-provision dev` or set TEMPORAL_ADDRESS"
_HINTS = {
    SECURE_CONNECTION_FAILED: (
        "check TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME and the client certificate"
    ),
    NOT_TLS: "check TEMPORAL_ADDRESS, or set TEMPORAL_TLS=false for a plain connection",
    CLOSED_AFTER_HANDSHAKE: (
        "it may want a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY) or "
        "refuse the one given"
    ),
    SECURE_CALL_FAILED: (
        "it may want a client certificate (TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY), refuse "
        "the one given, or not be a Temporal server"
    ),
}


NO_WORKER = "no_worker"
"""The code of a refusal because no worker answered for a case within the wait."""
START_VERDICT_WITHIN = timedelta(seconds=10)
"""How long `start_case` waits for a worker to open the case, or refuse it."""
VERDICT_POLL_FIRST = 0.02
VERDICT_POLL_LONGEST = 0.25
"""Seconds between reads of a new case's history while `start_case` waits: a worker
takes a case's first task within tens of milliseconds, so the first reads come soon."""
_FIRST_VERDICT = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    }
)


@dataclass(frozen=True)
class StartedCase:
    case_ref: str
    workflow_id: str
    run_id: str | None
    url: str
    opened: bool | None = None
    """Whether a worker opened the case within the wait (`start_case`'s `verdict_within`):
    False if none took it by then (it opens when one does); None if not waited for."""


@dataclass(frozen=True)
class CaseListing:
    case_ref: str
    workflow_id: str
    provision_type: str | None
    category: str | None
    owner: str | None
    tenant_ref: str | None
    status: str | None
    open_tasks: int | None
    workflow_status: str
    started_at: datetime | None
    case_chain: str | None = None


def with_key_ring(settings: Settings) -> Settings:
    """`settings` holding their payload key ring, read once; `CaseRefused` in one line
    (where keys are looked for, or which entry is wrong) when there is none to use."""
    try:
        ring = settings.key_ring()
    except PayloadKeysUnavailable as missing:
        raise CaseRefused(str(missing), missing.code) from None
    return replace(settings, payload_keys=ring)


def new_case_ref(provision_type: ProvisionType, now: datetime | None = None) -> str:
    """A readable, unique reference such as `TSA-20261124-7F3A9C`."""
    initials = "".join(word[0] for word in provision_type.id.split("-") if word).upper()
    day = (now or datetime.now(UTC)).strftime("%Y%m%d")
    return f"{initials}-{day}-{secrets.token_hex(3).upper()}"


class CaseClient:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        *,
        query_timeout: timedelta = QUERY_TIMEOUT,
        update_timeout: timedelta = UPDATE_TIMEOUT,
        identity: Signer | None = None,
    ) -> None:
        """`identity` signs every start, update and signal (`starter.identities`); without
        one, `client` must sign them itself (an `IdentityHeaders` interceptor of its own),
        or the worker refuses them."""
        self.client = client if identity is None else signing(client, identity)
        self.settings = settings
        self.query_timeout = query_timeout
        self.update_timeout = update_timeout

    @classmethod
    async def connect(
        cls,
        settings: Settings | None = None,
        *,
        quiet: bool = False,
        identity: Signer | None = None,
    ) -> CaseClient:
        """A client on `settings` (default: the environment's) that seals every payload
        with the settings' key ring (refused, in one line, when there is none), signing as
        `identity` (`starter.identities.signer_from_env` gives the configured one).

        `quiet` is for commands people run: the SDK's core then keeps its retry warnings
        to itself, and a service that went away is one line from us instead.
        """
        settings = with_key_ring(settings or Settings.from_env())
        try:
            secured = connect_options(settings)
        except TemporalConnectionError as problem:
            raise CaseRefused(str(problem), "temporal_tls_invalid") from None
        try:
            client = await Client.connect(
                settings.temporal_address,
                namespace=settings.namespace,
                data_converter=data_converter(settings.payload_keys),
                runtime=_quiet_runtime() if quiet else None,
                **secured,
            )
        except RuntimeError as err:  # the core SDK reports connection failures this way
            raise ServiceUnavailable(
                settings.temporal_address, err, secured=secured["tls"] is not False
            ) from None
        return cls(client, settings, identity=identity)

    # -- starting ----------------------------------------------------------------------

    async def start_case(
        self,
        provision_type: ProvisionType,
        *,
        tenant_ref: str,
        case_ref: str | None = None,
        owner: str | None = None,
        opened_by: str = STARTER,
        type_version: int | None = None,
        history_budget: int | None = None,
        verdict_within: timedelta | None = START_VERDICT_WITHIN,
    ) -> StartedCase:
        """Start a case and wait, up to `verdict_within`, for its verdict: the case checks
        its start itself (who may open it, its references), so a start it refuses fails
        its workflow. That is raised here as `CaseRefused` with the case's words and code,
        rather than reported as started; and the reference stays free, since a start
        after a refused one takes its workflow id (`_start_after_refused`). The owner
        (`owner`, else the type's `default_owner`) must be an active person, team or role
        of the directory: the case's first register write refuses any other
        (`OWNER_REFUSED`), and the case does not open."""
        case_ref = (case_ref or new_case_ref(provision_type)).strip()
        owner = owner or provision_type.default_owner
        if not owner:
            raise CaseRefused(
                f"A case of {provision_type.id} needs an owner: name one (a person, team or "
                "role of the directory), or give the type a default_owner.",
                "invalid_request",
            )
        try:
            start = StartCase(
                case_ref=case_ref,
                tenant_ref=tenant_ref.strip(),
                owner=owner,
                provision_type=provision_type,
                type_version=type_version,
                opened_by=opened_by,
                history_budget=history_budget or self.settings.history_budget or HISTORY_BUDGET,
                follow_on_retry=self.settings.follow_on_retry or FOLLOW_ON_RETRY,
            )
        except ValidationError as error:
            raise CaseRefused(describe(StartCase, error), "invalid_request") from None
        if (problem := unplain_reference(start)) is not None:
            raise CaseRefused(problem, "invalid_request")
        try:
            try:
                handle = await self._start(start, task_queue=self.settings.task_queue)
            except WorkflowAlreadyStartedError:
                handle = await self._start_after_refused(start)
            opened = await self._verdict(handle, case_ref, verdict_within)
        except RPCError as err:
            raise _rpc_refusal(err, case_ref) from None
        workflow_id = workflow_id_for(case_ref)
        return StartedCase(
            case_ref=case_ref,
            workflow_id=workflow_id,
            run_id=handle.result_run_id,
            url=self.settings.case_url(workflow_id),
            opened=opened,
        )

    async def _start_after_refused(self, start: StartCase) -> WorkflowHandle[Any, Any]:
        """Start `start` under a workflow id whose latest run failed: a start its case
        refused, which holds no case (a refused reuse of a closed case's id is refused again,
        by the register). Any other run that holds the id is a case: `DuplicateCase`."""
        described = await self._handle(start.case_ref).describe()
        if described.status is not WorkflowExecutionStatus.FAILED:
            raise DuplicateCase(start.case_ref)
        try:
            return await self._start(start, task_queue=self.settings.task_queue, over_failed=True)
        except WorkflowAlreadyStartedError:
            raise DuplicateCase(start.case_ref) from None

    async def _verdict(
        self, handle: WorkflowHandle[Any, Any], case_ref: str, within: timedelta | None
    ) -> bool | None:
        """Whether the case opened: True once a worker completed its first workflow task
        with the case open, False if none did within `within`; `CaseRefused` if the case
        refused its start (its workflow failed in that first task, atomically with it)."""
        if within is None:
            return None

        async def first_task() -> None:
            # Read, not long-polled: the time-skipping test server answers a long poll only
            # with events newer than the ones there, so a task completed before the poll
            # went would never be seen. A new case's history is a handful of events.
            pause = VERDICT_POLL_FIRST
            while True:
                async for event in handle.fetch_history_events():
                    if event.event_type in _FIRST_VERDICT:
                        return
                await asyncio.sleep(pause)
                pause = min(pause * 2, VERDICT_POLL_LONGEST)

        try:
            await asyncio.wait_for(first_task(), within.total_seconds())
        except TimeoutError:
            return False
        if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
            return True
        raise await self._start_refusal(handle, case_ref)

    async def _start_refusal(self, handle: WorkflowHandle[Any, Any], case_ref: str) -> CaseRefused:
        cause = await self._failure(handle)
        if isinstance(cause, ApplicationError):
            message = f"Case {case_ref} did not open: {cause.message}"
            return CaseRefused(message, cause.type or "refused")
        why = f": {cause}" if cause is not None else "."
        return CaseRefused(f"Case {case_ref} did not open{why}", CaseNotStarted.code)

    async def _failure(self, handle: WorkflowHandle[Any, Any]) -> BaseException | None:
        """Why the run of `handle` failed, as its result says; None if that is not to be
        had (the run did not fail, or Temporal did not answer in time)."""
        try:
            await asyncio.wait_for(handle.result(), self.query_timeout.total_seconds())
        except WorkflowFailureError as failed:
            return failed.cause
        except (RPCError, TimeoutError):
            pass  # what it says is not to be had
        return None

    async def start_once(
        self, start: StartCase, *, task_queue: str, over_failed: bool = False
    ) -> ExistingCase | None:
        """Start the case `start` describes, as `start_case` does, on `task_queue`: None when
        this call started it; else the case that holds its workflow id, running or finished
        (what the follow-on activity, `activities.follow_on`, needs to count it opened).
        `over_failed`: a workflow id whose latest run failed is started anew."""
        try:
            await self._start(start, task_queue=task_queue, over_failed=over_failed)
            return None
        except WorkflowAlreadyStartedError:
            pass
        description = await self._handle(start.case_ref).describe()
        attributes = description.typed_search_attributes
        return ExistingCase(
            type_id=attributes.get(sa.PROVISION_TYPE),
            tenant_ref=attributes.get(sa.TENANT),
            chain_ref=attributes.get(sa.CASE_CHAIN),
            served=(description.workflow_type, description.task_queue)
            == (WORKFLOW_TYPE, task_queue),
            failed=description.status is WorkflowExecutionStatus.FAILED,
        )

    async def _start(
        self, start: StartCase, *, task_queue: str, over_failed: bool = False
    ) -> WorkflowHandle[Any, Any]:
        """Start the workflow of a case; never a second one of its reference (a case that
        is running or has finished refuses it: `WorkflowAlreadyStartedError`), but with
        `over_failed` after a run that failed."""
        provision_type = start.provision_type
        pairs = [
            SearchAttributePair(sa.PROVISION_TYPE, provision_type.id),
            SearchAttributePair(sa.CATEGORY, provision_type.category.value),
            SearchAttributePair(sa.OWNER, start.owner),
            SearchAttributePair(sa.TENANT, start.tenant_ref),
            SearchAttributePair(sa.CASE_STATUS, "open"),
        ]
        if start.opened_from is not None:
            pairs.append(SearchAttributePair(sa.CASE_CHAIN, start.chain_ref or start.opened_from))
        opened_from = f" (opened from {start.opened_from})" if start.opened_from else ""
        return await self.client.start_workflow(
            WORKFLOW_TYPE,
            start,
            id=workflow_id_for(start.case_ref),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
            if over_failed
            else WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(pairs),
            static_summary=f"{provision_type.name} for tenant {start.tenant_ref}{opened_from}",
            static_details=summary_details(start),
        )

    # -- requests ----------------------------------------------------------------------

    async def send(self, case_ref: str, request: Request) -> RequestResult:
        """Ask a case to take `request` and wait for its verdict.

        Raises `CaseRefused` with the rule's words and code if the case refuses it; the
        case is then unchanged.
        """
        if request.kind not in UPDATES:
            raise CaseRefused(f"{request.kind} is not a request a case takes.", "unknown_request")
        try:
            result: RequestResult = await asyncio.wait_for(
                self._update(case_ref, request), self.update_timeout.total_seconds()
            )
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            raise CaseRefused(
                f"No worker answered the request for case {case_ref} within "
                f"{self.update_timeout.seconds} s, so it may or may not be applied when one starts "
                "(`support-provision worker` or `support-provision dev`); check with "
                "`case show` before asking again.",
                NO_WORKER,
            ) from None
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise CaseRefused(cause.message, cause.type or "refused") from None
            raise CaseRefused(f"The case refused the request: {cause}") from None
        except RPCError as err:
            raise _rpc_refusal(err, case_ref) from None
        return result

    async def _update(self, case_ref: str, request: Request) -> RequestResult:
        """Send `request` as an update, again (under the same update id) while Temporal
        drops it with the workflow task that took it.

        A workflow task fails, and Temporal drops the updates it took, when an event
        arrives while the task that finishes the workflow (or continues it as new) runs:
        another system's signal comes while the case's last request is answered, or during
        a hand-over. Nothing of the dropped task is kept, so the request was not applied:
        sending it again is safe, and under the same id Temporal would answer with the
        first outcome had it been applied after all."""
        handle = self._handle(case_ref)
        update_id = f"{request.kind}-{secrets.token_hex(8)}"

        async def once() -> RequestResult:
            return await handle.execute_update(
                request.kind, request, id=update_id, result_type=RequestResult
            )

        for pause in TASK_FAILED_RETRIES:
            try:
                return await once()
            except RPCError as err:
                if not _dropped_with_its_task(err):
                    raise
            await asyncio.sleep(pause)
        return await once()

    async def report(self, case_ref: str, request: CompleteTask) -> None:
        """Tell a case a task was done, without waiting: the fire-and-forget signal.

        Give a `request_id`: sending the same one again is harmless. A completion the
        case refuses is kept in its state as rejected, with the reason.
        """
        try:
            await self._handle(case_ref).signal(REPORT_TASK_COMPLETED, request)
        except RPCError as err:
            raise _rpc_refusal(err, case_ref) from None

    # -- reading -----------------------------------------------------------------------

    async def state(self, case_ref: str) -> CaseState:
        """The whole case state; a worker answers it, so one must be running."""
        try:
            return await self._handle(case_ref).query(
                STATE_QUERY, result_type=CaseState, rpc_timeout=self.query_timeout
            )
        except WorkflowQueryFailedError:
            # The workflow holds no case: its start was refused, and it failed saying why
            # (its failure's words are sealed in the query's answer; its result says them).
            # A start refused because the reference is a closed case's leaves that case
            # in an earlier run of the same workflow id: that run is the case.
            earlier = await self._earlier_run(case_ref)
            if earlier is not None:
                return earlier
            raise await self._not_opened(case_ref) from None
        except RPCError as err:
            # A query no worker took times out; one sent after the last poller left a while
            # ago is refused at once ("no poller seen"): no worker either way.
            said = err.message.lower()
            if (
                err.status is RPCStatusCode.DEADLINE_EXCEEDED
                or "timeout" in said
                or "no poller seen" in said
            ):
                raise CaseRefused(
                    f"No worker answered for case {case_ref} within "
                    f"{self.query_timeout.seconds} s; start one (`support-provision worker` or "
                    "`support-provision dev`). `case list` reads the case register without one.",
                    NO_WORKER,
                ) from None
            raise _rpc_refusal(err, case_ref) from None

    async def _earlier_run(self, case_ref: str) -> CaseState | None:
        """The state of the latest earlier run of the case's workflow id that holds a case
        (one that did not fail and did not continue as new), if any."""
        workflow_id = workflow_id_for(case_ref)
        try:
            run = await self._holding_run(workflow_id)
            if run is None:
                return None
            handle = self.client.get_workflow_handle(workflow_id, run_id=run.run_id)
            return await handle.query(
                STATE_QUERY, result_type=CaseState, rpc_timeout=self.query_timeout
            )
        except (RPCError, WorkflowQueryFailedError):
            return None

    async def _not_opened(self, case_ref: str) -> CaseRefused:
        cause = await self._failure(self._handle(case_ref))
        why = f": {cause}" if cause is not None else ""  # that it did not open still holds
        return CaseRefused(
            f"Case {case_ref} did not open, so it has nothing to show{why}", CaseNotStarted.code
        )

    async def result(self, case_ref: str) -> CaseSummary:
        try:
            return await self._handle(case_ref).result()
        except WorkflowFailureError as err:
            raise CaseRefused(f"Case {case_ref} failed: {err.cause}", "case_failed") from None
        except RPCError as err:
            raise _rpc_refusal(err, case_ref) from None

    async def list_cases(
        self,
        *,
        provision_type: str | None = None,
        owner: str | None = None,
        tenant_ref: str | None = None,
        status: str | None = None,
        chain: str | None = None,
        limit: int = 100,
    ) -> list[CaseListing]:
        """Cases from Temporal's visibility store; `chain` finds every case of a chain of
        follow-on cases by its first case's reference (`CaseChain`).

        One line per case: its latest run. Temporal lists every run of a workflow, so a
        case reset (whose earlier run was terminated) or continued as new would otherwise
        appear once per run; runs that continued as new are left out by the query, and of
        the rest only the latest of each case is kept (Temporal lists newest first). A
        latest run that failed is a start refused (the reference reused through Temporal
        directly, say): the case is the earlier run that holds it, where there is one. A
        case whose workflow ended while open (terminated, say) shows `ended_outside`, as
        the register does, not the `open` its search attributes were left at. A run whose
        case never opened (`CaseStatus` `not_opened`) is no case, and is left out."""
        clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'", "ExecutionStatus != 'ContinuedAsNew'"]
        for key, value in (
            (sa.PROVISION_TYPE, provision_type),
            (sa.OWNER, owner),
            (sa.TENANT, tenant_ref),
            (sa.CASE_STATUS, status),
            (sa.CASE_CHAIN, chain),
        ):
            if value is not None:
                clauses.append(f"{key.name} = {_quote(value)}")
        listings: list[CaseListing] = []
        seen: set[str] = set()
        try:
            async for execution in self.client.list_workflows(" AND ".join(clauses)):
                if execution.id in seen:
                    continue  # an earlier run of a case already listed
                if len(listings) >= limit:
                    break
                seen.add(execution.id)
                if execution.status is WorkflowExecutionStatus.FAILED:
                    execution = await self._holding_run(execution.id) or execution
                if execution.typed_search_attributes.get(sa.CASE_STATUS) == sa.NOT_OPENED:
                    continue  # a start refused, with no case before it: never a case
                listings.append(_listing(execution))
        except RPCError as err:
            if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise _rpc_refusal(err, "") from None
            raise CaseRefused(
                f"Temporal could not list cases ({err.status.name.lower()}); check the filters, "
                "or list them from the case register without --temporal.",
                "list_failed",
            ) from None
        return listings

    # -- internals ---------------------------------------------------------------------

    async def _holding_run(self, workflow_id: str) -> WorkflowExecution | None:
        """The latest run of `workflow_id` that holds a case: one that neither failed nor
        continued as new."""
        query = (
            f"WorkflowId = {_quote(workflow_id)} AND ExecutionStatus != 'Failed' "
            "AND ExecutionStatus != 'ContinuedAsNew'"
        )
        async for run in self.client.list_workflows(query, limit=1):
            return run
        return None

    def _handle(self, case_ref: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id_for(case_ref), result_type=CaseSummary)


class RegisterUnavailable(CaseRefused):
    """The case register cannot be read; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "register_unavailable")


class CaseRegister:
    """The case register, read without Temporal: a housing officer's worklist.

    ``async with CaseRegister.connect() as register: await register.tasks(owner=...)``.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], url: str = "") -> None:
        self._sessions = sessions
        self._url = url

    @classmethod
    @asynccontextmanager
    async def connect(cls, url: str | None = None) -> AsyncIterator[CaseRegister]:
        """The register at `url` (default: ``$DATABASE_URL``, else the embedded SQLite
        database); a SQLite file that is not there is refused, never created."""
        try:
            url = existing_database_url(url)
        except (UnsupportedDatabase, DatabaseMissing) as error:
            raise RegisterUnavailable(str(error)) from None
        engine = create_engine(url)
        try:
            yield cls(session_factory(engine), url)
        finally:
            await engine.dispose()

    async def tasks(
        self,
        *,
        owner: str | None = None,
        team: str | None = None,
        late: bool = False,
        due_within: str | Duration | None = None,
        now: datetime | None = None,
        limit: int = worklist.LIMIT,
    ) -> list[WorklistTask]:
        """The open and blocked tasks of open cases, earliest due point first (those
        without one after, by when they opened or open), with each one's SLA state now.

        ``owner``: owned by that person, team or role. ``team``: owned by the team, a role
        of the team or a person of the team. ``late``: past their target. ``due_within``:
        due within that period, in each case's calendar (``5 days``, ``2 working days``,
        or in short ``5d``, ``2wd``; late ones too). Raises `CaseRefused` for a filter that
        cannot be read or a team the directory lacks, `RegisterUnavailable` when the
        database cannot be read.
        """
        try:
            period = read_period(due_within) if isinstance(due_within, str) else due_within
        except DurationError as error:
            raise CaseRefused(str(error), "invalid_request") from None
        try:
            async with self._sessions() as session:
                return await worklist.worklist(
                    session,
                    now=now or datetime.now(UTC),
                    owner=owner,
                    team=team,
                    late=late,
                    due_within=period,
                    limit=limit,
                )
        except worklist.UnknownTeam as unknown:
            raise CaseRefused(str(unknown), "unknown_team") from None
        except (SQLAlchemyError, OSError) as error:
            where = display_url(self._url) if self._url else "the database"
            raise RegisterUnavailable(
                f"could not read the worklist in the database at {where}: {explain(error)}"
            ) from None


def signing(client: Client, signer: Signer) -> Client:
    """`client`, on the same connection, signing every start, update and signal."""
    config = client.config()
    config["interceptors"] = [*config["interceptors"], IdentityHeaders(signer)]
    return Client(**config)


@functools.cache
def _quiet_runtime() -> Runtime:
    errors_only = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=errors_only)))


def summary_details(start: StartCase) -> str:
    t = start.provision_type
    signposts = ", ".join(t.partner_agencies) or "none"
    return (
        f"**{t.name}** ({t.category.value}, {t.audience.value})\n\n"
        f"Tenant `{start.tenant_ref}` · owner `{start.owner}` · case `{start.case_ref}`\n\n"
        + (f"Opened from `{start.opened_from}`\n\n" if start.opened_from else "")
        + f"Partner agencies: {signposts}"
    )


def _dropped_with_its_task(err: RPCError) -> bool:
    """Temporal dropped the update because the workflow task that took it failed (server
    1.32: FAILED_PRECONDITION, "... due to unexpected workflow task failure.")."""
    return err.status is RPCStatusCode.FAILED_PRECONDITION and "workflow task failure" in (
        err.message
    )


def _rpc_refusal(err: RPCError, case_ref: str) -> CaseRefused:
    if err.status == RPCStatusCode.NOT_FOUND:
        if "completed" in err.message.lower():
            return CaseRefused(
                f"Case {case_ref} has finished and takes no more changes.", "case_not_open"
            )
        return CaseNotFound(case_ref)
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return CaseRefused(
            f"Temporal stopped answering ({unreachable_reason(err.message)}); check that it "
            "is running (`support-provision dev`) or set TEMPORAL_ADDRESS.",
            "service_unavailable",
        )
    return CaseRefused(f"Temporal refused the request: {err.message}", "rpc_error")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _listing(execution: WorkflowExecution) -> CaseListing:
    attributes = execution.typed_search_attributes
    status = attributes.get(sa.CASE_STATUS)
    if status == CaseStatus.open.value and execution.status in ENDED:  # as the register has it
        status = ENDED_OUTSIDE
    return CaseListing(
        case_ref=execution.id.removeprefix("case-"),
        workflow_id=execution.id,
        provision_type=attributes.get(sa.PROVISION_TYPE),
        category=attributes.get(sa.CATEGORY),
        owner=attributes.get(sa.OWNER),
        tenant_ref=attributes.get(sa.TENANT),
        status=status,
        open_tasks=attributes.get(sa.OPEN_TASKS),
        workflow_status=_execution_status(execution.status),
        started_at=execution.start_time,
        case_chain=attributes.get(sa.CASE_CHAIN),
    )


def _execution_status(status: WorkflowExecutionStatus | None) -> str:
    return status.name.lower() if status else "unknown"


__all__ = [
    "CaseClient",
    "CaseListing",
    "CaseNotFound",
    "CaseRefused",
    "CaseRegister",
    "DuplicateCase",
    "RegisterUnavailable",
    "ServiceUnavailable",
    "StartedCase",
    "WorklistTask",
    "new_case_ref",
    "with_key_ring",
]
