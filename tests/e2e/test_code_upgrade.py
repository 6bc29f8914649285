"""A case started on the previous release finishes on today's code.

The previous release's code (the commit that last landed, taken from git) runs a worker in
a process of its own: it opens a case and takes its first requests, then stops, as a
worker does when a new release is deployed. Today's worker then takes the case over: it
rebuilds it from the history the old code wrote, and the case runs to completion with
nothing refused, lost or repeated, and no workflow task failed.

When a release lands, move `PREVIOUS_RELEASE` to it (and record its histories, see
`tests/histories/record.py`).
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from casemodel.requests import CompleteTask
from casemodel.state import CaseStatus, TaskStatus
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker

PREVIOUS_RELEASE = "7ca0314cdb844c7676ec2c8637b52b183f027213"
KEY_VARIABLES = ("SUPPORT_PROVISION_PAYLOAD_KEYS", "SUPPORT_PROVISION_IDENTITY_KEYS")
ROOT = Path(__file__).resolve().parents[2]

OLD_WORKER = """
import asyncio, os, sys
from temporalio.client import Client
from activities.database.engine import create_engine, session_factory
from casemodel.requests import AddTask, CompleteTask
from protection.codec import data_converter
from protection.keys import KeyRing
from starter.client import CaseClient
from starter.identities import Signer
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import visit_type
from tests.identities import SUITE

def ring(name):
    return KeyRing.parse(os.environ[name], source=name)

async def main(address, task_queue, database, case_ref):
    sealed = data_converter(ring("SUPPORT_PROVISION_PAYLOAD_KEYS"))
    client = await Client.connect(address, data_converter=sealed)
    identities = ring("SUPPORT_PROVISION_IDENTITY_KEYS")
    settings = Settings(task_queue=task_queue)
    cases = CaseClient(client, settings, identity=Signer(identities, SUITE))
    engine = create_engine(database)
    async with build_worker(client, task_queue, session_factory(engine), ring=identities):
        await cases.start_case(visit_type(), tenant_ref="TEN-UP", case_ref=case_ref, owner="alice")
        await cases.send(case_ref, CompleteTask(task="contact"))
        await cases.send(
            case_ref, CompleteTask(task="home-visit", outcome="visited")
        )
        await cases.report(
            case_ref, CompleteTask(task="benefits-check", request_id="crm-up")
        )
        await cases.send(case_ref, AddTask(task="check-in", note="weekly call"))
        state = await cases.state(case_ref)
        print("opened on", sys.modules["starter.client"].__file__, len(state.log), flush=True)
    await engine.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


def previous_release(folder: Path) -> Path:
    """The previous release's code, unpacked from git into `folder`."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", PREVIOUS_RELEASE],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"the previous release {PREVIOUS_RELEASE[:8]} is not in git here: {error}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


async def test_a_case_started_on_the_previous_release_finishes_on_this_one(
    temporal_env: WorkflowEnvironment, task_queue: str, app_database: str, app_sessions, tmp_path
):
    old_code = previous_release(tmp_path / "previous")
    case_ref = f"UP-{uuid.uuid4().hex[:8]}"
    address = temporal_env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OLD_WORKER,
        address,
        task_queue,
        app_database,
        case_ref,
        cwd=old_code,
        # The session's keys, as the previous release's worker and client read them.
        env={"PYTHONPATH": str(old_code), "PATH": "/usr/bin:/bin"}
        | {name: os.environ[name] for name in KEY_VARIABLES},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, out.decode()
    assert f"opened on {old_code}" in out.decode(), out.decode()

    cases = CaseClient(temporal_env.client, Settings(task_queue=task_queue))
    async with build_worker(temporal_env.client, task_queue, app_sessions):
        state = await cases.state(case_ref)
        status = {t.key: t.status for t in state.tasks}
        assert status["benefits-check"] is TaskStatus.completed  # the old run's signal
        await cases.send(case_ref, CompleteTask(task="check-in"))
        await cases.send(
            case_ref, CompleteTask(task="risk-assessment", responses={"Risk level": "low"})
        )
        await cases.report(case_ref, CompleteTask(task="benefits-check", request_id="crm-up"))
        assert (await cases.state(case_ref)).rejected_total == 0  # the retry was known
        result = await cases.send(case_ref, CompleteTask(task="agree-plan"))
        assert result.case_status is CaseStatus.completed
        summary = await cases.result(case_ref)
    assert summary.tasks_completed == 6
    history = await temporal_env.client.get_workflow_handle(f"case-{case_ref}").fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
