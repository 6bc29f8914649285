"""A case that lets go of what the register holds decides exactly as one that keeps it all.

Hypothesis drives two copies of a case through the same requests and the passing of time:
one tidied after every request (as the workflow does once the register has a write), one
never. Whatever they are asked, they accept and refuse alike, keep the same plan in
progress, fall due at the same instants, fire the same escalations and end the same way,
except that the tidied one refuses to undo a completion it no longer holds, which the
test then asks of neither.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.contracts import RegisterUpdate
from casemodel import errors, memory
from casemodel.case import Case
from casemodel.requests import (
    AddTask,
    BypassTask,
    CancelTask,
    CompleteTask,
    PauseCase,
    Request,
    ResumeCase,
    UndoCompletion,
)
from casemodel.state import CaseSummary, TaskStatus
from tests.factories import at, sla_type

KEEP = 3
"""Resolved tasks the tidied case keeps in this test: few, so it lets go often."""


def plan_type():
    """The SLA type with a repeatable check-in (5-minute target, breach rule) and an
    optional leaflet, so tasks are added, done, bypassed, cancelled and undone at will."""
    data = sla_type().model_dump()
    data["tasks"] = [
        *data["tasks"],
        {
            "id": "check-in",
            "name": "Check-in",
            "automatic": False,
            "repeatable": True,
            "mandatory": False,
            "sla": {"target": "5 minutes"},
            "escalations": [{"id": "late", "trigger": "breach", "template": "task-sla-breach"}],
        },
        {"id": "leaflet", "name": "Leaflet", "automatic": False, "mandatory": False},
    ]
    return type(sla_type()).model_validate(data)


def open_pair() -> tuple[Case, Case]:
    kind = plan_type()
    return tuple(  # type: ignore[return-value]
        Case.open(kind, case_ref="C-1", tenant_ref="T", owner="ann", now=at(0), opened_by="x")
        for _ in range(2)
    )


steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "complete", "cancel", "bypass", "undo", "pause", "resume"]),
        st.integers(min_value=0, max_value=30),  # which task, by position among the held
        st.integers(min_value=0, max_value=9),  # minutes that pass first
    ),
    min_size=1,
    max_size=60,
)


def request_for(case: Case, action: str, pick: int) -> Request | None:
    tasks = [t for t in case.state.tasks]
    if action == "add":
        return AddTask(task="leaflet" if pick % 7 == 0 else "check-in")
    if action == "pause":
        return PauseCase(reason="tenant in hospital")
    if action == "resume":
        return ResumeCase()
    if not tasks:
        return None
    task = tasks[pick % len(tasks)].key
    return {
        "complete": CompleteTask(task=task),
        "cancel": CancelTask(task=task, cascade=True),
        "bypass": BypassTask(task=task),
        "undo": UndoCompletion(task=task),
    }[action]


def outcome_of(case: Case, request: Request, now) -> str:
    try:
        case.apply(request, now)
    except errors.CaseRuleError as refusal:
        return refusal.code
    return "accepted"


def seen(case: Case, now) -> tuple:
    state = case.state
    in_progress = sorted((t.key, t.status.value) for t in state.tasks if t.active)
    summary = CaseSummary.of(state).model_dump(exclude={"opened_at"})
    return (in_progress, case.next_due(now), case.sla_state(now), state.outcome, summary)


@pytest.fixture(autouse=True)
def keep_few(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "KEEP_RESOLVED", KEEP)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_a_tidied_case_decides_as_one_that_keeps_everything(moves):
    tidied, whole = open_pair()
    now = at(0)
    fired_tidied: list[str] = []
    fired_whole: list[str] = []
    for action, pick, minutes in moves:
        now += timedelta(minutes=minutes)
        fired_tidied += [f.key for f in tidied.tick(now)]
        fired_whole += [f.key for f in whole.tick(now)]
        request = request_for(tidied, action, pick)
        if request is None:
            continue
        if isinstance(request, UndoCompletion):
            key = request.task
            if tidied.instance(key).status is TaskStatus.completed and not any(
                t.key == key for t in whole.state.tasks
            ):
                continue  # (both hold it: the tidied case keeps what it may undo)
        assert outcome_of(tidied, request, now) == outcome_of(whole, request, now), request
        tidied.tidy(tidied.state.last_seq)
        assert seen(tidied, now) == seen(whole, now)
    assert fired_tidied == fired_whole


def test_a_completion_no_longer_held_is_refused_to_undo_with_the_reason():
    case, _ = open_pair()
    keys = []
    for n in range(KEEP + 2):
        added = case.apply(AddTask(task="check-in"), at(n))
        key = next(c.task_key for c in added if c.kind == "task_added")
        case.apply(CompleteTask(task=key), at(n))
        keys.append(key)
    case.tidy(case.state.last_seq)
    assert keys[0] not in {t.key for t in case.state.tasks}
    with pytest.raises(errors.TaskNotOpen, match="resolved long ago"):
        case.check(UndoCompletion(task=keys[0]), at(20))
    case.check(UndoCompletion(task=keys[-1]), at(20))  # still held: may be undone
    added = case.apply(AddTask(task="check-in"), at(21))
    assert next(c.task_key for c in added if c.kind == "task_added") == f"check-in#{KEEP + 3}"


def test_tidy_keeps_what_the_register_does_not_have_yet():
    case, _ = open_pair()
    for n in range(KEEP + 4):
        added = case.apply(AddTask(task="check-in"), at(n))
        key = next(c.task_key for c in added if c.kind == "task_added")
        case.apply(CompleteTask(task=key), at(n))
    assert case.tidy(recorded_seq=0) == 0  # nothing is in the register yet
    assert len(case.state.log) == case.state.last_seq
    assert case.tidy(case.state.last_seq) > 0
    assert len(case.state.log) == memory.LOG_KEPT


def test_a_register_write_carries_a_bounded_part_of_what_is_new():
    case, _ = open_pair()
    for n in range(150):
        case.apply(AddTask(task="check-in"), at(n))
    update = RegisterUpdate.from_state(
        case.state, workflow_id="w", type_version=None, since_seq=0, limit=100
    )
    assert [e.seq for e in update.events] == list(range(1, 101))
    assert update.last_seq == 100
    rest = RegisterUpdate.since(case, "w", update.last_seq, at(150))
    assert rest is not None and rest.events[0].seq == 101
