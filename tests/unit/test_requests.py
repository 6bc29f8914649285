"""Reading requests: exactly one request of its kind within the limits, or a clear refusal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casemodel import errors
from casemodel.intake import CANCEL_WORKFLOW, REJECTED_KEPT
from casemodel.requests import (
    NAME_LIMIT,
    REF_LIMIT,
    REQUEST_BYTES,
    RESPONSES_LIMIT,
    SIGNALS,
    START_BYTES,
    TEXT_LIMIT,
    UPDATES,
    AddTask,
    CancelTask,
    CompleteTask,
    HoldTask,
    Request,
    ReviseTarget,
    StartCase,
    read_request,
    read_start,
    unplain_reference,
)
from casemodel.state import CaseStatus
from tests.factories import at, open_sla_case, sla_type, visit_type


def sent(value: object, encoding: str = "json/plain") -> list[tuple[str, bytes]]:
    return [(encoding, json.dumps(value).encode())]


def refusal(kind: str, arguments: list[tuple[str, bytes]]) -> errors.CaseRuleError:
    with pytest.raises(errors.CaseRuleError) as refused:
        read_request(kind, arguments, {**UPDATES, **SIGNALS})
    return refused.value


# -- what is accepted --------------------------------------------------------------------


def test_every_request_kind_travels_under_its_own_name():
    assert all(model.kind == name for name, model in UPDATES.items())
    assert set(UPDATES) >= {
        "complete_task",
        "add_task",
        "cancel_task",
        "bypass_task",
        "undo_completion",
        "close_case",
        "pause_case",
        "resume_case",
        "hold_task",
        "release_task",
        "revise_target",
    }
    assert {"report_task_completed": CompleteTask} == SIGNALS


def test_the_shape_recorded_histories_use_is_read_as_it_was():
    recorded = {
        "task": "contact",
        "outcome": None,
        "responses": {},
        "note": None,
        "by": "starter",
        "request_id": "crm-1",
    }
    request = read_request("report_task_completed", sent(recorded), SIGNALS)
    assert request == CompleteTask(task="contact", by="starter", request_id="crm-1")


def test_camel_case_spellings_other_languages_write_are_accepted():
    request = read_request("complete_task", sent({"task": "contact", "requestId": "x"}), UPDATES)
    assert isinstance(request, CompleteTask) and request.request_id == "x"
    revised = read_request(
        "revise_target",
        sent({"clock": "case", "dueAt": "2026-12-01T17:00:00+00:00", "reason": "agreed"}),
        UPDATES,
    )
    assert isinstance(revised, ReviseTarget) and revised.due_at.utcoffset() == timedelta(0)


def test_answers_keep_their_json_types():
    answers = {"Risk level": "high", "Visits": 3, "Arrears": 10.5, "Consent": True}
    answers |= {"Needs": ["debt", "health"], "Notes": None}
    request = read_request("complete_task", sent({"task": "a", "responses": answers}), UPDATES)
    assert isinstance(request, CompleteTask) and request.responses == answers


# -- what is refused ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ([], "malformed_request"),
        (sent({"task": "a"}) * 2, "malformed_request"),
        ([("binary/null", b"")], "malformed_request"),
        ([("json/protobuf", b"{}")], "malformed_request"),
        ([("json/plain", b"{not json")], "invalid_request"),
        ([("json/plain", b"\xff\xfe")], "invalid_request"),
        ([("json/plain", b"[" * 5000 + b"]" * 5000)], "invalid_request"),
        (sent(None), "invalid_request"),
        (sent([]), "invalid_request"),
        (sent({}), "invalid_request"),
        (sent({"task": 7}), "invalid_request"),
        (sent({"task": "a", "cascade": "yes"}), "invalid_request"),
        (sent({"task": "a", "note": "\\ud800"}), "invalid_request"),
        ([("json/plain", b'{"task": "a", "note": "\\ud800"}')], "invalid_request"),
        (sent({"task": "a", "note": "x" * REQUEST_BYTES}), "request_too_large"),
    ],
)
def test_malformed_requests_are_refused_with_a_stable_code(arguments, code):
    assert refusal("cancel_task", arguments).code == code


def test_an_unknown_request_name_is_refused_naming_the_known_ones():
    refused = refusal("delete_case", sent({}))
    assert refused.code == "unknown_request" and "complete_task" in refused.message


def test_an_unknown_key_is_refused_by_name_never_dropped():
    refused = refusal("complete_task", sent({"task": "a", "requestID": "crm-1"}))
    assert refused.code == "invalid_request"
    assert '"requestID" is not a field' in refused.message
    assert "request_id (requestId)" in refused.message


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"task": "a", "note": "x" * (TEXT_LIMIT + 1)}, "the limit is 4,000"),
        ({"task": "a" * (REF_LIMIT + 1)}, "the limit is 100"),
        ({"task": "Home Visit"}, "is not a task key"),
        ({"task": "a", "by": "x" * (NAME_LIMIT + 1)}, "the limit is 200"),
        ({"task": "a", "by": ""}, "by must not be empty"),
        ({"task": "a", "by": "a\x00b"}, "control character"),
        ({"task": "a", "responses": {str(n): n for n in range(RESPONSES_LIMIT + 1)}}, "limit"),
        ({"task": "a", "responses": {"x": {"nested": 1}}}, 'the response to "x"'),
        ({"task": "a", "outcome": "Not An Id"}, "is not an id"),
    ],
)
def test_limits_are_refused_with_the_field_and_the_limit(fields, says):
    refused = refusal("complete_task", sent(fields))
    assert refused.code == "invalid_request" and says in refused.message


@pytest.mark.parametrize(
    ("due_at", "says"),
    [
        ("2026-12-01T17:00", "has no UTC offset"),
        ("tomorrow", "is not a date and time"),
        ("2026-02-30T10:00:00Z", "is not a date and time"),
    ],
)
def test_a_revised_target_must_be_an_instant_with_an_offset(due_at, says):
    refused = refusal("revise_target", sent({"clock": "case", "due_at": due_at, "reason": "r"}))
    assert refused.code == "invalid_request" and says in refused.message


@settings(max_examples=300)
@given(
    kind=st.sampled_from(sorted(UPDATES)),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=300),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    ),
)
def test_a_refusal_never_carries_what_was_sent(kind: str, value: object):
    try:
        read_request(kind, sent(value), UPDATES)
    except errors.CaseRuleError as refused:
        assert len(refused.message) < 2_000
        for text in _texts(value):
            if len(text) > 60:
                assert text not in refused.message


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in [*_texts(k), *_texts(v)]]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    return []


def test_a_start_input_is_bounded_and_strict():
    start = StartCase(case_ref="C-1", tenant_ref="T", owner="ann", provision_type=visit_type())
    read = read_start([("json/plain", start.model_dump_json().encode())])
    assert read == start
    padded = start.model_dump(mode="json") | {"note": "x"}
    assert read_start_refusal([("json/plain", json.dumps(padded).encode())]) == "invalid_request"
    oversize = [("json/plain", b" " * (START_BYTES + 1))]
    assert read_start_refusal(oversize) == "request_too_large"
    spaced = start.model_dump(mode="json") | {"case_ref": "C 1"}
    assert read_start_refusal([("json/plain", json.dumps(spaced).encode())]) == "invalid_request"


def read_start_refusal(arguments: list[tuple[str, bytes]]) -> str:
    with pytest.raises(errors.CaseRuleError) as refused:
        read_start(arguments)
    return refused.value.code


# -- histories recorded before strict requests --------------------------------------------


def test_lenient_reading_replays_what_the_old_workflow_accepted():
    old = {"task": "contact", "requestId": "dropped", "note": "x" * 5_000, "by": "b"}
    request = read_request("report_task_completed", sent(old), SIGNALS, lenient=True)
    assert isinstance(request, CompleteTask)
    assert request.request_id is None  # the old model dropped the unknown key
    assert request.note == "x" * 5_000  # and bounded nothing
    with pytest.raises(errors.InvalidRequest):
        read_request("report_task_completed", sent(old), SIGNALS)


def test_lenient_reading_still_needs_one_json_request():
    with pytest.raises(errors.CaseRuleError):
        read_request("add_task", [], UPDATES, lenient=True)
    with pytest.raises(errors.CaseRuleError):
        read_request("add_task", sent({}), UPDATES, lenient=True)


# -- the case's entries: check, apply, report, reject -----------------------------------


def test_check_and_apply_dispatch_each_request_to_its_rule():
    case = open_sla_case()
    with pytest.raises(errors.UnknownTask):
        case.check(CompleteTask(task="nowhere"), at(1))
    case.check(CompleteTask(task="contact"), at(1))
    changes = case.apply(CompleteTask(task="contact", by="ann"), at(1))
    assert [c.kind for c in changes][0] == "task_completed"
    with pytest.raises(errors.TaskNotOpen):
        case.check(CancelTask(task="contact"), at(2))
    with pytest.raises(errors.NotRepeatable):
        case.apply(AddTask(task="review", by="ann"), at(2))


def test_a_revised_target_more_than_ten_years_away_is_out_of_range():
    case = open_sla_case()
    for years in (11, -11):
        request = ReviseTarget(
            clock="case", due_at=at(0) + timedelta(days=365 * years), reason="typo"
        )
        with pytest.raises(errors.OutOfRange):
            case.check(request, at(1))
    fine = ReviseTarget(clock="case", due_at=at(0) + timedelta(days=365 * 9), reason="agreed")
    case.check(fine, at(1))


def test_a_task_is_not_held_on_a_type_whose_cases_may_not_be_held():
    case = open_sla_case(sla_type(may_be_held=False))
    with pytest.raises(errors.NotAllowed, match="may not be held"):
        case.check(HoldTask(task="contact", reason="awaiting the GP"), at(1))


def test_rejections_are_kept_bounded_with_their_reason_and_counted():
    case = open_sla_case()
    for n in range(REJECTED_KEPT + 20):
        case.reject("report_task_completed", errors.InvalidRequest(f"bad {n}"), at(n))
    assert len(case.state.rejected) == REJECTED_KEPT
    assert case.state.rejected_total == REJECTED_KEPT + 20
    assert case.state.rejected[-1].reason == f"bad {REJECTED_KEPT + 19}"
    assert case.state.rejected[-1].code == "invalid_request"


def test_a_cancellation_of_the_workflow_is_refused_recorded_and_changes_nothing_else():
    case = open_sla_case()
    before = case.state.model_dump(exclude={"log", "rejected", "rejected_total", "last_seq"})
    (entry,) = case.refuse_cancellation(at(3))
    assert (entry.kind, entry.by) == ("request_rejected", "temporal")
    (rejected,) = case.state.rejected
    assert (rejected.request, rejected.code) == (CANCEL_WORKFLOW, "not_authenticated")
    assert "case close" in rejected.reason
    assert case.state.status is CaseStatus.open
    after = case.state.model_dump(exclude={"log", "rejected", "rejected_total", "last_seq"})
    assert after == before


def test_a_report_the_rules_refuse_is_recorded_once_per_request_id():
    case = open_sla_case()
    request = CompleteTask(task="review", request_id="crm-7", by="crm")
    case.report(request, at(1))
    case.report(request, at(2))
    assert case.state.rejected_total == 1
    assert case.state.rejected[0].code == "task_blocked"


def test_every_request_model_is_strict_and_frozen():
    for model in [*UPDATES.values(), StartCase]:
        assert issubclass(model, Request)
        assert model.model_config.get("extra") == "forbid"
        assert model.model_config.get("frozen") is True


def test_a_type_made_without_validation_still_meets_the_rules_before_a_case_opens():
    broken = visit_type().model_copy(update={"tasks": ()})
    with pytest.raises(errors.CaseNotStarted, match="cannot open"):
        from casemodel.case import Case

        Case.open(broken, case_ref="C", tenant_ref="T", owner="o", now=at(0), opened_by="x")


def opening(case_ref: str = "TSA-1", tenant_ref: str = "TEN-1") -> StartCase:
    return StartCase(
        case_ref=case_ref, tenant_ref=tenant_ref, owner="tom-bennett", provision_type=visit_type()
    )


@pytest.mark.parametrize("ref", ["TSA-2026-0042", "HMS/100234", "ten.42_b", "7", "A" * REF_LIMIT])
def test_a_plain_reference_opens_a_case(ref: str):
    assert unplain_reference(opening(ref, ref)) is None


@pytest.mark.parametrize(
    "ref",
    [
        "tom.bennett@example.org",  # an e-mail address
        "+447700900123",  # a phone number
        "Zoë-1",  # a letter outside A-Z
        "TEN\u200b42",  # a zero-width space: looks like TEN42
        "\u202eTEN42",  # a right-to-left override
        "-TEN",
        "/TEN",
        "TEN:42",
    ],
)
def test_a_reference_that_is_not_plain_is_refused_saying_which(ref: str):
    problem = unplain_reference(opening(tenant_ref=ref))
    assert problem is not None and problem.startswith("The tenant reference ")
    assert "letters A-Z, digits and . _ - /" in problem
    assert all(c.isprintable() for c in problem)  # the odd marks are not echoed
    problem = unplain_reference(opening(case_ref=ref))
    assert problem is not None and problem.startswith("The case reference ")


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=REF_LIMIT))
def test_a_reference_is_plain_exactly_when_it_is_ascii_letters_digits_and_four_marks(ref: str):
    try:
        start = opening(tenant_ref=ref)
    except ValueError:
        return  # whitespace or control characters: refused before this rule
    plain = ref.isascii() and (ref[0].isalnum() and all(c.isalnum() or c in "._-/" for c in ref))
    assert (unplain_reference(start) is None) == plain


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("x" * 21_000, 'the response to "Notes" is too long: at most 4000 characters'),
        ("bad\x07bell", 'the response to "Notes" contains a control character; send plain text'),
        (
            {"a": 1},
            'the response to "Notes" must be text, a number, true or false, a list of choices, '
            "or null",
        ),
    ],
)
def test_a_refused_response_says_what_was_wrong_with_it(answer: object, words: str):
    """A text too long, or holding a control character, was told it must be text."""
    from pydantic import ValidationError

    from casemodel.requests import CompleteTask, describe

    with pytest.raises(ValidationError) as refused:
        CompleteTask(task="t", responses={"Notes": answer})
    assert (
        describe(CompleteTask, refused.value) == f"The complete_task request is not valid: {words}."
    )
