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

from protection.codec import ENCODING
from protection.keys import KeyRing, generate_entry
from starter.worker import build_replayer
from tests.sealing import encoding_of, histories_identity_ring, histories_ring, history_payloads

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))
SEALED = [p for p in HISTORIES if int(p.stem.split("-")[0].removeprefix("v")) >= 7]


def replayer(ring: KeyRing) -> Replayer:
    return build_replayer(ring, histories_identity_ring())


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
    """The payloads it cannot open are handed on unopened, so the replay fails (the start
    input and the activity results cannot be read), and the worker's log says which key
    is missing: the operator's clue."""
    path = SEALED[0]
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    other = KeyRing.parse(generate_entry("someone-else"))
    with pytest.raises(Exception):  # noqa: B017 - unreadable input: a nondeterminism error
        await replayer(other).replay_workflow(history)
    expected = (
        'left unopened: a payload is sealed with the key "histories-1", which is not in this '
        "key ring (someone-else)"
    )
    assert any(r.getMessage() == expected for r in caplog.records), caplog.text
