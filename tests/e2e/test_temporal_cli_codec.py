"""A sealed case read with the plain `temporal` CLI: without the codec server its history
holds no note, answer or reason in clear; through `support-provision codec-server`, with
the token, it reads as before; with a wrong token, still nothing in clear."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from protection.keys import KeyRing
from starter.binaries import temporal_cli
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests import identities
from tests.e2e.cli import COMMAND
from tests.factories import visit_type
from tests.sealed import ENCRYPTED_BASE64, IN_CLEAR, NOTE, REASON, RESPONSE, new_ring, sealed_case
from tests.sealed import sealing as sealing_client
from tests.smtp import free_port
from tests.waiting import eventually

TOKEN = f"cli-test-{uuid.uuid4().hex}"


async def temporal(*args: str) -> tuple[int, str]:
    """Run the CLI; what it printed, with every payload's data read as text after it
    (`--output json` prints payload data in base64, decoded or not)."""
    process = await asyncio.create_subprocess_exec(
        temporal_cli(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    printed = out.decode()
    try:
        shown = json.loads(printed)
    except ValueError:
        return process.returncode, printed
    return process.returncode, "\n".join([printed, *payload_texts(shown)])


def payload_texts(node: Any) -> Iterator[str]:
    """The data of every payload in a history's JSON, as text."""
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and isinstance(node.get("metadata"), dict):
            yield base64.b64decode(node["data"]).decode("utf-8", "replace")
        for value in node.values():
            yield from payload_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from payload_texts(value)


@pytest.fixture
async def codec_command(tmp_path) -> AsyncIterator[tuple[str, str]]:
    """`support-provision codec-server` in a process of its own, with a ring in the
    environment; yields its URL and the ring's text."""
    ring = new_ring()
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        COMMAND,
        "codec-server",
        "--port",
        str(port),
        env={
            **os.environ,
            "SUPPORT_PROVISION_CODEC_TOKEN": TOKEN,
            "SUPPORT_PROVISION_PAYLOAD_KEYS": ring.as_line(),
            "SUPPORT_PROVISION_DATA": str(tmp_path / "data"),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        if process.returncode is not None:
            raise AssertionError("the codec server exited")
        try:
            reply = await asyncio.to_thread(urllib.request.urlopen, f"{url}/health", timeout=2)
            return bool(reply.status == 200)
        except OSError:
            return False

    try:
        await eventually(healthy, timeout=30, interval=0.1)
        yield url, ring.written()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "Codec server stopped." in out.decode()
        logged = err.decode()
        assert "POST decode 200" in logged, logged
        assert TOKEN not in logged and not [w for w in IN_CLEAR if w in logged]


async def test_history_is_ciphertext_without_the_codec_and_reads_as_before_with_it(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    app_sessions: async_sessionmaker[AsyncSession],
    codec_command: tuple[str, str],
):
    url, ring_text = codec_command
    client = sealing_client(temporal_env.client, KeyRing.parse(ring_text))
    case = await sealed_case(client, task_queue, app_sessions, f"SEAL-{uuid.uuid4().hex[:8]}")
    address = temporal_env.client.service_client.config.target_host
    show = ["workflow", "show", "--address", address, "-w", case.workflow_id, "--output", "json"]

    code, without = await temporal(*show)
    assert code == 0, without
    assert '"tenantRef":"TEN-SEALED"' not in without  # the start input is sealed too
    assert [w for w in IN_CLEAR if w in without] == []
    assert ENCRYPTED_BASE64 in without

    code, wrong = await temporal(
        *show, "--codec-endpoint", url, "--codec-auth", f"Bearer {TOKEN}-not"
    )
    assert [w for w in IN_CLEAR if w in wrong] == []

    code, through = await temporal(
        *show, "--codec-endpoint", url, "--codec-auth", f"Bearer {TOKEN}"
    )
    assert code == 0, through
    assert NOTE in through and RESPONSE in through and REASON in through
    assert ENCRYPTED_BASE64 not in through and '"tenantRef":"TEN-SEALED"' in through
    # The path form, as the UI uses it, needs no header.
    code, by_path = await temporal(*show, "--codec-endpoint", f"{url}/{TOKEN}")
    assert code == 0 and NOTE in by_path


async def test_a_request_the_cli_sends_through_the_codec_is_signed_and_taken(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    app_sessions: async_sessionmaker[AsyncSession],
    codec_command: tuple[str, str],
):
    """With `--codec-endpoint` the CLI seals its headers as well as its input: the worker
    opens the identity header with the payload keys, as it does the input."""
    url, ring_text = codec_command
    client = sealing_client(temporal_env.client, KeyRing.parse(ring_text))
    cases = CaseClient(client, Settings(task_queue=task_queue))
    address = temporal_env.client.service_client.config.target_host
    async with build_worker(client, task_queue, app_sessions):
        started = await cases.start_case(visit_type(), tenant_ref="TEN-CODEC")
        code, out = await temporal(
            "workflow",
            "update",
            "execute",
            "--address",
            address,
            "-w",
            started.workflow_id,
            "--codec-endpoint",
            f"{url}/{TOKEN}",
            "--headers",
            f'support-provision-identity="{identities.token(identities.SUITE, started.case_ref)}"',
            "--name",
            "add_task",
            "--input",
            '{"task": "check-in"}',
        )
        assert code == 0, out
        state = await cases.state(started.case_ref)
        assert sum(t.task == "check-in" for t in state.tasks) == 1
        assert state.log[-1].by == identities.SUITE.sub
