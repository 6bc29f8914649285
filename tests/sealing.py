"""The payload keys of the test session: one ring, made fresh for the run.

Every client and worker of the session seals with it, and `tests/conftest.py` exports it
as `SUPPORT_PROVISION_PAYLOAD_KEYS`, so the `support-provision` commands that e2e tests
run in subprocesses seal and open the same way. Made at random each run, it is a test
key and nothing else.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from protection.codec import KEY_ID, PayloadSealer, data_converter
from protection.keys import KeyRing, generate_entry

SESSION_KEY_ID = "test-session"
SESSION_ENTRY = generate_entry(SESSION_KEY_ID)
SESSION_RING = KeyRing.parse(SESSION_ENTRY, source="the test session's ring")


def session_converter() -> DataConverter:
    """The data converter every client of the session uses: pydantic, sealed."""
    return data_converter(SESSION_RING)


HISTORIES_KEY_FILE = Path(__file__).parent / "histories" / "test-payload-keys"


def histories_ring() -> KeyRing:
    """The test-only ring the recorded histories v7 on are sealed with
    (`tests/histories/record.py`). Read as text: a file checked out of git is readable by
    others, which `KeyRing.read` rightly refuses for real keys."""
    return KeyRing.parse(
        HISTORIES_KEY_FILE.read_text(encoding="utf-8"), source=str(HISTORIES_KEY_FILE)
    )


HISTORIES_IDENTITY_FILE = Path(__file__).parent / "histories" / "test-identity-keys"


def histories_identity_ring() -> KeyRing:
    """The test-only identity ring the recorded histories v8 on are signed with: their
    requests' identities verify with it on replay, as a worker's ring verifies them."""
    return KeyRing.parse(
        HISTORIES_IDENTITY_FILE.read_text(encoding="utf-8"), source=str(HISTORIES_IDENTITY_FILE)
    )


def opened(payload: Payload) -> Payload:
    """A payload of a history as a worker of the session reads it: opened with the
    session's ring (one never sealed, such as an empty summary, as it is)."""
    return PayloadSealer(SESSION_RING).open(payload)


CLEAR_BY_DESIGN = ("searchAttributes", "patch-data", "header")
"""Payloads never sealed: search attributes (references, codes and counts: README,
*Protecting tenant data*), the patch markers the SDK's core writes itself (a patch's
name), and headers, which carry the caller's signed identity token (who made a request
and their directory roles, never tenant data: README, *Who may do what*)."""


LOCAL_ACTIVITY_MARKER = "core_local_activity"


def history_payloads(node: object) -> list[dict[str, Any]]:
    """Every payload of a history in its JSON form (`temporal workflow show --output json`
    or `WorkflowHistory.to_json`): each object with `metadata.encoding` and `data`, but for
    those clear by design."""
    if isinstance(node, dict):
        if "encoding" in node.get("metadata", {}):
            return [node]
        if node.get("markerName") == LOCAL_ACTIVITY_MARKER:
            # The SDK core's own record of a local activity (its id, type, attempt and
            # times) is clear; the activity's result beside it is sealed.
            details = {k: v for k, v in node.get("details", {}).items() if k != "data"}
            node = {**node, "details": details}
        return [p for k, v in node.items() if k not in CLEAR_BY_DESIGN for p in history_payloads(v)]
    if isinstance(node, list):
        return [p for v in node for p in history_payloads(v)]
    return []


def encoding_of(payload: dict[str, Any]) -> bytes:
    return base64.b64decode(payload["metadata"]["encoding"])


def key_id_of(payload: dict[str, Any]) -> str:
    return base64.b64decode(payload["metadata"].get(KEY_ID, "")).decode()
