"""Recorded histories must replay on today's workflow code: the guard against
non-deterministic changes that would break cases already running.

They replay as a worker rebuilds a case, through the payload codec: v1 to v6 were
recorded before it, in clear text (a case that started before the codec carries on with
them); v7 on are sealed, with the test-only ring committed beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from protection.codec import ENCODING, SealError, data_converter
from protection.keys import KeyRing, generate_entry
from starter.sandbox import workflow_runner
from starter.worker import WORKFLOWS
from tests.sealing import encoding_of, histories_ring, history_payloads

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))
SEALED = [p for p in HISTORIES if int(p.stem.split("-")[0].removeprefix("v")) >= 7]


def replayer(ring: KeyRing) -> Replayer:
    return Replayer(
        workflows=list(WORKFLOWS),
        data_converter=data_converter(ring),
        workflow_runner=workflow_runner(),
    )


def test_histories_are_recorded():
    assert len(HISTORIES) >= 2, "run `python -m tests.histories.record` to record histories"
    assert SEALED, "record sealed histories: `python -m tests.histories.record v7`"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays(path: Path):
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await replayer(histories_ring()).replay_workflow(history)


@pytest.mark.parametrize("path", SEALED, ids=lambda p: p.stem)
def test_sealed_histories_hold_no_payload_in_clear(path: Path):
    every = history_payloads(json.loads(path.read_text()))
    assert every
    encodings = {encoding_of(p) for p in every}
    assert encodings == {ENCODING}, (path.stem, encodings)


async def test_a_ring_without_the_key_cannot_replay_a_sealed_history(
    caplog: pytest.LogCaptureFixture,
):
    """The workflow task fails as `SealError` (its message sealed too, as every failure's
    is), and the worker's log says which key is missing: the operator's clue."""
    path = SEALED[0]
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    other = KeyRing.parse(generate_entry("someone-else"))
    with pytest.raises(RuntimeError, match='type: "SealError"'):
        await replayer(other).replay_workflow(history)
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], SealError)]
    assert logged, caplog.text
    assert str(logged[0].exc_info[1]) == (  # type: ignore[index]
        'a payload is sealed with the key "histories-1", which is not in this key ring '
        "(someone-else)"
    )
