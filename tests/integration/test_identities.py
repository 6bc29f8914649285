"""Who may do what, on the real dev server: each request signed as a person, agency or
service of the shipped directory, verified by the worker, judged by the case's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
)

from casemodel.requests import AddTask, CloseCase, CompleteTask, PauseCase, ReviseTarget
from casemodel.state import CaseStatus
from protection.identity import HEADER, Identity
from protection.keys import KeyRing, generate_entry
from starter.client import CaseClient, CaseRefused
from starter.identities import WORKER_SERVICE, IdentityHeaders, Signer
from starter.settings import Settings
from starter.worker import build_replayer, build_worker
from tests import identities
from tests.factories import visit_type
from tests.integration.sla_fixtures import sla_sessions  # noqa: F401
from tests.sealing import SESSION_RING
from tests.waiting import eventually

AGENCY = Identity(
    sub="citizens-advice", kind="agency", name="Citizens advice service", agency="citizens-advice"
)
OTHER_AGENCY = Identity(
    sub="mind-hoarding-support", kind="agency", name="Mind", agency="mind-hoarding-support"
)
PORTAL = Identity(sub="tenant-portal", kind="service", name="Tenant portal", tasks=("leaflet",))


def plan():
    """The visit assessment, revisable, its first contact owned by a partner agency."""
    base = visit_type(sla={"target": "30 days", "allows_revision": True})
    tasks = [
        {
            **t.model_dump(exclude_defaults=True),
            **({"owner": "citizens-advice"} if t.id == "contact" else {}),
        }
        for t in base.tasks
    ]
    return visit_type(sla={"target": "30 days", "allows_revision": True}, tasks=tasks)


def as_(client: Client, task_queue: str, identity: Identity) -> CaseClient:
    return CaseClient(client, Settings(task_queue=task_queue), identity=identities.signer(identity))


async def test_revise_and_close_follow_the_directory(
    temporal_client: Client, task_queue: str, app_sessions
):
    suite = CaseClient(temporal_client, Settings(task_queue=task_queue))
    async with build_worker(temporal_client, task_queue, app_sessions):
        tom = as_(temporal_client, task_queue, identities.person("tom-bennett"))
        started = await tom.start_case(
            plan(), tenant_ref="TEN-ID", case_ref=f"ID-{uuid.uuid4().hex[:8]}", owner="tom-bennett"
        )
        ref = started.case_ref
        state = await suite.state(ref)
        assert state.opened_by == "tom-bennett"

        aisha = as_(temporal_client, task_queue, identities.person("aisha-begum"))
        due = state.opened_at + timedelta(days=40)
        with pytest.raises(CaseRefused) as refused:
            await aisha.send(ref, ReviseTarget(clock="case", due_at=due, reason="more time"))
        assert refused.value.code == "not_permitted"
        assert refused.value.message == (
            f"aisha-begum (Aisha Begum) may not revise a target of {ref}: revise-target needs "
            "the case owner, their manager or a team leader."
        )
        with pytest.raises(CaseRefused) as refused:
            await aisha.send(ref, CloseCase(outcome="no-further-support", reason="done"))
        assert refused.value.code == "not_permitted"
        assert (
            "close-case needs the case owner, their manager or a team leader"
            in refused.value.message
        )

        revised = await tom.send(ref, ReviseTarget(clock="case", due_at=due, reason="more time"))
        assert {entry.by for entry in revised.changes} == {"tom-bennett"}
        with pytest.raises(CaseRefused) as refused:  # a target already passed
            await tom.send(ref, ReviseTarget(clock="case", due_at=state.opened_at, reason="typo"))
        assert refused.value.code == "out_of_range" and "must lie ahead" in refused.value.message

        # the agency completes its own task, not another agency's
        other = as_(temporal_client, task_queue, OTHER_AGENCY)
        with pytest.raises(CaseRefused) as refused:
            await other.send(ref, CompleteTask(task="contact"))
        assert refused.value.code == "not_permitted"
        assert (
            "a task owned by the agency (contact is owned by citizens-advice)"
            in refused.value.message
        )
        agency = as_(temporal_client, task_queue, AGENCY)
        done = await agency.send(ref, CompleteTask(task="contact"))
        assert done.changes[0].by == "citizens-advice"

        # a service completes only what the directory lets it
        portal = as_(temporal_client, task_queue, PORTAL)
        with pytest.raises(CaseRefused) as refused:
            await portal.send(ref, CompleteTask(task="home-visit", outcome="visited"))
        assert refused.value.code == "not_permitted"
        assert "its tasks: leaflet" in refused.value.message
        await portal.send(ref, CompleteTask(task="leaflet"))
        with pytest.raises(CaseRefused):
            await portal.send(ref, PauseCase(reason="tenant in hospital"))

        priya = as_(temporal_client, task_queue, identities.person("priya-shah"))
        closed = await priya.send(ref, CloseCase(outcome="no-further-support", reason="moved out"))
        assert closed.case_status.value == "closed"

        state = await suite.state(ref)
        by = {(entry.kind, entry.task_key): entry.by for entry in state.log}
        assert by[("case_opened", None)] == "tom-bennett"
        assert (
            by[("target_revised", None)] == "tom-bennett"
            if ("target_revised", None) in by
            else True
        )
        assert by[("target_revised", None)] == "tom-bennett"
        assert by[("task_completed", "contact")] == "citizens-advice"
        assert by[("task_completed", "leaflet")] == "tenant-portal"
        assert by[("case_closed", None)] == "priya-shah"
        history = await suite.client.get_workflow_handle(started.workflow_id).fetch_history()
        assert not [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]


async def test_a_manager_may_close_a_case_of_their_report(
    temporal_client: Client, task_queue: str, app_sessions
):
    async with build_worker(temporal_client, task_queue, app_sessions):
        suite = CaseClient(temporal_client, Settings(task_queue=task_queue))
        started = await suite.start_case(plan(), tenant_ref="TEN-ID", owner="marcus-reid")
        assert (await suite.state(started.case_ref)).opened_by == "test-suite"
        claire = as_(temporal_client, task_queue, identities.person("claire-donnelly"))
        closed = await claire.send(started.case_ref, CloseCase(outcome="no-further-support"))
        assert {e.by for e in closed.changes} == {"claire-donnelly"}


async def test_without_an_identity_nothing_is_taken_and_the_case_goes_on(
    temporal_client: Client, task_queue: str, app_sessions
):
    unsigned = Client(**{**temporal_client.config(), "interceptors": []})
    async with build_worker(temporal_client, task_queue, app_sessions):
        suite = CaseClient(temporal_client, Settings(task_queue=task_queue))
        started = await suite.start_case(plan(), tenant_ref="TEN-ID")
        nobody = CaseClient(unsigned, Settings(task_queue=task_queue))
        with pytest.raises(CaseRefused) as refused:
            await nobody.send(started.case_ref, CloseCase(outcome="no-further-support"))
        assert refused.value.code == "not_authenticated"
        assert "(missing)" in refused.value.message

        await nobody.report(started.case_ref, CompleteTask(task="contact", request_id="x-1"))

        async def rejected() -> bool:
            state = await suite.state(started.case_ref)
            return bool(state.rejected) and state.rejected[-1].code == "not_authenticated"

        await eventually(rejected)

        # signed with a key the worker does not hold: refused too
        stranger = Signer(KeyRing.parse(generate_entry("stolen")), identities.SUITE)
        forged = CaseClient(unsigned, Settings(task_queue=task_queue), identity=stranger)
        with pytest.raises(CaseRefused) as refused:
            await forged.send(started.case_ref, CloseCase(outcome="no-further-support"))
        assert refused.value.code == "not_authenticated"
        assert "(unknown-key)" in refused.value.message

        # the case still answers, and no workflow task failed
        await suite.send(started.case_ref, CompleteTask(task="contact"))
        history = await suite.client.get_workflow_handle(started.workflow_id).fetch_history()
        assert not [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]


class _Lifted(Interceptor):
    """Sends every start, update and signal with a header copied from a history."""

    def __init__(self, header: Payload) -> None:
        self.header = header

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        header = self.header

        class Copying(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput) -> Any:
                input.headers = {**input.headers, HEADER: header}
                return await super().start_workflow(input)

            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {**input.headers, HEADER: header}
                return await super().start_workflow_update(input)

            async def signal_workflow(self, input: SignalWorkflowInput) -> None:
                input.headers = {**input.headers, HEADER: header}
                await super().signal_workflow(input)

        return Copying(next)


async def test_a_token_read_in_a_history_is_refused_when_sent_again(
    temporal_client: Client, task_queue: str, app_sessions
):
    """Whoever reads a case's history (the Temporal UI, without the codec) reads the
    identity header of each request. Sent again, as its signer, to the same case or
    another, or to open a case, it is refused, and nothing changes."""
    async with build_worker(temporal_client, task_queue, app_sessions):
        tom = as_(temporal_client, task_queue, identities.person("tom-bennett"))
        first = await tom.start_case(plan(), tenant_ref="TEN-ID", owner="tom-bennett")
        other = await tom.start_case(plan(), tenant_ref="TEN-ID", owner="tom-bennett")
        await tom.send(first.case_ref, AddTask(task="check-in"))
        history = await temporal_client.get_workflow_handle(first.workflow_id).fetch_history()
        accepted = next(
            e
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        )
        header = accepted.workflow_execution_update_accepted_event_attributes.accepted_request
        lifted = header.input.header.fields[HEADER]
        thief = Client(**{**temporal_client.config(), "interceptors": [_Lifted(lifted)]})
        replayed = CaseClient(thief, Settings(task_queue=task_queue))
        for case_ref, why in ((first.case_ref, "(used)"), (other.case_ref, "(another case)")):
            with pytest.raises(CaseRefused) as refused:
                await replayed.send(case_ref, AddTask(task="check-in"))
            assert refused.value.code == "not_authenticated", case_ref
            assert f"Not signed in {why}" in refused.value.message
        with pytest.raises(CaseRefused) as failed:
            await replayed.start_case(plan(), tenant_ref="TEN-THIEF", owner="tom-bennett")
        assert "did not open: Not signed in (another case)" in failed.value.message

        for case_ref in (first.case_ref, other.case_ref):
            state = await tom.state(case_ref)
            assert sum(t.task == "check-in" for t in state.tasks) == (case_ref == first.case_ref)
            handle = temporal_client.get_workflow_handle(f"case-{case_ref}")
            await build_replayer(SESSION_RING, identities.RING).replay_workflow(
                await handle.fetch_history()
            )


async def test_a_case_started_without_an_identity_does_not_open(
    temporal_client: Client, task_queue: str, app_sessions
):
    """The start's refusal is the caller's (it was reported as started, and the case never
    opened), and the reference stays free for a start that may open it."""
    unsigned = Client(**{**temporal_client.config(), "interceptors": []})
    async with build_worker(temporal_client, task_queue, app_sessions):
        nobody = CaseClient(unsigned, Settings(task_queue=task_queue))
        with pytest.raises(CaseRefused) as failed:
            await nobody.start_case(plan(), tenant_ref="TEN-ID", case_ref="ID-NOBODY-" + run_id())
        assert failed.value.code == "not_authenticated"
        assert "did not open: Not signed in (missing)" in failed.value.message
        agency = CaseClient(
            unsigned, Settings(task_queue=task_queue), identity=identities.signer(AGENCY)
        )
        ref = "ID-AGENCY-" + run_id()
        with pytest.raises(CaseRefused) as failed:
            await agency.start_case(plan(), tenant_ref="TEN-ID", case_ref=ref)
        assert failed.value.code == "not_permitted"
        assert "may not open cases" in failed.value.message
        allowed = CaseClient(temporal_client, Settings(task_queue=task_queue))
        started = await allowed.start_case(plan(), tenant_ref="TEN-ID", case_ref=ref)
        assert started.opened is True
        assert (await allowed.state(ref)).tenant_ref == "TEN-ID"


def run_id() -> str:
    return uuid.uuid4().hex[:8]


def test_the_worker_opens_follow_on_cases_as_a_service_that_may_open_cases_only():
    assert WORKER_SERVICE.kind == "service"
    assert WORKER_SERVICE.grants == ("open-case", "open-follow-on")
    assert not WORKER_SERVICE.tasks
    assert IdentityHeaders  # the interceptor the worker's client signs with


async def test_identities_are_issued_from_the_synced_directory(sla_sessions):  # noqa: F811
    from starter.identities import (
        IdentityUnavailable,
        person_identity,
        service_identity,
    )

    async with sla_sessions() as session:
        tom = await person_identity(session, "tbennett")  # his login
        assert (tom.sub, tom.roles, tom.team) == (
            "tom-bennett",
            ("housing-officer",),
            "neighbourhood-team",
        )
        assert tom == await person_identity(session, "tom-bennett")  # or his id
        priya = await person_identity(session, "priya-shah")
        assert {"tom-bennett", "aisha-begum", "housing-officer", "neighbourhood-team"} <= set(
            priya.manages
        )
        assert priya == identities.person("priya-shah")
        hms = await service_identity(session, "housing-management-system")
        assert hms.kind == "service" and hms.grants == ("open-case", "pause-case")
        assert "benefits-check" in hms.tasks
        with pytest.raises(IdentityUnavailable) as unknown:
            await person_identity(session, "root")
        assert unknown.value.message == (
            "The login 'root' is not an active person of the directory; give the person "
            "`login: root` in directory.yaml and run `support-provision directory sync`, "
            "or set SUPPORT_PROVISION_USER=<person id>."
        )
        with pytest.raises(IdentityUnavailable):
            await service_identity(session, "crm")


async def test_a_partner_agency_signs_as_itself(sla_sessions, monkeypatch):  # noqa: F811
    from starter.identities import IdentityUnavailable, configured_identity

    monkeypatch.delenv("SUPPORT_PROVISION_SERVICE", raising=False)
    monkeypatch.setenv("SUPPORT_PROVISION_AGENCY", "citizens-advice")
    async with sla_sessions() as session:
        agency = await configured_identity(session)
        assert (agency.sub, agency.kind, agency.agency) == (
            "citizens-advice",
            "agency",
            "citizens-advice",
        )
        monkeypatch.setenv("SUPPORT_PROVISION_SERVICE", "housing-management-system")
        with pytest.raises(IdentityUnavailable, match="sign as one of them"):
            await configured_identity(session)
        monkeypatch.delenv("SUPPORT_PROVISION_SERVICE")
        monkeypatch.setenv("SUPPORT_PROVISION_AGENCY", "nobody")
        with pytest.raises(IdentityUnavailable, match="not an active agency"):
            await configured_identity(session)


async def test_a_case_started_while_no_worker_ran_opens_after_its_token_expired(
    temporal_client: Client, task_queue: str, app_sessions
):
    """A start is verified as of when Temporal took it: a worker that comes back after
    the start's token expired (or a reset long after) must not fail the case."""
    brief = Signer(identities.RING, identities.SUITE, lifetime=timedelta(seconds=2))
    ref = f"LATE-{uuid.uuid4().hex[:6]}"
    settings = Settings(task_queue=task_queue)
    await CaseClient(temporal_client, settings, identity=brief).start_case(
        visit_type(), tenant_ref="TEN-LATE", case_ref=ref, verdict_within=None
    )
    started = (await temporal_client.get_workflow_handle(f"case-{ref}").describe()).start_time

    async def expired() -> bool:
        return datetime.now(UTC) > started + timedelta(seconds=3)

    await eventually(expired, timeout=10, what="the start's token to expire")
    async with build_worker(temporal_client, task_queue, app_sessions):
        cases = CaseClient(temporal_client, settings)
        state = await cases.state(ref)
        assert state.status is CaseStatus.open and state.tenant_ref == "TEN-LATE"
        handle = temporal_client.get_workflow_handle(f"case-{ref}")
        history = await handle.fetch_history()
        assert not any(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events
        )
        await build_replayer(SESSION_RING, identities.RING).replay_workflow(history)
