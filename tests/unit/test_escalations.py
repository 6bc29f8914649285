"""Escalation rules, worked out by hand on `sla_type()` (around the clock, minutes).

Opened at `at(0)`. `contact`: warning at 4 (rule `warn`), target at 5 (rule `breach`:
raise priority to high, repeat every minute twice more, i.e. at 6 and 7; follow-on `panel`
3 minutes after the first breach, at 8: reassign to safeguarding-lead, raise to urgent).
Case: stagnation rule `quiet` 30 minutes after the last activity, `case-breach` at 60.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casemodel.case import Case
from casemodel.escalation import Firing, action_at
from casemodel.state import CaseState
from definitions.schema import ProvisionType
from tests.factories import at, sla_type, working_type
from tests.factories import complete_at as complete
from tests.factories import open_sla_case as open_case

CHAIN = [
    (4, "contact/warn#1"),
    (5, "contact/breach#1"),
    (6, "contact/breach#2"),
    (7, "contact/breach#3"),
    (8, "contact/breach/panel#1"),
    (30, "case/quiet#1"),
    (60, "case/case-breach#1"),
]


def short(firings: list[Firing]) -> list[str]:
    return [f.key.removeprefix("C-1/") for f in firings]


def run(case: Case, minutes: range | list[float]) -> list[tuple[float, str]]:
    """Tick at each minute; (minute, short key) of every firing, in firing order."""
    found = []
    for minute in minutes:
        found += [(minute, key) for key in short(case.tick(at(minute)))]
    return found


def with_call_task(**overrides: object) -> ProvisionType:
    """`sla_type()` with a manual, repeatable `call` task: adding one is activity."""
    tasks = sla_type().model_dump(mode="json")["tasks"]
    call = {"id": "call", "name": "Call", "automatic": False, "repeatable": True}
    return sla_type(tasks=[*tasks, call], **overrides)


def case_rule(**changes: object) -> list[dict]:
    """The case rules of `sla_type()` with `case-breach` changed."""
    rules = sla_type().model_dump(mode="json")["escalations"]
    rules[0].update(changes)
    return rules


# -- firing in order, once -----------------------------------------------------------------


def test_a_warning_and_a_breach_fire_in_order_each_once():
    case = open_case()
    assert case.tick(at(3)) == []
    [warn] = case.tick(at(4))
    assert warn.model_dump() == {
        "key": "C-1/contact/warn#1",
        "subject": "contact",
        "rule": "warn",
        "trigger": "warning",
        "occurrence": 1,
        "due_at": at(4),
        "fired_at": at(4),
        "template": "task-sla-warning",
    }
    assert case.tick(at(4)) == []
    assert case.tick(at(4.5)) == []
    assert short(case.tick(at(5))) == ["contact/breach#1"]
    assert case.tick(at(5)) == []
    entry = next(e for e in case.state.log if e.kind == "escalation_fired")
    assert (entry.at, entry.by, entry.task_key, entry.detail) == (
        at(4),
        "sla",
        "contact",
        "warning rule warn (occurrence 1) due 2026-03-02 09:04",
    )


def test_the_whole_chain_fires_on_time_when_ticked_every_minute():
    case = open_case()
    assert run(case, range(0, 121)) == CHAIN
    assert [f.fired_at for f in case.state.firings] == [at(m) for m, _ in CHAIN]
    assert [f.due_at for f in case.state.firings] == [at(m) for m, _ in CHAIN]
    assert case.next_due(at(120)) is None  # nothing left to happen by itself


def test_ticks_between_due_points_fire_nothing():
    case = open_case()
    assert run(case, [0.5, 1, 2, 3, 3.99]) == []
    assert run(case, [4.01]) == [(4.01, "contact/warn#1")]
    # fired late, but recorded as due at the warning point
    assert case.state.firings[0].due_at == at(4)


def test_a_delayed_rule_fires_its_delay_after_the_trigger_point():
    data = sla_type().model_dump(mode="json")
    data["tasks"][0]["escalations"][0]["delay"] = "90 seconds"
    case = open_case(ProvisionType.model_validate(data))
    assert run(case, [4, 5, 5.4, 5.5]) == [(5, "contact/breach#1"), (5.5, "contact/warn#1")]


def test_a_warning_rule_without_a_warning_period_never_fires():
    data = sla_type().model_dump(mode="json")
    data["tasks"][0]["sla"] = {"target": "5 minutes"}
    case = open_case(ProvisionType.model_validate(data))
    assert [k for _, k in run(case, range(0, 10))] == [
        "contact/breach#1",
        "contact/breach#2",
        "contact/breach#3",
        "contact/breach/panel#1",
    ]


# -- resolution stops escalations ----------------------------------------------------------


def test_completing_before_the_warning_fires_nothing_for_the_task():
    case = open_case()
    complete(case, "contact", at(3))
    assert all(p.subject != "contact" for p in case.pending_escalations(at(3)))
    assert case.next_due(at(3)) == (at(5), "lag before review")
    assert case.tick(at(5)) == []  # opens review
    assert case.next_due(at(5)) == (at(35), "stagnation rule quiet of the case")
    assert [k for _, k in run(case, range(5, 100))] == ["case/quiet#1", "case/case-breach#1"]


def test_completing_between_warning_and_breach_stops_the_breach():
    case = open_case()
    assert short(case.tick(at(4))) == ["contact/warn#1"]
    complete(case, "contact", at(4.5))
    assert [k for _, k in run(case, range(5, 20)) if k.startswith("contact")] == []


def test_a_follow_on_fires_only_if_the_task_is_still_unresolved_at_its_time():
    case = open_case()
    assert run(case, [5, 6]) == [
        (5, "contact/warn#1"),
        (5, "contact/breach#1"),
        (6, "contact/breach#2"),
    ]
    complete(case, "contact", at(6.5))
    assert [k for _, k in run(case, range(7, 200)) if k.startswith("contact")] == []
    assert case.state.tasks[0].owner == "ann"
    assert case.state.priority == "high"


def test_cancelling_a_task_stops_its_escalations():
    case = open_case()
    case.tick(at(5))
    case.cancel_task("contact", cascade=True, reason="duplicate", by="ann", now=at(5.5))
    assert [k for _, k in run(case, range(6, 20))] == []


def test_case_rules_stop_when_the_case_closes():
    case = open_case()
    assert [k for _, k in run(case, range(0, 31))][-1] == "case/quiet#1"
    case.close(outcome=None, reason="moved away", by="ann", now=at(40))
    assert case.pending_escalations(at(40)) == []
    assert case.next_due(at(40)) is None
    assert case.tick(at(61)) == []
    assert case.tick(at(500)) == []


# -- repeat, follow-on, actions ------------------------------------------------------------


def test_a_repeat_fires_times_more_at_every_intervals_then_stops():
    case = open_case()
    run(case, range(0, 300))
    breaches = [f for f in case.state.firings if f.rule == "breach"]
    assert [(f.occurrence, f.due_at) for f in breaches] == [(1, at(5)), (2, at(6)), (3, at(7))]


def test_the_follow_on_counts_from_the_first_firing_of_its_parent():
    case = open_case()
    run(case, range(0, 10))
    [panel] = [f for f in case.state.firings if f.rule == "breach/panel"]
    assert (panel.key, panel.due_at, panel.template) == (
        "C-1/contact/breach/panel#1",
        at(8),
        "safeguarding-escalation",
    )


def test_reassign_to_changes_the_task_owner_and_logs_it():
    case = open_case()
    run(case, range(0, 8))
    assert case.state.tasks[0].owner == "ann"
    run(case, [8])
    assert case.state.tasks[0].owner == "safeguarding-lead"
    assert case.state.owner == "ann"  # a task rule reassigns the task only
    assert [e.kind for e in case.state.log[-3:]] == [
        "escalation_fired",
        "task_reassigned",
        "priority_raised",
    ]
    entry = case.state.log[-2]
    assert (entry.kind, entry.by, entry.task_key, entry.detail) == (
        "task_reassigned",
        "sla",
        "contact",
        "to safeguarding-lead",
    )


def test_a_case_rule_reassigns_the_case():
    case = open_case(sla_type(escalations=case_rule(reassign_to="team-leader")))
    run(case, range(0, 61))
    assert case.state.owner == "team-leader"
    entry = case.state.log[-1]
    assert (entry.kind, entry.task_key, entry.detail) == (
        "case_reassigned",
        None,
        "to team-leader",
    )


def test_reassigning_to_the_present_owner_logs_nothing():
    case = open_case(sla_type(escalations=case_rule(reassign_to="ann")))
    run(case, range(50, 61))
    assert "case_reassigned" not in [e.kind for e in case.state.log]


def test_raise_priority_only_ever_raises():
    case = open_case(sla_type(escalations=case_rule(raise_priority="high")))
    assert case.state.priority == "normal"
    run(case, [5])
    assert case.state.priority == "high"
    raised = [(e.at, e.detail) for e in case.state.log if e.kind == "priority_raised"]
    assert raised == [(at(5), "to high")]
    run(case, [6, 7])  # repeats raise to high again: nothing changes, nothing logged
    run(case, [8])
    assert case.state.priority == "urgent"
    run(case, [60])  # the case rule raises to high: never down
    assert case.state.priority == "urgent"
    raised = [(e.at, e.detail) for e in case.state.log if e.kind == "priority_raised"]
    assert raised == [(at(5), "to high"), (at(8), "to urgent")]


# -- stagnation ----------------------------------------------------------------------------


def test_stagnation_fires_after_the_period_without_activity_once():
    case = open_case(sla_type(escalations=case_rule(trigger="warning")))
    quiet = [(m, k) for m, k in run(case, range(0, 200)) if "quiet" in k]
    assert quiet == [(30, "case/quiet#1")]


def test_activity_resets_stagnation():
    case = open_case(with_call_task())
    case.add_task("call", note=None, by="ann", now=at(20))
    assert [k for _, k in run(case, range(9, 50)) if "quiet" in k] == []
    assert [(m, k) for m, k in run(case, range(50, 200)) if "quiet" in k] == [(50, "case/quiet#1")]
    case.add_task("call", note=None, by="ann", now=at(200))
    assert [(m, k) for m, k in run(case, range(200, 300)) if "quiet" in k] == [
        (230, "case/quiet#2")
    ]


def test_escalation_entries_and_rejected_requests_are_not_activity():
    case = open_case()
    run(case, range(0, 10))  # warn, breach x3, panel: reassign and priority entries too
    case.record_completion(
        "nonsense", request_id="r-1", outcome=None, responses=None, note=None, by="crm", now=at(9)
    )
    assert case.state.log[-1].kind == "request_rejected"
    assert case.next_due(at(10)) == (at(30), "stagnation rule quiet of the case")
    assert run(case, [30]) == [(30, "case/quiet#1")]


def test_stagnation_of_a_task_counts_from_its_own_activity():
    data = sla_type(escalations=[]).model_dump(mode="json")
    data["tasks"][1]["escalations"] = [
        {
            "id": "idle",
            "trigger": "stagnation",
            "stagnation_after": "10 minutes",
            "template": "stagnation-nudge",
        }
    ]
    case = open_case(ProvisionType.model_validate(data))
    complete(case, "contact", at(20))
    # review is blocked until 22: it cannot stagnate while blocked
    assert case.pending_escalations(at(21)) == []
    case.tick(at(22))
    assert case.next_due(at(22)) == (at(32), "stagnation rule idle of review")
    assert short(case.tick(at(32))) == ["review/idle#1"]


# -- pauses and holds ----------------------------------------------------------------------


def test_nothing_fires_while_the_case_is_paused():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(2))
    assert run(case, range(2, 200)) == []
    assert case.pending_escalations(at(100)) == []
    assert case.next_due(at(100)) is None


def test_after_resume_everything_is_later_by_the_paused_time():
    case = open_case()
    case.pause(reason="tenant in hospital", by="ann", now=at(2))
    case.resume(by="ann", now=at(12))
    # Clock rules 10 minutes later; resuming is activity, so quiet counts from 12.
    assert run(case, range(12, 100)) == [
        (14, "contact/warn#1"),
        (15, "contact/breach#1"),
        (16, "contact/breach#2"),
        (17, "contact/breach#3"),
        (18, "contact/breach/panel#1"),
        (42, "case/quiet#1"),
        (70, "case/case-breach#1"),
    ]


def test_a_pause_between_repeats_moves_the_rest_of_the_chain():
    case = open_case()
    assert run(case, [5]) == [(5, "contact/warn#1"), (5, "contact/breach#1")]
    case.pause(reason="tenant in hospital", by="ann", now=at(5.5))
    case.resume(by="ann", now=at(10.5))
    assert [(m, k) for m, k in run(case, range(10, 20)) if k.startswith("contact")] == [
        (11, "contact/breach#2"),
        (12, "contact/breach#3"),
        (13, "contact/breach/panel#1"),
    ]


def test_a_held_task_waits_and_the_case_rules_do_not():
    case = open_case()
    case.hold_task("contact", reason="tenant asked to wait", by="ann", now=at(2))
    assert all(p.subject == "case" for p in case.pending_escalations(at(2)))
    assert run(case, range(2, 10)) == []
    case.release_task("contact", by="ann", now=at(10))
    assert run(case, range(10, 100)) == [
        (12, "contact/warn#1"),
        (13, "contact/breach#1"),
        (14, "contact/breach#2"),
        (15, "contact/breach#3"),
        (16, "contact/breach/panel#1"),
        (40, "case/quiet#1"),  # releasing is activity
        (60, "case/case-breach#1"),
    ]


def test_a_task_held_after_its_breach_waits_to_repeat():
    case = open_case()
    assert run(case, [5]) == [(5, "contact/warn#1"), (5, "contact/breach#1")]
    case.hold_task("contact", reason="tenant asked to wait", by="ann", now=at(5.5))
    assert [k for _, k in run(case, range(6, 20)) if k.startswith("contact")] == []
    case.release_task("contact", by="ann", now=at(20.5))
    assert [m for m, k in run(case, range(20, 30)) if k.startswith("contact")] == [21, 22, 23]


# -- a worker that was down ----------------------------------------------------------------


def test_a_worker_that_was_down_fires_everything_missed_in_order_once():
    case = open_case()
    fired = case.tick(at(200))
    assert short(fired) == [key for _, key in CHAIN]
    assert [f.due_at for f in fired] == [at(m) for m, _ in CHAIN]
    assert {f.fired_at for f in fired} == {at(200)}
    assert case.tick(at(200)) == []
    assert case.tick(at(300)) == []
    assert case.state.priority == "urgent"
    assert case.state.tasks[0].owner == "safeguarding-lead"


def test_a_worker_down_in_the_middle_of_a_chain_catches_up_on_the_rest():
    case = open_case()
    assert run(case, [5]) == [(5, "contact/warn#1"), (5, "contact/breach#1")]
    assert short(case.tick(at(29))) == [
        "contact/breach#2",
        "contact/breach#3",
        "contact/breach/panel#1",
    ]
    assert [f.due_at for f in case.state.firings] == [at(m) for m in (4, 5, 6, 7, 8)]
    assert [f.fired_at for f in case.state.firings] == [at(m) for m in (5, 5, 29, 29, 29)]


def test_catching_up_in_working_time():
    # Assess, opened Monday 2026-12-14 10:00, warns Thursday 24th 10:00, breaches
    # Wednesday 30th 10:00; the follow-on one working day later is Thursday 31st 10:00.
    # A worker back on Monday 4 January 2027 fires all three, in order.
    opened = datetime(2026, 12, 14, 10, tzinfo=at(0).tzinfo)
    case = open_case(working_type(), opened)
    fired = case.tick(datetime(2027, 1, 4, 12, tzinfo=at(0).tzinfo))
    assert [(f.rule, f.due_at.isoformat()) for f in fired] == [
        ("warn", "2026-12-24T10:00:00+00:00"),
        ("breach", "2026-12-30T10:00:00+00:00"),
        ("breach/lead", "2026-12-31T10:00:00+00:00"),
    ]


# -- revised targets -----------------------------------------------------------------------


def test_revising_a_target_before_the_breach_moves_the_breach():
    case = open_case()
    case.revise_target("case", due_at=at(120), reason="tenant agreed", by="lead", now=at(10))
    assert [(m, k) for m, k in run(case, range(10, 200)) if "case-breach" in k] == [
        (120, "case/case-breach#1")
    ]


def test_revising_a_breached_target_starts_its_escalations_afresh():
    rules = case_rule(repeat={"every": "10 minutes", "times": 5})
    case = open_case(sla_type(escalations=rules))
    assert [k for _, k in run(case, range(0, 71)) if "breach" in k and "case" in k] == [
        "case/case-breach#1",
        "case/case-breach#2",
    ]
    case.revise_target("case", due_at=at(120), reason="tenant agreed", by="lead", now=at(75))
    # No more repeats about the old target; the new one breaches at 120 and repeats.
    assert [(m, k) for m, k in run(case, range(75, 141)) if "case-breach" in k] == [
        (120, "case/case-breach#3"),
        (130, "case/case-breach#4"),
        (140, "case/case-breach#5"),
    ]


# -- keys ----------------------------------------------------------------------------------


def test_firing_keys_are_unique_stable_and_readable():
    case = open_case()
    run(case, range(0, 200))
    keys = [f.key for f in case.state.firings]
    assert keys == [f"C-1/{key}" for _, key in CHAIN]
    assert len(set(keys)) == len(keys)
    # the same state, reloaded, plans the same next firings with the same keys
    again = Case(CaseState.model_validate(case.state.model_dump(mode="json")))
    assert again.pending_escalations(at(200)) == case.pending_escalations(at(200))


def test_pending_firings_are_keyed_as_they_will_be_recorded():
    case = open_case()
    pending = case.pending_escalations(at(0))
    assert [(p.key("C-1"), p.at) for p in pending] == [
        ("C-1/contact/warn#1", at(4)),
        ("C-1/contact/breach#1", at(5)),
        ("C-1/case/quiet#1", at(30)),
        ("C-1/case/case-breach#1", at(60)),
    ]
    assert [p.describe() for p in pending][:2] == [
        "warning rule warn of contact",
        "breach rule breach of contact",
    ]


def test_action_at_finds_rules_and_follow_ons_by_path():
    rules = sla_type().tasks[0].escalations
    assert action_at(rules, "breach").id == "breach"  # type: ignore[union-attr]
    assert action_at(rules, "breach/panel").reassign_to == "safeguarding-lead"  # type: ignore[union-attr]
    assert action_at(rules, "breach/nothing") is None
    assert action_at(rules, "nothing/panel") is None


@pytest.mark.parametrize("step", [timedelta(seconds=20), timedelta(minutes=7)])
def test_the_same_firings_whatever_the_tick_rhythm(step: timedelta):
    case = open_case()
    now = at(0)
    while now <= at(200):
        case.tick(now)
        now += step
    assert [(f.key, f.due_at) for f in case.state.firings] == [
        (f"C-1/{key}", at(m)) for m, key in CHAIN
    ]
