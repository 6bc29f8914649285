"""The escalation chains of the shipped catalog, read as definitions and run on the core.

The shipped types carry the SLAs and escalation rules a housing provider would expect; the
`escalation-demo` type has seconds-scale SLAs so the chain can be watched in the dev stack.
These tests check that the catalog validates (templates, groups and reassignment targets
included), that the chains are the ones documented, and that the core fires them in order,
once each, and not at all for work completed in time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from casemodel.case import Case
from casemodel.escalation import Firing
from definitions.loader import Catalog, default_definitions_dir, load_catalog, validate_catalog
from definitions.schema import EscalationRule, Priority, ProvisionType, Trigger
from starter.cli_definitions import app

DEMO = "escalation-demo"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in London (GMT)
OFFICER = "marcus-reid"  # a tenancy sustainment officer whose manager is claire-donnelly


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(default_definitions_dir())


def open_case(provision_type: ProvisionType, now: datetime = T0) -> Case:
    return Case.open(
        provision_type,
        case_ref="SP-2026-000900",
        tenant_ref="TEN-000900",
        owner=OFFICER,
        now=now,
        opened_by="test",
    )


def rule(rules: tuple[EscalationRule, ...], trigger: Trigger) -> EscalationRule:
    (found,) = [r for r in rules if r.trigger is trigger]
    return found


def run_until(case: Case, start: datetime, end: datetime) -> list[tuple[datetime, Firing]]:
    """Tick the case at every instant it asks to be woken, up to ``end``."""
    fired: list[tuple[datetime, Firing]] = []
    now = start
    while (due := case.next_due(now)) is not None and due[0] <= end:
        now = due[0]
        fired += [(now, firing) for firing in case.tick(now)]
    return fired


# --- the catalog as definitions ---------------------------------------------------------


def test_the_shipped_catalog_validates_with_its_references() -> None:
    catalog, problems = validate_catalog(default_definitions_dir())
    assert problems == [] and catalog is not None
    assert DEMO in catalog.versions
    # The command also checks templates, stakeholder groups and reassignment targets.
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert ": all valid" in result.stdout


def test_every_real_type_escalates_something(catalog: Catalog) -> None:
    for provision_type in catalog.definitions():
        if provision_type.id == DEMO:
            continue
        rules = list(provision_type.escalations)
        rules += [r for task in provision_type.tasks for r in task.escalations]
        assert rules, f"{provision_type.id} has no escalation rule"


def test_the_demo_type_counts_in_seconds_around_the_clock(catalog: Catalog) -> None:
    demo = catalog.type(DEMO)
    assert demo.name == "Escalation demonstration (seconds-scale SLAs)"
    assert (demo.category.value, demo.audience.value, demo.calendar) == (
        "assessment",
        "internal",
        "24x7",
    )
    assert "production" in demo.description
    assert demo.sla is not None and (demo.sla.target, demo.sla.warning) == (
        "90 seconds",
        "30 seconds",
    )
    assert [t.id for t in demo.tasks] == ["first-contact", "follow-up", "demo-check-in"]
    assert rule(demo.escalations, Trigger.breach)


def test_the_tenancy_sustainment_assessment_chain(catalog: Catalog) -> None:
    assessment = catalog.type("tenancy-sustainment-assessment")
    assert assessment.sla is not None
    assert (assessment.sla.target, assessment.sla.warning) == ("20 working days", "3 working days")

    warning = rule(assessment.escalations, Trigger.warning)
    assert warning.template == "case-sla-warning" and warning.notify.owner

    breach = rule(assessment.escalations, Trigger.breach)
    assert breach.template == "case-sla-breach"
    assert breach.notify.owner and breach.notify.owner_manager
    assert breach.raise_priority is Priority.high

    (panel,) = breach.follow_on
    assert panel.after == "3 working days"
    assert panel.notify.groups == ("safeguarding-panel",)
    assert panel.template == "safeguarding-escalation"
    assert panel.raise_priority is Priority.urgent

    visit = assessment.task("home-visit")
    assert visit is not None
    assert {r.trigger for r in visit.escalations} >= {Trigger.warning, Trigger.breach}


def test_the_tenancy_sustainment_assessment_chain_runs_in_working_days(
    catalog: Catalog,
) -> None:
    case = open_case(catalog.type("tenancy-sustainment-assessment"))
    fired = run_until(case, T0, T0 + timedelta(days=35))
    assert [(at, f.rule) for at, f in fired if f.subject == "case"] == [
        # Opened Monday 2 March at 09:00; the 20 working days end at 17:00 on Friday 27th.
        (datetime(2026, 3, 24, 17, 0, tzinfo=UTC), "case-warning"),
        (datetime(2026, 3, 27, 17, 0, tzinfo=UTC), "case-breach"),
        (datetime(2026, 4, 1, 16, 0, tzinfo=UTC), "case-breach/safeguarding-panel"),
    ]
    assert case.state.priority == "urgent"


# --- the demo type on the core ----------------------------------------------------------


def test_the_demo_chain_fires_in_order_and_once_each(catalog: Catalog) -> None:
    case = open_case(catalog.type(DEMO))

    def tick(seconds: int) -> list[str]:
        fired = case.tick(T0 + timedelta(seconds=seconds))
        return [f.rule for f in fired if f.subject == "first-contact"]

    assert tick(5) == []
    assert tick(10) == ["first-contact-warning"]
    assert case.state.priority == "normal"
    assert tick(15) == []
    assert tick(20) == ["first-contact-breach"]
    assert case.state.priority == "high"
    assert tick(30) == []
    assert tick(35) == ["first-contact-breach/safeguarding-panel"]
    assert case.state.priority == "urgent"
    assert tick(35) == [] and tick(80) == []

    firings = [f for f in case.state.firings if f.subject == "first-contact"]
    assert [(f.rule, f.occurrence) for f in firings] == [
        ("first-contact-warning", 1),
        ("first-contact-breach", 1),
        ("first-contact-breach/safeguarding-panel", 1),
    ]
    assert [f.template for f in firings] == [
        "task-sla-warning",
        "task-sla-breach",
        "safeguarding-escalation",
    ]


def test_first_contact_completed_in_time_fires_nothing_for_it(catalog: Catalog) -> None:
    case = open_case(catalog.type(DEMO))
    case.complete_task(
        "first-contact",
        outcome=None,
        responses=None,
        note=None,
        by=OFFICER,
        now=T0 + timedelta(seconds=5),
    )
    fired: list[Firing] = []
    for seconds in (10, 20, 35, 60):
        fired += case.tick(T0 + timedelta(seconds=seconds))
    assert [f for f in fired if f.subject == "first-contact"] == []
    # What remains is the follow-up (open from 5 s, due 30 s later), the case clock and
    # the check-ins left alone (each due 10 s after it opens, one every 15 s).
    assert [(f.subject, f.rule) for f in fired if f.subject != "demo-check-in"] == [
        ("demo-check-in#2", "demo-check-in-breach"),
        ("follow-up", "follow-up-breach"),
        ("demo-check-in#3", "demo-check-in-breach"),
        ("demo-check-in#4", "demo-check-in-breach"),
        ("case", "case-warning"),
    ]
    assert case.state.priority == "normal"


# --- other chains on the core -----------------------------------------------------------


def test_an_untriaged_safeguarding_concern_is_escalated_four_times(catalog: Catalog) -> None:
    review = catalog.type("safeguarding-review")
    case = open_case(review)
    case.complete_task(
        "concern-logged",
        outcome=None,
        responses={
            "raised-by": "Staff member",
            "observed-at": "2026-03-02T08:30:00+00:00",
            "concern-summary": "Tenant said a relative takes their money.",
            "immediate-danger": False,
        },
        note=None,
        by=OFFICER,
        now=T0,
    )
    fired = run_until(case, T0, T0 + timedelta(days=2))
    triage = [(at, f.occurrence) for at, f in fired if f.rule == "triage-breach"]
    # Due 13:00 (four working hours); then every two working hours, three more times,
    # the last running into Tuesday morning.
    assert triage == [
        (datetime(2026, 3, 2, 13, 0, tzinfo=UTC), 1),
        (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), 2),
        (datetime(2026, 3, 2, 17, 0, tzinfo=UTC), 3),
        (datetime(2026, 3, 3, 11, 0, tzinfo=UTC), 4),
    ]
    assert case.state.priority == "urgent"
    breach = rule(review.task("safeguarding-lead-triage").escalations, Trigger.breach)
    assert breach.notify.owner_manager and breach.notify.groups == ("safeguarding-panel",)


def test_a_stalled_hoarding_plan_nudges_then_asks_the_partner_agencies(catalog: Catalog) -> None:
    case = open_case(catalog.type("hoarding-property-condition-support-plan"))
    fired = run_until(case, T0, T0 + timedelta(days=40))
    stagnation = [(at, f.rule) for at, f in fired if f.trigger == "stagnation"]
    assert stagnation == [
        (datetime(2026, 3, 13, 17, 0, tzinfo=UTC), "case-stagnation"),
        (datetime(2026, 3, 20, 17, 0, tzinfo=UTC), "case-stagnation/partner-agencies"),
    ]


def test_a_late_income_and_expenditure_assessment_passes_to_the_income_team(
    catalog: Catalog,
) -> None:
    case = open_case(catalog.type("financial-inclusion-support-plan"))
    run_until(case, T0, T0 + timedelta(days=14))
    (task,) = [t for t in case.state.tasks if t.key == "income-and-expenditure-assessment"]
    assert task.owner == "income-team"
    rules = [f.rule for f in case.state.firings if f.subject == task.key]
    assert rules == [
        "assessment-warning",
        "assessment-breach",
        "assessment-breach/reassign-to-income-team",
    ]
