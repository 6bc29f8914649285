"""What the Temporal UI shows for a case: a one-line summary and a markdown task table."""

from __future__ import annotations

from casemodel.state import CaseState


def summary(state: CaseState) -> str:
    t = state.provision_type
    return f"{t.name} for tenant {state.tenant_ref} (case {state.case_ref})"


def task_table(state: CaseState) -> str:
    lines = [
        f"**{state.provision_type.name}** · tenant `{state.tenant_ref}` · "
        f"owner `{state.owner}` · case **{state.status.value}**",
        "",
        "| Task | Status | Owner | Outcome |",
        "| --- | --- | --- | --- |",
    ]
    for task in state.tasks:
        lines.append(
            f"| {task.name} (`{task.key}`) | {task.status.value} | {task.owner} "
            f"| {task.outcome or ''} |"
        )
    if state.rejected:
        lines += ["", f"{len(state.rejected)} request(s) rejected; see the case log."]
    return "\n".join(lines)
