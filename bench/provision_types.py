"""Provision types built in code for the benchmarks (no catalog, no published versions)."""

from __future__ import annotations

from typing import Any

from definitions.calendars import WorkingTimeCalendarDefinition
from definitions.loader import SNAPSHOT_YEARS, default_definitions_dir, load_catalog
from definitions.schema import ProvisionType

OWNER = "tom-bennett"
"""A person of the shipped directory, so notices resolve a real recipient and render."""


def _task_rules() -> dict[str, Any]:
    """An SLA and three rules that never fire when the task is done within seconds."""
    return {
        "sla": {"target": "1 hour", "warning": "10 minutes"},
        "escalations": [
            {"id": "warn", "trigger": "warning", "template": "task-sla-warning"},
            {
                "id": "breach",
                "trigger": "breach",
                "template": "task-sla-breach",
                "notify": {"owner": True, "owner_manager": True},
                "raise_priority": "high",
                "follow_on": [
                    {
                        "id": "panel",
                        "after": "30 minutes",
                        "template": "safeguarding-escalation",
                        "notify": {"owner": False, "groups": ["safeguarding-panel"]},
                        "reassign_to": "safeguarding-lead",
                        "raise_priority": "urgent",
                    }
                ],
            },
            {
                "id": "quiet",
                "trigger": "stagnation",
                "stagnation_after": "30 minutes",
                "template": "stagnation-nudge",
            },
        ],
    }


def many_tasks_type(n: int, *, rules: bool) -> ProvisionType:
    """`n` independent mandatory tasks on a 24x7 calendar; with or without SLAs and rules."""
    tasks = []
    for i in range(1, n + 1):
        task: dict[str, Any] = {"id": f"task-{i:03d}", "name": f"Task {i}"}
        if rules:
            task.update(_task_rules())
        tasks.append(task)
    kind = "rules" if rules else "plain"
    return ProvisionType.model_validate(
        {
            "id": f"bench-{kind}-{n}",
            "name": f"Bench {n} tasks ({kind})",
            "category": "assessment",
            "audience": "internal",
            "calendar": "24x7",
            "default_owner": OWNER,
            "tasks": tasks,
        }
    )


def breach_type(target_seconds: int) -> ProvisionType:
    """One task whose 24x7 SLA is `target_seconds`, with one breach rule (no warning)."""
    return ProvisionType.model_validate(
        {
            "id": f"bench-breach-{target_seconds}s",
            "name": f"Bench breach after {target_seconds}s",
            "category": "assessment",
            "audience": "internal",
            "calendar": "24x7",
            "default_owner": OWNER,
            "tasks": [
                {
                    "id": "respond",
                    "name": "Respond",
                    "sla": {"target": f"{target_seconds} seconds"},
                    "escalations": [
                        {
                            "id": "breach",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True},
                        }
                    ],
                }
            ],
        }
    )


def long_lived_type() -> ProvisionType:
    """An open-ended support plan with check-ins added and completed for years.

    Counted in the shipped england-and-wales calendar (working days, bank holidays carried
    as dates, as a published type carries them), because working out due points in a
    working calendar is what a case spends its workflow tasks on. A check-in is due in 3
    working days and warns a day before; a late one notifies its owner. The plan ends
    with its closing review, which stays open meanwhile.
    """
    catalog = load_catalog(default_definitions_dir())
    calendar = catalog.calendars["england-and-wales"]
    if isinstance(calendar, WorkingTimeCalendarDefinition):
        calendar = calendar.with_bank_holidays(*SNAPSHOT_YEARS)
    return ProvisionType.model_validate(
        {
            "id": "bench-long-lived-plan",
            "name": "Bench long-lived support plan",
            "category": "support_plan",
            "audience": "customer_facing",
            "calendar": "england-and-wales",
            "resolved_calendar": calendar,
            "default_owner": OWNER,
            "tasks": [
                {"id": "agree-plan", "name": "Agree the plan"},
                {
                    "id": "check-in",
                    "name": "Check-in",
                    "automatic": False,
                    "repeatable": True,
                    "mandatory": False,
                    "depends_on": ["agree-plan"],
                    "sla": {"target": "3 working days", "warning": "1 working day"},
                    "escalations": [
                        {
                            "id": "check-in-warning",
                            "trigger": "warning",
                            "template": "task-sla-warning",
                        },
                        {
                            "id": "late-check-in",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": True},
                        },
                    ],
                },
                {"id": "closing-review", "name": "Closing review", "depends_on": ["agree-plan"]},
            ],
        }
    )
