"""Cases whose workflow Temporal ended while they were open, found and marked in the register.

Someone with namespace rights can end a case's workflow without any code of the case
running: the Temporal UI's Terminate button, `temporal workflow terminate`, a batch job,
or (before cases refused it) a cancellation. The case then stops keeping time: no
escalation fires again, and nobody is told. Yet the register still held it open, its
tasks due in the worklist, and `case show` (which asks the workflow, replayed) said
"open" too.

So each worker looks, now and then, in Temporal's visibility for cases whose workflow has
ended while their `CaseStatus` search attribute still says `open` (a case that ends by its
own rules sets it first), and marks each in the register as `ended_outside`, with a log
entry saying how it ended, by whom and why, as Temporal recorded it; logs a warning; and
mails the case's owner and their manager (`starter.ended_outside_notice`), once.
The worklist then leaves its tasks out, and `case list --status ended_outside` finds it.
A workflow reset ends the old run the same way but goes on in a new one: the case's
latest run decides, so a case that runs on is left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistoryEventFilterType

from activities.contracts import EndedOutsideFacts
from activities.database import register
from activities.notifications import NotificationActivities
from workflows import search_attributes as sa
from workflows.names import WORKFLOW_TYPE, workflow_id_for

from .ended_outside_notice import OwnersTold

log = logging.getLogger("support_provision.ended_outside")

LOOK_EVERY = timedelta(minutes=1)
"""How often a worker looks: a case ended outside is in the register within about this."""
FIRST_LOOK = timedelta(seconds=5)
"""The first look, soon after the worker starts: cases ended while no worker ran."""
LOOK_AT_MOST = 1000
"""Ended workflows one look reads at most, the latest closed first."""
OVERLAP = timedelta(minutes=10)
"""How far back past its last look a look reads: visibility may show a workflow's end a
little after it happened (seconds on Elasticsearch), so each look reads again what
ended shortly before the last began. The first look of a worker reads all."""
QUERY = (
    f"WorkflowType = '{WORKFLOW_TYPE}' AND {sa.CASE_STATUS.name} = 'open' AND "
    "ExecutionStatus IN ('Terminated', 'Canceled', 'Failed', 'TimedOut')"
)
ENDED = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
}


class EndedOutside:
    """Looks for cases ended outside the service, marks them in the register and, with
    `notices`, tells their owners."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        notices: NotificationActivities | None = None,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self.looks = 0
        """Looks taken (for tests)."""
        self._looked_at: datetime | None = None
        self._owners = OwnersTold(sessions, notices, self.facts) if notices else None

    async def watch(self, every: timedelta = LOOK_EVERY, first: timedelta = FIRST_LOOK) -> None:
        """Look every `every`, until cancelled; a look that fails (Temporal or the
        database away) is logged in a line and tried again at the next."""
        await asyncio.sleep(first.total_seconds())
        while True:
            try:
                await self.look()
            except Exception as error:  # noqa: BLE001 - the next look tries again
                log.warning("looking for cases ended outside the service: %s", error)
            await asyncio.sleep(every.total_seconds())

    async def look(self) -> list[str]:
        """Mark every case ended outside the service that the register holds open (after
        this worker's first look, those that ended since its last), then tell the owners
        of those marked lately who have not been told yet (a mail server or database
        that was away when a case was marked: the next look tells them); the
        references of those marked by this look."""
        began = datetime.now(UTC)
        query = QUERY
        if self._looked_at is not None:
            since = (self._looked_at - OVERLAP).isoformat().replace("+00:00", "Z")
            query += f" AND CloseTime > '{since}'"
        ended: dict[str, str] = {}  # case ref by workflow id (a reset ends one run or more)
        async for found in self._client.list_workflows(query, limit=LOOK_AT_MOST):
            if ref := _case_ref(found.id):
                ended[found.id] = ref
        async with self._sessions() as session:
            held_open = await register.cases_held_open(session, list(ended.values()))
        marked: dict[str, EndedOutsideFacts] = {}
        for workflow_id, case_ref in ended.items():
            if case_ref in held_open and (facts := await self._mark(workflow_id, case_ref)):
                marked[case_ref] = facts
        self._looked_at = began
        if self._owners is not None:
            await self._owners.tell(known=marked)
        self.looks += 1
        return list(marked)

    async def facts(self, workflow_id: str) -> EndedOutsideFacts | None:
        """How the case's latest run ended, by whom and why, as Temporal recorded it;
        None if it goes on (a reset) or completed as it should."""
        latest = await self._client.get_workflow_handle(workflow_id).describe()
        how = ENDED.get(latest.status) if latest.status is not None else None
        if how is None:
            return None
        by, reason = await self._who_and_why(workflow_id, latest.run_id)
        at = latest.close_time or datetime.now(UTC)
        return EndedOutsideFacts(how=how, by=by, reason=reason, at=at)

    async def _mark(self, workflow_id: str, case_ref: str) -> EndedOutsideFacts | None:
        """How the case ended, if this marked it."""
        facts = await self.facts(workflow_id)
        if facts is None:
            return None
        detail = (
            f"The case's workflow was {facts.how} in Temporal"
            + (f" by {facts.by}" if facts.by else "")
            + (f": {facts.reason}" if facts.reason else "")
            + ". The case no longer keeps time and sends no escalation; its tasks are left "
            "as they were. Start a new case if the tenant still needs support."
        )
        async with self._sessions.begin() as session:
            done = await register.mark_ended_outside(
                session,
                case_ref,
                at=facts.at,
                by=facts.by or "temporal",
                detail=detail,
                marked_at=datetime.now(UTC),
            )
        if not done:
            return None
        log.warning("case %s: %s", case_ref, detail)
        return facts

    async def _who_and_why(self, workflow_id: str, run_id: str | None) -> tuple[str, str]:
        """Who ended the run and why, as its closing event in Temporal says."""
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        with contextlib.suppress(Exception):
            async for event in handle.fetch_history_events(
                event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
            ):
                if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
                    return "", ""  # a cancellation or failure says neither
                terminated = event.workflow_execution_terminated_event_attributes
                return terminated.identity, terminated.reason
        return "", ""


def _case_ref(workflow_id: str) -> str | None:
    """The case a workflow id names (`workflows.names.workflow_id_for`), if any."""
    prefix = workflow_id_for("")
    return workflow_id.removeprefix(prefix) if workflow_id.startswith(prefix) else None
