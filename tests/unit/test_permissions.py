"""Who may do what to a case: the permission table, on the identities the shipped
directory gives its people, partner agencies and services."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from casemodel import errors, permissions, rules
from casemodel.case import Case
from casemodel.requests import JSON, CloseCase, StartCase
from protection.identity import Identity
from starter.identities import WORKER_SERVICE
from tests.factories import T0, at, visit_type
from tests.identities import SUITE, person

CITIZENS_ADVICE = Identity(
    sub="citizens-advice", kind="agency", name="Citizens advice", agency="citizens-advice"
)
MIND = Identity(
    sub="mind-hoarding-support", kind="agency", name="Mind", agency="mind-hoarding-support"
)
HMS = Identity(
    sub="housing-management-system",
    kind="service",
    name="Housing management system",
    tasks=("benefits-check",),
    grants=(permissions.OPEN_CASE, permissions.PAUSE_CASE),
)


def case(owner: str = "tom-bennett") -> Case:
    kind = visit_type(sla={"target": "30 days", "allows_revision": True})
    tasks = [
        {**t.model_dump(exclude_defaults=True), "owner": "citizens-advice"}
        if t.id == "contact"
        else t.model_dump(exclude_defaults=True)
        for t in kind.tasks
    ]
    kind = visit_type(sla={"target": "30 days", "allows_revision": True}, tasks=tasks)
    return Case.open(
        kind, case_ref="TSA-1", tenant_ref="TEN-1", owner=owner, now=T0, opened_by="test"
    )


def for_one(c: Case, caller: Any) -> Any:
    """`caller`, as a token for one request to the case `c` carries it."""
    if isinstance(caller, Identity) and caller.jti is None:
        return replace(caller, aud=c.state.case_ref, jti=secrets.token_urlsafe(16))
    return caller


def send(c: Case, kind: str, caller: Any, **request: Any) -> list[str]:
    """The `by` of each log entry the request appended."""
    caller = for_one(c, caller)
    arguments = [(JSON, json.dumps(request).encode())]
    c.judge(kind, arguments, at(1), caller=caller)
    result = c.answer(kind, arguments, at(1), caller=caller)
    return [entry.by for entry in result.changes]


def refused(c: Case, kind: str, caller: Any, **request: Any) -> errors.CaseRuleError:
    caller = for_one(c, caller)
    arguments = [(JSON, json.dumps(request).encode())]
    with pytest.raises(errors.CaseRuleError) as judged:
        c.judge(kind, arguments, at(1), caller=caller)
    with pytest.raises(errors.CaseRuleError) as answered:
        c.answer(kind, arguments, at(1), caller=caller)
    assert (judged.value.code, judged.value.message) == (
        answered.value.code,
        answered.value.message,
    )
    return judged.value


CLOSE = {"outcome": "no-further-support", "reason": "moved"}
REVISE = {"clock": "case", "due_at": (T0 + timedelta(days=40)).isoformat(), "reason": "x"}


@pytest.mark.parametrize("who", ["tom-bennett", "priya-shah"])
def test_the_owner_or_their_team_leader_may_close(who: str):
    c = case()
    assert set(send(c, "close_case", person(who), **CLOSE)) == {who}


@pytest.mark.parametrize("who", ["aisha-begum", "marcus-reid", "claire-donnelly", "rebecca-stone"])
def test_others_may_not_close_and_are_told_which_permission_they_lack(who: str):
    refusal = refused(case(), "close_case", person(who), **CLOSE)
    assert refusal.code == "not_permitted"
    assert refusal.message.startswith(f"{who} (")
    assert "may not close TSA-1: close-case needs the case owner, their manager or a team " in (
        refusal.message
    )


def test_a_refusal_names_the_person_and_the_permission():
    refusal = refused(case(), "close_case", person("aisha-begum"), **CLOSE)
    assert refusal.message == (
        "aisha-begum (Aisha Begum) may not close TSA-1: close-case needs the case owner, "
        "their manager or a team leader."
    )


def test_revise_follows_the_owner_their_manager_or_a_team_leader():
    assert refused(case(), "revise_target", person("aisha-begum"), **REVISE).code == (
        "not_permitted"
    )
    assert (
        "revise-target needs"
        in refused(case(), "revise_target", person("lucy-clarke"), **REVISE).message
    )
    assert send(case(), "revise_target", person("tom-bennett"), **REVISE) == ["tom-bennett"]
    assert send(case(), "revise_target", person("priya-shah"), **REVISE) == ["priya-shah"]


def test_a_case_owned_by_a_role_is_owned_by_whoever_holds_it_and_their_team_leader():
    for who in ("aisha-begum", "tom-bennett", "priya-shah"):
        assert send(case("housing-officer"), "close_case", person(who), **CLOSE)
    assert refused(case("housing-officer"), "close_case", person("lucy-clarke"), **CLOSE)


def test_a_team_owned_case_is_the_teams():
    assert send(case("income-team"), "close_case", person("sean-murphy"), **CLOSE)
    assert send(case("income-team"), "close_case", person("david-okonkwo"), **CLOSE)
    assert refused(case("income-team"), "close_case", person("tom-bennett"), **CLOSE)


def test_a_partner_agency_completes_only_its_own_tasks():
    c = case()
    assert set(send(c, "complete_task", CITIZENS_ADVICE, task="contact")) == {"citizens-advice"}
    c = case()
    refusal = refused(c, "complete_task", MIND, task="contact")
    assert refusal.code == "not_permitted"
    assert "contact is owned by citizens-advice" in refusal.message
    assert refused(c, "close_case", CITIZENS_ADVICE, **CLOSE).code == "not_permitted"
    assert refused(c, "complete_task", CITIZENS_ADVICE, task="leaflet").code == "not_permitted"


def test_a_service_completes_the_tasks_it_is_allowed_and_holds_what_it_may():
    c = case()
    send(c, "complete_task", CITIZENS_ADVICE, task="contact")
    send(c, "complete_task", person("tom-bennett"), task="home-visit", outcome="visited")
    refusal = refused(
        c, "complete_task", HMS, task="risk-assessment", responses={"Risk level": "low"}
    )
    assert refusal.code == "not_permitted"
    assert "its tasks: benefits-check" in refusal.message
    assert send(c, "complete_task", HMS, task="benefits-check")
    assert send(c, "pause_case", HMS, reason="tenant in hospital")
    assert refused(c, "close_case", HMS, **CLOSE).code == "not_permitted"


def test_a_task_level_permission_is_held_by_the_tasks_owner_too():
    c = case()
    # leaflet is owned by the case owner; contact by the agency: the case owner may
    # complete both, their colleague neither.
    assert send(c, "complete_task", person("tom-bennett"), task="contact")
    assert refused(c, "complete_task", person("aisha-begum"), task="leaflet").code == (
        "not_permitted"
    )


def test_by_may_be_left_out_or_name_the_sender_but_not_someone_else():
    assert send(case(), "close_case", person("tom-bennett"), by="tom-bennett", **CLOSE)
    refusal = refused(case(), "close_case", person("tom-bennett"), by="priya-shah", **CLOSE)
    assert refusal.code == "not_permitted"
    assert 'says it is by "priya-shah", but tom-bennett (Tom Bennett) sent it' in refusal.message


def test_without_an_identity_a_request_is_not_authenticated():
    why = errors.NotAuthenticated("Not signed in (missing): no token.")
    assert refused(case(), "close_case", why, **CLOSE) is why


def test_before_identities_a_request_takes_by_as_it_was_sent():
    c = case()
    changes = c.apply(CloseCase(outcome="no-further-support", by="priya"), at(1))
    assert {entry.by for entry in changes} == {"priya"}


def test_a_signal_from_someone_without_the_permission_is_recorded_as_rejected():
    c = case()
    arguments = [(JSON, json.dumps({"task": "contact", "request_id": "r-1"}).encode())]
    assert c.receive("report_task_completed", arguments, at(1), caller=for_one(c, MIND))
    rejected = c.state.rejected[-1]
    assert (rejected.code, rejected.by, rejected.task) == ("not_permitted", MIND.sub, "contact")
    agency = for_one(c, CITIZENS_ADVICE)
    assert c.receive("report_task_completed", arguments, at(2), caller=agency)
    assert c.instance("contact").resolved_by == "citizens-advice"


def test_a_signed_signal_that_cannot_be_read_is_recorded_as_its_signer_s():
    c = case()
    arguments = [(JSON, json.dumps({"task": None}).encode())]
    assert c.receive("report_task_completed", arguments, at(1), caller=MIND)
    rejected = c.state.rejected[-1]
    assert (rejected.code, rejected.by) == ("invalid_request", MIND.sub)
    assert c.state.log[-1].by == MIND.sub
    unsigned = errors.NotAuthenticated("Not signed in (missing): no token.")
    assert c.receive("report_task_completed", arguments, at(2), caller=unsigned)
    assert c.state.rejected[-1].by == "unknown"


def test_a_signal_without_an_identity_is_recorded_as_rejected():
    c = case()
    arguments = [(JSON, json.dumps({"task": "contact"}).encode())]
    why = errors.NotAuthenticated("Not signed in (missing): no token.")
    assert c.receive("report_task_completed", arguments, at(1), caller=why)
    assert c.state.rejected[-1].code == "not_authenticated"
    assert c.instance("contact").status.value == "open"


def test_opening_a_case_needs_open_case_and_records_who_opened_it():
    start = StartCase(
        case_ref="TSA-2", tenant_ref="TEN-2", owner="tom-bennett", provision_type=visit_type()
    )
    arguments = [(JSON, start.model_dump_json().encode())]

    def signed(who: Identity) -> Identity:
        return replace(who, aud="TSA-2", jti=secrets.token_urlsafe(16))

    opened, _ = Case.begin(arguments, T0, caller=signed(person("aisha-begum")))
    assert opened.state.opened_by == "aisha-begum"
    assert opened.state.log[0].by == "aisha-begum"
    with pytest.raises(errors.NotPermitted):
        Case.begin(arguments, T0, caller=signed(CITIZENS_ADVICE))
    portal = Identity(sub="portal", kind="service", name="Portal")
    with pytest.raises(errors.NotPermitted):
        Case.begin(arguments, T0, caller=signed(portal))


def test_a_caller_cannot_start_a_run_that_carries_a_case_on():
    carried = case().carry(0, unconfirmed=[], keep=[], budget=1_000, follow_on_retry=60)
    assert carried is not None
    arguments = [(JSON, carried.model_dump_json().encode())]
    with pytest.raises(errors.NotPermitted):
        Case.begin(arguments, T0, caller=SUITE, continued=False)
    assert Case.begin(arguments, T0, caller=errors.NotAuthenticated("none"), continued=True)


def test_every_request_needs_a_named_permission():
    from casemodel.requests import UPDATES

    for model in UPDATES.values():
        assert permissions.needs(model.model_construct()) in permissions.ALL


def case_with_a_visit_of(owner: str) -> Case:
    """`case()`, with the home visit owned by `owner` and what depends on it by the case
    owner, tom-bennett."""
    kind = visit_type(sla={"target": "30 days", "allows_revision": True})
    tasks = [
        {**t.model_dump(exclude_defaults=True), "owner": owner}
        if t.id == "home-visit"
        else t.model_dump(exclude_defaults=True)
        for t in kind.tasks
    ]
    kind = visit_type(sla={"target": "30 days", "allows_revision": True}, tasks=tasks)
    return Case.open(
        kind, case_ref="TSA-1", tenant_ref="TEN-1", owner="tom-bennett", now=T0, opened_by="test"
    )


def test_a_cascade_cancels_only_what_the_caller_may_cancel_each_task_of():
    c = case_with_a_visit_of("aisha-begum")
    cascade = {"task": "home-visit", "cascade": True, "reason": "no longer needed"}
    # Her own visit, but what depends on it is the case owner's.
    refusal = refused(c, "cancel_task", person("aisha-begum"), **cascade)
    assert refusal.code == "not_permitted"
    assert refusal.message.startswith(
        "aisha-begum (Aisha Begum) may not cancel risk-assessment in TSA-1, which cancelling "
        "home-visit would take with it"
    )
    assert "(risk-assessment is owned by tom-bennett)" in refusal.message
    assert all(t.active for t in c.state.tasks)  # nothing cancelled
    # The case owner holds cancel-task on every one of them.
    assert set(send(c, "cancel_task", person("tom-bennett"), **cascade)) == {"tom-bennett"}
    # A history from before the rule replays as it ran: the cascade was let through.
    again = case_with_a_visit_of("aisha-begum")
    arguments = [(JSON, json.dumps(cascade).encode())]
    asked: list[str] = []
    again.since = lambda patch: asked.append(patch) or False
    result = again.answer(
        "cancel_task", arguments, at(1), caller=for_one(again, person("aisha-begum"))
    )
    assert asked == [rules.RULES_2026_12]
    assert {e.task_key for e in result.changes} >= {"home-visit", "risk-assessment"}


def test_a_cancellation_that_would_leave_the_case_with_no_work_and_nothing_done_is_refused():
    c = case()
    tom = person("tom-bennett")
    send(c, "cancel_task", tom, task="leaflet", reason="not needed")
    refusal = refused(c, "cancel_task", tom, task="contact", cascade=True, reason="x")
    assert refusal.code == "not_allowed"
    assert refusal.message == (
        "Cancelling contact would leave TSA-1 with nothing in progress and nothing done; "
        "to end the case, close it (case close TSA-1 --outcome … --reason …)."
    )
    # Once something is done, cancelling the rest completes the case, as it always has.
    send(c, "complete_task", tom, task="contact")
    send(c, "cancel_task", tom, task="home-visit", cascade=True, reason="moved away")
    assert c.state.status.value == "completed"


def test_a_revised_target_must_lie_ahead():
    c = case()
    past = {**REVISE, "due_at": (T0 - timedelta(days=365 * 6)).isoformat()}
    refusal = refused(c, "revise_target", person("tom-bennett"), **past)
    assert refusal.code == "out_of_range"
    assert refusal.message.startswith("The revised target 2020-03-03 09:00 UTC has passed")
    assert "must lie ahead" in refusal.message
    assert not c.state.revisions
    assert send(c, "revise_target", person("tom-bennett"), **REVISE)


def test_a_token_is_for_one_request_to_one_case():
    """A token can be read in a case's history by whoever reads the history: sent again,
    to that case or another, it is refused."""
    c = case()
    tom = for_one(c, person("tom-bennett"))
    assert send(c, "add_task", tom, task="check-in")
    used = refused(c, "add_task", tom, task="check-in")
    assert (used.code, used.message.split(":")[0]) == ("not_authenticated", "Not signed in (used)")
    elsewhere = replace(tom, aud="TSA-9", jti=secrets.token_urlsafe(16))
    other = refused(c, "add_task", elsewhere, task="check-in")
    assert other.message.startswith(
        "Not signed in (another case): the identity token of tom-bennett is for case TSA-9, "
        "not TSA-1"
    )
    with pytest.raises(errors.NotAuthenticated) as unbound:
        case().judge(
            "add_task",
            [(JSON, b'{"task": "check-in"}')],
            at(1),
            caller=replace(tom, aud=None, jti=None),
        )
    assert unbound.value.message.startswith("Not signed in (unbound)")
    assert "support-provision token TSA-1" in unbound.value.message
    assert sum(t.task == "check-in" for t in c.state.tasks) == 1

    # A history from before tokens were bound replays as it ran.
    old = case()
    arguments = [(JSON, json.dumps({"task": "check-in"}).encode())]
    before = replace(tom, aud=None, jti=None)
    old.since = lambda _: False
    for minute in (1, 2):
        old.answer("add_task", arguments, at(minute), caller=before)
    assert sum(t.task == "check-in" for t in old.state.tasks) == 2


def test_a_signal_sent_again_with_its_token_is_recorded_as_rejected():
    c = case()
    agency = for_one(c, CITIZENS_ADVICE)
    arguments = [(JSON, json.dumps({"task": "contact", "request_id": "r-1"}).encode())]
    assert c.receive("report_task_completed", arguments, at(1), caller=agency)
    again = [(JSON, json.dumps({"task": "contact", "request_id": "r-2"}).encode())]
    assert c.receive("report_task_completed", again, at(2), caller=agency)
    rejected = c.state.rejected[-1]
    assert (rejected.code, rejected.by) == ("not_authenticated", "citizens-advice")
    assert "Not signed in (used)" in rejected.reason


def test_the_tokens_a_case_took_are_forgotten_once_they_have_expired():
    c = case()
    for _ in range(3):
        send(
            c,
            "add_task",
            replace(person("tom-bennett"), exp=int(at(10).timestamp())),
            task="check-in",
        )
    assert len(c.state.used_tokens) == 3
    later = for_one(c, replace(person("tom-bennett"), exp=int(at(60).timestamp())))
    arguments = [(JSON, json.dumps({"task": "check-in"}).encode())]
    c.answer("add_task", arguments, at(30), caller=later)
    assert list(c.state.used_tokens) == [later.jti]


def test_a_case_opens_only_for_a_token_signed_for_it():
    start = StartCase(
        case_ref="TSA-3", tenant_ref="TEN-3", owner="tom-bennett", provision_type=visit_type()
    )
    arguments = [(JSON, start.model_dump_json().encode())]
    aisha = person("aisha-begum")
    with pytest.raises(errors.NotAuthenticated, match=r"is for case TSA-2, not TSA-3"):
        Case.begin(arguments, T0, caller=replace(aisha, aud="TSA-2", jti="j" * 22))
    with pytest.raises(errors.NotAuthenticated, match=r"\(unbound\)"):
        Case.begin(arguments, T0, caller=aisha)
    opened, _ = Case.begin(arguments, T0, caller=replace(aisha, aud="TSA-3", jti="j" * 22))
    assert list(opened.state.used_tokens) == ["j" * 22]


def test_only_the_worker_opens_a_case_as_another_s_follow_on():
    """A start naming a parent, sent by anyone else, would be taken by that parent for its
    follow-on: another type, another tenant, the real follow-on never opened."""
    start = StartCase(
        case_ref="TSA-9-FISP",
        tenant_ref="TEN-666",
        owner="tom-bennett",
        provision_type=visit_type(),
        opened_from="TSA-9",
        chain_ref="TSA-9",
    )
    arguments = [(JSON, start.model_dump_json().encode())]

    def signed(who: Identity) -> Identity:
        return replace(who, aud="TSA-9-FISP", jti=secrets.token_urlsafe(16))

    with pytest.raises(errors.NotPermitted, match="may not open TSA-9-FISP as a follow-on"):
        Case.begin(arguments, T0, caller=signed(person("tom-bennett")))
    opened, _ = Case.begin(arguments, T0, caller=signed(WORKER_SERVICE))
    assert opened.state.opened_from == "TSA-9"
    # As a history from before the rule ran, the person's start opened it.
    before, _ = Case.begin(
        arguments, T0, caller=signed(person("tom-bennett")), since=lambda _: False
    )
    assert before.state.opened_by == "tom-bennett"
