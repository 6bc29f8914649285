"""Properties of the case rules over generated request sequences and generated task graphs.

Two kinds of provision type are used: the hand-written `visit_type()` and random DAGs. In a
generated DAG task `t<i>` depends only on tasks `t<j>`, j < i, and an outcome of `t<i>` adds
only tasks `t<j>`, j > i, so workflow paths never loop. The last task is automatic,
mandatory and never added by a path: it is a sink that every full run can finish on.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from casemodel import errors
from casemodel.case import Case
from casemodel.state import DONE, CaseStatus, TaskInstance, TaskStatus
from definitions.schema import InformationField, ProvisionType, ResponseType, TaskDefinition
from tests.factories import at, visit_type

VISIT = visit_type()


@st.composite
def dag_types(draw: st.DrawFn) -> ProvisionType:
    n = draw(st.integers(min_value=2, max_value=6))
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        sink = i == n - 1
        deps = draw(st.lists(st.integers(0, i - 1), max_size=min(i, 3), unique=True)) if i else []
        addable = list(range(i + 1, n - 1))
        outcomes = []
        for o in range(draw(st.sampled_from([0, 0, 1, 2]))):
            adds = draw(st.lists(st.sampled_from(addable), max_size=1)) if addable else []
            outcomes.append(
                {"id": f"o{o}", "label": f"Outcome {o}", "adds_tasks": [f"t{j}" for j in adds]}
            )
        tasks.append(
            {
                "id": f"t{i}",
                "name": f"Task {i}",
                "depends_on": [f"t{j}" for j in deps],
                "automatic": sink or draw(st.sampled_from([True, True, False])),
                "mandatory": sink or draw(st.booleans()),
                "repeatable": not sink and draw(st.booleans()),
                "outcomes": outcomes,
            }
        )
    outcomes = draw(st.sampled_from([[], [{"id": "done", "label": "Done"}]]))
    return ProvisionType.model_validate(
        {
            "id": "generated",
            "name": "Generated",
            "category": "support_plan",
            "audience": "internal",
            "tasks": tasks,
            "outcomes": outcomes,
        }
    )


def types() -> st.SearchStrategy[ProvisionType]:
    return st.one_of(st.just(VISIT), dag_types())


def sink_of(ptype: ProvisionType) -> str:
    return "agree-plan" if ptype is VISIT else ptype.tasks[-1].id


_VALID = {
    ResponseType.text: "noted",
    ResponseType.integer: "1,200",
    ResponseType.decimal: "£3.50",
    ResponseType.date: "2026-03-02",
    ResponseType.date_time: "2026-03-02T09:00+00:00",
    ResponseType.true_false: "yes",
}


def valid_answer(field: InformationField) -> str:
    return field.options[-1] if field.options else _VALID[field.response_type]


def valid_responses(definition: TaskDefinition) -> dict[str, str]:
    return {f.id: valid_answer(f) for f in definition.fields if f.mandatory}


def open_case(ptype: ProvisionType) -> Case:
    return Case.open(ptype, case_ref="P-1", tenant_ref="T-1", owner="ann", now=at(0), opened_by="t")


def check_dependencies(case: Case) -> None:
    """A task is never open or completed before every dependency is done.

    An open task stays open when a repeatable dependency gains a new instance later, so
    an open task may see an active instance of a dependency only if that instance was added
    after the task opened.
    """
    if case.state.status is not CaseStatus.open:
        assert not any(t.active for t in case.state.tasks)
    for task in case.state.tasks:
        definition = case.type.task(task.task)
        assert definition is not None
        if task.status is TaskStatus.blocked:
            assert case.waiting_for(task), f"{task.key} is blocked on nothing"
        if task.status not in (TaskStatus.open, TaskStatus.completed):
            continue
        for dependency in definition.depends_on:
            instances = [t for t in case.state.tasks if t.task == dependency.task]
            assert any(t.status in DONE for t in instances), (task.key, dependency.task)
            if task.status is TaskStatus.open:
                assert task.opened_at is not None
                for other in instances:
                    if other.active:
                        assert other.added_at > task.opened_at, (task.key, other.key)


def check_log_and_keys(case: Case) -> None:
    assert [e.seq for e in case.state.log] == list(range(1, len(case.state.log) + 1))
    keys = [t.key for t in case.state.tasks]
    assert len(keys) == len(set(keys))
    for definition_id in {t.task for t in case.state.tasks}:
        mine = [t.key for t in case.state.tasks if t.task == definition_id]
        assert mine == [definition_id] + [f"{definition_id}#{k}" for k in range(2, len(mine) + 1)]


class CaseRules(RuleBasedStateMachine):
    """Random requests, valid and not, against one case."""

    def __init__(self) -> None:
        super().__init__()
        self.case: Case
        self.minute = 0

    @initialize(ptype=types())
    def open(self, ptype: ProvisionType) -> None:
        self.case = open_case(ptype)

    @precondition(lambda self: self.case.state.status is not CaseStatus.open)
    @rule(ptype=types())
    def open_another(self, ptype: ProvisionType) -> None:
        """Once a case has ended, the rest of the run goes on with a new one."""
        self.case = open_case(ptype)

    # -- helpers ---------------------------------------------------------------------------

    def now(self):  # noqa: ANN201
        self.minute += 1
        return at(self.minute)

    def refs(self) -> list[str]:
        keys = [t.key for t in self.case.state.tasks]
        return keys + [t.id for t in self.case.type.tasks] + ["nope"]

    def pick(self, data: st.DataObject, *statuses: TaskStatus) -> str:
        """A reference, mostly to a task in one of `statuses` so that requests often succeed."""
        likely = [t.key for t in self.case.state.tasks if t.status in statuses]
        if likely and data.draw(st.integers(0, 3), label="likely?") != 0:
            return data.draw(st.sampled_from(likely), label="ref")
        return data.draw(st.sampled_from(self.refs()), label="ref")

    def attempt(self, request: Any) -> None:
        """Apply a request; a refusal must leave the state exactly as it was."""
        before = self.case.state.model_dump()
        was_open = {t.key for t in self.case.state.tasks if t.status is TaskStatus.open}
        try:
            request()
        except errors.CaseRuleError as refusal:
            assert refusal.message
            assert self.case.state.model_dump() == before
            return
        for task in self.case.state.tasks:
            if task.status is TaskStatus.open and task.key not in was_open:
                assert self.case.waiting_for(task) == [], f"{task.key} opened too early"

    def answers(self, data: st.DataObject, ref: str) -> tuple[str | None, dict[str, Any]]:
        definition = self.case.type.task(ref.split("#")[0])
        if definition is None or data.draw(st.integers(0, 5), label="bad") == 0:
            outcome = data.draw(st.sampled_from([None, "bogus", "o0", "visited"]), label="outcome")
            responses = data.draw(
                st.sampled_from([{}, {"risk-level": "extreme"}, {"colour": "red"}]), label="resp"
            )
            return outcome, responses
        outcome = None
        if definition.outcomes:
            outcome = data.draw(st.sampled_from([o.id for o in definition.outcomes]), label="o")
        return outcome, valid_responses(definition)

    # -- rules -----------------------------------------------------------------------------

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        ref = self.pick(data, TaskStatus.open)
        outcome, responses = self.answers(data, ref)
        self.attempt(
            lambda: self.case.complete_task(
                ref, outcome=outcome, responses=responses, note=None, by="p", now=self.now()
            )
        )

    @rule(data=st.data())
    def record(self, data: st.DataObject) -> None:
        ref = self.pick(data, TaskStatus.open, TaskStatus.completed)
        outcome, responses = self.answers(data, ref)
        request_id = data.draw(st.sampled_from([None, "r1", "r2"]), label="request_id")
        state = self.case.state
        tasks_before = [t.model_dump() for t in state.tasks]
        rejected_before, log_before = len(state.rejected), len(state.log)
        changes = self.case.record_completion(
            ref,
            request_id=request_id,
            outcome=outcome,
            responses=responses,
            note=None,
            by="p",
            now=self.now(),
        )
        if len(state.rejected) > rejected_before:
            assert [t.model_dump() for t in state.tasks] == tasks_before
            assert [e.kind for e in changes] == ["request_rejected"]
            assert changes[0].detail == state.rejected[-1].reason
        elif changes:
            assert changes[0].kind == "task_completed"
        else:
            assert len(state.log) == log_before
        if request_id is not None:
            assert state.handled_requests.count(request_id) == 1

    @rule(data=st.data())
    def add(self, data: st.DataObject) -> None:
        addable = [
            d.id
            for d in self.case.type.tasks
            if d.repeatable
            or all(
                t.status is TaskStatus.cancelled for t in self.case.state.tasks if t.task == d.id
            )
        ]
        choices = [d.id for d in self.case.type.tasks] + ["nope"]
        if addable and data.draw(st.integers(0, 3), label="likely?") != 0:
            choices = addable
        task_id = data.draw(st.sampled_from(choices), label="task")
        self.attempt(lambda: self.case.add_task(task_id, note=None, by="p", now=self.now()))

    @rule(data=st.data(), cascade=st.booleans())
    def cancel(self, data: st.DataObject, cascade: bool) -> None:
        if data.draw(st.integers(0, 2), label="cancel?") != 0:
            return  # cancelling empties the plan quickly: try it less often
        ref = self.pick(data, TaskStatus.open, TaskStatus.blocked)
        self.attempt(
            lambda: self.case.cancel_task(ref, cascade=cascade, reason=None, by="p", now=self.now())
        )

    @rule(data=st.data())
    def bypass(self, data: st.DataObject) -> None:
        ref = self.pick(data, TaskStatus.open, TaskStatus.blocked)
        self.attempt(lambda: self.case.bypass_task(ref, reason=None, by="p", now=self.now()))

    @rule(data=st.data())
    def undo(self, data: st.DataObject) -> None:
        ref = self.pick(data, TaskStatus.completed)
        self.attempt(lambda: self.case.undo_completion(ref, reason=None, by="p", now=self.now()))

    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 3), label="close?") != 0:
            return  # closing ends the run: try it rarely
        choices = [None, "bogus"] + [o.id for o in self.case.type.outcomes]
        outcome = data.draw(st.sampled_from(choices), label="outcome")
        self.attempt(lambda: self.case.close(outcome=outcome, reason=None, by="p", now=self.now()))

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def dependencies_are_respected(self) -> None:
        check_dependencies(self.case)

    @invariant()
    def log_and_keys_are_well_formed(self) -> None:
        check_log_and_keys(self.case)


CaseRules.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseRules = CaseRules.TestCase


# -- any order of completions reaches the same end ---------------------------------------------


def run_to_completion(ptype: ProvisionType, choose: Any) -> Case:
    """Add every manual task, then complete open tasks in the order `choose` picks.

    The sink is completed last, so every optional task is completed too. The outcome of each
    task is fixed per definition (its first), so the same workflow paths fire in every order.
    """
    case = open_case(ptype)
    sink = sink_of(ptype)
    minute = 0
    for definition in ptype.tasks:
        if not definition.automatic:
            minute += 1
            case.add_task(definition.id, note=None, by="p", now=at(minute))
    while case.state.status is CaseStatus.open:
        active = [t for t in case.state.tasks if t.active]
        candidates = [
            t
            for t in active
            if t.status is TaskStatus.open and (t.task != sink or len(active) == 1)
        ]
        assert candidates, "nothing can be done, yet the case is open"
        task: TaskInstance = choose(candidates)
        definition = ptype.task(task.task)
        assert definition is not None
        minute += 1
        case.complete_task(
            task.key,
            outcome=definition.outcomes[0].id if definition.outcomes else None,
            responses=valid_responses(definition),
            note=None,
            by="p",
            now=at(minute),
        )
        check_dependencies(case)
        assert minute < 500, "runaway plan"
    return case


def end_state(case: Case) -> tuple[CaseStatus, dict[str, tuple[str, str | None]]]:
    return case.state.status, {t.key: (t.status.value, t.outcome) for t in case.state.tasks}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ptype=types(), data=st.data())
def test_any_order_of_completions_reaches_the_same_end(
    ptype: ProvisionType, data: st.DataObject
) -> None:
    reference = run_to_completion(ptype, lambda candidates: candidates[0])
    shuffled = run_to_completion(
        ptype, lambda candidates: data.draw(st.sampled_from(candidates), label="next")
    )
    status, tasks = end_state(shuffled)
    assert status is CaseStatus.completed
    assert all(value == "completed" for value, _ in tasks.values())
    assert end_state(shuffled) == end_state(reference)
    check_log_and_keys(shuffled)


@settings(max_examples=60, deadline=None)
@given(ptype=types())
def test_opening_opens_exactly_the_tasks_without_dependencies(ptype: ProvisionType) -> None:
    case = open_case(ptype)
    automatic = [d for d in ptype.tasks if d.automatic]
    assert [t.key for t in case.state.tasks] == [d.id for d in automatic]
    for definition in automatic:
        expected = TaskStatus.blocked if definition.depends_on else TaskStatus.open
        assert case.instance(definition.id).status is expected
    check_dependencies(case)
    check_log_and_keys(case)
