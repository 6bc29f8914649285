"""Requests on a case: complete, add, cancel, bypass, undo, fire-and-forget completions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from casemodel import errors
from casemodel.case import Case
from casemodel.state import CaseStatus, TaskStatus
from definitions.schema import ProvisionType
from tests.factories import at, referral_type, visit_type

RISK = {"risk-level": "low"}


def open_case(ptype: ProvisionType | None = None) -> Case:
    return Case.open(
        ptype or visit_type(),
        case_ref="C-1",
        tenant_ref="T-9",
        owner="ann",
        now=at(0),
        opened_by="hms",
    )


def complete(case: Case, ref: str, minute: int = 1, **kwargs: object) -> list:
    kwargs.setdefault("outcome", None)
    kwargs.setdefault("responses", None)
    kwargs.setdefault("note", None)
    kwargs.setdefault("by", "ann")
    return case.complete_task(ref, now=at(minute), **kwargs)


def record(case: Case, ref: str, minute: int = 1, **kwargs: object) -> list:
    kwargs.setdefault("request_id", None)
    kwargs.setdefault("outcome", None)
    kwargs.setdefault("responses", None)
    kwargs.setdefault("note", None)
    kwargs.setdefault("by", "crm")
    return case.record_completion(ref, now=at(minute), **kwargs)


def statuses(case: Case) -> dict[str, str]:
    return {t.key: t.status.value for t in case.state.tasks}


def kinds(entries: list) -> list[tuple[str, str | None]]:
    return [(e.kind, e.task_key) for e in entries]


def refused(
    case: Case, error: type[errors.CaseRuleError], request: Callable[[], object]
) -> errors.CaseRuleError:
    """Run a request the rules refuse; check the refusal type and that nothing changed."""
    before = case.state.model_dump()
    with pytest.raises(error) as refusal:
        request()
    assert case.state.model_dump() == before
    assert type(refusal.value) is error
    return refusal.value


def visited(case: Case) -> None:
    complete(case, "contact", 1)
    complete(case, "home-visit", 2, outcome="visited")


# -- complete_task -----------------------------------------------------------------------------


def test_completion_records_outcome_responses_note_and_who() -> None:
    case = open_case()
    complete(case, "contact", 1)
    changes = complete(case, "home-visit", 2, outcome="visited", note="tenant home", by="bob")
    home = case.instance("home-visit")
    assert home.status is TaskStatus.completed
    assert (home.outcome, home.note, home.resolved_at, home.resolved_by) == (
        "visited",
        "tenant home",
        at(2),
        "bob",
    )
    assert changes[0].kind == "task_completed"
    assert changes[0].detail == "outcome visited: tenant home"
    assert changes[0].by == "bob"
    changes = complete(case, "risk-assessment", 3, responses={"Risk level": "HIGH", "visits": "2"})
    assert case.instance("risk-assessment").responses == {"risk-level": "high", "visits": 2}
    assert changes[0].detail == "completed"


def test_an_outcome_is_required_when_the_task_has_outcomes() -> None:
    case = open_case()
    complete(case, "contact", 1)
    refusal = refused(case, errors.InvalidOutcome, lambda: complete(case, "home-visit", 2))
    assert refusal.message == "home-visit needs an outcome: one of visited, no-access."


def test_an_unknown_outcome_is_refused_naming_the_choices() -> None:
    case = open_case()
    complete(case, "contact", 1)
    refusal = refused(
        case, errors.InvalidOutcome, lambda: complete(case, "home-visit", 2, outcome="out")
    )
    assert (
        refusal.message
        == '"out" is not an outcome of home-visit; choose one of visited, no-access.'
    )


def test_an_outcome_is_refused_when_the_task_has_none() -> None:
    case = open_case()
    refusal = refused(
        case, errors.InvalidOutcome, lambda: complete(case, "contact", 1, outcome="visited")
    )
    assert refusal.message == "contact is completed without an outcome; leave the outcome out."


def test_invalid_responses_are_refused_and_change_nothing() -> None:
    case = open_case()
    visited(case)
    refusal = refused(
        case,
        errors.InvalidResponses,
        lambda: complete(case, "risk-assessment", 3, responses={"visits": "many"}),
    )
    assert refusal.message == (
        'Cannot complete risk-assessment: Visits: "many" is not a whole number; '
        "Risk level is mandatory: answer with one of: low, medium, high"
    )


def test_completing_twice_is_refused() -> None:
    case = open_case()
    complete(case, "contact", 1)
    refusal = refused(case, errors.TaskNotOpen, lambda: complete(case, "contact", 2))
    assert refusal.message == "contact is already completed at 2026-03-02T09:01:00+00:00."


def test_an_unknown_reference_lists_the_tasks_of_the_case() -> None:
    case = open_case(referral_type())
    refusal = refused(case, errors.UnknownTask, lambda: complete(case, "visit"))
    assert refusal.message == (
        '"visit" is not a task of case C-1; its tasks in progress are: triage, letter, translate.'
    )


def test_a_task_of_the_type_not_yet_in_the_plan_says_to_add_it() -> None:
    case = open_case()
    refusal = refused(case, errors.UnknownTask, lambda: complete(case, "interpreter"))
    assert refusal.message == 'Case C-1 has no "interpreter" task yet; add it to the plan first.'


def two_check_ins() -> Case:
    case = open_case()
    case.add_task("check-in", note=None, by="ann", now=at(1))
    case.add_task("check-in", note=None, by="ann", now=at(2))
    return case


def test_the_definition_id_is_the_key_of_the_first_instance() -> None:
    # Keys are stable: `check-in` always names the first instance, even with check-in#2 open,
    # so a definition id is never ambiguous (AmbiguousTask cannot arise).
    case = two_check_ins()
    assert kinds(complete(case, "check-in", 3)) == [("task_completed", "check-in")]
    assert kinds(complete(case, "check-in#2", 4)) == [("task_completed", "check-in#2")]


def test_a_resolved_first_instance_points_to_the_one_in_progress() -> None:
    case = two_check_ins()
    case.add_task("check-in", note=None, by="ann", now=at(2))
    complete(case, "check-in", 3)
    refusal = refused(case, errors.TaskNotOpen, lambda: complete(case, "check-in", 4))
    assert refusal.message == (
        "check-in is already completed at 2026-03-02T09:03:00+00:00; check-in#2 and check-in#3 "
        "are in progress."
    )


def test_a_task_re_added_after_a_cancellation_is_named_by_its_new_key() -> None:
    case = open_case(referral_type())
    case.add_task("safeguarding", note=None, by="ann", now=at(1))
    case.cancel_task("safeguarding", cascade=False, reason=None, by="ann", now=at(2))
    case.add_task("safeguarding", note=None, by="ann", now=at(3))
    refusal = refused(case, errors.TaskNotOpen, lambda: complete(case, "safeguarding", 4))
    assert refusal.message == (
        "safeguarding is already cancelled at 2026-03-02T09:02:00+00:00; safeguarding#2 is in "
        "progress."
    )
    complete(case, "safeguarding#2", 4)
    assert statuses(case)["safeguarding#2"] == "completed"


def test_check_complete_changes_nothing() -> None:
    case = open_case()
    visited(case)
    before = case.state.model_dump()
    task, answers = case.check_complete(
        "risk-assessment", outcome=None, responses={"risk-level": "Low"}
    )
    assert (task.key, answers) == ("risk-assessment", {"risk-level": "low"})
    assert case.state.model_dump() == before


# -- add_task ----------------------------------------------------------------------------------


def test_adding_an_unknown_task_lists_the_tasks_of_the_type() -> None:
    case = open_case()
    refusal = refused(
        case,
        errors.UnknownTask,
        lambda: case.add_task("translator", note=None, by="ann", now=at(1)),
    )
    assert refusal.message == (
        '"translator" is not a task of Visit assessment; its tasks are: contact, home-visit, '
        "risk-assessment, benefits-check, agree-plan, leaflet, interpreter, check-in."
    )


def test_adding_a_task_records_who_why_and_opens_it() -> None:
    case = open_case()
    changes = case.add_task("interpreter", note="speaks Polish", by="bob", now=at(4))
    assert kinds(changes) == [("task_added", "interpreter"), ("task_opened", "interpreter")]
    assert changes[0].detail == "speaks Polish"
    task = case.instance("interpreter")
    assert (task.added_by, task.added_at, task.note, task.opened_at) == (
        "bob",
        at(4),
        "speaks Polish",
        at(4),
    )
    assert task.mandatory is False


def test_adding_a_task_whose_dependencies_are_not_done_blocks_it() -> None:
    case = open_case(referral_type())
    changes = case.add_task("review", note=None, by="ann", now=at(1))
    assert kinds(changes) == [("task_added", "review"), ("task_blocked", "review")]
    assert changes[1].detail == "waits for safeguarding (not in the plan yet; add it)"


@pytest.mark.parametrize("done", [False, True])
def test_a_non_repeatable_task_is_refused_while_an_instance_exists(done: bool) -> None:
    case = open_case()
    if done:
        complete(case, "contact", 1)
    refusal = refused(
        case, errors.NotRepeatable, lambda: case.add_task("contact", note=None, by="ann", now=at(2))
    )
    state = "completed" if done else "open"
    assert refusal.message == (
        f"Initial contact may appear only once in a plan and contact is already {state}."
    )


def test_a_non_repeatable_task_may_be_added_again_once_every_instance_is_cancelled() -> None:
    case = open_case()
    case.add_task("interpreter", note=None, by="ann", now=at(1))
    case.cancel_task("interpreter", cascade=False, reason=None, by="ann", now=at(2))
    case.add_task("interpreter", note=None, by="ann", now=at(3))
    assert statuses(case)["interpreter#2"] == "open"
    refusal = refused(
        case,
        errors.NotRepeatable,
        lambda: case.add_task("interpreter", note=None, by="ann", now=at(4)),
    )
    assert "interpreter#2 is already open" in refusal.message


def test_check_add_returns_the_definition_and_changes_nothing() -> None:
    case = open_case()
    before = case.state.model_dump()
    assert case.check_add("check-in").id == "check-in"
    assert case.state.model_dump() == before


# -- cancel_task -------------------------------------------------------------------------------


def test_cancelling_a_task_with_dependants_needs_cascade_and_names_them() -> None:
    case = open_case()
    refusal = refused(
        case,
        errors.HasDependants,
        lambda: case.cancel_task("contact", cascade=False, reason=None, by="ann", now=at(1)),
    )
    assert refusal.message == (
        "Cancelling contact would also cancel home-visit, risk-assessment, benefits-check and "
        "agree-plan, which depend on it; ask again with cascade to cancel them too."
    )


def test_cancelling_a_task_with_one_dependant_says_so_in_the_singular() -> None:
    case = open_case()
    visited(case)
    refusal = refused(
        case,
        errors.HasDependants,
        lambda: case.cancel_task("benefits-check", cascade=False, reason=None, by="ann", now=at(3)),
    )
    assert refusal.message == (
        "Cancelling benefits-check would also cancel agree-plan, which depends on it; "
        "ask again with cascade to cancel it too."
    )


def test_a_cascade_cancels_dependants_transitively() -> None:
    case = open_case()
    assert [t.key for t in case.check_cancel("contact", cascade=True)] == [
        "contact",
        "home-visit",
        "risk-assessment",
        "benefits-check",
        "agree-plan",
    ]
    changes = case.cancel_task("contact", cascade=True, reason="tenant moved", by="bob", now=at(1))
    assert [(e.kind, e.task_key, e.detail) for e in changes] == [
        ("task_cancelled", "contact", "tenant moved"),
        ("task_cancelled", "home-visit", "depends on contact, which was cancelled"),
        ("task_cancelled", "risk-assessment", "depends on home-visit, which was cancelled"),
        ("task_cancelled", "benefits-check", "depends on home-visit, which was cancelled"),
        ("task_cancelled", "agree-plan", "depends on risk-assessment, which was cancelled"),
    ]
    assert statuses(case) == {
        "contact": "cancelled",
        "home-visit": "cancelled",
        "risk-assessment": "cancelled",
        "benefits-check": "cancelled",
        "agree-plan": "cancelled",
        "leaflet": "open",
    }
    contact = case.instance("contact")
    assert (contact.note, contact.resolved_by, contact.resolved_at) == (
        "tenant moved",
        "bob",
        at(1),
    )
    assert case.state.status is CaseStatus.open


def test_a_cascade_spares_tasks_blocked_on_something_else() -> None:
    # translate waits for interpreter, which is not in the plan: it does not depend on letter.
    case = open_case(referral_type())
    assert [t.key for t in case.check_cancel("letter", cascade=False)] == ["letter"]
    case.cancel_task("letter", cascade=False, reason=None, by="ann", now=at(1))
    assert statuses(case)["translate"] == "blocked"


def test_a_cascade_spares_dependants_another_instance_satisfies() -> None:
    ptype = visit_type(
        tasks=[
            {"id": "visit", "name": "Visit", "repeatable": True},
            {"id": "report", "name": "Report", "automatic": False, "depends_on": ["visit"]},
            {"id": "sign-off", "name": "Sign off"},
        ]
    )
    case = open_case(ptype)
    complete(case, "visit", 1)
    case.add_task("visit", note=None, by="ann", now=at(2))
    case.add_task("report", note=None, by="ann", now=at(3))
    assert statuses(case)["report"] == "blocked"
    changes = case.cancel_task("visit#2", cascade=False, reason=None, by="ann", now=at(4))
    assert kinds(changes) == [("task_cancelled", "visit#2"), ("task_opened", "report")]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            "completed",
            "contact is already completed and cannot be cancelled; undo the completion first.",
        ),
        ("cancelled", "contact is already cancelled."),
    ],
)
def test_a_resolved_task_cannot_be_cancelled(setup: str, message: str) -> None:
    case = open_case()
    case.add_task("check-in", note=None, by="ann", now=at(0))  # keeps the case open
    if setup == "completed":
        complete(case, "contact", 1)
    else:
        case.cancel_task("contact", cascade=True, reason=None, by="ann", now=at(1))
    refusal = refused(
        case,
        errors.TaskNotOpen,
        lambda: case.cancel_task("contact", cascade=True, reason=None, by="ann", now=at(2)),
    )
    assert refusal.message == message


def test_cancelling_the_last_mandatory_task_completes_the_case() -> None:
    case = open_case()
    visited(case)
    complete(case, "risk-assessment", 3, responses=RISK)
    complete(case, "benefits-check", 4)
    changes = case.cancel_task(
        "agree-plan", cascade=False, reason="not needed", by="ann", now=at(5)
    )
    assert kinds(changes) == [
        ("task_cancelled", "agree-plan"),
        ("task_cancelled", "leaflet"),
        ("case_completed", None),
    ]
    assert case.state.status is CaseStatus.completed


# -- bypass_task -------------------------------------------------------------------------------


def test_a_mandatory_task_cannot_be_bypassed() -> None:
    case = open_case()
    refusal = refused(
        case,
        errors.NotOptional,
        lambda: case.bypass_task("contact", reason=None, by="ann", now=at(1)),
    )
    assert refusal.message == (
        "contact is mandatory and cannot be bypassed; complete it, or cancel it if it is no "
        "longer needed."
    )


def test_a_mandatory_task_already_cancelled_says_so_rather_than_to_cancel_it() -> None:
    case = open_case()
    case.cancel_task("contact", cascade=True, reason="duplicate", by="ann", now=at(1))
    refusal = refused(
        case,
        errors.TaskNotOpen,
        lambda: case.bypass_task("contact", reason=None, by="ann", now=at(2)),
    )
    assert refusal.message == "contact is already cancelled."


def test_an_optional_task_is_bypassed_with_a_reason() -> None:
    case = open_case()
    changes = case.bypass_task("leaflet", reason="sent by post", by="bob", now=at(1))
    assert [(e.kind, e.task_key, e.detail) for e in changes] == [
        ("task_bypassed", "leaflet", "sent by post")
    ]
    leaflet = case.instance("leaflet")
    assert (leaflet.status, leaflet.note, leaflet.resolved_by) == (
        TaskStatus.bypassed,
        "sent by post",
        "bob",
    )
    assert case.state.status is CaseStatus.open


def test_a_blocked_optional_task_can_be_bypassed() -> None:
    case = open_case(referral_type())
    case.bypass_task("translate", reason=None, by="ann", now=at(1))
    assert statuses(case)["translate"] == "bypassed"
    assert case.state.log[-1].detail == "bypassed"


def test_a_resolved_optional_task_cannot_be_bypassed() -> None:
    case = open_case()
    complete(case, "leaflet", 1)
    refusal = refused(
        case,
        errors.TaskNotOpen,
        lambda: case.bypass_task("leaflet", reason=None, by="ann", now=at(2)),
    )
    assert refusal.message == "leaflet is already completed."


# -- undo_completion ---------------------------------------------------------------------------


def test_undo_reopens_the_task_and_re_blocks_its_open_dependants() -> None:
    case = open_case()
    visited(case)
    changes = case.undo_completion("home-visit", reason="wrong house", by="bob", now=at(3))
    assert [(e.kind, e.task_key, e.detail) for e in changes] == [
        ("completion_undone", "home-visit", "was visited: wrong house"),
        ("task_blocked", "risk-assessment", "waits for home-visit again"),
        ("task_blocked", "benefits-check", "waits for home-visit again"),
    ]
    home = case.instance("home-visit")
    assert home.status is TaskStatus.open
    assert (home.outcome, home.responses, home.resolved_at, home.resolved_by, home.note) == (
        None,
        {},
        None,
        None,
        None,
    )
    assert case.instance("risk-assessment").opened_at is None
    assert statuses(case)["agree-plan"] == "blocked"
    complete(case, "home-visit", 4, outcome="visited")
    assert statuses(case)["risk-assessment"] == "open"


def test_undo_without_outcome_or_reason() -> None:
    case = open_case()
    complete(case, "contact", 1)
    changes = case.undo_completion("contact", reason=None, by="ann", now=at(2))
    assert changes[0].detail == "completion undone"
    assert statuses(case)["home-visit"] == "blocked"


def test_undo_is_refused_once_a_dependant_is_completed() -> None:
    case = open_case()
    visited(case)
    complete(case, "benefits-check", 3)
    refusal = refused(
        case,
        errors.CannotUndo,
        lambda: case.undo_completion("home-visit", reason=None, by="ann", now=at(4)),
    )
    assert refusal.message == (
        "The completion of home-visit cannot be undone: benefits-check, which depends on it, "
        "is already completed."
    )
    complete(case, "risk-assessment", 4, responses=RISK)
    refusal = refused(
        case,
        errors.CannotUndo,
        lambda: case.undo_completion("home-visit", reason=None, by="ann", now=at(5)),
    )
    assert refusal.message == (
        "The completion of home-visit cannot be undone: risk-assessment (completed) and "
        "benefits-check (completed), which depend on it, are already resolved."
    )


def test_undo_cancels_the_tasks_its_outcome_added_if_not_done() -> None:
    case = open_case()
    complete(case, "contact", 1)
    complete(case, "home-visit", 2, outcome="no-access")
    changes = case.undo_completion("home-visit", reason=None, by="ann", now=at(3))
    assert [(e.kind, e.task_key, e.detail) for e in changes][:2] == [
        ("completion_undone", "home-visit", "was no-access"),
        ("task_cancelled", "check-in", "completion of home-visit undone"),
    ]
    assert statuses(case)["check-in"] == "cancelled"


def test_undo_is_refused_once_a_task_its_outcome_added_is_done() -> None:
    case = open_case()
    complete(case, "contact", 1)
    complete(case, "home-visit", 2, outcome="no-access")
    complete(case, "check-in", 3)
    refusal = refused(
        case,
        errors.CannotUndo,
        lambda: case.undo_completion("home-visit", reason=None, by="ann", now=at(4)),
    )
    assert refusal.message == (
        "The completion of home-visit cannot be undone: check-in, which its outcome added, "
        "is already completed."
    )


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("contact", "contact is open, not completed."),
        ("home-visit", "home-visit is blocked, not completed."),
        ("leaflet", "leaflet is bypassed, not completed."),
    ],
)
def test_only_a_completed_task_can_be_undone(ref: str, message: str) -> None:
    case = open_case()
    case.bypass_task("leaflet", reason=None, by="ann", now=at(1))
    refusal = refused(
        case, errors.CannotUndo, lambda: case.undo_completion(ref, reason=None, by="ann", now=at(2))
    )
    assert refusal.message == message


def test_undo_blocks_the_task_again_if_a_repeatable_dependency_has_a_new_instance() -> None:
    ptype = visit_type(
        tasks=[
            {"id": "visit", "name": "Visit", "repeatable": True},
            {"id": "report", "name": "Report", "depends_on": ["visit"]},
            {"id": "sign-off", "name": "Sign off", "depends_on": ["report"]},
        ]
    )
    case = open_case(ptype)
    complete(case, "visit", 1)
    complete(case, "report", 2)
    case.add_task("visit", note=None, by="ann", now=at(3))
    changes = case.undo_completion("report", reason=None, by="ann", now=at(4))
    assert [(e.kind, e.task_key, e.detail) for e in changes] == [
        ("completion_undone", "report", "completion undone"),
        ("task_blocked", "sign-off", "waits for report again"),
        ("task_blocked", "report", "waits for visit#2 (open)"),
    ]
    complete(case, "visit#2", 5)
    assert statuses(case)["report"] == "open"


def test_a_completed_dependant_does_not_stop_undo_when_another_instance_is_done() -> None:
    ptype = visit_type(
        tasks=[
            {"id": "visit", "name": "Visit", "repeatable": True},
            {"id": "report", "name": "Report", "depends_on": ["visit"]},
            {"id": "sign-off", "name": "Sign off", "automatic": False},
        ]
    )
    case = open_case(ptype)
    case.add_task("sign-off", note=None, by="ann", now=at(0))
    complete(case, "visit", 1)
    complete(case, "report", 2)
    case.add_task("visit", note=None, by="ann", now=at(3))
    complete(case, "visit#2", 4)
    case.undo_completion("visit#2", reason=None, by="ann", now=at(5))
    assert statuses(case)["visit#2"] == "open"
    assert statuses(case)["report"] == "completed"


# -- record_completion -------------------------------------------------------------------------


def test_the_same_request_id_is_applied_once() -> None:
    case = open_case()
    first = record(case, "contact", 1, request_id="r-1")
    assert kinds(first) == [("task_completed", "contact"), ("task_opened", "home-visit")]
    before = case.state.model_dump()
    assert record(case, "contact", 2, request_id="r-1") == []
    assert case.state.model_dump() == before
    assert case.state.handled_requests == ["r-1"]


def test_the_same_completion_without_an_id_is_applied_once() -> None:
    case = open_case()
    visited(case)
    record(case, "risk-assessment", 3, responses=RISK)
    before = case.state.model_dump()
    assert record(case, "risk-assessment", 4, responses=RISK) == []
    assert case.state.model_dump() == before
    assert [e.kind for e in case.state.log].count("task_completed") == 3
    assert case.state.rejected == []


def test_a_refused_completion_is_recorded_not_raised() -> None:
    case = open_case()
    changes = record(case, "home-visit", 1, request_id="r-7", outcome="visited", by="portal")
    reason = "home-visit cannot be completed yet: it waits for contact (open)."
    assert [(e.kind, e.task_key, e.detail, e.by) for e in changes] == [
        ("request_rejected", None, reason, "portal")
    ]
    [rejected] = case.state.rejected
    assert (rejected.at, rejected.request, rejected.request_id, rejected.task) == (
        at(1),
        "complete_task",
        "r-7",
        "home-visit",
    )
    assert (rejected.by, rejected.reason) == ("portal", reason)
    assert statuses(case)["home-visit"] == "blocked"
    # The same request again is not rejected twice.
    assert record(case, "home-visit", 2, request_id="r-7", outcome="visited") == []
    assert len(case.state.rejected) == 1


def test_refused_completions_without_an_id_are_each_recorded() -> None:
    case = open_case()
    visited(case)
    record(case, "risk-assessment", 3, responses={"risk-level": "extreme"})
    record(case, "nope", 4)
    assert [r.reason for r in case.state.rejected] == [
        'Cannot complete risk-assessment: Risk level: "extreme" is not one of: low, medium, high',
        '"nope" is not a task of case C-1; its tasks in progress are: risk-assessment, '
        "benefits-check, agree-plan, leaflet.",
    ]


def test_a_completion_after_closing_is_recorded_as_rejected() -> None:
    case = open_case()
    case.close(outcome="no-further-support", reason=None, by="ann", now=at(1))
    changes = record(case, "contact", 2, request_id="late")
    assert changes[0].kind == "request_rejected"
    assert case.state.rejected[0].reason == "Case C-1 is closed; it takes no more changes."


def test_a_duplicate_after_the_case_completed_is_ignored() -> None:
    case = open_case()
    visited(case)
    complete(case, "risk-assessment", 3, responses=RISK)
    complete(case, "benefits-check", 4)
    record(case, "agree-plan", 5)
    assert case.state.status is CaseStatus.completed
    assert record(case, "agree-plan", 6) == []
    assert case.state.rejected == []


# -- errors ------------------------------------------------------------------------------------

ALL_ERRORS = [
    errors.CaseRuleError,
    errors.UnknownTask,
    errors.TaskNotOpen,
    errors.TaskBlocked,
    errors.AmbiguousTask,
    errors.NotRepeatable,
    errors.NotOptional,
    errors.HasDependants,
    errors.CannotUndo,
    errors.InvalidOutcome,
    errors.InvalidResponses,
    errors.CaseNotOpen,
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: e.code)
def test_an_error_round_trips_by_code(error: type[errors.CaseRuleError]) -> None:
    rebuilt = errors.error_for_code(error.code, "why")
    assert type(rebuilt) is error
    assert rebuilt.message == "why"
    assert str(rebuilt) == "why"


def test_error_codes_are_unique_and_an_unknown_code_is_a_plain_refusal() -> None:
    assert len({e.code for e in ALL_ERRORS}) == len(ALL_ERRORS)
    assert type(errors.error_for_code("no-such-code", "why")) is errors.CaseRuleError
