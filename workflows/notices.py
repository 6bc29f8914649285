"""Turn a firing recorded by the case into the notice the notification activity sends."""

from __future__ import annotations

from datetime import datetime

from activities.contracts import EscalationNotice, Recipients, SlaFigures
from casemodel.case import Case
from casemodel.escalation import Firing, action_at


def notice_for(case: Case, firing: Firing, workflow_id: str, now: datetime) -> EscalationNotice:
    state = case.state
    task = next((t for t in state.tasks if t.key == firing.subject), None)
    rules = case.type.escalations if task is None else case.definition(task).escalations
    action = action_at(rules, firing.rule)
    notify = action.notify if action is not None else None
    clock = next((c for c in case.clocks(now) if c.subject == firing.subject), None)
    return EscalationNotice(
        key=firing.key,
        case_ref=state.case_ref,
        workflow_id=workflow_id,
        tenant_ref=state.tenant_ref,
        provision_type=case.type.id,
        provision_type_name=case.type.name,
        case_owner=state.owner,
        case_status=state.status.value,
        priority=state.priority,
        rule=firing.rule,
        trigger=firing.trigger,
        occurrence=firing.occurrence,
        fired_at=firing.fired_at,
        task_key=task.key if task else None,
        task_name=task.name if task else None,
        owner=task.owner if task else state.owner,
        sla=SlaFigures(
            clock=clock.subject,
            calendar=clock.calendar,
            target=str(clock.target),
            warning=str(clock.warning) if clock.warning else None,
            started_at=clock.started_at,
            warning_at=clock.warning_at,
            due_at=clock.due_at,
            state=clock.state.value,
        )
        if clock
        else None,
        template=firing.template,
        recipients=Recipients(
            owner=notify.owner,
            owner_manager=notify.owner_manager,
            groups=list(notify.groups),
            addresses=list(notify.addresses),
        )
        if notify
        else Recipients(owner=True),
    )
