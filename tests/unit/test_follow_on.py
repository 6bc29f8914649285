"""Follow-on cases in the case model: what is due, its reference, its progress, the chain."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from activities.contracts import OpenFollowOn, RegisterUpdate
from casemodel import follow_on, requests, views
from casemodel.case import Case
from casemodel.follow_on import (
    FIRST_RETRY,
    LONGEST_RETRY,
    FollowOnStatus,
    follow_on_ref,
    retry_delay,
)
from casemodel.requests import ContinueCase, Reference, StartCase
from tests.factories import at, visit_type
from tests.unit.test_case_outcome import agreeing_type, complete_all


def opened(ref: str = "TSA-1", **kwargs: object) -> Case:
    return Case.open(
        visit_type(),
        case_ref=ref,
        tenant_ref="TEN-1",
        owner="ann",
        now=at(0),
        opened_by="hms",
        **kwargs,  # type: ignore[arg-type]
    )


def closed(outcome: str = "need-identified") -> Case:
    case = opened()
    case.close(outcome=outcome, reason=None, by="ann", now=at(5))
    return case


# --- what is due ------------------------------------------------------------------------


def test_closing_with_an_outcome_naming_a_follow_on_type_makes_it_due():
    case = closed()
    due = case.follow_on
    assert due is not None
    assert (due.type, due.case_ref, due.owner) == ("support-plan", "TSA-1-SP", "ann")
    assert due.status is FollowOnStatus.pending and due.pending
    assert due.due_at == at(5) and due.attempts == 0
    assert case.follow_on_wanted(at(5))
    assert case.case_chain == "TSA-1", "the first case of its chain"


def test_an_outcome_without_a_follow_on_type_makes_nothing_due():
    case = closed("no-further-support")
    assert case.follow_on is None
    assert case.case_chain is None
    assert not case.follow_on_wanted(at(5))


def test_a_case_that_completes_with_a_task_outcome_naming_the_case_outcome_makes_it_due():
    case = Case.open(
        agreeing_type(), case_ref="C-7", tenant_ref="T", owner="o", now=at(0), opened_by="t"
    )
    complete_all(case, "plan-agreed")
    assert case.follow_on is not None
    assert case.follow_on.case_ref == "C-7-SP" and case.follow_on.due_at == at(5)


def test_an_open_case_has_nothing_due():
    assert opened().follow_on is None


# --- progress ---------------------------------------------------------------------------


def test_a_failed_attempt_is_logged_with_its_reason_and_the_next_waits_doubling():
    case = closed()
    [entry] = case.follow_on_failed(at(6), "not published", first_retry=timedelta(seconds=10))
    due = case.follow_on
    assert due is not None
    assert entry.kind == "follow_on_failed" and entry.by == "follow-on"
    assert "TSA-1-SP (support-plan) not opened (attempt 1): not published" in entry.detail
    assert (due.status, due.attempts, due.reason) == (FollowOnStatus.failed, 1, "not published")
    assert due.next_attempt_at == at(6) + timedelta(seconds=10)
    assert not case.follow_on_wanted(at(6))
    assert case.follow_on_wanted(at(6) + timedelta(seconds=10))

    case.follow_on_failed(at(7), "still not published", first_retry=timedelta(seconds=10))
    assert case.follow_on.next_attempt_at == at(7) + timedelta(seconds=20)
    assert case.follow_on.reason == "still not published"


def test_an_opened_follow_on_is_logged_once_and_wanted_no_more():
    case = closed()
    case.follow_on_failed(at(6), "database away")
    [entry] = case.follow_on_opened(at(8), owner="income-team", type_version=3)
    assert entry.kind == "follow_on_opened"
    assert entry.detail == "opened TSA-1-SP (support-plan) v3 for tenant TEN-1, owner income-team"
    due = case.follow_on
    assert due is not None and not due.pending
    assert (due.owner, due.type_version, due.opened_at) == ("income-team", 3, at(8))
    assert due.reason == "database away", "the last failure stays on record"
    assert not case.follow_on_wanted(at(100))
    assert case.follow_on_opened(at(9), owner="x", type_version=4) == []
    assert case.follow_on_failed(at(9), "late") == []
    assert case.follow_on.owner == "income-team"


def test_a_reference_another_case_holds_moves_the_follow_on_to_the_next_at_once():
    case = closed()
    [entry] = case.follow_on_taken(at(6), "the reference TSA-1-SP is taken by another case")
    due = case.follow_on
    assert due is not None and due.pending
    assert (due.case_ref, due.alternative, due.attempts) == ("TSA-1-SP-2", 2, 1)
    assert entry.kind == "follow_on_failed"
    assert entry.detail == (
        "TSA-1-SP (support-plan) not opened (attempt 1): the reference TSA-1-SP is taken by "
        "another case; trying TSA-1-SP-2 instead"
    )
    assert due.next_attempt_at is None and case.follow_on_wanted(at(6)), "at once"
    case.follow_on_opened(at(7), owner="ann", type_version=1)
    assert case.follow_on.case_ref == "TSA-1-SP-2"
    assert case.follow_on_taken(at(8), "late") == []


def test_when_every_reference_of_the_series_is_taken_the_last_is_retried_with_waits():
    case = closed()
    for n in range(2, follow_on.ALTERNATIVES + 1):
        case.follow_on_taken(at(6), "taken")
        assert case.follow_on.case_ref == f"TSA-1-SP-{n}"
    [entry] = case.follow_on_taken(at(6), "taken", first_retry=timedelta(seconds=10))
    due = case.follow_on
    assert due.case_ref == f"TSA-1-SP-{follow_on.ALTERNATIVES}"
    assert due.attempts == follow_on.ALTERNATIVES
    assert due.next_attempt_at == at(6) + retry_delay(due.attempts, timedelta(seconds=10))
    assert "next attempt at" in entry.detail


def test_a_follow_on_taken_over_into_the_next_run_keeps_its_place_in_the_series():
    case = closed()
    case.follow_on_taken(at(6), "taken")
    carried = type(case.follow_on).model_validate_json(case.follow_on.model_dump_json())
    assert (carried.case_ref, carried.alternative) == ("TSA-1-SP-2", 2)
    older = case.follow_on.model_dump(exclude={"alternative"})
    assert type(case.follow_on).model_validate(older).alternative == 1


def test_an_opening_an_earlier_attempt_made_says_so():
    case = closed()
    [entry] = case.follow_on_opened(at(8), owner="ann", type_version=None, existed=True)
    assert entry.detail.endswith("owner ann (an earlier attempt had opened it)")


def test_follow_on_entries_are_not_activity_on_the_case():
    case = closed()
    before = case.state.last_activity_at
    case.follow_on_failed(at(20), "x")
    case.follow_on_opened(at(30), owner="ann", type_version=1)
    assert case.state.last_activity_at == before


# --- the chain --------------------------------------------------------------------------


def test_a_follow_on_case_knows_where_it_was_opened_from_and_its_chain():
    child = opened("TSA-1-SP", opened_from="TSA-1")
    assert (child.state.opened_from, child.state.chain_ref) == ("TSA-1", "TSA-1")
    assert child.case_chain == "TSA-1"
    assert child.state.log[0].detail.endswith(", opened from TSA-1")
    grandchild = opened("TSA-1-SP-SP", opened_from="TSA-1-SP", chain_ref="TSA-1")
    assert grandchild.case_chain == "TSA-1"
    assert opened().state.log[0].detail == "Visit assessment for TEN-1", "unchanged otherwise"


def test_a_follow_on_case_that_opens_another_keeps_the_first_case_as_its_chain():
    child = opened("TSA-1-SP", opened_from="TSA-1")
    child.close(outcome="need-identified", reason=None, by="ann", now=at(9))
    request = OpenFollowOn.of(child, task_queue="q", history_budget=1000, follow_on_retry=60)
    assert (request.parent_ref, request.case_ref, request.chain_ref) == (
        "TSA-1-SP",
        "TSA-1-SP-SP",
        "TSA-1",
    )
    assert (request.tenant_ref, request.owner, request.type_id) == ("TEN-1", "ann", "support-plan")


def test_case_chain_is_a_search_attribute_only_where_the_workflow_keeps_chains():
    case = closed()
    names = [name for name, _ in views.search_values(case, at(6), keeps_time=True)]
    assert "CaseChain" not in names
    chained = dict(views.search_values(case, at(6), keeps_time=True, chained=True))
    assert chained["CaseChain"] == "TSA-1"
    lonely = closed("no-further-support")
    assert "CaseChain" not in dict(
        views.search_values(lonely, at(6), keeps_time=True, chained=True)
    )


def test_the_ui_and_case_show_name_both_ends_of_the_link():
    case = closed()
    assert "Follow-on TSA-1-SP (support-plan) opening" in views.follow_on_lines(case.state)
    case.follow_on_failed(at(6), "not published")
    assert any(
        "1 attempt(s) failed: not published" in line for line in views.follow_on_lines(case.state)
    )
    case.follow_on_opened(at(7), owner="ann", type_version=1)
    assert "Opened TSA-1-SP (support-plan)" in views.task_table(case, at(7))
    child = opened("TSA-1-SP", opened_from="TSA-1")
    assert "Opened from TSA-1" in views.task_table(child, at(1))


def test_the_register_learns_the_follow_on_once_it_is_open():
    case = closed()
    assert RegisterUpdate.since(case, "case-TSA-1", 0, at(8)).follow_on_ref is None
    case.follow_on_opened(at(7), owner="ann", type_version=1)
    assert RegisterUpdate.since(case, "case-TSA-1", 0, at(8)).follow_on_ref == "TSA-1-SP"
    child = opened("TSA-1-SP", opened_from="TSA-1")
    assert RegisterUpdate.since(child, "case-TSA-1-SP", 0, at(8)).opened_from == "TSA-1"


# --- requests and hand-overs ------------------------------------------------------------


def start(**fields: object) -> StartCase:
    return StartCase(
        case_ref="TSA-1-SP", tenant_ref="TEN-1", owner="ann", provision_type=visit_type(), **fields
    )  # type: ignore[arg-type]


def test_a_start_carries_where_a_follow_on_came_from():
    request = start(opened_from="TSA-1", chain_ref="TSA-0")
    case = Case.start(request, at(0))
    assert (case.state.opened_from, case.state.chain_ref) == ("TSA-1", "TSA-0")
    assert start().follow_on_retry == requests.FOLLOW_ON_RETRY == 60


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"chain_ref": "TSA-0"}, "give opened_from too"),
        ({"opened_from": "TSA 1"}, "opened_from"),
        ({"opened_from": "x" * 101}, "opened_from"),
        ({"follow_on_retry": 0}, "follow_on_retry"),
        ({"follow_on_retry": 3_601}, "follow_on_retry"),
    ],
)
def test_a_start_with_a_bad_link_is_refused(fields: dict[str, object], problem: str):
    with pytest.raises(ValidationError, match=problem):
        start(**fields)


def test_an_older_start_input_reads_without_the_new_fields():
    data = start().model_dump_json(exclude={"opened_from", "chain_ref", "follow_on_retry"})
    read = requests.read_start([(requests.JSON, data.encode())])
    assert isinstance(read, StartCase)
    assert read.opened_from is None and read.follow_on_retry == 60


def test_the_next_run_takes_over_the_follow_on_where_it_was():
    case = closed()
    case.follow_on_failed(at(6), "not published", first_retry=timedelta(seconds=5))
    carried = case.carry(0, unconfirmed=[], keep=(), budget=1000, follow_on_retry=5)
    assert carried is not None and carried.follow_on_retry == 5
    read = requests.read_start([(requests.JSON, carried.model_dump_json().encode())])
    assert isinstance(read, ContinueCase)
    again = Case(read.state)
    assert again.follow_on == case.follow_on
    assert not again.follow_on_wanted(at(6))
    assert again.follow_on_wanted(at(6) + timedelta(seconds=5))


# --- the arithmetic ---------------------------------------------------------------------

REFERENCE = TypeAdapter(Reference)
references = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=100,
).filter(lambda r: not any(c.isspace() for c in r))
type_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,63}", fullmatch=True)


def test_the_reference_limit_is_the_requests_own():
    assert follow_on.REF_LIMIT == requests.REF_LIMIT


def test_a_follow_on_reference_reads_as_its_parent_and_the_type_initials():
    assert follow_on_ref("TSA-1", "financial-inclusion-support-plan") == "TSA-1-FISP"
    assert follow_on_ref("TSA-1-FISP", "hoarding-property-condition-support-plan") == (
        "TSA-1-FISP-HPCSP"
    )


@given(parent=references, type_id=type_ids)
def test_a_follow_on_reference_is_a_valid_reference_derived_only_from_its_parent(
    parent: str, type_id: str
):
    ref = follow_on_ref(parent, type_id)
    assert REFERENCE.validate_python(ref) == ref
    assert len(ref) <= requests.REF_LIMIT
    assert ref == follow_on_ref(parent, type_id)
    assert ref.endswith("-" + "".join(w[0] for w in type_id.split("-") if w).upper())
    if len(parent) + 1 + len(ref.rsplit("-", 1)[1]) <= requests.REF_LIMIT:
        assert ref.startswith(parent + "-")


@given(parent=references, type_id=type_ids)
def test_the_references_a_follow_on_may_take_in_turn_are_valid_and_all_different(
    parent: str, type_id: str
):
    refs = [follow_on_ref(parent, type_id, n) for n in range(1, follow_on.ALTERNATIVES + 1)]
    assert len(set(refs)) == len(refs)
    for n, ref in enumerate(refs[1:], start=2):
        assert REFERENCE.validate_python(ref) == ref and len(ref) <= requests.REF_LIMIT
        assert ref.endswith(f"-{n}")
    assert refs[0] == follow_on_ref(parent, type_id)


@given(a=references, b=references, type_id=type_ids)
def test_two_parents_never_share_a_follow_on_reference(a: str, b: str, type_id: str):
    """Two plain references never meet; two shortened ones only on a sha256 prefix
    collision (of 8 hex digits)."""
    ref_a, ref_b = follow_on_ref(a, type_id), follow_on_ref(b, type_id)
    shortened = [not r.startswith(p + "-") for r, p in ((ref_a, a), (ref_b, b))]
    if a != b and shortened[0] == shortened[1]:
        assert ref_a != ref_b or _digest(a) == _digest(b)


def _digest(parent: str) -> str:
    return hashlib.sha256(parent.encode()).hexdigest()[: follow_on.HASHED]


@given(attempts=st.integers(min_value=1, max_value=10_000), seconds=st.integers(1, 3_600))
def test_retries_start_at_the_first_interval_double_and_never_pass_an_hour(
    attempts: int, seconds: int
):
    first = timedelta(seconds=seconds)
    delay = retry_delay(attempts, first)
    assert first <= delay <= LONGEST_RETRY or first >= LONGEST_RETRY
    assert delay == min(first * 2 ** min(attempts - 1, 32), LONGEST_RETRY)
    assert retry_delay(attempts + 1, first) >= delay
    assert retry_delay(1, first) == min(first, LONGEST_RETRY)


def test_the_default_retries_are_a_minute_doubling_to_an_hour():
    assert [retry_delay(n) for n in range(0, 9)] == [
        timedelta(0),
        FIRST_RETRY,
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=16),
        timedelta(minutes=32),
        LONGEST_RETRY,
        LONGEST_RETRY,
    ]
