"""A case that completes by itself takes its outcome (and follow-on type) from a task."""

from __future__ import annotations

from casemodel.case import Case
from casemodel.state import CaseStatus
from tests.factories import at, visit_type


def agreeing_type():
    base = visit_type()
    tasks = [t.model_dump() for t in base.tasks]
    for task in tasks:
        if task["id"] == "agree-plan":
            task["outcomes"] = [
                {"id": "plan-agreed", "label": "Plan agreed", "case_outcome": "need-identified"},
                {"id": "declined", "label": "Declined", "case_outcome": "no-further-support"},
                {"id": "other", "label": "Other"},
            ]
    return visit_type(tasks=tasks)


def complete_all(case: Case, agree_outcome: str) -> None:
    for minute, (task, outcome, responses) in enumerate(
        [
            ("contact", None, None),
            ("home-visit", "visited", None),
            ("risk-assessment", None, {"Risk level": "low"}),
            ("benefits-check", None, None),
            ("agree-plan", agree_outcome, None),
        ],
        start=1,
    ):
        case.complete_task(
            task, outcome=outcome, responses=responses, note=None, by="t", now=at(minute)
        )


def test_task_outcome_becomes_the_case_outcome_with_its_follow_on():
    case = Case.open(
        agreeing_type(), case_ref="C", tenant_ref="T", owner="o", now=at(0), opened_by="t"
    )
    complete_all(case, "plan-agreed")
    assert case.state.status is CaseStatus.completed
    assert case.state.outcome == "need-identified"
    assert case.state.follow_on_type == "support-plan"


def test_outcome_without_case_outcome_leaves_the_case_outcome_empty():
    case = Case.open(
        agreeing_type(), case_ref="C", tenant_ref="T", owner="o", now=at(0), opened_by="t"
    )
    complete_all(case, "other")
    assert case.state.status is CaseStatus.completed
    assert case.state.outcome is None
    assert case.state.follow_on_type is None


def test_loader_refuses_an_unknown_case_outcome(tmp_path):
    import shutil

    from definitions.loader import default_definitions_dir, validate_catalog

    shutil.copytree(default_definitions_dir(), tmp_path / "defs")
    path = tmp_path / "defs" / "types" / "tenancy-sustainment-assessment.yaml"
    path.write_text(path.read_text().replace("case_outcome: signposted", "case_outcome: nope"))
    _, problems = validate_catalog(tmp_path / "defs")
    assert any("case_outcome" in p.location and '"nope"' in p.message for p in problems)


def _assessment() -> Case:
    from definitions.loader import default_definitions_dir, load_catalog

    assessment = load_catalog(default_definitions_dir()).type("tenancy-sustainment-assessment")
    return Case.open(
        assessment, case_ref="TSA-1", tenant_ref="T", owner="o", now=at(0), opened_by="t"
    )


def test_a_cancellation_that_takes_the_task_deciding_the_outcome_is_refused():
    """An assessment's visit cancelled with what depends on it took agree-outcome, whose
    every outcome names the case's: the case then completed with none, and the follow-on
    for the need it was to find never opened."""
    import pytest

    from casemodel import errors, intake
    from casemodel.requests import CancelTask

    case = _assessment()
    cascade = CancelTask(task="home-visit", cascade=True, reason="moved away")
    with pytest.raises(errors.NotAllowed) as refused:
        intake.apply(case, cascade, at(2), by="t")
    assert refused.value.message == (
        "Cancelling home-visit, which would take agree-outcome with it, would leave TSA-1 "
        "nothing to decide its outcome (hoarding-identified, need-identified, "
        "no-further-support, signposted): it would complete with none, and open no "
        "follow-on. To end the case, close it with its outcome (case close TSA-1 --outcome "
        "… --reason …)."
    )
    assert all(t.status.value != "cancelled" for t in case.state.tasks)
    # A task that does not decide it may go; and a history from before the rule replays.
    asked: list[str] = []
    old = _assessment()
    intake.apply(
        old, cascade, at(2), by="t", since=lambda rule: asked.append(rule) is None and False
    )
    assert "decision-kept" in asked
    assert old.instance("agree-outcome").status.value == "cancelled"
