"""What the Temporal UI shows for a case: a one-line summary and a markdown task table.

Plain projections of the case state, so the workflow only hands them to Temporal.
"""

from __future__ import annotations

from datetime import datetime

from .case import Case
from .state import CaseState


def summary(state: CaseState) -> str:
    t = state.provision_type
    return f"{t.name} for tenant {state.tenant_ref} (case {state.case_ref})"


def task_table(case: Case, now: datetime) -> str:
    state = case.state
    clocks = {c.subject: c for c in case.clocks(now)}
    case_clock = clocks.get("case")
    sla = (
        f" · SLA **{case.sla_state(now).value}**"
        + (f", due {_when(case_clock.due_at)}" if case_clock and case_clock.running else "")
        if clocks
        else ""
    )
    lines = [
        f"**{state.provision_type.name}** · tenant `{state.tenant_ref}` · "
        f"owner `{state.owner}` · case **{state.status.value}** · priority {state.priority}" + sla,
        "",
        "| Task | Status | Owner | Due | SLA | Outcome |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for task in state.tasks:
        clock = clocks.get(task.key)
        due = _when(clock.due_at) if clock else ""
        lines.append(
            f"| {task.name} (`{task.key}`) | {task.status.value} | {task.owner} | {due} "
            f"| {clock.state.value if clock else ''} | {task.outcome or ''} |"
        )
    if state.firings:
        lines += ["", f"{len(state.firings)} escalation(s) fired; latest: {state.firings[-1].rule}"]
    if state.rejected:
        lines += ["", f"{len(state.rejected)} request(s) rejected; see the case log."]
    return "\n".join(lines)


def _when(instant: datetime) -> str:
    return instant.strftime("%d %b %H:%M UTC")
