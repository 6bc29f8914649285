"""No caller can wedge a case: a generated corpus of bad and borderline requests, sent raw.

Each request goes through a real Temporal dev server the way an outside system or a person
with the `temporal` CLI would send it: as an update and as a signal, with any name, any
number of arguments, any encoding and any bytes. For each one the test asserts what the
case promises: an update is refused with a stable code (or accepted, if it happens to be a
valid request); a signal the case cannot take is recorded in its `rejected` list with the
reason; the case still answers its query and takes a valid request straight after; and
its history never holds a failed workflow task.

The corpus is drawn by hypothesis, reproducibly. `HOSTILE_CORPUS` sets its size (default
60 requests); `HOSTILE_SEED` draws a different one, e.g.
`HOSTILE_CORPUS=2000 HOSTILE_SEED=7 make test`.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.database import register
from casemodel import errors
from casemodel.requests import (
    REPORT_TASK_COMPLETED,
    SIGNALS,
    TEXT_LIMIT,
    UPDATES,
    AddTask,
    CloseCase,
    Encoded,
    StartCase,
    read_request,
)
from starter.client import CaseClient, CaseRefused
from starter.settings import Settings
from starter.worker import build_replayer, build_worker
from tests import identities
from tests.factories import visit_type
from tests.integration.db_fixtures import dump_case
from tests.sealing import SESSION_RING
from tests.waiting import eventually
from workflows.names import STATE_QUERY, WORKFLOW_TYPE, workflow_id_for

CORPUS = int(os.environ.get("HOSTILE_CORPUS", "60"))
SEED = int(os.environ.get("HOSTILE_SEED", "20261201"))
CODES = {cls.code for cls in [errors.CaseRuleError, *errors._all_subclasses(errors.CaseRuleError)]}
UPDATE_EDGE = 1_900_000
"""Above about 2 MB in all, Temporal itself cannot refuse an update: its SDK core echoes
the request in the refusal, over the server's payload limit, and the workflow task fails
until the server abandons the update (the case then recovers unchanged). Our own limit
is 64 KiB, far below; the corpus stays below Temporal's edge."""
MESSAGE_LIMIT = 2_000
"""No refusal the workflow writes is longer than this, whatever the caller sent."""


@dataclass(frozen=True)
class Sent:
    """One raw request: a name and its arguments as (encoding, bytes)."""

    name: str
    arguments: tuple[Encoded, ...]

    def payloads(self) -> list[RawValue]:
        return [
            RawValue(Payload(metadata={"encoding": encoding.encode()}, data=data))
            for encoding, data in self.arguments
        ]

    def __repr__(self) -> str:  # the corpus entry named in a failure, without megabytes
        shown = [(e, d[:80] + (b"..." if len(d) > 80 else b"")) for e, d in self.arguments]
        return f"Sent({self.name[:60]!r}, {shown})"


# -- the corpus ------------------------------------------------------------------------

FIELDS = ["task", "outcome", "responses", "note", "by", "request_id", "requestId", "cascade"]
FIELDS += ["reason", "clock", "due_at", "dueAt", "case_ref", "extra", "requestID", "Task"]

big_text = st.integers(min_value=TEXT_LIMIT - 2, max_value=200_000).map(lambda n: "x" * n)
awkward_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["home-visit", "contact", "check-in", "check-in#2", "case", "HOME VISIT"]),
    st.sampled_from(["a\x00b", "\u202e", "tab\there", "x" * 101, "", " ", "#2", "a#0"]),
    big_text,
)
instants = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T00:00:00+00:00",
            "0001-01-01T00:00:00+00:00",
            "2026-12-01T17:00",
            "2027-01-05T17:00:00+00:00",
            "tomorrow",
            "2026-02-30T10:00:00Z",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
field_values = st.one_of(
    awkward_text,
    instants,
    json_values,
    st.dictionaries(st.text(max_size=20), json_values, max_size=150),
)
request_like = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=6)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


data = st.one_of(
    request_like.map(_dumps),
    json_values.map(_dumps),
    st.binary(max_size=200),
    st.integers(min_value=1, max_value=5_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=60_000, max_value=1_500_000).map(
        lambda n: _dumps({"task": "check-in", "note": "n" * n})
    ),
    st.just(b'{"task": "check-in", "note": "\\ud800"}'),
)
encodings = st.one_of(
    st.just("json/plain"),
    st.sampled_from(["binary/null", "binary/plain", "json/protobuf", "", "JSON/PLAIN"]),
    st.text(max_size=20),
)
arguments = st.one_of(
    st.tuples(st.tuples(st.just("json/plain"), data)),
    st.lists(st.tuples(encodings, data), max_size=3).map(tuple),
).filter(lambda args: sum(len(d) for _, d in args) <= UPDATE_EDGE)
names = st.one_of(
    st.sampled_from([*UPDATES, REPORT_TASK_COMPLETED]),
    st.text(max_size=300),
)
corpus_entry = st.builds(Sent, names, arguments)


def draw_corpus(size: int) -> list[Sent]:
    """`size` requests drawn by hypothesis from `SEED`: the same corpus every run."""
    found: list[Sent] = []

    @seed(SEED)
    @settings(
        max_examples=size,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(corpus_entry)
    def collect(entry: Sent) -> None:
        found.append(entry)

    collect()
    return found[:size]


# -- the checks ------------------------------------------------------------------------


@pytest.fixture
def cases(temporal_client: Client, task_queue: str) -> CaseClient:
    return CaseClient(temporal_client, Settings(task_queue=task_queue))


async def assert_no_failed_workflow_task(handle: WorkflowHandle[Any, Any]) -> None:
    history = await handle.fetch_history()
    failed = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert not failed, failed[0].workflow_task_failed_event_attributes.failure.message


def _readable(sent: Sent) -> bool:
    """Whether the case can read this signal (then the rules decide), by the same reader."""
    try:
        read_request(sent.name, sent.arguments, SIGNALS)
    except errors.CaseRuleError:
        return False
    return True


def refusal_of(error: WorkflowUpdateFailedError) -> ApplicationError:
    cause = error.cause
    assert isinstance(cause, ApplicationError), f"not a refusal: {cause!r}"
    assert cause.non_retryable, f"a refusal must not invite a retry: {cause}"
    assert cause.type in CODES, f"unknown refusal code {cause.type}"
    assert len(cause.message) <= MESSAGE_LIMIT, cause.message[:200]
    return cause


async def test_no_request_can_wedge_a_case(cases: CaseClient, task_queue: str, app_sessions):
    corpus = draw_corpus(CORPUS)
    async with build_worker(cases.client, task_queue, app_sessions):
        handle, rejected = await open_case(cases), 0
        for sent in corpus:
            try:
                await handle.execute_update(sent.name, args=sent.payloads())
            except WorkflowUpdateFailedError as error:
                refusal_of(error)
            except RPCError as error:  # the server itself refuses, e.g. over 2 MB, no name
                assert error.status is RPCStatusCode.INVALID_ARGUMENT, error.message
            try:
                await handle.signal(sent.name, args=sent.payloads())
            except RPCError as error:
                assert error.status is RPCStatusCode.INVALID_ARGUMENT, error.message
                readable = True  # never reached the case
            else:
                readable = _readable(sent)

            # The case takes a valid request straight after (and, being an update, it is
            # answered only once the signal before it was handled).
            case_ref = handle.id.removeprefix("case-")
            try:
                await cases.send(case_ref, AddTask(task="check-in"))
            except CaseRefused as refused:
                # A valid close or the last completion in the corpus ended the case.
                assert refused.code == "case_not_open", refused.message
                await assert_no_failed_workflow_task(handle)
                handle, rejected = await open_case(cases), 0
                continue
            state = await cases.state(case_ref)
            if not readable:
                rejected += 1
                assert state.rejected_total == rejected, sent
                latest = state.rejected[-1]
                assert len(latest.reason) <= MESSAGE_LIMIT
                assert latest.code in CODES
            else:
                rejected = state.rejected_total  # a readable completion the rules refused
            assert len(state.rejected) <= 50
        await assert_no_failed_workflow_task(handle)


async def open_case(cases: CaseClient) -> WorkflowHandle[Any, Any]:
    started = await cases.start_case(
        visit_type(), tenant_ref="TEN-HOSTILE", case_ref=f"H-{uuid.uuid4().hex[:8]}"
    )
    return cases.client.get_workflow_handle(started.workflow_id)


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        [("json/plain", b"{}"), ("json/plain", b"{}")],
        [("json/plain", b"null")],
        [("json/plain", b"{}")],
        [("binary/null", b"")],
        [("json/plain", b"not json")],
        [("json/plain", _dumps({"case_ref": "X", "provision_type": "x" * 600_000}))],
    ],
    ids=["none", "two", "null", "empty", "binary", "not-json", "oversize"],
)
async def test_a_start_input_that_is_wrong_fails_the_case_cleanly(
    temporal_client: Client, task_queue: str, app_sessions, arguments
):
    sent = Sent(WORKFLOW_TYPE, tuple(arguments))
    async with build_worker(temporal_client, task_queue, app_sessions):
        handle = await temporal_client.start_workflow(
            WORKFLOW_TYPE,
            args=sent.payloads(),
            id=workflow_id_for(f"BAD-{uuid.uuid4().hex[:8]}"),
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type in CODES, cause
        await assert_no_failed_workflow_task(handle)


async def test_another_workflow_type_on_the_queue_fails_cleanly(
    temporal_client: Client, task_queue: str, app_sessions
):
    async with build_worker(temporal_client, task_queue, app_sessions):
        handle = await temporal_client.start_workflow(
            "SomeOtherWorkflow", id=f"other-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.type == "unknown_request"


async def test_a_case_started_under_another_workflow_id_is_refused_and_takes_no_case_over(
    cases: CaseClient, temporal_client: Client, task_queue: str, app_sessions
):
    """A second workflow that took an existing case's reference (or a workflow id without
    `case-`) would have written its tenant and log over that case's in the register."""
    run = uuid.uuid4().hex[:6]
    ref = f"OWNED-{run}"
    async with build_worker(temporal_client, task_queue, app_sessions):
        await cases.start_case(visit_type(), tenant_ref="TEN-OWNED", case_ref=ref)
        taken = StartCase(
            case_ref=ref, tenant_ref="TEN-TAKER", owner="tom-bennett", provision_type=visit_type()
        )
        bare = taken.model_copy(update={"case_ref": f"BARE-{run}"})
        for start, workflow_id in ((taken, f"case-TAKER-{run}"), (bare, f"BARE-{run}")):
            handle = await temporal_client.start_workflow(
                WORKFLOW_TYPE, start, id=workflow_id, task_queue=task_queue
            )
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
            cause = failed.value.cause
            assert isinstance(cause, ApplicationError)
            if start is taken:  # signed, as a token is, for the case its workflow id names
                assert cause.type == "not_authenticated"
                assert f"is for case TAKER-{run}, not {ref}" in str(cause)
            else:
                assert cause.type == "invalid_request"
                assert f'runs as the workflow "case-{start.case_ref}", not "{workflow_id}"' in (
                    str(cause)
                )
            await assert_no_failed_workflow_task(handle)
            # Rebuilt as a worker would, its patch marker included, it fails the same way.
            await build_replayer(SESSION_RING, identities.RING).replay_workflow(
                await handle.fetch_history()
            )
        state = await cases.state(ref)  # the case itself is untouched, and answers
        assert state.tenant_ref == "TEN-OWNED"
    async with app_sessions() as session:
        row = await register.get_case(session, ref)
        assert row is not None
        assert (row.workflow_id, row.tenant_ref) == (workflow_id_for(ref), "TEN-OWNED")
        assert await register.get_case(session, f"BARE-{run}") is None


async def test_a_workflow_started_again_under_a_closed_case_s_id_is_refused_and_writes_nothing(
    cases: CaseClient, temporal_client: Client, task_queue: str, app_sessions
):
    """Temporal lets a closed workflow's id be used again (`--id-reuse-policy
    AllowDuplicate`): the new run is another case under the closed one's reference, and
    wrote its tenant and log into that case's register rows. It now fails at its first
    register write, which writes nothing."""
    ref = f"REUSED-{uuid.uuid4().hex[:6]}"
    async with build_worker(temporal_client, task_queue, app_sessions):
        await cases.start_case(visit_type(), tenant_ref="TEN-FIRST", case_ref=ref)
        await cases.send(ref, CloseCase(outcome="no-further-support", reason="moved"))
        await cases.result(ref)

        async def closed() -> dict[str, Any] | None:
            async with app_sessions() as session:
                rows = await dump_case(session, ref)
            return rows if rows["case"] and rows["case"][0]["status"] == "closed" else None

        held = await eventually(closed, what="the closed case in the register")
        # The same tenant again, as someone who meant to open the case a second time would.
        again = StartCase(
            case_ref=ref, tenant_ref="TEN-FIRST", owner="tom-bennett", provision_type=visit_type()
        )
        handle = await temporal_client.start_workflow(
            WORKFLOW_TYPE,
            again,
            id=workflow_id_for(ref),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 30)
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "case_ref_taken"
        assert f"case reference {ref} belongs to another case" in str(cause)
        assert "TEN-FIRST" in str(cause) and "reference of its own" in str(cause)
        await assert_no_failed_workflow_task(handle)
        await build_replayer(SESSION_RING, identities.RING).replay_workflow(
            await handle.fetch_history()
        )
        # The reference still shows the closed case (`case show`), not the refused run.
        shown = await cases.state(ref)
        assert (shown.tenant_ref, shown.status.value) == ("TEN-FIRST", "closed")
        with pytest.raises(WorkflowQueryFailedError):  # its words are sealed
            await handle.query(STATE_QUERY)

        # Temporal's listing shows the closed case too, not the refused run after it,
        # though both runs are the tenant's.
        async def listed() -> Any:
            runs = temporal_client.list_workflows(f"WorkflowId = '{workflow_id_for(ref)}'")
            if len([r async for r in runs]) < 2:
                return None
            return [c for c in await cases.list_cases(tenant_ref="TEN-FIRST") if c.case_ref == ref]

        [listing] = await eventually(listed, timeout=20, what="both runs in the listing")
        assert (listing.status, listing.workflow_status) == ("closed", "completed")
    async with app_sessions() as session:
        assert await dump_case(session, ref) == held
        assert held["case"][0]["first_run_id"] is not None


async def test_a_new_case_whose_reference_is_not_plain_is_refused_by_client_and_workflow(
    cases: CaseClient, temporal_client: Client, task_queue: str, app_sessions
):
    """References are the case's name in Temporal's UI and search: an e-mail address as a
    tenant reference, or a zero-width space that makes two case references look alike,
    is refused before the case opens, by the client and by the case itself."""
    run = uuid.uuid4().hex[:6]
    odd = [(f"MAIL-{run}", "tom.bennett@example.org"), (f"ZW-\u200b{run}", "TEN-ZW")]
    async with build_worker(temporal_client, task_queue, app_sessions):
        for case_ref, tenant_ref in odd:
            with pytest.raises(CaseRefused) as refused:
                await cases.start_case(visit_type(), tenant_ref=tenant_ref, case_ref=case_ref)
            assert refused.value.code == "invalid_request"
            assert "is not a plain reference" in refused.value.message
            with pytest.raises(RPCError):  # nothing was started
                await temporal_client.get_workflow_handle(workflow_id_for(case_ref)).describe()

            start = StartCase(
                case_ref=case_ref,
                tenant_ref=tenant_ref,
                owner="tom-bennett",
                provision_type=visit_type(),
            )
            handle = await temporal_client.start_workflow(
                WORKFLOW_TYPE, start, id=workflow_id_for(case_ref), task_queue=task_queue
            )
            with pytest.raises(WorkflowFailureError) as failed:
                await handle.result()
            cause = failed.value.cause
            assert isinstance(cause, ApplicationError) and cause.type == "invalid_request"
            assert "is not a plain reference" in str(cause)
            await assert_no_failed_workflow_task(handle)
            with pytest.raises(CaseRefused) as shown:  # `case show`: one line, not a traceback
                await cases.state(case_ref)
            assert shown.value.code == "case_not_started"
            assert shown.value.message.startswith(f"Case {case_ref} did not open")
            assert "is not a plain reference" in shown.value.message
            await build_replayer(SESSION_RING, identities.RING).replay_workflow(
                await handle.fetch_history()
            )
    async with app_sessions() as session:
        for case_ref, _ in odd:
            assert await register.get_case(session, case_ref) is None


async def test_an_unknown_query_is_refused_and_the_case_still_answers(
    cases: CaseClient, task_queue: str, app_sessions
):
    async with build_worker(cases.client, task_queue, app_sessions):
        started = await cases.start_case(
            visit_type(), tenant_ref="TEN-Q", case_ref=f"Q-{uuid.uuid4().hex[:8]}"
        )
        handle = cases.client.get_workflow_handle(started.workflow_id)
        # Refused; its message is sealed like every failure's, and the SDK's client reads
        # a query's failure as the server's text, so even a client with the keys sees the
        # sealed message's stand-in.
        with pytest.raises(WorkflowQueryFailedError, match="^Encoded failure$"):
            await handle.query("everything", RawValue(Payload(data=b"\xff")))
        assert (await cases.state(started.case_ref)).case_ref == started.case_ref
        await assert_no_failed_workflow_task(handle)
