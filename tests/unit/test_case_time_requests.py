"""Time requests on a case (pause, resume, hold, release, revise), lags, and `next_due`.

Every refusal is a typed `CaseRuleError` with a message for a person, and leaves the case
exactly as it was. Cases run on `sla_type()`: see tests/unit/test_escalations.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from casemodel import errors
from casemodel.case import Case
from casemodel.state import TaskStatus
from definitions.schema import ProvisionType
from tests.factories import at, sla_type, working_type
from tests.factories import complete_at as complete
from tests.factories import open_sla_case as open_case


def refused(case: Case, error: type[errors.CaseRuleError], request: Callable[[], object]) -> str:
    """Run a request the rules refuse; check the refusal type and that nothing changed."""
    before = case.state.model_dump()
    with pytest.raises(errors.CaseRuleError) as refusal:
        request()
    assert type(refusal.value) is error, refusal.value
    assert case.state.model_dump() == before
    return refusal.value.message


def status(case: Case, key: str) -> TaskStatus:
    return next(t.status for t in case.state.tasks if t.key == key)


def pause(case: Case, minute: float, reason: str = "tenant in hospital") -> None:
    case.pause(reason=reason, by="ann", now=at(minute))


# -- pause and resume ----------------------------------------------------------------------


def test_pause_and_resume_are_logged():
    case = open_case()
    entries = case.pause(reason="tenant in hospital", by="ann", now=at(2))
    assert [(e.kind, e.by, e.detail) for e in entries] == [
        ("case_paused", "ann", "tenant in hospital")
    ]
    assert case.state.paused
    entries = case.resume(by="bob", now=at(12))
    assert [(e.kind, e.by, e.detail) for e in entries] == [
        ("case_resumed", "bob", "paused for 0:10:00")
    ]
    assert not case.state.paused
    interval = case.state.pauses[0]
    assert (interval.start, interval.end, interval.reason, interval.by) == (
        at(2),
        at(12),
        "tenant in hospital",
        "ann",
    )


def test_a_type_that_may_not_be_held_refuses_a_pause():
    case = open_case(sla_type(may_be_held=False))
    message = refused(case, errors.NotAllowed, lambda: pause(case, 2))
    assert message == "Cases of SLA check may not be paused: their SLA runs without a break."
    assert refused(case, errors.NotAllowed, case.check_pause) == message


def test_pausing_twice_is_refused():
    case = open_case()
    pause(case, 2)
    message = refused(case, errors.NotAllowed, lambda: pause(case, 3, "again"))
    assert message == (
        "Case C-1 is already paused since 2026-03-02 09:02 (tenant in hospital); resume it first."
    )
    assert refused(case, errors.NotAllowed, case.check_pause) == message


def test_a_pause_needs_a_reason():
    case = open_case()
    message = refused(case, errors.NotAllowed, lambda: pause(case, 2, "  "))
    assert message == "Pausing a case needs a reason, e.g. 'tenant in hospital'."


def test_resuming_a_case_that_is_not_paused_is_refused():
    case = open_case()
    message = refused(case, errors.NotAllowed, lambda: case.resume(by="ann", now=at(2)))
    assert message == "Case C-1 is not paused."
    pause(case, 2)
    case.resume(by="ann", now=at(3))
    assert refused(case, errors.NotAllowed, case.check_resume) == message


def test_time_requests_on_a_closed_case_are_refused():
    case = open_case()
    pause(case, 1)
    case.close(outcome=None, reason="moved away", by="ann", now=at(2))
    closed = "Case C-1 is closed; it takes no more changes."
    for request in (
        case.check_pause,
        case.check_resume,
        lambda: case.resume(by="ann", now=at(3)),
        lambda: case.check_hold("contact"),
        lambda: case.check_release("contact"),
        lambda: case.check_revise("case", at(90), "tenant agreed"),
    ):
        assert refused(case, errors.CaseNotOpen, request) == closed


# -- hold and release ----------------------------------------------------------------------


def test_hold_and_release_are_logged():
    case = open_case()
    assert case.check_hold("contact").key == "contact"
    entries = case.hold_task("contact", reason="tenant asked to wait", by="ann", now=at(1))
    assert [(e.kind, e.task_key, e.detail) for e in entries] == [
        ("task_held", "contact", "tenant asked to wait")
    ]
    assert case.check_release("contact").key == "contact"
    entries = case.release_task("contact", by="ann", now=at(2))
    assert [(e.kind, e.task_key) for e in entries] == [("task_released", "contact")]
    assert (case.state.tasks[0].holds[0].start, case.state.tasks[0].holds[0].end) == (
        at(1),
        at(2),
    )


def test_holding_a_completed_task_is_refused():
    case = open_case()
    complete(case, "contact", at(1))
    message = refused(
        case,
        errors.TaskNotOpen,
        lambda: case.hold_task("contact", reason="wait", by="ann", now=at(2)),
    )
    assert message == "contact is completed; only open work is held."


def test_holding_a_held_task_is_refused():
    case = open_case()
    case.hold_task("contact", reason="wait", by="ann", now=at(1))
    message = refused(
        case,
        errors.NotAllowed,
        lambda: case.hold_task("contact", reason="again", by="ann", now=at(2)),
    )
    assert message == "contact is already held; release it first."


def test_releasing_a_task_that_is_not_held_is_refused():
    case = open_case()
    message = refused(
        case, errors.NotAllowed, lambda: case.release_task("contact", by="ann", now=at(1))
    )
    assert message == "contact is not held."
    case.hold_task("contact", reason="wait", by="ann", now=at(1))
    case.release_task("contact", by="ann", now=at(2))
    assert refused(case, errors.NotAllowed, lambda: case.check_release("contact")) == message


def test_releasing_a_task_completed_while_held_is_refused():
    case = open_case()
    case.hold_task("contact", reason="wait", by="ann", now=at(1))
    complete(case, "contact", at(2))
    message = refused(
        case, errors.TaskNotOpen, lambda: case.release_task("contact", by="ann", now=at(3))
    )
    assert message == "contact is completed; there is nothing to release."


def test_holding_an_unknown_task_is_refused():
    case = open_case()
    message = refused(
        case,
        errors.UnknownTask,
        lambda: case.hold_task("nonsense", reason="wait", by="ann", now=at(1)),
    )
    assert message.startswith('"nonsense" is not a task of case C-1')


def test_a_blocked_task_may_be_held_and_its_clock_then_starts_held():
    data = sla_type().model_dump(mode="json")
    data["tasks"][1]["sla"] = {"target": "10 minutes"}
    case = open_case(ProvisionType.model_validate(data))
    case.hold_task("review", reason="tenant asked to wait", by="ann", now=at(1))
    complete(case, "contact", at(2))
    case.tick(at(4))
    assert status(case, "review") is TaskStatus.open
    review = next(c for c in case.clocks(at(4)) if c.subject == "review")
    assert review.state.value == "paused"
    case.release_task("review", by="ann", now=at(9))
    review = next(c for c in case.clocks(at(9)) if c.subject == "review")
    assert (review.started_at, review.due_at) == (at(4), at(19))


# -- revise --------------------------------------------------------------------------------


def test_a_revision_is_recorded_with_its_reason_and_who():
    case = open_case()
    assert case.check_revise("case", at(120), "tenant agreed") == "case"
    entries = case.revise_target(
        "case", due_at=at(120), reason="tenant agreed", by="lead", now=at(10)
    )
    assert [(e.kind, e.by, e.task_key, e.detail) for e in entries] == [
        ("target_revised", "lead", None, "new target 2026-03-02 11:00 UTC: tenant agreed")
    ]
    revision = case.state.revisions["case"]
    assert (revision.due_at, revision.revised_at, revision.reason, revision.by) == (
        at(120),
        at(10),
        "tenant agreed",
        "lead",
    )


def test_a_target_that_does_not_allow_revision_is_refused():
    case = open_case()
    message = refused(
        case,
        errors.NotAllowed,
        lambda: case.revise_target(
            "contact", due_at=at(20), reason="tenant agreed", by="lead", now=at(1)
        ),
    )
    assert message == "The SLA of contact does not allow revision; its target is fixed."


def test_revising_without_an_sla_is_refused():
    case = open_case()
    assert refused(
        case, errors.NotAllowed, lambda: case.check_revise("review", at(20), "agreed")
    ) == ("review has no SLA target to revise.")
    bare = open_case(sla_type(sla=None))
    assert refused(bare, errors.NotAllowed, lambda: bare.check_revise("case", at(20), "x")) == (
        "case has no SLA target to revise."
    )


def test_a_revision_needs_a_reason():
    case = open_case()
    message = refused(
        case,
        errors.NotAllowed,
        lambda: case.revise_target("case", due_at=at(90), reason=" ", by="lead", now=at(1)),
    )
    assert message == "Revising a target needs a reason, recorded in the log."


def test_a_revised_target_needs_its_utc_offset():
    case = open_case()
    naive = datetime(2026, 3, 2, 11, 0)
    message = refused(
        case,
        errors.NotAllowed,
        lambda: case.revise_target("case", due_at=naive, reason="agreed", by="lead", now=at(1)),
    )
    assert message == "Give the revised target with its UTC offset."


def test_revising_a_resolved_task_is_refused():
    opened = datetime(2026, 3, 2, 10, tzinfo=UTC)
    case = open_case(working_type(), opened)
    complete(case, "assess", datetime(2026, 3, 20, 10, tzinfo=UTC))  # missed
    message = refused(
        case,
        errors.TaskNotOpen,
        lambda: case.check_revise("assess", datetime(2026, 3, 27, 10, tzinfo=UTC), "agreed"),
    )
    assert message == "assess is completed; its clock has stopped and its target stands."


# -- lag -----------------------------------------------------------------------------------


def test_a_dependant_with_a_lag_stays_blocked_until_the_lag_has_passed():
    case = open_case()
    complete(case, "contact", at(3))
    assert status(case, "review") is TaskStatus.blocked
    until = "the agreed lag after its dependencies, until 2026-03-02 09:05 UTC"
    assert case.waiting_for(case.instance("review"), at(4)) == [until]
    assert case.waiting_for(case.instance("review"), at(5)) == []
    assert case.next_due(at(3)) == (at(5), "lag before review")
    assert case.tick(at(4)) == []
    assert status(case, "review") is TaskStatus.blocked
    message = refused(
        case,
        errors.TaskBlocked,
        lambda: complete(case, "review", at(4)),
    )
    assert message == f"review cannot be completed yet: it waits for {until}."
    case.tick(at(5))
    review = case.instance("review")
    assert (review.status, review.opened_at) == (TaskStatus.open, at(5))
    entry = case.state.log[-1]
    assert (entry.kind, entry.by, entry.task_key, entry.at) == (
        "task_opened",
        "sla",
        "review",
        at(5),
    )


def test_a_lag_waits_for_the_dependency_first():
    case = open_case()
    assert case.waiting_for(case.instance("review"), at(1)) == ["contact (open)"]
    assert all("lag" not in what for _, what in [case.next_due(at(1)) or (None, "")])


def test_a_pause_stops_a_lag_too():
    case = open_case()
    complete(case, "contact", at(3))
    pause(case, 4)
    case.resume(by="ann", now=at(10))
    assert case.next_due(at(10)) == (at(11), "lag before review")
    case.tick(at(10.5))
    assert status(case, "review") is TaskStatus.blocked
    case.tick(at(11))
    assert status(case, "review") is TaskStatus.open


def test_a_lag_does_not_run_out_while_the_case_is_paused():
    tasks = sla_type().model_dump(mode="json")["tasks"]
    case = open_case(sla_type(tasks=[*tasks, {"id": "call", "name": "Call", "automatic": False}]))
    complete(case, "contact", at(3))
    pause(case, 4)  # one minute of the lag left
    case.add_task("call", note=None, by="ann", now=at(6))  # the plan is released again
    assert status(case, "review") is TaskStatus.blocked
    assert case.waiting_for(case.instance("review"), at(6)) != []
    case.resume(by="ann", now=at(10))
    assert status(case, "review") is TaskStatus.blocked
    case.tick(at(11))
    assert status(case, "review") is TaskStatus.open


def test_a_lag_in_working_days():
    case = open_case(working_type(), datetime(2026, 3, 6, 15, tzinfo=UTC))  # Friday
    complete(case, "assess", datetime(2026, 3, 6, 16, tzinfo=UTC))
    assert case.waiting_for(case.instance("visit"), datetime(2026, 3, 9, 9, tzinfo=UTC)) == [
        "the agreed lag after its dependencies, until 2026-03-10 16:00 UTC"
    ]
    assert case.next_due(datetime(2026, 3, 6, 16, tzinfo=UTC)) == (
        datetime(2026, 3, 10, 16, tzinfo=UTC),
        "lag before visit",
    )


# -- next_due ------------------------------------------------------------------------------


def test_next_due_is_the_earliest_pending_escalation():
    case = open_case()
    assert case.next_due(at(0)) == (at(4), "warning rule warn of contact")
    case.tick(at(4))
    assert case.next_due(at(4)) == (at(5), "breach rule breach of contact")
    case.tick(at(5))
    assert case.next_due(at(5)) == (at(6), "breach rule breach of contact")
    case.tick(at(8))
    assert case.next_due(at(8)) == (at(30), "stagnation rule quiet of the case")
    case.tick(at(30))
    assert case.next_due(at(30)) == (at(50), "warning point of the case")
    assert case.next_due(at(50)) == (at(60), "breach rule case-breach of the case")


def test_next_due_names_clock_transitions_where_no_rule_fires():
    data = sla_type(escalations=[]).model_dump(mode="json")
    data["tasks"][0]["escalations"] = []
    case = open_case(ProvisionType.model_validate(data))
    seen = []
    now = at(0)
    while (due := case.next_due(now)) is not None:
        seen.append(due)
        now = due[0]
        case.tick(now)
    assert seen == [
        (at(4), "warning point of contact"),
        (at(5), "target of contact"),
        (at(50), "warning point of the case"),
        (at(60), "target of the case"),
    ]


def test_next_due_leaves_out_held_tasks():
    case = open_case()
    case.hold_task("contact", reason="wait", by="ann", now=at(1))
    assert case.next_due(at(1)) == (at(31), "stagnation rule quiet of the case")


def test_next_due_is_none_when_paused_or_closed():
    case = open_case()
    pause(case, 1)
    assert case.next_due(at(1)) is None
    case.resume(by="ann", now=at(3))
    assert case.next_due(at(3)) == (at(6), "warning rule warn of contact")
    case.close(outcome=None, reason="moved away", by="ann", now=at(4))
    assert case.next_due(at(4)) is None
