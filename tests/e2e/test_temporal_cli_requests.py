"""The mistakes that used to wedge a case, made again with the plain `temporal` CLI.

Each ends in a clear refusal (an update) or a rejection recorded in the case (a signal),
and the case takes a valid request straight after; its history holds no failed workflow
task at the end. The requests carry a signed identity in the header, as an integration
would send them (`--headers support-provision-identity='"<token>"'`), so that what is
tested is the payload; without one, or with a forged one, they are refused unread.

The plain CLI has no payload codec: what it sends arrives in clear and is taken, but the
case's answers are sealed, so it cannot print an accepted update's result, and of a
refusal it shows the code, not the sealed message.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.database import register
from casemodel.requests import StartCase
from starter.binaries import temporal_cli
from starter.client import CaseClient, CaseRefused
from starter.settings import Settings
from starter.worker import build_worker
from tests import identities
from tests.factories import visit_type

SIGNAL = "report_task_completed"
HEADER = "support-provision-identity"


def signed(case_ref: str) -> list[str]:
    """The header flag that signs one `temporal` command to `case_ref` as the test suite
    (a token is for one request to one case)."""
    return ["--headers", f'{HEADER}="{identities.token(identities.SUITE, case_ref)}"']


HUGE = "n" * 1_000_000
SEALED_ANSWER = "encoding binary/encrypted: payload encoding is not supported"


async def temporal(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        temporal_cli(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def inputs(tmp_path: Path, *values: object) -> list[str]:
    """`--input-file` arguments, one file per value (a 1 MB note is too long for argv)."""
    flags = []
    for value in values:
        path = tmp_path / f"input-{uuid.uuid4().hex}.json"
        path.write_text(value if isinstance(value, str) else json.dumps(value))
        flags += ["--input-file", str(path)]
    return flags


SIGNALS = {
    "no input": [],
    "two inputs": [{"task": "contact"}, {"task": "contact"}],
    "null": ["null"],
    "empty object": [{}],
    "wrong types": [{"task": 7, "responses": []}],
    "camel-case typo": [{"task": "contact", "requestID": "crm-1"}],
    "1 MB note": [{"task": "contact", "note": HUGE, "request_id": "crm-2"}],
}
UPDATES = {
    "complete, no input": ("complete_task", [], "malformed_request"),
    "complete, 1 MB note": (
        "complete_task",
        [{"task": "contact", "note": HUGE}],
        "request_too_large",
    ),
    "complete, 1 MB task": ("complete_task", [{"task": HUGE}], "request_too_large"),
    "complete, unknown key": (
        "complete_task",
        [{"task": "contact", "bogus": 1}],
        "invalid_request",
    ),
    "revise to 9999": (
        "revise_target",
        [{"clock": "case", "due_at": "9999-12-31T00:00:00+00:00", "reason": "typo"}],
        "out_of_range",
    ),
    "revise to 0001": (
        "revise_target",
        [{"clock": "case", "due_at": "0001-01-01T00:00:00+00:00", "reason": "typo"}],
        "out_of_range",
    ),
    "revise, no offset": (
        "revise_target",
        [{"clock": "case", "due_at": "2026-12-31T10:00", "reason": "x"}],
        "invalid_request",
    ),
    "unknown update": ("delete_case", [{}], "unknown_request"),
}


@pytest.fixture
def cases(temporal_env: WorkflowEnvironment, task_queue: str) -> CaseClient:
    return CaseClient(temporal_env.client, Settings(task_queue=task_queue))


async def test_what_used_to_wedge_a_case_is_refused_or_recorded(
    temporal_env: WorkflowEnvironment, cases: CaseClient, task_queue: str, app_sessions, tmp_path
):
    address = temporal_env.client.service_client.config.target_host
    revisable = visit_type(sla={"target": "30 days", "allows_revision": True})
    async with build_worker(temporal_env.client, task_queue, app_sessions):
        started = await cases.start_case(
            revisable, tenant_ref="TEN-CLI", case_ref=f"CLI-{uuid.uuid4().hex[:8]}"
        )
        where = ["--address", address, "--workflow-id", started.workflow_id]

        def target() -> list[str]:
            return [*where, *signed(started.case_ref)]

        async def still_takes_requests() -> None:
            before = await check_ins()
            code, out = await temporal(
                "workflow",
                "update",
                "execute",
                *target(),
                "--name",
                "add_task",
                "--input",
                '{"task": "check-in"}',
            )
            assert code == 1 and SEALED_ANSWER in out, out  # taken; its answer is sealed
            assert await check_ins() == before + 1

        async def check_ins() -> int:
            state = await cases.state(started.case_ref)
            return sum(1 for t in state.tasks if t.task == "check-in")

        for number, (what, values) in enumerate(SIGNALS.items(), start=1):
            code, out = await temporal(
                "workflow", "signal", *target(), "--name", SIGNAL, *inputs(tmp_path, *values)
            )
            assert code == 0, f"{what}: {out}"
            await still_takes_requests()
            state = await cases.state(started.case_ref)
            assert state.rejected_total == number, what
            # `temporal workflow signal` (CLI 1.9) sends no headers, so every signal from it
            # is unsigned: recorded as rejected before its payload is read (the payloads
            # themselves are refused as in tests/integration/test_hostile_requests.py).
            assert state.rejected[-1].code == "not_authenticated", what
            assert HUGE not in state.model_dump_json(), what

        for what, (name, values, expected) in UPDATES.items():
            code, out = await temporal(
                "workflow",
                "update",
                "execute",
                *target(),
                "--name",
                name,
                *inputs(tmp_path, *values),
            )
            assert code == 1, f"{what}: {out}"
            assert f"Encoded failure (type: {expected}, retryable: false)" in out, f"{what}: {out}"
            assert len(out) < 2_000, what
            await still_takes_requests()

        forged = identities.token(identities.SUITE).rsplit(".", 1)[0] + ".AAAA"
        for what, headers, reason in (
            ("no identity", [], "missing"),
            ("a forged identity", ["--headers", f'{HEADER}="{forged}"'], "bad-signature"),
            ("not a token", ["--headers", f'{HEADER}={{"sub": "tom"}}'], "malformed"),
        ):
            code, out = await temporal(
                "workflow",
                "update",
                "execute",
                *where,
                *headers,
                "--name",
                "close_case",
                "--input",
                '{"outcome": "no-further-support", "by": "tom-bennett"}',
            )
            assert code == 1, f"{what}: {out}"
            # The refusal's words ("Not signed in (<reason>): ...") are sealed like every
            # failure's; without the codec the CLI shows its code.
            assert "(type: not_authenticated, retryable: false)" in out, f"{what}: {out}"
            assert reason and f"Not signed in ({reason})" not in out
            await still_takes_requests()

        before = (await cases.state(started.case_ref)).rejected_total
        code, out = await temporal(
            "workflow", "signal", *where, "--name", SIGNAL, "--input", '{"task": "contact"}'
        )
        assert code == 0, out
        await still_takes_requests()
        state = await cases.state(started.case_ref)
        assert state.rejected_total == before + 1
        assert state.rejected[-1].code == "not_authenticated"
        assert next(t for t in state.tasks if t.key == "contact").status.value == "open"

        # A token is good for one request: the same header a second time is refused.
        once = signed(started.case_ref)
        answers = []
        for _ in range(2):
            answers.append(
                await temporal(
                    "workflow",
                    "update",
                    "execute",
                    *where,
                    *once,
                    "--name",
                    "add_task",
                    "--input",
                    '{"task": "check-in"}',
                )
            )
        assert SEALED_ANSWER in answers[0][1], answers[0]  # taken
        assert "(type: not_authenticated, retryable: false)" in answers[1][1], answers[1]

        history = await cases.client.get_workflow_handle(started.workflow_id).fetch_history()
        assert not [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]


async def test_a_start_from_the_plain_cli_naming_no_owner_of_the_directory_does_not_open(
    temporal_env: WorkflowEnvironment, cases: CaseClient, task_queue: str, app_sessions, tmp_path
):
    """A signed start sent with `temporal workflow start`, past `case start` and its
    directory check: the worker refuses the owner as the case opens, and a start of the
    same reference with an owner of the directory opens."""
    address = temporal_env.client.service_client.config.target_host
    case_ref = f"CLI-{uuid.uuid4().hex[:8]}"

    def start(owner: str) -> list[str]:
        body = StartCase(
            case_ref=case_ref, tenant_ref="TEN-CLI", owner=owner, provision_type=visit_type()
        )
        return [
            "workflow",
            "start",
            "--address",
            address,
            "--task-queue",
            task_queue,
            "--type",
            "SupportCaseWorkflow",
            "--workflow-id",
            f"case-{case_ref}",
            "--id-reuse-policy",
            "AllowDuplicateFailedOnly",
            *signed(case_ref),
            *inputs(tmp_path, body.model_dump(mode="json")),
        ]

    async with build_worker(temporal_env.client, task_queue, app_sessions):
        code, out = await temporal(*start("nobody-here"))
        assert code == 0, out
        handle = temporal_env.client.get_workflow_handle(f"case-{case_ref}")
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 30)
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "owner_refused"
        assert "'nobody-here' is not a person, team or role in the directory" in cause.message
        history = await handle.fetch_history()
        assert not [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        with pytest.raises(CaseRefused) as not_a_case:
            await cases.state(case_ref)
        assert not_a_case.value.code == "case_not_started"
        async with app_sessions() as session:
            assert await register.get_case(session, case_ref) is None

        code, out = await temporal(*start("tom-bennett"))
        assert code == 0, out
        assert (await cases.state(case_ref)).owner == "tom-bennett"
