"""Telling a case's owner that Temporal ended the case's workflow while it was open.

A case ended outside the service stops keeping time: the escalations that would have
told someone its work is late never fire. The register's mark and the worker's warning
are there for whoever looks; the owner and their manager are told, so that somebody
does look, and starts a new case if the tenant still needs support.

The notice is an escalation notice like any other (`activities.notifications`): one row
per recipient in the outbox, keyed by the case and the mark's log position, mailed once
however often it is told. Each look tells the owners of every case marked within
`TELL_WITHIN` whose rows are not all settled, so a mail server or database that was
away, or a worker that died between marking a case and telling its owner, delays the
notice by a look, and never loses it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.contracts import EndedOutsideFacts, EscalationNotice, Recipients
from activities.database import definitions_store, register
from activities.database import notifications as outbox
from activities.notifications import NotificationActivities
from activities.templates import ENDED_OUTSIDE_TEMPLATE
from casemodel.state import ACTIVE

log = logging.getLogger("support_provision.ended_outside")

TELL_WITHIN = timedelta(days=7)
"""How long after a case was marked its owner is still told, if they were not yet."""
RULE = "ended-outside"
TRIGGER = "ended_outside"
SETTLED = frozenset({outbox.SENT, outbox.FAILED, outbox.RECORDED})
"""Rows nothing more is done with (a failed row says why, in `notifications list`)."""

Facts = Callable[[str], Awaitable[EndedOutsideFacts | None]]


def notice_key(case: register.CaseRow) -> str:
    """The notice's key: the case and the log position of its mark (a case reset and
    ended again is marked, and told, again)."""
    return f"{case.case_ref}:case:{RULE}:{case.last_seq}"


class OwnersTold:
    """Tells the owners of cases marked as ended outside, through `notices`; `facts`
    says how a case's workflow ended (`EndedOutside.facts`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        notices: NotificationActivities,
        facts: Facts,
        within: timedelta = TELL_WITHIN,
    ) -> None:
        self._sessions = sessions
        self._notices = notices
        self._facts = facts
        self._within = within

    async def tell(self, known: Mapping[str, EndedOutsideFacts]) -> None:
        """Tell the owner of each case marked within `TELL_WITHIN` whose notice is not
        settled; `known` holds how the cases just marked ended (the others are asked of
        Temporal again). A case that cannot be told now is logged in a line and told at
        a later look."""
        since = datetime.now(UTC) - self._within
        async with self._sessions() as session:
            marked = await register.ended_outside_since(session, since)
            untold = []
            for case in marked:
                rows = await outbox.for_notice(session, notice_key(case))
                if not rows or any(r.status not in SETTLED for r in rows):
                    untold.append(case)
        for case in untold:
            try:
                notice = await self._notice(case, known.get(case.case_ref))
                if notice is not None:
                    await self._notices.tell(notice)
            except Exception as error:  # noqa: BLE001 - the next look tells it again
                log.warning("case %s: telling its owner it ended outside: %s", case.case_ref, error)

    async def _notice(
        self, case: register.CaseRow, facts: EndedOutsideFacts | None
    ) -> EscalationNotice | None:
        facts = facts or await self._facts(case.workflow_id)
        if facts is None:  # reset since, and going on: its own run writes the register
            return None
        async with self._sessions() as session:
            tasks = await register.case_tasks(session, case.case_ref)
            type_name = case.type_id
            if case.type_version is not None:
                published = await definitions_store.version(
                    session, case.type_id, case.type_version
                )
                type_name = published.name if published is not None else type_name
        tasks.sort(key=lambda t: t.position)
        in_progress = [t.name for t in tasks if t.status in ACTIVE]
        return EscalationNotice(
            key=notice_key(case),
            case_ref=case.case_ref,
            workflow_id=case.workflow_id,
            tenant_ref=case.tenant_ref,
            provision_type=case.type_id,
            provision_type_name=type_name,
            case_owner=case.owner,
            case_status=case.status,
            priority=case.priority,
            rule=RULE,
            trigger=TRIGGER,
            occurrence=1,
            fired_at=facts.at,
            owner=case.owner,
            template=ENDED_OUTSIDE_TEMPLATE,
            recipients=Recipients(owner=True, owner_manager=True),
            ended=facts.model_copy(update={"open_tasks": in_progress}),
        )
