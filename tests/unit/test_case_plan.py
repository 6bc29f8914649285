"""The execution plan: opening, keys, owners, dependency gating, workflow paths, completion."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from casemodel import errors
from casemodel.case import Case
from casemodel.state import CaseStatus, TaskStatus
from definitions.schema import ProvisionType
from tests.factories import T0, at, referral_type, visit_type

RISK = {"risk-level": "low"}


def open_case(ptype: ProvisionType | None = None, *, owner: str = "ann") -> Case:
    return Case.open(
        ptype or visit_type(),
        case_ref="C-1",
        tenant_ref="T-9",
        owner=owner,
        now=at(0),
        opened_by="hms",
    )


def complete(case: Case, ref: str, minute: int = 1, **kwargs: object) -> list:
    kwargs.setdefault("outcome", None)
    kwargs.setdefault("responses", None)
    kwargs.setdefault("note", None)
    kwargs.setdefault("by", "ann")
    return case.complete_task(ref, now=at(minute), **kwargs)


def statuses(case: Case) -> dict[str, str]:
    return {t.key: t.status.value for t in case.state.tasks}


def kinds(entries: list) -> list[tuple[str, str | None]]:
    return [(e.kind, e.task_key) for e in entries]


def visited(case: Case) -> None:
    """contact and home-visit done: risk-assessment and benefits-check open."""
    complete(case, "contact", 1)
    complete(case, "home-visit", 2, outcome="visited")


# -- opening ---------------------------------------------------------------------------------


def test_opening_adds_the_automatic_tasks_and_not_the_manual_ones() -> None:
    case = open_case()
    assert [t.key for t in case.state.tasks] == [
        "contact",
        "home-visit",
        "risk-assessment",
        "benefits-check",
        "agree-plan",
        "leaflet",
    ]
    assert all(t.added_by == "case-opened" and t.added_at == T0 for t in case.state.tasks)
    assert all(t.added_by_task is None for t in case.state.tasks)


def test_opening_opens_tasks_without_dependencies_and_blocks_the_rest() -> None:
    case = open_case()
    assert statuses(case) == {
        "contact": "open",
        "home-visit": "blocked",
        "risk-assessment": "blocked",
        "benefits-check": "blocked",
        "agree-plan": "blocked",
        "leaflet": "open",
    }
    assert case.instance("contact").opened_at == T0
    assert case.instance("home-visit").opened_at is None
    assert case.state.open_task_count() == 2


def test_opening_records_the_case() -> None:
    case = open_case()
    state = case.state
    assert (state.case_ref, state.tenant_ref, state.owner) == ("C-1", "T-9", "ann")
    assert (state.opened_at, state.opened_by) == (T0, "hms")
    assert state.status is CaseStatus.open
    assert state.provision_type == visit_type()
    assert state.resolved_at is None and state.outcome is None and state.follow_on_type is None


def test_task_instances_copy_name_and_mandatory_from_their_definition() -> None:
    case = open_case()
    leaflet = case.instance("leaflet")
    assert (leaflet.task, leaflet.name, leaflet.mandatory) == ("leaflet", "Send leaflet", False)
    assert case.instance("contact").mandatory is True


def test_owner_is_the_tasks_owner_else_the_case_owner() -> None:
    case = open_case(referral_type(), owner="bob")
    assert case.instance("triage").owner == "duty-team"
    assert case.instance("letter").owner == "bob"
    case.add_task("safeguarding", note=None, by="bob", now=at(1))
    assert case.instance("safeguarding").owner == "bob"


def test_opening_log_has_increasing_seq_and_says_who() -> None:
    case = open_case()
    log = case.state.log
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert kinds(log) == [
        ("case_opened", None),
        ("task_added", "contact"),
        ("task_added", "home-visit"),
        ("task_added", "risk-assessment"),
        ("task_added", "benefits-check"),
        ("task_added", "agree-plan"),
        ("task_added", "leaflet"),
        ("task_opened", "contact"),
        ("task_opened", "leaflet"),
    ]
    assert log[0].by == "hms"
    assert log[0].detail == "Visit assessment for T-9"
    assert all(e.by == "case-opened" for e in log[1:])
    assert all(e.at == T0 for e in log)


def test_a_type_with_only_manual_tasks_cannot_be_made() -> None:
    """A case of it would open with nothing to do, so no construction accepts it."""
    with pytest.raises(ValidationError, match="no task is automatic"):
        visit_type(tasks=[{"id": "call", "name": "Call", "automatic": False}])


# -- keys ------------------------------------------------------------------------------------


def test_further_instances_are_numbered_from_two() -> None:
    case = open_case()
    for minute in (1, 2, 3):
        case.add_task("check-in", note=None, by="ann", now=at(minute))
    assert [t.key for t in case.state.tasks if t.task == "check-in"] == [
        "check-in",
        "check-in#2",
        "check-in#3",
    ]


def test_cancelled_instances_still_count_for_numbering() -> None:
    case = open_case(referral_type())
    case.add_task("safeguarding", note=None, by="ann", now=at(1))
    case.cancel_task("safeguarding", cascade=False, reason="duplicate", by="ann", now=at(2))
    case.add_task("safeguarding", note=None, by="ann", now=at(3))
    assert statuses(case)["safeguarding"] == "cancelled"
    assert statuses(case)["safeguarding#2"] == "open"


# -- dependency gating -----------------------------------------------------------------------


def test_a_blocked_task_is_refused_and_the_refusal_names_what_it_waits_for() -> None:
    case = open_case()
    with pytest.raises(errors.TaskBlocked) as refusal:
        complete(case, "home-visit", outcome="visited")
    assert (
        refusal.value.message == "home-visit cannot be completed yet: it waits for contact (open)."
    )
    assert refusal.value.code == "task_blocked"
    assert isinstance(refusal.value, errors.TaskNotOpen)


def test_completing_a_dependency_opens_its_dependant() -> None:
    case = open_case()
    changes = complete(case, "contact", 5)
    assert kinds(changes) == [("task_completed", "contact"), ("task_opened", "home-visit")]
    home = case.instance("home-visit")
    assert home.status is TaskStatus.open
    assert home.opened_at == at(5)
    assert case.waiting_for(home) == []


def test_the_diamond_waits_for_both_branches() -> None:
    case = open_case()
    plan = case.instance("agree-plan")
    assert case.waiting_for(plan) == ["risk-assessment (blocked)", "benefits-check (blocked)"]
    visited(case)
    assert statuses(case)["risk-assessment"] == "open"
    assert statuses(case)["benefits-check"] == "open"
    with pytest.raises(errors.TaskBlocked) as refusal:
        complete(case, "agree-plan", 3)
    assert refusal.value.message == (
        "agree-plan cannot be completed yet: it waits for risk-assessment (open) and "
        "benefits-check (open)."
    )
    complete(case, "benefits-check", 3)
    assert statuses(case)["agree-plan"] == "blocked"
    with pytest.raises(errors.TaskBlocked, match=r"waits for risk-assessment \(open\)\.$"):
        complete(case, "agree-plan", 4)
    changes = complete(case, "risk-assessment", 4, responses=RISK)
    assert ("task_opened", "agree-plan") in kinds(changes)
    assert case.instance("agree-plan").opened_at == at(4)


def test_a_dependency_on_a_manual_task_not_in_the_plan_says_to_add_it() -> None:
    case = open_case(referral_type())
    assert statuses(case)["translate"] == "blocked"
    with pytest.raises(errors.TaskBlocked) as refusal:
        complete(case, "translate")
    assert refusal.value.message == (
        "translate cannot be completed yet: it waits for interpreter (not in the plan yet; add it)."
    )
    case.add_task("interpreter", note=None, by="ann", now=at(2))
    assert statuses(case)["interpreter"] == "open"
    assert case.waiting_for(case.instance("translate")) == ["interpreter (open)"]
    changes = complete(case, "interpreter", 3)
    assert ("task_opened", "translate") in kinds(changes)


def test_a_dependency_whose_only_instance_was_cancelled_says_to_add_it_again() -> None:
    case = open_case(referral_type())
    case.add_task("interpreter", note=None, by="ann", now=at(1))
    case.cancel_task("interpreter", cascade=True, reason="not needed", by="ann", now=at(2))
    assert statuses(case)["translate"] == "cancelled"
    changes = case.add_task("translate", note="after all", by="ann", now=at(3))
    assert kinds(changes) == [("task_added", "translate#2"), ("task_blocked", "translate#2")]
    assert changes[-1].detail == "waits for interpreter (cancelled; add it again)"


def test_bypassing_an_optional_dependency_releases_its_dependants() -> None:
    case = open_case(referral_type())
    case.add_task("interpreter", note=None, by="ann", now=at(1))
    changes = case.bypass_task("interpreter", reason="speaks English", by="ann", now=at(2))
    assert kinds(changes) == [("task_bypassed", "interpreter"), ("task_opened", "translate")]
    assert changes[0].detail == "speaks English"
    assert case.instance("translate").opened_at == at(2)


def test_a_new_instance_of_a_repeatable_dependency_blocks_new_dependants_only() -> None:
    ptype = visit_type(
        tasks=[
            {"id": "visit", "name": "Visit", "repeatable": True},
            {"id": "report", "name": "Report", "depends_on": ["visit"]},
            {"id": "extra-report", "name": "Extra", "automatic": False, "depends_on": ["visit"]},
        ]
    )
    case = open_case(ptype)
    complete(case, "visit", 1)
    assert statuses(case)["report"] == "open"
    case.add_task("visit", note=None, by="ann", now=at(2))
    case.add_task("extra-report", note=None, by="ann", now=at(3))
    assert statuses(case)["report"] == "open"
    assert statuses(case)["extra-report"] == "blocked"
    assert case.waiting_for(case.instance("extra-report")) == ["visit#2 (open)"]
    complete(case, "visit#2", 4)
    assert statuses(case)["extra-report"] == "open"


# -- workflow paths ----------------------------------------------------------------------------


def test_an_outcome_with_a_path_adds_its_tasks() -> None:
    case = open_case()
    complete(case, "contact", 1)
    changes = complete(case, "home-visit", 2, outcome="no-access", by="bob")
    assert kinds(changes) == [
        ("task_completed", "home-visit"),
        ("task_added", "check-in"),
        ("task_opened", "risk-assessment"),
        ("task_opened", "benefits-check"),
        ("task_opened", "check-in"),
    ]
    check_in = case.instance("check-in")
    assert check_in.added_by_task == "home-visit"
    assert check_in.added_by == "bob"
    assert check_in.note == "outcome no-access of home-visit"
    assert changes[0].detail == "outcome no-access"


def test_a_path_adds_a_repeatable_task_again() -> None:
    case = open_case()
    case.add_task("check-in", note=None, by="ann", now=at(1))
    complete(case, "contact", 2)
    complete(case, "home-visit", 3, outcome="no-access")
    assert statuses(case)["check-in"] == "open"
    assert statuses(case)["check-in#2"] == "open"
    assert case.instance("check-in#2").added_by_task == "home-visit"


@pytest.mark.parametrize("first", ["open", "completed"])
def test_a_path_does_not_add_a_non_repeatable_task_twice(first: str) -> None:
    case = open_case(referral_type())
    case.add_task("safeguarding", note=None, by="ann", now=at(1))
    if first == "completed":
        complete(case, "safeguarding", 2)
    changes = complete(case, "triage", 3, outcome="urgent")
    assert [t.key for t in case.state.tasks if t.task == "safeguarding"] == ["safeguarding"]
    assert statuses(case)["safeguarding"] == first
    assert ("task_added", "safeguarding#2") not in kinds(changes)


def test_a_path_adds_a_non_repeatable_task_again_when_it_was_cancelled() -> None:
    case = open_case(referral_type())
    case.add_task("safeguarding", note=None, by="ann", now=at(1))
    case.cancel_task("safeguarding", cascade=False, reason=None, by="ann", now=at(2))
    complete(case, "triage", 3, outcome="urgent")
    assert statuses(case)["safeguarding#2"] == "open"


def test_a_mandatory_task_added_by_a_path_keeps_the_case_open() -> None:
    case = open_case(referral_type())
    complete(case, "triage", 1, outcome="urgent")
    complete(case, "letter", 2)
    assert case.state.status is CaseStatus.open
    complete(case, "safeguarding", 3)
    assert case.state.status is CaseStatus.completed


# -- case completion -------------------------------------------------------------------------


def finish_visit(case: Case) -> list:
    visited(case)
    complete(case, "risk-assessment", 3, responses=RISK)
    complete(case, "benefits-check", 4)
    return complete(case, "agree-plan", 5)


def test_the_case_completes_when_every_mandatory_task_is_resolved() -> None:
    case = open_case()
    changes = finish_visit(case)
    assert kinds(changes) == [
        ("task_completed", "agree-plan"),
        ("task_cancelled", "leaflet"),
        ("case_completed", None),
    ]
    assert changes[1].detail == "case completed"
    assert changes[2].detail == "every mandatory task is resolved"
    assert case.state.status is CaseStatus.completed
    assert case.state.resolved_at == at(5)
    assert case.state.outcome is None
    leaflet = case.instance("leaflet")
    assert (leaflet.status, leaflet.resolved_at, leaflet.resolved_by) == (
        TaskStatus.cancelled,
        at(5),
        "ann",
    )


def test_optional_tasks_done_before_the_end_stay_done() -> None:
    case = open_case()
    complete(case, "leaflet", 1)
    assert case.state.status is CaseStatus.open
    finish_visit(case)
    assert statuses(case)["leaflet"] == "completed"
    assert case.state.log[-1].kind == "case_completed"


def test_a_case_where_nothing_was_done_does_not_complete() -> None:
    ptype = visit_type(
        tasks=[{"id": "call", "name": "Call"}, {"id": "post", "name": "Post", "mandatory": False}]
    )
    case = open_case(ptype)
    case.cancel_task("call", cascade=False, reason="moved away", by="ann", now=at(1))
    assert case.state.status is CaseStatus.open
    case.bypass_task("post", reason=None, by="ann", now=at(2))
    assert case.state.status is CaseStatus.completed


def test_a_completed_case_refuses_further_requests() -> None:
    case = open_case()
    finish_visit(case)
    with pytest.raises(errors.CaseNotOpen) as refusal:
        case.add_task("check-in", note=None, by="ann", now=at(6))
    assert refusal.value.message == "Case C-1 is completed; it takes no more changes."


# -- closing ---------------------------------------------------------------------------------


def test_closing_needs_an_outcome_when_the_type_has_outcomes() -> None:
    case = open_case()
    with pytest.raises(errors.InvalidOutcome) as refusal:
        case.close(outcome=None, reason=None, by="ann", now=at(1))
    assert refusal.value.message == (
        "Closing needs an outcome of Visit assessment; choose one of need-identified, "
        "no-further-support."
    )
    with pytest.raises(errors.InvalidOutcome) as refusal:
        case.check_close("resolved")
    assert refusal.value.message == (
        '"resolved" is not an outcome of Visit assessment; choose one of need-identified, '
        "no-further-support."
    )


def test_closing_cancels_open_tasks_and_records_the_outcome_and_follow_on() -> None:
    case = open_case()
    complete(case, "contact", 1)
    assert case.check_close("need-identified").follow_on_type == "support-plan"
    changes = case.close(outcome="need-identified", reason="rent arrears", by="bob", now=at(2))
    state = case.state
    assert (state.status, state.outcome, state.follow_on_type) == (
        CaseStatus.closed,
        "need-identified",
        "support-plan",
    )
    assert (state.close_reason, state.resolved_at) == ("rent arrears", at(2))
    assert [t.status.value for t in state.tasks].count("cancelled") == 5
    assert statuses(case)["contact"] == "completed"
    assert all(e.detail == "case closed" for e in changes[:-1])
    assert kinds(changes)[-1] == ("case_closed", None)
    assert changes[-1].detail == "outcome need-identified: rent arrears"
    assert changes[-1].by == "bob"


def test_an_outcome_without_a_follow_on_records_none() -> None:
    case = open_case()
    case.close(outcome="no-further-support", reason=None, by="ann", now=at(1))
    assert case.state.follow_on_type is None
    assert case.state.log[-1].detail == "outcome no-further-support"


def test_a_type_without_outcomes_closes_without_one() -> None:
    case = open_case(referral_type())
    with pytest.raises(errors.InvalidOutcome) as refusal:
        case.check_close("resolved")
    assert refusal.value.message == "Referral has no case outcomes; close it without one."
    assert case.check_close(None) is None
    case.close(outcome=None, reason="withdrawn", by="ann", now=at(1))
    assert case.state.status is CaseStatus.closed
    assert case.state.log[-1].detail == "closed: withdrawn"


def test_a_closed_case_refuses_every_request() -> None:
    case = open_case()
    complete(case, "contact", 1)
    case.close(outcome="no-further-support", reason=None, by="ann", now=at(2))
    before = case.state.model_dump()
    attempts = [
        lambda: complete(case, "home-visit", 3, outcome="visited"),
        lambda: case.add_task("check-in", note=None, by="ann", now=at(3)),
        lambda: case.cancel_task("leaflet", cascade=True, reason=None, by="ann", now=at(3)),
        lambda: case.bypass_task("leaflet", reason=None, by="ann", now=at(3)),
        lambda: case.undo_completion("contact", reason=None, by="ann", now=at(3)),
        lambda: case.close(outcome="need-identified", reason=None, by="ann", now=at(3)),
    ]
    for attempt in attempts:
        with pytest.raises(errors.CaseNotOpen, match="^Case C-1 is closed; it takes no more"):
            attempt()
    assert case.state.model_dump() == before
