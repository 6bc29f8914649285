"""The activity that opens a follow-on case: the case a case's outcome makes due.

It reads the published version of the follow-on type in effect today (as `case start`
does), checks the owner against the directory, and starts the case's workflow through the
worker's client. It is safe to run any number of times for one parent: a workflow of the
follow-on's reference that is running or has finished, or a register row of it opened
from the same parent, counts as opened, and Temporal's id policies refuse a second start
of the same workflow id. What cannot succeed by trying again at once (a type that is not
published, an owner not in the directory, a reference taken by another case) fails
without Temporal retrying it: the case records the reason and tries again later (for a
reference taken, at once under the next reference of its series). A
workflow of the reference whose latest run failed with no register row never opened as a
case (a start its case refused, such as a forged follow-on made to hold the reference):
the follow-on is started over it, so that the real plan opens.

Register an instance's bound method on the worker:
``Worker(..., activities=[FollowOnActivities(sessions, cases).open_follow_on])``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.contracts import (
    FOLLOW_ON_REFERENCE_TAKEN,
    OPEN_FOLLOW_ON,
    FollowOnOpened,
    OpenFollowOn,
)
from activities.database import definitions_store, register
from activities.database.directory import owner_refusal
from casemodel.requests import StartCase, describe

NOT_PUBLISHED = "follow_on_not_published"
OWNER_REFUSED = "follow_on_owner_refused"
REFERENCE_TAKEN = FOLLOW_ON_REFERENCE_TAKEN
INVALID = "follow_on_invalid"


@dataclass(frozen=True)
class ExistingCase:
    """What holds a workflow id already: the case's type, tenant and chain, as its search
    attributes say."""

    type_id: str | None
    tenant_ref: str | None
    chain_ref: str | None
    served: bool = True
    """Whether it is a case workflow on the task queue the follow-on was asked for: a
    workflow of another type, or on a queue no case worker serves, is never a case."""
    failed: bool = False
    """Whether its latest run failed: a start the case refused (a forged follow-on, say)
    ends that way before the register holds anything of it."""


class CaseStarter(Protocol):
    """Starts a case's workflow as `starter.client.CaseClient` does."""

    async def start_once(
        self, start: StartCase, *, task_queue: str, over_failed: bool = False
    ) -> ExistingCase | None:
        """Start the case `start` describes on `task_queue`: None when this call started
        it; the case that holds its workflow id (running or finished) when one does.
        `over_failed`: a workflow id whose latest run failed is taken anew."""
        ...


class FollowOnActivities:
    """Opens follow-on cases, from the published definitions and directory of `sessions`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cases: CaseStarter) -> None:
        self._sessions = sessions
        self._cases = cases

    @activity.defn(name=OPEN_FOLLOW_ON)
    async def open_follow_on(self, request: OpenFollowOn) -> FollowOnOpened:
        """Open the follow-on case once; safe to retry (see the module docstring)."""
        async with self._sessions() as session:
            found = await definitions_store.in_effect(session, request.type_id)
            if found is None:
                raise _failure(
                    f'no published version of "{request.type_id}" is in effect today; publish '
                    "it (`support-provision definitions publish`) and the follow-on opens at "
                    "the next attempt",
                    NOT_PUBLISHED,
                )
            version, provision_type = found
            owner = provision_type.follow_on_owner or request.owner
            refusal = await owner_refusal(session, owner)
            if refusal is not None:
                raise _failure(f"the owner {refusal}", OWNER_REFUSED)
            recorded = await register.get_case(session, request.case_ref)
        if recorded is not None:
            if recorded.opened_from == request.parent_ref:
                return FollowOnOpened(
                    case_ref=request.case_ref,
                    owner=recorded.owner,
                    type_version=recorded.type_version,
                    existed=True,
                )
            raise _taken(request, f"a {recorded.type_id} case for tenant {recorded.tenant_ref}")
        try:
            start = StartCase(
                case_ref=request.case_ref,
                tenant_ref=request.tenant_ref,
                owner=owner,
                provision_type=provision_type,
                type_version=version,
                history_budget=request.history_budget,
                opened_from=request.parent_ref,
                chain_ref=request.chain_ref,
                follow_on_retry=request.follow_on_retry,
            )
        except ValidationError as error:
            raise _failure(describe(StartCase, error), INVALID) from None
        existing = await self._cases.start_once(start, task_queue=request.task_queue)
        if existing is not None and existing.failed:
            # A run that failed without a register row (there is none: read above) never
            # opened as a case: a start its case refused, such as a forged follow-on made
            # to hold this reference. The follow-on takes the workflow id after it.
            existing = await self._cases.start_once(
                start, task_queue=request.task_queue, over_failed=True
            )
        if existing is None:
            return FollowOnOpened(case_ref=request.case_ref, owner=owner, type_version=version)
        ours = (existing.type_id, existing.tenant_ref, existing.chain_ref) == (
            request.type_id,
            request.tenant_ref,
            request.chain_ref,
        )
        if not (ours and existing.served and not existing.failed):
            raise _taken(request, f"a {existing.type_id} case for tenant {existing.tenant_ref}")
        # An earlier attempt started it and did not live to say so.
        return FollowOnOpened(
            case_ref=request.case_ref, owner=owner, type_version=version, existed=True
        )


def _taken(request: OpenFollowOn, holder: str) -> ApplicationError:
    return _failure(
        f"the reference {request.case_ref} is taken by another case ({holder}), not opened "
        f"from {request.parent_ref}",
        REFERENCE_TAKEN,
    )


def _failure(message: str, code: str) -> ApplicationError:
    """A failure trying again at once cannot mend: the case records it and retries later.
    Benign: it is expected (a type not published yet), so the SDK logs no traceback; the
    case's log says what happened."""
    return ApplicationError(
        message, type=code, non_retryable=True, category=ApplicationErrorCategory.BENIGN
    )
