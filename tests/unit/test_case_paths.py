"""Paths followed when a task is completed: tasks added, communications recorded, the
case completed, each on what the completion recorded, and what undo and a hand-over to
the next run do with them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import definitions
from activities.contracts import EscalationNotice
from casemodel.case import Case
from casemodel.errors import CaseNotOpen
from casemodel.memory import KEEP_RESOLVED
from casemodel.paths import PATH_TRIGGER
from casemodel.requests import ContinueCase
from casemodel.state import CaseStatus
from definitions.loader import load_catalog
from tests.factories import at, decision_type, writing_check_ins


def open_case(provision_type: Any = None) -> Case:
    return Case.open(
        provision_type or decision_type(),
        case_ref="MP-1",
        tenant_ref="TEN-1",
        owner="lucy-clarke",
        now=at(0),
        opened_by="t",
    )


def complete(
    case: Case, task: str, outcome: str | None = None, minute: int = 1, **responses: Any
) -> list[Any]:
    return case.complete_task(
        task, outcome=outcome, responses=responses, note=None, by="lucy", now=at(minute)
    )


def keys(case: Case) -> dict[str, str]:
    return {t.key: t.status.value for t in case.state.tasks}


def test_arrears_above_the_threshold_add_the_referral_and_the_log_says_why():
    case = open_case()
    entries = complete(case, "assessment", "engaged", arrears="800")
    assert keys(case) == {
        "assessment": "completed",
        "review": "open",
        "referral": "open",
    }
    (followed,) = [e for e in entries if e.kind == "path_followed"]
    assert followed.task_key == "assessment"
    assert followed.detail == "path refer: Rent arrears (£) is 800, above 500"
    added = next(t for t in case.state.tasks if t.key == "referral")
    assert added.added_by_task == "assessment"
    assert added.added_by == "lucy"
    assert [e.detail for e in entries if e.kind == "task_added"] == ["path refer of assessment"]


def test_arrears_at_or_below_the_threshold_add_nothing():
    for arrears in ("200", "500", None):
        case = open_case()
        entries = complete(
            case, "assessment", "engaged", **({"arrears": arrears} if arrears else {})
        )
        assert "referral" not in keys(case)
        assert not [e for e in entries if e.kind == "path_followed"]


def test_every_path_that_holds_is_followed_in_order():
    case = open_case()
    entries = complete(case, "assessment", "engaged", arrears="2500", debts="Council tax")
    assert [e.detail.split(":")[0] for e in entries if e.kind == "path_followed"] == [
        "path refer",
        "path hardship",
    ]
    assert list(keys(case))[-2:] == ["referral", "hardship-fund"]


def test_a_path_adds_a_task_once_unless_it_is_repeatable():
    base = decision_type()
    assessment = base.tasks[0]
    twice = assessment.model_copy(
        update={
            "paths": (assessment.paths[0], assessment.paths[0].model_copy(update={"id": "again"}))
        }
    )
    case = open_case(base.model_copy(update={"tasks": (twice, *base.tasks[1:])}))
    complete(case, "assessment", "engaged", arrears="900")
    assert [t.key for t in case.state.tasks].count("referral") == 1


def test_a_completes_case_path_closes_the_case_with_its_outcome():
    case = open_case()
    entries = complete(case, "assessment", "not-engaging", minute=5)
    state = case.state
    assert state.status is CaseStatus.completed
    assert state.outcome == "support-declined"
    assert state.follow_on_type == "tenancy-sustainment-assessment"
    assert state.resolved_at == at(5)
    assert keys(case)["review"] == "cancelled"
    assert [e.kind for e in entries][-3:] == ["path_followed", "task_cancelled", "case_completed"]
    assert entries[-1].detail == "outcome support-declined: path disengaged of assessment"
    # Not reopened: an undo is refused, as on any completed case.
    try:
        case.undo_completion("assessment", reason=None, by="lucy", now=at(6))
    except CaseNotOpen as refused:
        assert "completed" in refused.message
    else:
        raise AssertionError("a case a path completed was reopened")


def test_a_path_for_another_outcome_is_not_followed():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="100")
    assert case.state.status is CaseStatus.open


def test_a_communication_is_recorded_once_and_handed_over_once():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    entries = complete(case, "referral", "accepted", minute=2)
    assert [e.kind for e in entries if e.task_key == "referral"][-2:] == [
        "path_followed",
        "communication_recorded",
    ]
    (sent,) = case.take_communications()
    assert (sent.key, sent.subject, sent.rule, sent.trigger, sent.template) == (
        "MP-1/referral/path:tell-partners#1",
        "referral",
        "path:tell-partners",
        PATH_TRIGGER,
        "partner-agency-update",
    )
    assert sent.fired_at == at(2)
    assert case.take_communications() == []
    assert case.state.firings == []  # a communication is not an escalation


def test_undoing_a_completion_cancels_what_its_paths_added_and_does_not_send_twice():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    case.undo_completion("assessment", reason="wrong figure", by="lucy", now=at(2))
    assert keys(case)["referral"] == "cancelled"
    complete(case, "assessment", "engaged", minute=3, arrears="900")
    assert [t.key for t in case.state.tasks if t.task == "referral"] == ["referral", "referral#2"]
    complete(case, "referral#2", "accepted", minute=4)
    assert len(case.take_communications()) == 1
    case.undo_completion("referral#2", reason=None, by="lucy", now=at(5))
    complete(case, "referral#2", "accepted", minute=6)
    assert case.take_communications() == []
    assert len(case.state.communications) == 1


def test_a_completion_whose_path_added_a_resolved_task_cannot_be_undone():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    complete(case, "referral", "declined", minute=2)
    try:
        case.undo_completion("assessment", reason=None, by="lucy", now=at(3))
    except Exception as refused:
        assert "referral, which its outcome added, is already completed" in str(refused)
    else:
        raise AssertionError("undone although a task its path added is resolved")


def test_a_communication_not_yet_handed_over_is_carried_to_the_next_run():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    complete(case, "referral", "accepted", minute=2)
    carried = case.carry(case.state.last_seq, unconfirmed=[], keep=(), budget=1000)
    assert carried is not None
    again = ContinueCase.model_validate_json(carried.model_dump_json())
    next_run = Case(again.state)
    (sent,) = next_run.take_communications()
    assert next_run.recorded(sent.key) == sent


def test_tidying_keeps_a_task_whose_communication_is_still_to_go():
    case = open_case(writing_check_ins())
    for minute in range(1, 61):
        key = case.add_task("check-in", note=None, by="t", now=at(minute))[0].task_key
        complete(case, key, minute=minute)
    assert len(case.state.communications) == 60
    assert len({c.key for c in case.state.communications}) == 60
    case.tidy(case.state.last_seq)
    assert sum(1 for t in case.state.tasks if t.task == "check-in") == 60  # none handed over
    assert len(case.take_communications()) == 60
    case.tidy(case.state.last_seq)
    held = [t.key for t in case.state.tasks if t.task == "check-in"]
    assert len(held) == KEEP_RESOLVED
    assert sorted(c.subject for c in case.state.communications) == sorted(held)


def test_the_notice_of_a_communication_tells_whom_its_path_names():
    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    complete(case, "referral", "accepted", minute=2)
    (sent,) = case.take_communications()
    notice = EscalationNotice.of(case, sent, "case-MP-1", at(3))
    assert notice.trigger == "path"
    assert notice.rule == "path:tell-partners"
    assert notice.task_key == "referral"
    assert notice.template == "partner-agency-update"
    assert notice.recipients.model_dump() == {
        "owner": False,
        "owner_manager": False,
        "groups": ["money-advice-partners"],
        "addresses": [],
    }


def test_the_shipped_financial_inclusion_plan_refers_for_debt_advice_above_500():
    catalog = load_catalog(Path(definitions.__file__).parent / "catalog")
    plan = catalog.type("financial-inclusion-support-plan")
    answers = {
        "weekly-income": "310",
        "weekly-expenditure": "295.50",
        "on-universal-credit": "yes",
    }
    for arrears, referred in (("200", False), ("800", True)):
        case = open_case(plan)
        assert "debt-advice-referral" not in keys(case)
        complete(
            case,
            "income-and-expenditure-assessment",
            **answers,
            **{"arrears-amount": arrears},
        )
        assert ("debt-advice-referral" in keys(case)) is referred
    # The referral, once made, is a communication to the money advice partners.
    complete(case, "debt-advice-referral", "referral-accepted", minute=2, agency="Citizens Advice")
    (sent,) = case.take_communications()
    assert sent.template == "debt-advice-referral"
    notice = EscalationNotice.of(case, sent, "case-MP-1", at(2) + timedelta(seconds=1))
    assert notice.recipients.groups == ["money-advice-partners"]


def test_case_show_lists_the_communications():
    from starter.cli_case import case_view
    from starter.settings import Settings

    case = open_case()
    complete(case, "assessment", "engaged", arrears="800")
    complete(case, "referral", "accepted", minute=2)
    view = case_view(case.state, Settings())
    assert [(c["subject"], c["rule"], c["template"]) for c in view["communications"]] == [
        ("referral", "path:tell-partners", "partner-agency-update")
    ]
    assert view["escalations"] == []
