"""What people write into a case cannot be read from its history without a key.

A case takes a note, an answer, reasons and a refused request through the command line
and the Python client; its history is then read as anyone with access to Temporal reads
it, with the plain `temporal` CLI and no codec. None of what was written appears, neither
in the JSON nor in any payload's data decoded from base64: every payload is sealed but
the search attributes (references and codes, by design) and the SDK's patch markers; the
summary, details and current details the UI shows are sealed too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import uuid

from temporalio.testing import WorkflowEnvironment

from activities.database.engine import create_engine, session_factory
from casemodel.requests import CompleteTask
from protection.codec import ENCODING
from starter.binaries import temporal_cli
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.e2e.cli import cli
from tests.factories import visit_type
from tests.sealing import SESSION_KEY_ID, encoding_of, history_payloads, key_id_of

NOTE = "takes sertraline, mobile 07700 900123"
ANSWER = "£912.40 arrears"
REASON = "moved in with her sister at 14 Acacia Road"
CLOSING = "in hospital with pneumonia until March"
WRONG_OUTCOME = "sertraline-07700900123"  # a refusal quotes it back
WRITTEN = (NOTE, ANSWER, REASON, CLOSING, WRONG_OUTCOME)
FRAGMENTS = ("sertraline", "07700", "900123", "912.40", "Acacia", "pneumonia")


def readable(fragment: str, text: str) -> bool:
    """Whether `fragment` is in `text`; a run of digits only where no digit adjoins it, since
    a history is full of numbers (timestamps' nanoseconds, task ids) that hold any five
    digits now and then."""
    if not fragment.replace(".", "").isdigit():
        return fragment in text
    return re.search(rf"(?<!\d){re.escape(fragment)}(?!\d)", text) is not None


async def temporal(*args: str, check: bool = True) -> bytes:
    """What the plain `temporal` CLI prints, as bytes (a sealed payload is not text); with
    `check=False`, whatever it printed on either stream, however it exited."""
    process = await asyncio.create_subprocess_exec(
        temporal_cli(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    if not check:
        return out + err
    assert process.returncode == 0, err.decode(errors="replace")
    return out


def readable_texts(raw: str, history: object) -> list[str]:
    """The history as text, and every payload's data decoded, as bytes read as text."""
    texts = [raw]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data" and isinstance(value, str):
                    with contextlib.suppress(ValueError):
                        texts.append(base64.b64decode(value).decode("utf-8", "replace"))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(history)
    return texts


async def test_a_case_history_read_without_the_codec_shows_nothing_written(
    temporal_env: WorkflowEnvironment, task_queue: str, ready_database: str
):
    address = temporal_env.client.service_client.config.target_host
    env = {
        "DATABASE_URL": ready_database,  # the shipped directory synced: people sign in
        "TEMPORAL_ADDRESS": address,
        "SUPPORT_PROVISION_TASK_QUEUE": task_queue,
        "SUPPORT_PROVISION_USER": "marcus-reid",  # a person of the directory: the owner
    }
    case_ref = f"SEAL-{uuid.uuid4().hex[:8]}"
    target = ["--address", address, "--workflow-id", f"case-{case_ref}"]
    cases = CaseClient(temporal_env.client, Settings(task_queue=task_queue))
    engine = create_engine(ready_database)
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        await cases.start_case(
            visit_type(), tenant_ref="TEN-SEAL", case_ref=case_ref, owner="marcus-reid"
        )
        for args in (
            ("complete", case_ref, "contact", "--note", NOTE),
            ("cancel-task", case_ref, "leaflet", "--reason", REASON),
        ):
            done = await cli("case", *args, env=env)
            assert done.code == 0, done.stderr
        refused = await cli(
            "case", "complete", case_ref, "home-visit", "--outcome", WRONG_OUTCOME, env=env
        )
        assert refused.code == 1 and WRONG_OUTCOME in refused.stderr  # the CLI can read it
        await cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited"))
        await cases.send(
            case_ref,
            CompleteTask(task="risk-assessment", responses={"Risk level": "high", "Notes": ANSWER}),
        )
        # The current details (the task table the UI shows) are a query's answer: sealed,
        # so the plain CLI cannot read them.
        details = await temporal("workflow", "metadata", *target, check=False)
        assert b"Initial contact" not in details and b"Visit assessment" not in details
        closed = await cli(
            "case",
            "close",
            case_ref,
            "--outcome",
            "no-further-support",
            "--reason",
            CLOSING,
            env=env,
        )
        assert closed.code == 0, closed.stderr
        await cases.result(case_ref)
        state = await cases.state(case_ref)
        assert NOTE in state.model_dump_json()  # all of it is there, for those with the key
    await engine.dispose()

    history = json.loads(await temporal("workflow", "show", *target, "--output", "json"))
    raw = json.dumps(history, ensure_ascii=False)
    for text in readable_texts(raw, history):
        for written in (*WRITTEN, *FRAGMENTS):
            assert not readable(written, text), f"{written!r} readable in the history"
    every = history_payloads(history)
    assert len(every) > 10
    assert {encoding_of(p) for p in every} == {ENCODING}
    assert {key_id_of(p) for p in every} == {SESSION_KEY_ID}

    # The summary and details the UI shows for the case (user metadata): sealed too.
    described = json.loads(await temporal("workflow", "describe", *target, "--output", "json"))
    metadata = described["executionConfig"]["userMetadata"]
    assert {encoding_of(metadata[part]) for part in ("summary", "details")} == {ENCODING}
    assert "Visit assessment" not in json.dumps(described)
