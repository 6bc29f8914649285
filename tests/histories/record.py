"""Record workflow histories from real runs, for the replay test.

Run `python -m tests.histories.record` after a deliberate, compatible change to the
workflow to add histories of the new version; never delete old ones: they are what proves
that running cases still replay.

Histories are recorded as the service writes them: every payload sealed, here with the
test-only ring committed beside them (`test-payload-keys`), which the replay test opens
them with. Histories v1 to v6 were recorded before the codec, in clear text.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from activities.database import definitions_store
from activities.database.directory import default_directory_file, load_directory, sync_directory
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import upgrade
from casemodel import permissions
from casemodel.follow_on import follow_on_ref
from casemodel.requests import (
    AddTask,
    BypassTask,
    CancelTask,
    CloseCase,
    CompleteTask,
    PauseCase,
    ResumeCase,
    StopRecurrence,
    UndoCompletion,
)
from definitions.loader import default_definitions_dir, load_catalog
from definitions.schema import ProvisionType
from protection.codec import data_converter
from protection.identity import Identity
from starter.binaries import temporal_cli
from starter.client import CaseClient, CaseRefused
from starter.identities import IdentityHeaders, Signer
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import decision_type, sla_type, visit_type
from tests.sealing import histories_identity_ring, histories_ring
from tests.waiting import eventually
from workflows import search_attributes as sa
from workflows.names import workflow_id_for

HERE = Path(__file__).parent


async def full_journey(cases: CaseClient, case_ref: str) -> None:
    """Every kind of request, accepted and refused, up to completion."""
    await cases.start_case(
        visit_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref, owner="aisha-begum"
    )
    for refused in (
        cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited")),
        cases.send(case_ref, BypassTask(task="contact")),
    ):
        with contextlib.suppress(CaseRefused):
            await refused
    await cases.report(case_ref, CompleteTask(task="contact", request_id="crm-1"))
    await cases.report(case_ref, CompleteTask(task="contact", request_id="crm-1"))
    await cases.state(case_ref)
    await cases.send(case_ref, CompleteTask(task="home-visit", outcome="no-access"))
    await cases.send(case_ref, UndoCompletion(task="home-visit", reason="entered in error"))
    await cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited"))
    await cases.send(case_ref, AddTask(task="check-in", note="weekly call"))
    await cases.send(case_ref, AddTask(task="interpreter"))
    await cases.send(case_ref, BypassTask(task="interpreter", reason="not needed"))
    await cases.send(case_ref, CancelTask(task="check-in#2", reason="tenant declined"))
    await cases.send(
        case_ref,
        CompleteTask(
            task="risk-assessment", responses={"Risk level": "medium", "Needs": "debt,health"}
        ),
    )
    await cases.send(case_ref, CompleteTask(task="benefits-check"))
    await cases.send(case_ref, CompleteTask(task="agree-plan"))
    await cases.result(case_ref)


async def closed_early(cases: CaseClient, case_ref: str) -> None:
    await cases.start_case(visit_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref)
    await cases.send(case_ref, CompleteTask(task="contact"))
    await cases.send(case_ref, CancelTask(task="leaflet", reason="tenant moved out"))
    await cases.send(case_ref, CloseCase(outcome="no-further-support", reason="tenancy ended"))
    await cases.result(case_ref)


async def cancel_refused(cases: CaseClient, case_ref: str) -> None:
    """The case's workflow asked to cancel through Temporal: refused and recorded (v9 on;
    before, the case ended as cancelled), then the case closed as a case is closed."""
    await cases.start_case(visit_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref)
    await cases.send(case_ref, CompleteTask(task="contact"))
    await cases.client.get_workflow_handle(workflow_id_for(case_ref)).cancel()

    async def refused() -> bool:
        return bool((await cases.state(case_ref)).rejected)

    await eventually(refused, timeout=20, what="the cancellation to be refused")
    await cases.send(case_ref, CloseCase(outcome="no-further-support", reason="tenancy ended"))
    await cases.result(case_ref)


def seconds_sla_type() -> ProvisionType:
    """SLAs of seconds, so timers, escalations and a lag happen while recording."""
    return sla_type(
        id="sla-seconds",
        sla={"target": "30 seconds", "warning": "20 seconds", "allows_revision": True},
        escalations=[
            {"id": "case-breach", "trigger": "breach", "template": "case-sla-breach"},
        ],
        tasks=[
            {
                "id": "contact",
                "name": "Contact",
                "sla": {"target": "2 seconds", "warning": "1 second"},
                "escalations": [
                    {"id": "warn", "trigger": "warning", "template": "task-sla-warning"},
                    {
                        "id": "breach",
                        "trigger": "breach",
                        "template": "task-sla-breach",
                        "raise_priority": "high",
                        "follow_on": [
                            {
                                "id": "panel",
                                "after": "1 second",
                                "template": "safeguarding-escalation",
                            }
                        ],
                    },
                ],
            },
            {
                "id": "review",
                "name": "Review",
                "depends_on": [{"task": "contact", "lag": "1 second"}],
            },
        ],
    )


async def sla_journey(cases: CaseClient, case_ref: str) -> None:
    """Warning, breach and follow-on fire; a pause and resume; a lag; completion."""
    await cases.start_case(
        seconds_sla_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref, owner="tom-bennett"
    )

    async def fired(count: int) -> bool:
        return len((await cases.state(case_ref)).firings) >= count

    await eventually(lambda: fired(3), timeout=20)
    await cases.send(case_ref, PauseCase(reason="tenant in hospital"))
    await cases.send(case_ref, ResumeCase())
    await complete_contact_then_review(cases, case_ref)


async def complete_contact_then_review(cases: CaseClient, case_ref: str) -> None:
    """Complete the contact, wait out the review's lag, complete the review: the case ends."""
    await cases.send(case_ref, CompleteTask(task="contact"))

    async def review_open() -> bool:
        state = await cases.state(case_ref)
        return any(t.key == "review" and t.status.value == "open" for t in state.tasks)

    await eventually(review_open, timeout=20)
    await cases.send(case_ref, CompleteTask(task="review"))
    await cases.result(case_ref)


def with_check_ins(provision_type: ProvisionType) -> ProvisionType:
    """The type with an optional check-in that may be added any number of times."""
    data = provision_type.model_dump()
    check_in = {"id": "check-in", "name": "Check-in", "automatic": False, "repeatable": True}
    data["tasks"] = [*data["tasks"], {**check_in, "mandatory": False}]
    return ProvisionType.model_validate(data)


async def continued(cases: CaseClient, case_ref: str) -> None:
    """A case busy enough to continue as new twice (a budget of 200 events), with refused
    and rejected requests, a signal sent twice, and an escalation on the way."""
    await cases.start_case(
        with_check_ins(seconds_sla_type()),
        tenant_ref="TEN-REPLAY",
        case_ref=case_ref,
        history_budget=200,
    )
    await cases.report(case_ref, CompleteTask(task="nowhere", request_id="bad-1"))
    for round_ in range(40):
        added = await cases.send(case_ref, AddTask(task="check-in", note=f"round {round_}"))
        key = next(c.task_key for c in added.changes if c.kind == "task_added")
        report = CompleteTask(task=key, request_id=f"crm-{round_}")
        await cases.report(case_ref, report)
        await cases.report(case_ref, report)
    await complete_contact_then_review(cases, case_ref)


def seconds_recurring_type() -> ProvisionType:
    """A check-in every 2 seconds until settled (at most 5), late ones escalate, and a
    follow-up every second from completion that is stopped by hand."""
    return ProvisionType.model_validate(
        {
            "id": "recurring-seconds",
            "name": "Recurring seconds",
            "category": "support_plan",
            "audience": "customer_facing",
            "tasks": [
                {
                    "id": "check-in",
                    "name": "Check-in",
                    "recurrence": {"every": "2 seconds", "times": 5, "until_outcome": "settled"},
                    "outcomes": [
                        {"id": "seen", "label": "Seen"},
                        {"id": "settled", "label": "Settled"},
                    ],
                    "sla": {"target": "1 second"},
                    "escalations": [
                        {"id": "late", "trigger": "breach", "template": "task-sla-breach"}
                    ],
                },
                {
                    "id": "follow-up",
                    "name": "Follow-up",
                    "recurrence": {"every": "1 second", "times": 50, "from": "completion"},
                },
                {"id": "review", "name": "Review", "depends_on": ["check-in", "follow-up"]},
            ],
        }
    )


async def recurring(cases: CaseClient, case_ref: str) -> None:
    """Occurrences open on time and late ones escalate; one series ends on its outcome,
    the other is stopped; then the review the series held back completes the case."""
    await cases.start_case(
        seconds_recurring_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref, owner="tom-bennett"
    )

    async def state_when(test):  # type: ignore[no-untyped-def]
        async def probe():  # type: ignore[no-untyped-def]
            state = await cases.state(case_ref)
            return state if test(state) else None

        return await eventually(probe, timeout=30)

    def is_open(key: str):  # type: ignore[no-untyped-def]
        return lambda s: any(t.key == key and t.status.value == "open" for t in s.tasks)

    await cases.send(case_ref, CompleteTask(task="follow-up"))
    await state_when(lambda s: len(s.firings) >= 1)
    await cases.send(case_ref, CompleteTask(task="check-in", outcome="seen"))
    await state_when(is_open("check-in#2"))
    await cases.send(case_ref, CompleteTask(task="check-in#2", outcome="settled"))
    await state_when(is_open("follow-up#2"))
    await cases.send(case_ref, StopRecurrence(task="follow-up", reason="no longer needed"))
    await cases.send(case_ref, CompleteTask(task="follow-up#2"))
    await cases.send(case_ref, CompleteTask(task="review"))
    await cases.result(case_ref)


async def decision(cases: CaseClient, case_ref: str) -> None:
    """Paths on what was recorded: arrears above the threshold add the referral, whose
    acceptance sends a communication to the money advice partners; then the review."""
    await cases.start_case(decision_type(), tenant_ref="TEN-REPLAY", case_ref=case_ref)
    await cases.send(
        case_ref,
        CompleteTask(
            task="assessment", outcome="engaged", responses={"arrears": 800, "dependants": 2}
        ),
    )
    await cases.send(case_ref, CompleteTask(task="referral", outcome="accepted"))
    await cases.send(case_ref, CompleteTask(task="review"))
    await cases.result(case_ref)


FOLLOW_ON_PLAN = "financial-inclusion-support-plan"


def follow_on(url: str) -> Scenario:
    """A tenancy sustainment assessment closed with need-identified while the financial
    inclusion plan is not published: an attempt fails, the plan is published, the next
    attempt opens it, and the assessment finishes; the plan is then closed. Both cases'
    histories are recorded (the plan's as `-child`)."""

    async def scenario(cases: CaseClient, case_ref: str) -> list[tuple[str, str]]:
        catalog = {t.id: t for t in load_catalog(default_definitions_dir()).definitions()}
        quick = CaseClient(cases.client, replace(cases.settings, follow_on_retry=1))
        await quick.start_case(
            catalog["tenancy-sustainment-assessment"],
            tenant_ref="TEN-REPLAY",
            case_ref=case_ref,
            owner="tom-bennett",
        )
        await quick.send(case_ref, CloseCase(outcome="need-identified", reason="arrears"))

        async def failed() -> bool:
            due = (await quick.state(case_ref)).follow_on
            return due is not None and due.attempts >= 1

        await eventually(failed, timeout=30)
        engine = create_engine(url)
        async with session_factory(engine).begin() as session:
            await definitions_store.publish(
                session, [catalog[FOLLOW_ON_PLAN]], by="record", now=datetime.now(UTC)
            )
        await engine.dispose()
        await quick.result(case_ref)
        child = follow_on_ref(case_ref, FOLLOW_ON_PLAN)
        await quick.send(child, CloseCase(outcome="support-declined", reason="moved away"))
        await quick.result(child)
        return [("child", child)]

    return scenario


def follow_on_taken(url: str) -> Scenario:
    """A tenancy sustainment assessment closed with need-identified while somebody holds
    its follow-on's reference with a plan opened by hand: the attempt is refused, the
    follow-on moves to the next reference (`-2`) and opens there (v13 on)."""

    async def scenario(cases: CaseClient, case_ref: str) -> list[tuple[str, str]]:
        catalog = {t.id: t for t in load_catalog(default_definitions_dir()).definitions()}
        engine = create_engine(url)
        async with session_factory(engine).begin() as session:
            await definitions_store.publish(
                session, [catalog[FOLLOW_ON_PLAN]], by="record", now=datetime.now(UTC)
            )
        await engine.dispose()
        await cases.start_case(
            catalog["tenancy-sustainment-assessment"],
            tenant_ref="TEN-REPLAY",
            case_ref=case_ref,
            owner="tom-bennett",
        )
        held = follow_on_ref(case_ref, FOLLOW_ON_PLAN)
        await cases.start_case(
            catalog[FOLLOW_ON_PLAN], tenant_ref="TEN-ELSE", case_ref=held, owner="tom-bennett"
        )
        await cases.send(case_ref, CloseCase(outcome="need-identified", reason="arrears"))
        await cases.result(case_ref)
        for ref in (held, follow_on_ref(case_ref, FOLLOW_ON_PLAN, 2)):
            await cases.send(ref, CloseCase(outcome="support-declined", reason="moved away"))
            await cases.result(ref)
        return []

    return scenario


Scenario = Callable[[CaseClient, str], Awaitable[list[tuple[str, str]] | None]]
SCENARIOS: dict[str, Scenario] = {
    "full-journey": full_journey,
    "closed-early": closed_early,
    "sla-journey": sla_journey,
    "continued": continued,
    "recurring": recurring,
    "decision": decision,
    "cancel-refused": cancel_refused,
}


async def runs_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a case, first to last: a case that continued as new has several, and
    each must replay (a continued run starts from what the one before carried)."""
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
    found = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        found.append(history)
        run_id = history.events[
            0
        ].workflow_execution_started_event_attributes.continued_execution_run_id
    return found[::-1]


RECORDER = Identity(
    sub="history-recorder",
    kind="service",
    name="History recorder",
    tasks=(permissions.ANY_TASK,),
    grants=permissions.ALL,
)
"""Who the recorded requests are signed as (v8 on): a service granted every permission,
as the test suite's own."""


async def record(version: str, only: Sequence[str] = ()) -> None:
    """Record every scenario (or those named in `only`) as `<version>-<scenario>*.json`."""
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{folder / 'record.db'}"
    await upgrade(url)
    engine = create_engine(url)
    # The directory, and the catalog but for the plan the follow-on scenario publishes.
    async with session_factory(engine).begin() as session:
        await sync_directory(session, load_directory(default_directory_file()))
        catalog = load_catalog(default_definitions_dir()).definitions()
        await definitions_store.publish(
            session,
            [t for t in catalog if t.id != FOLLOW_ON_PLAN],
            by="record",
            now=datetime.now(UTC),
        )
    scenarios = {
        **SCENARIOS,
        "follow-on": follow_on(url),
        "follow-on-taken": follow_on_taken(url),
    }
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(histories_ring()),
        dev_server_existing_path=temporal_cli(),
        search_attributes=sa.ALL,
        interceptors=[IdentityHeaders(Signer(histories_identity_ring(), RECORDER))],
    )
    async with env:
        task_queue = f"record-{uuid.uuid4()}"
        cases = CaseClient(env.client, Settings(task_queue=task_queue))
        async with build_worker(
            env.client, task_queue, session_factory(engine), ring=histories_identity_ring()
        ):
            for name, scenario in scenarios.items():
                if only and name not in only:
                    continue
                case_ref = f"REPLAY-{name}-{uuid.uuid4().hex[:6]}"
                further = await scenario(cases, case_ref) or []
                for suffix, ref in [("", case_ref), *((f"-{s}", r) for s, r in further)]:
                    runs = await runs_of(env.client, workflow_id_for(ref))
                    for number, history in enumerate(runs, start=1):
                        part = f"-run{number}" if len(runs) > 1 else ""
                        path = HERE / f"{version}-{name}{suffix}{part}.json"
                        path.write_text(history.to_json())
                        print(f"wrote {path}")
    await engine.dispose()


if __name__ == "__main__":
    # python -m tests.histories.record v7 [scenario ...]
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v1", sys.argv[2:]))
