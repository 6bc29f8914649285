"""Small provision types built in code, so core tests do not depend on the shipped catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from casemodel.case import Case
from definitions.calendars import WorkingTimeCalendarDefinition, load_calendar_definitions
from definitions.schema import ProvisionType

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEFAULT_OWNER = "tom-bennett"
"""Who owns a case of these types started without an owner: a person of the shipped
directory, which a case's first register write requires."""


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def chain_type(type_id: str, *task_ids: str) -> ProvisionType:
    """Tasks one after the other, no SLA: completing the last ends the case."""
    tasks = [
        {"id": t, "name": t.capitalize(), **({"depends_on": [task_ids[i - 1]]} if i else {})}
        for i, t in enumerate(task_ids)
    ]
    return ProvisionType.model_validate(
        {
            "id": type_id,
            "name": type_id.replace("-", " ").capitalize(),
            "category": "assessment",
            "default_owner": DEFAULT_OWNER,
            "audience": "internal",
            "tasks": tasks,
        }
    )


def visit_type(**overrides: object) -> ProvisionType:
    """A small assessment: contact, a visit, a diamond of follow-ups, optional and manual tasks.

    contact -> home-visit -> (risk-assessment, benefits-check) -> agree-plan
    interpreter (optional, manual), check-in (repeatable, manual), leaflet (optional, automatic)
    """
    data: dict[str, object] = {
        "id": "visit-assessment",
        "name": "Visit assessment",
        "category": "assessment",
        "default_owner": DEFAULT_OWNER,
        "audience": "customer_facing",
        "tasks": [
            {"id": "contact", "name": "Initial contact"},
            {
                "id": "home-visit",
                "name": "Home visit",
                "depends_on": ["contact"],
                "outcomes": [
                    {"id": "visited", "label": "Visited"},
                    {"id": "no-access", "label": "No access", "adds_tasks": ["check-in"]},
                ],
            },
            {
                "id": "risk-assessment",
                "name": "Risk assessment",
                "depends_on": ["home-visit"],
                "fields": [
                    {
                        "id": "risk-level",
                        "label": "Risk level",
                        "response_type": "lookup",
                        "options": ["low", "medium", "high"],
                        "mandatory": True,
                    },
                    {"id": "consent", "label": "Tenant consent", "response_type": "true_false"},
                    {"id": "arrears", "label": "Arrears", "response_type": "decimal"},
                    {"id": "visits", "label": "Visits", "response_type": "integer"},
                    {"id": "review", "label": "Review date", "response_type": "date"},
                    {"id": "seen", "label": "Seen at", "response_type": "date_time"},
                    {
                        "id": "needs",
                        "label": "Needs",
                        "response_type": "multi_lookup",
                        "options": ["debt", "health", "clutter"],
                    },
                    {"id": "notes", "label": "Notes", "response_type": "text"},
                ],
            },
            {"id": "benefits-check", "name": "Benefits check", "depends_on": ["home-visit"]},
            {
                "id": "agree-plan",
                "name": "Agree plan",
                "depends_on": ["risk-assessment", "benefits-check"],
            },
            {"id": "leaflet", "name": "Send leaflet", "mandatory": False},
            {
                "id": "interpreter",
                "name": "Arrange interpreter",
                "automatic": False,
                "mandatory": False,
            },
            {"id": "check-in", "name": "Check-in", "automatic": False, "repeatable": True},
        ],
        "outcomes": [
            {"id": "need-identified", "label": "Need identified", "follow_on_type": "support-plan"},
            {"id": "no-further-support", "label": "No further support"},
        ],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


def referral_type(**overrides: object) -> ProvisionType:
    """A referral with task owners, a workflow path onto a manual task, a manual dependency.

    triage (owner duty-team; outcome `urgent` adds safeguarding) -> letter
    safeguarding (manual) -> review (manual)
    translate (optional, automatic) waits for interpreter (optional, manual)
    No case outcomes.
    """
    data: dict[str, object] = {
        "id": "referral",
        "name": "Referral",
        "category": "assessment",
        "default_owner": DEFAULT_OWNER,
        "audience": "internal",
        "tasks": [
            {
                "id": "triage",
                "name": "Triage",
                "owner": "duty-team",
                "outcomes": [
                    {"id": "urgent", "label": "Urgent", "adds_tasks": ["safeguarding"]},
                    {"id": "routine", "label": "Routine"},
                ],
            },
            {"id": "letter", "name": "Send letter", "depends_on": ["triage"]},
            {"id": "safeguarding", "name": "Safeguarding check", "automatic": False},
            {
                "id": "review",
                "name": "Safeguarding review",
                "automatic": False,
                "depends_on": ["safeguarding"],
            },
            {
                "id": "translate",
                "name": "Translate letters",
                "mandatory": False,
                "depends_on": ["interpreter"],
            },
            {
                "id": "interpreter",
                "name": "Arrange interpreter",
                "automatic": False,
                "mandatory": False,
            },
        ],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


def sla_type(**overrides: object) -> ProvisionType:
    """Around-the-clock SLAs in minutes, with a warning, a breach chain and stagnation.

    contact (5 min target, warning 1 min before) -> review (lag 2 min after contact)
    """
    data: dict[str, object] = {
        "id": "sla-check",
        "name": "SLA check",
        "category": "assessment",
        "default_owner": DEFAULT_OWNER,
        "audience": "internal",
        "may_be_held": True,
        "sla": {"target": "60 minutes", "warning": "10 minutes", "allows_revision": True},
        "escalations": [
            {
                "id": "case-breach",
                "trigger": "breach",
                "template": "case-sla-breach",
                "notify": {"owner": True, "owner_manager": True},
            },
            {
                "id": "quiet",
                "trigger": "stagnation",
                "stagnation_after": "30 minutes",
                "template": "stagnation-nudge",
            },
        ],
        "tasks": [
            {
                "id": "contact",
                "name": "Contact",
                "sla": {"target": "5 minutes", "warning": "1 minute"},
                "escalations": [
                    {"id": "warn", "trigger": "warning", "template": "task-sla-warning"},
                    {
                        "id": "breach",
                        "trigger": "breach",
                        "template": "task-sla-breach",
                        "notify": {"owner": True, "owner_manager": True},
                        "raise_priority": "high",
                        "repeat": {"every": "1 minute", "times": 2},
                        "follow_on": [
                            {
                                "id": "panel",
                                "after": "3 minutes",
                                "template": "safeguarding-escalation",
                                "notify": {"owner": False, "groups": ["safeguarding-panel"]},
                                "reassign_to": "safeguarding-lead",
                                "raise_priority": "urgent",
                            }
                        ],
                    },
                ],
            },
            {
                "id": "review",
                "name": "Review",
                "depends_on": [{"task": "contact", "lag": "2 minutes"}],
            },
        ],
        "outcomes": [],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


def england_and_wales() -> WorkingTimeCalendarDefinition:
    """The shipped england-and-wales calendar as a type snapshot carries it (with dates)."""
    path = Path(__file__).parent.parent / "definitions" / "catalog" / "calendars.yaml"
    catalog = load_calendar_definitions(path)
    found = next(c for c in catalog.calendars if c.id == "england-and-wales")
    assert isinstance(found, WorkingTimeCalendarDefinition)
    return found.with_bank_holidays(2025, 2028)


def working_type(**overrides: object) -> ProvisionType:
    """Office-hours SLAs on the england-and-wales calendar (09:00-17:00, bank holidays).

    assess (10 working days, warning 2 working days; warning rule, breach rule with a
    follow-on 1 working day later) -> visit (lag 2 working days after assess; 4 working
    hours, warning "1 working hour"). Case: 15 working days, warning 3 working days.
    """
    data: dict[str, object] = {
        "id": "office-check",
        "name": "Office check",
        "category": "assessment",
        "default_owner": DEFAULT_OWNER,
        "audience": "internal",
        "calendar": "england-and-wales",
        "resolved_calendar": england_and_wales(),
        "sla": {"target": "15 working days", "warning": "3 working days"},
        "tasks": [
            {
                "id": "assess",
                "name": "Assess",
                "sla": {
                    "target": "10 working days",
                    "warning": "2 working days",
                    "allows_revision": True,
                },
                "escalations": [
                    {"id": "warn", "trigger": "warning", "template": "task-sla-warning"},
                    {
                        "id": "breach",
                        "trigger": "breach",
                        "template": "task-sla-breach",
                        "follow_on": [
                            {"id": "lead", "after": "1 working day", "template": "team-lead"}
                        ],
                    },
                ],
            },
            {
                "id": "visit",
                "name": "Visit",
                "depends_on": [{"task": "assess", "lag": "2 working days"}],
                "sla": {"target": "4 working hours", "warning": "1 working hour"},
            },
        ],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


def open_sla_case(ptype: ProvisionType | None = None, now: datetime | None = None) -> Case:
    """A case of `ptype` (default `sla_type()`) opened at `now` (default `at(0)`)."""
    return Case.open(
        ptype or sla_type(),
        case_ref="C-1",
        tenant_ref="T-9",
        owner="ann",
        now=now or at(0),
        opened_by="hms",
    )


def complete_at(case: Case, ref: str, now: datetime) -> None:
    """Complete a task that takes no outcome and no answers."""
    case.complete_task(ref, outcome=None, responses=None, note=None, by="ann", now=now)


def recurring_type(
    recurrence: dict[str, object] | None = None, **overrides: object
) -> ProvisionType:
    """A support plan whose check-in recurs: intake -> check-in (recurring) -> review.

    check-in: weekly for 4 occurrences by default, 2-day SLA with a breach rule; outcomes
    `seen` and `settled` (`settled` may end a series by `until_outcome`); review depends on
    check-in, so it waits for the series to end.
    """
    data: dict[str, object] = {
        "id": "weekly-support",
        "name": "Weekly support",
        "category": "support_plan",
        "default_owner": DEFAULT_OWNER,
        "audience": "customer_facing",
        "tasks": [
            {"id": "intake", "name": "Intake"},
            {
                "id": "check-in",
                "name": "Check-in",
                "depends_on": ["intake"],
                "recurrence": recurrence or {"every": "1 week", "times": 4},
                "outcomes": [
                    {"id": "seen", "label": "Seen"},
                    {"id": "settled", "label": "Settled"},
                ],
                "sla": {"target": "2 days"},
                "escalations": [{"id": "late", "trigger": "breach", "template": "task-sla-breach"}],
            },
            {"id": "review", "name": "Review", "depends_on": ["check-in"]},
        ],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


def decision_type(**overrides: object) -> ProvisionType:
    """A money advice plan whose assessment decides what follows from what it records.

    assessment (outcomes engaged / not-engaging; arrears, dependants, universal credit,
    debts, contact, notes, next review):
      refer: arrears above 500 adds referral;
      hardship: all of arrears at least 2000 and any of council tax debt or universal
        credit adds hardship-fund;
      disengaged: outcome not-engaging completes the case with support-declined (which
        opens a tenancy sustainment case).
    referral (manual): outcome accepted sends partner-agency-update to the money advice
    partners. hardship-fund (manual). review waits for the assessment.
    """
    data: dict[str, object] = {
        "id": "money-plan",
        "name": "Money advice plan",
        "category": "support_plan",
        "default_owner": DEFAULT_OWNER,
        "audience": "customer_facing",
        "tasks": [
            {
                "id": "assessment",
                "name": "Income and expenditure assessment",
                "outcomes": [
                    {"id": "engaged", "label": "Tenant engaged"},
                    {"id": "not-engaging", "label": "Tenant not engaging"},
                ],
                "fields": [
                    {"id": "arrears", "label": "Rent arrears (£)", "response_type": "decimal"},
                    {
                        "id": "dependants",
                        "label": "Dependent children",
                        "response_type": "integer",
                        "min": 0,
                        "max": 30,
                    },
                    {
                        "id": "universal-credit",
                        "label": "Receives Universal Credit",
                        "response_type": "true_false",
                    },
                    {
                        "id": "debts",
                        "label": "Priority debts",
                        "response_type": "multi_lookup",
                        "options": ["Council tax", "Energy", "Water"],
                    },
                    {
                        "id": "contact",
                        "label": "Contact method",
                        "response_type": "lookup",
                        "options": ["Phone", "Visit"],
                    },
                    {"id": "notes", "label": "Notes", "response_type": "text"},
                    {"id": "next-review", "label": "Next review", "response_type": "date"},
                ],
                "paths": [
                    {
                        "id": "refer",
                        "when": {"field": "arrears", "above": 500},
                        "adds_tasks": ["referral"],
                    },
                    {
                        "id": "hardship",
                        "when": {
                            "all": [
                                {"field": "arrears", "at_least": 2000},
                                {
                                    "any": [
                                        {"field": "debts", "one_of": ["Council tax"]},
                                        {"field": "universal-credit", "is_true": True},
                                    ]
                                },
                            ]
                        },
                        "adds_tasks": ["hardship-fund"],
                    },
                    {
                        "id": "disengaged",
                        "outcome": "not-engaging",
                        "completes_case": "support-declined",
                    },
                ],
            },
            {
                "id": "referral",
                "name": "Debt advice referral",
                "automatic": False,
                "depends_on": ["assessment"],
                "outcomes": [
                    {"id": "accepted", "label": "Accepted"},
                    {"id": "declined", "label": "Declined"},
                ],
                "paths": [
                    {
                        "id": "tell-partners",
                        "outcome": "accepted",
                        "sends": {
                            "template": "partner-agency-update",
                            "notify": {"owner": False, "groups": ["money-advice-partners"]},
                        },
                    }
                ],
            },
            {"id": "hardship-fund", "name": "Hardship fund application", "automatic": False},
            {"id": "review", "name": "Plan review", "depends_on": ["assessment"]},
        ],
        "outcomes": [
            {
                "id": "support-declined",
                "label": "Support declined",
                "follow_on_type": "tenancy-sustainment-assessment",
            },
            {"id": "arrears-stabilised", "label": "Arrears stabilised"},
        ],
    }
    data.update(overrides)
    return ProvisionType.model_validate(data)


SUPPORT_WORKER = "support.worker@advice.example.org"


def writing_check_ins() -> ProvisionType:
    """`decision_type` with a check-in that may be added any number of times, each of
    whose completions writes to the tenant's support worker (`SUPPORT_WORKER`)."""
    data = decision_type().model_dump(mode="json", exclude_defaults=True)
    data["tasks"].append(
        {
            "id": "check-in",
            "name": "Check-in",
            "automatic": False,
            "repeatable": True,
            "mandatory": False,
            "paths": [
                {
                    "id": "tell-support-worker",
                    "sends": {
                        "template": "partner-agency-update",
                        "notify": {"owner": False, "addresses": [SUPPORT_WORKER]},
                    },
                }
            ],
        }
    )
    return ProvisionType.model_validate(data)
