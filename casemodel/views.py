"""What the Temporal UI shows for a case: a one-line summary and a markdown task table.

Plain projections of the case state, so the workflow only hands them to Temporal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .case import Case
from .state import CaseState, TaskStatus


def search_values(
    case: Case, now: datetime, *, keeps_time: bool, chained: bool = False
) -> tuple[tuple[str, Any], ...]:
    """What the case's search attributes hold, by name, in the order they were always
    written (cases that opened before SLA clocks have no SLA state or priority; only a
    case of a chain of follow-on cases, on code that keeps chains, has `CaseChain`)."""
    state = case.state
    values: tuple[tuple[str, Any], ...] = (
        ("ProvisionType", case.type.id),
        ("ProvisionCategory", case.type.category.value),
        ("CaseOwner", state.owner),
        ("TenantRef", state.tenant_ref),
        ("CaseStatus", state.status.value),
        ("OpenTaskCount", sum(1 for t in case.in_progress() if t.status is TaskStatus.open)),
    )
    if keeps_time:
        values += (("SlaState", case.sla_state(now).value), ("CasePriority", state.priority))
    chain = case.case_chain
    if chained and chain is not None:
        values += (("CaseChain", chain),)
    return values


def summary(state: CaseState) -> str:
    t = state.provision_type
    return f"{t.name} for tenant {state.tenant_ref} (case {state.case_ref})"


RESOLVED_SHOWN = 10
"""Resolved tasks the table shows under those in progress: the latest."""


def task_table(case: Case, now: datetime) -> str:
    """The case at a glance: what is in progress and what was done last.

    It is shown on every workflow task, so it grows with what is in progress, not with
    the case's age: older tasks are counted, and listed by `case show`.
    """
    state = case.state
    in_progress = case.in_progress()
    # The latest resolved are among the last tasks of the plan, however long it is.
    tail = state.tasks[-(RESOLVED_SHOWN + len(in_progress)) :]
    resolved = [t for t in tail if not t.active][-RESOLVED_SHOWN:]
    shown = in_progress + resolved
    shown.sort(key=lambda t: t.position or 0)
    case_clock = case.clock_of("case", now)
    timed = case_clock is not None or any(case.definition(t).sla for t in shown)
    sla = (
        f" · SLA **{case.sla_state(now).value}**"
        + (f", due {_when(case_clock.due_at)}" if case_clock and case_clock.running else "")
        if timed
        else ""
    )
    lines = [
        f"**{state.provision_type.name}** · tenant `{state.tenant_ref}` · "
        f"owner `{state.owner}` · case **{state.status.value}** · priority {state.priority}" + sla,
        "",
        "| Task | Status | Owner | Due | SLA | Outcome |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for task in shown:
        clock = case.clock_of(task.key, now)
        due = _when(clock.due_at) if clock else ""
        lines.append(
            f"| {task.name} (`{task.key}`) | {task.status.value} | {task.owner} | {due} "
            f"| {clock.state.value if clock else ''} | {task.outcome or ''} |"
        )
    held = len(state.tasks) - len(in_progress) - len(resolved)
    earlier = held + sum(e.instances for e in state.earlier.values())
    if earlier > 0:
        lines += [
            "",
            f"{earlier} earlier task(s) resolved; `support-provision case show` lists them.",
        ]
    if state.firings:
        latest = state.firings[-1]
        lines += [
            "",
            f"Latest escalation: {latest.rule} of {latest.subject}, #{latest.occurrence}.",
        ]
    if state.rejected_total:
        lines += ["", f"{state.rejected_total} request(s) rejected; see the case log."]
    lines += follow_on_lines(state)
    return "\n".join(lines)


def follow_on_lines(state: CaseState) -> list[str]:
    """The links of a chain of cases, as `case show` and the UI show them."""
    lines = []
    if state.opened_from:
        lines += ["", f"Opened from {state.opened_from}"]
    due = state.follow_on
    if due is not None:
        if not due.pending:
            lines += ["", f"Opened {due.describe()}"]
        elif due.reason:
            lines += [
                "",
                f"Follow-on {due.describe()} not opened yet, {due.attempts} attempt(s) failed: "
                f"{due.reason}",
            ]
        else:
            lines += ["", f"Follow-on {due.describe()} opening"]
    return lines


def _when(instant: datetime) -> str:
    return instant.strftime("%d %b %H:%M UTC")
