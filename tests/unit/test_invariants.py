"""The rules of a provision type: one function, met by every construction of a type.

`check_provision_type` is what the loader reports with the file in front, what
`ProvisionType` refuses to be built without, and what the case model may ask before
opening a case; a direct Temporal caller whose start input breaks a rule is refused when
the input is decoded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from casemodel.case import Case
from casemodel.errors import CaseNotStarted
from casemodel.requests import StartCase
from definitions import limits
from definitions.calendars import WorkingTimeCalendarDefinition
from definitions.invariants import (
    TypeProblem,
    check_provision_type,
    check_publishing_rules,
    list_problems,
)
from definitions.schema import RULES_ERROR, Dependency, ProvisionType, TaskDefinition
from tests.factories import referral_type, sla_type, visit_type, working_type
from tests.integration.sla_fixtures import seconds_type, working_day_type

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def a_type(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "simple",
        "name": "Simple",
        "category": "assessment",
        "audience": "internal",
        "tasks": [{"id": "first", "name": "First"}, {"id": "second", "name": "Second"}],
    }
    return {**data, **overrides}


def task(task_id: str, *depends_on: str, **more: Any) -> dict[str, Any]:
    return {"id": task_id, "name": task_id.title(), "depends_on": list(depends_on)} | more


def located(problems: list[TypeProblem]) -> dict[str, str]:
    return {p.location: p.message for p in problems}


@pytest.mark.parametrize(
    "factory", [visit_type, referral_type, sla_type, working_type, working_day_type, seconds_type]
)
def test_the_types_built_in_code_meet_the_rules(factory: Any) -> None:
    provision_type = factory()
    assert check_provision_type(provision_type) == []
    assert check_provision_type(provision_type.model_dump()) == []


def test_a_model_reports_each_broken_rule_at_its_field() -> None:
    broken = ProvisionType.model_construct(
        **{
            **ProvisionType.model_validate(a_type()).__dict__,
            "tasks": (
                TaskDefinition(id="first", name="First", depends_on=(Dependency(task="third"),)),
                TaskDefinition(id="first", name="Again", automatic=False),
            ),
        }
    )
    problems = located(check_provision_type(broken))
    assert set(problems) == {"tasks[0].depends_on[0].task", "tasks[1].id"}
    assert problems["tasks[0].depends_on[0].task"].startswith('"third" is not a task of this type')
    assert "task ids must be unique" in problems["tasks[1].id"]


def test_a_refusal_lists_the_first_five_problems_and_counts_the_rest() -> None:
    problems = [TypeProblem(f"tasks[{n}].id", "wrong") for n in range(7)]
    assert list_problems(problems[:1]) == "tasks[0].id: wrong"
    assert list_problems(problems[:5]).count("; ") == 4
    assert list_problems(problems).endswith("tasks[4].id: wrong; and 2 more")
    broken = ProvisionType.model_construct(
        **{
            **ProvisionType.model_validate(a_type()).__dict__,
            "tasks": tuple(
                TaskDefinition(id="same", name=f"Task {n}", automatic=n == 0) for n in range(8)
            ),
        }
    )
    with pytest.raises(CaseNotStarted) as refused:
        Case.open(broken, case_ref="C", tenant_ref="T", owner="o", now=NOW, opened_by="x")
    assert str(refused.value).startswith("A case of simple cannot open: tasks[1].id: ")
    assert str(refused.value).endswith("; and 2 more.")


def test_every_construction_runs_the_rules_and_lists_what_broke() -> None:
    data = a_type(
        tasks=[
            task("first", "second", outcomes=[{"id": "a", "label": "A", "case_outcome": "x"}]),
            task("second", "first", automatic=False),
        ],
        sla={"target": "9999999 working days"},
    )
    with pytest.raises(ValidationError) as caught:
        ProvisionType.model_validate(data)
    (error,) = caught.value.errors()
    assert error["type"] == RULES_ERROR
    assert [where for where, _ in error["ctx"]["problems"]] == [
        "sla.target",
        "tasks[0].outcomes[0].case_outcome",
        "tasks[0].depends_on[0].task",
    ]
    assert "the provision type breaks 3 of its rules: sla.target: " in str(caught.value)


def test_a_direct_temporal_caller_is_refused_when_its_start_input_is_decoded() -> None:
    start = {
        "case_ref": "C-1",
        "tenant_ref": "T-1",
        "owner": "ann",
        "provision_type": a_type(tasks=[task("first", automatic=False)]),
    }
    with pytest.raises(ValidationError, match="no task is automatic"):
        StartCase.model_validate(start)


@pytest.mark.parametrize(
    ("change", "location", "fragment"),
    [
        ({"tasks": []}, "tasks", "the type has no tasks"),
        ({"tasks": [task("first", "first")]}, "tasks[0].depends_on[0]", "depends on itself"),
        (
            {"tasks": [task("first"), task("b", "first", "first")]},
            "tasks[1].depends_on[1]",
            "twice",
        ),
        (
            {"tasks": [task("first", outcomes=[{"id": "o", "label": "O", "adds_tasks": ["x"]}])]},
            "tasks[0].outcomes[0].adds_tasks[0]",
            '"x" is not a task of this type',
        ),
        (
            {"outcomes": [{"id": "o", "label": "O"}, {"id": "o", "label": "P"}]},
            "outcomes[1].id",
            "outcome ids must be unique",
        ),
        (
            {
                "tasks": [
                    task("first"),
                    task("b", depends_on=[{"task": "first", "lag": "1 fortnight"}]),
                ]
            },
            "tasks[1].depends_on[0].lag",
            '"fortnight" is not a unit',
        ),
    ],
)
def test_raw_data_reports_each_rule_at_its_field(
    change: dict[str, Any], location: str, fragment: str
) -> None:
    problems = located(check_provision_type(a_type(**change)))
    assert fragment in problems[location]


def follow_ons(depth: int) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = []
    for level in reversed(range(depth)):
        rule: dict[str, Any] = {"id": f"l{level}", "after": "1 day", "template": "t"}
        if chain:
            rule["follow_on"] = chain
        chain = [rule]
    return chain


def test_follow_on_rules_nest_at_most_the_limit() -> None:
    def with_chain(depth: int) -> dict[str, Any]:
        rule = {"id": "r", "trigger": "stagnation", "stagnation_after": "1 day", "template": "t"}
        return a_type(escalations=[{**rule, "follow_on": follow_ons(depth)}])

    assert check_provision_type(with_chain(limits.FOLLOW_ON_DEPTH)) == []
    (problem,) = check_provision_type(with_chain(limits.FOLLOW_ON_DEPTH + 1))
    assert problem.location == "escalations[0]" + ".follow_on[0]" * 5 + ".follow_on"


def office(**hours: Any) -> WorkingTimeCalendarDefinition:
    return WorkingTimeCalendarDefinition.model_validate(
        {
            "id": "office",
            "name": "Office",
            "kind": "working_time",
            "timezone": "Europe/London",
            "working_days": hours.pop(
                "days", ["monday", "tuesday", "wednesday", "thursday", "friday"]
            ),
            "opens": hours.pop("opens", "09:00"),
            "closes": hours.pop("closes", "17:00"),
            "bank_holidays": None,
        }
    )


@pytest.mark.parametrize(
    ("calendar", "target", "fine"),
    [
        (office(), "2600 working days", True),
        (office(), "20800 working hours", True),
        (office(closes="16:30"), "20800 working hours", False),
        (office(days=["monday"]), "520 working days", True),
        (office(days=["monday"]), "600 working days", False),
        (office(days=["monday"], closes="09:01"), "20 working hours", False),
        (None, "2600 working days", True),
    ],
)
def test_a_duration_runs_at_most_ten_years_of_its_calendar(
    calendar: WorkingTimeCalendarDefinition | None, target: str, fine: bool
) -> None:
    problems = check_provision_type(a_type(sla={"target": target}), calendar=calendar)
    if fine:
        assert problems == []
    else:
        (problem,) = problems
        assert problem.location == "sla.target"
        assert "a duration may run for at most about ten years of its calendar" in problem.message
        assert "here at most" in problem.message


def test_the_calendar_a_type_carries_is_the_one_its_durations_count_in() -> None:
    data = a_type(sla={"target": "600 working days"})
    assert check_provision_type(data) == []
    carried = ProvisionType.model_validate(data).model_copy(
        update={"resolved_calendar": office(days=["monday"])}
    )
    assert [p.location for p in check_provision_type(carried)] == ["sla.target"]


def test_publishing_rules_are_apart_from_the_rules_a_case_needs() -> None:
    rule = {"id": "w", "trigger": "warning", "template": "t"}
    data = a_type(sla={"target": "2 days", "warning": "3 days"}, escalations=[rule])
    assert check_provision_type(data) == []
    assert ProvisionType.model_validate(data)  # a case of it would run
    assert {p.location for p in check_publishing_rules(data)} == {"sla.warning"}


# --- dependency cycles, against a reference ----------------------------------------------------


def has_cycle(edges: dict[int, set[int]]) -> bool:
    """Kahn's algorithm: a graph has a cycle when some node never loses its last edge."""
    waiting = {node: set(targets) for node, targets in edges.items()}
    ready = [node for node, targets in waiting.items() if not targets]
    while ready:
        done = ready.pop()
        for node, targets in waiting.items():
            if done in targets:
                targets.discard(done)
                if not targets:
                    ready.append(node)
    return any(waiting.values())


graphs = st.integers(min_value=1, max_value=8).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            i: st.sets(st.integers(0, n - 1).filter(lambda j, i=i: j != i), max_size=3)
            for i in range(n)
        }
    )
)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_a_cycle_is_reported_exactly_when_there_is_one(edges: dict[int, set[int]]) -> None:
    tasks = [task(f"t{i}", *(f"t{j}" for j in sorted(edges[i]))) for i in sorted(edges)]
    problems = check_provision_type(a_type(tasks=tasks))
    cycles = [p for p in problems if "dependency cycle" in p.message]
    assert bool(cycles) == has_cycle(edges)
    assert len(problems) == len(cycles)
    if cycles:
        with pytest.raises(ValidationError):
            ProvisionType.model_validate(a_type(tasks=tasks))
    else:
        ProvisionType.model_validate(a_type(tasks=tasks))
