"""Cases that carry the same type snapshot share one parsed copy, its checks and its
calendar; what each case computes is what it would compute with a copy of its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from casemodel import snapshots
from casemodel.case import Case
from casemodel.errors import CaseRuleError
from casemodel.requests import CompleteTask, StartCase, read_start
from definitions import schema
from definitions.schema import ProvisionType
from definitions.snapshot import carried_form
from tests.factories import working_type

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _working_type() -> ProvisionType:
    return working_type()  # office hours and bank holidays, SLAs and escalations that fire


def _carried(provision_type: ProvisionType) -> ProvisionType:
    """The type as a case carries it, parsed on its own (never shared)."""
    return ProvisionType.model_validate(carried_form(provision_type))


def _start_bytes(case_ref: str, provision_type: ProvisionType) -> bytes:
    start = StartCase(
        case_ref=case_ref, tenant_ref="TEN-1", owner="tom-bennett", provision_type=provision_type
    )
    return start.model_dump_json().encode()


def _open(case_ref: str, provision_type: ProvisionType) -> Case:
    case, _ = Case.begin([("json/plain", _start_bytes(case_ref, provision_type))], NOW)
    return case


def test_cases_of_one_snapshot_share_its_type_checks_and_calendar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provision_type = _working_type()
    first = _open("SHARE-1", provision_type)
    start = _start_bytes("SHARE-2", provision_type)  # what a client sends
    checks: list[str] = []
    for module in (schema, snapshots):
        checking = module.check_provision_type
        monkeypatch.setattr(
            module,
            "check_provision_type",
            lambda t, _check=checking, **kw: checks.append(t.id) or _check(t, **kw),
        )
    second, _ = Case.begin([("json/plain", start)], NOW)
    assert checks == []  # neither read nor checked again
    assert first.type is second.type
    assert first.type == _carried(provision_type)  # the copy it would have parsed itself
    assert first.calendar is second.calendar


def test_a_different_snapshot_is_not_shared() -> None:
    provision_type = _working_type()
    other = provision_type.model_copy(update={"name": provision_type.name + " (revised)"})
    first, second = _open("SHARE-3", provision_type), _open("SHARE-4", other)
    assert first.type is not second.type
    assert second.type.name.endswith("(revised)")


def test_a_shared_type_computes_what_an_unshared_one_does() -> None:
    """The same requests to a case on a shared type and to one on a private copy (built in
    code, so never shared) leave equal states."""
    provision_type = _working_type()
    shared = _open("SAME-1", provision_type)
    own_start = StartCase(
        case_ref="SAME-1",
        tenant_ref="TEN-1",
        owner="tom-bennett",
        provision_type=_carried(provision_type),
    )
    private = Case.start(own_start, NOW)
    assert shared.type is not private.type
    fired = 0
    for day, task in enumerate([None, None, None, None, "assess", None, None, "visit", None]):
        later = NOW + timedelta(days=3 * day, hours=day)
        firings = shared.tick(later)
        assert firings == private.tick(later)
        fired += len(firings)
        if task is not None:
            request = [("json/plain", CompleteTask(task=task).model_dump_json().encode())]
            assert _answer(shared, request, later) == _answer(private, request, later)
        assert shared.next_due(later) == private.next_due(later)
    assert fired > 0
    assert [e.kind for e in shared.state.log].count("task_completed") >= 2
    assert shared.state.model_dump() == private.state.model_dump()


def _answer(case: Case, request: list[tuple[str, bytes]], now: datetime) -> object:
    """What the case answers, or the refusal it gives."""
    try:
        return case.answer("complete_task", request, now)
    except CaseRuleError as refusal:
        return (refusal.code, refusal.message)


def test_a_refused_snapshot_is_refused_every_time_and_never_kept() -> None:
    provision_type = _working_type()
    raw = json.loads(_start_bytes("BAD-1", provision_type))
    raw["provision_type"]["tasks"] = "not a list"
    data = json.dumps(raw).encode()
    before = snapshots.kept()
    for _ in range(2):
        with pytest.raises(Exception, match="provision_type"):
            read_start([("json/plain", data)])
    assert snapshots.kept() == before


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "TYPES_KEPT", 3)
    provision_type = _working_type()
    for i in range(6):
        variant = provision_type.model_copy(update={"name": f"{provision_type.name} {i}"})
        _open(f"BOUND-{i}", variant)
    assert snapshots.kept() <= 3
