"""A case whose payloads are sealed, with words recognisable wherever they show in clear.

The worker and the client are built on `protection.codec.data_converter(ring)`, so every
payload Temporal stores for the case is ciphertext; the tests read its history through
the codec server (or without it) and look for these words.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from casemodel.requests import BypassTask, CompleteTask
from protection.codec import data_converter
from protection.keys import KeyRing, generate_entry
from starter.client import CaseClient
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import visit_type

NOTE = "Tenant mentioned a leaking boiler in the back bedroom"
RESPONSE = "Prefers letters in large print"
REASON = "Tenant asked for no leaflets by post"
IN_CLEAR = (NOTE, RESPONSE, REASON)
ENCRYPTED = "binary/encrypted"
ENCRYPTED_BASE64 = "YmluYXJ5L2VuY3J5cHRlZA=="
"""How `binary/encrypted` reads in a payload's metadata, which is base64 in JSON."""


def new_ring() -> KeyRing:
    return KeyRing.parse(generate_entry("test-1"))


def sealing(client: Client, ring: KeyRing) -> Client:
    """A client on the same connection, signing as it does, whose payloads are sealed
    with `ring`."""
    return Client(**{**client.config(), "data_converter": data_converter(ring)})


@dataclass(frozen=True)
class SealedCase:
    workflow_id: str
    run_id: str
    update_event: int
    """The event that records the completion with the note: what the UI's page shows."""


async def sealed_case(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    case_ref: str,
) -> SealedCase:
    """Open a case and record a note, a text answer and a reason, through a worker and a
    client that seal; the worker stops once they are taken."""
    cases = CaseClient(client, Settings(task_queue=task_queue))
    async with build_worker(client, task_queue, sessions):
        started = await cases.start_case(visit_type(), tenant_ref="TEN-SEALED", case_ref=case_ref)
        await cases.send(case_ref, CompleteTask(task="contact", note=NOTE))
        await cases.send(case_ref, CompleteTask(task="home-visit", outcome="visited"))
        await cases.send(
            case_ref,
            CompleteTask(
                task="risk-assessment", responses={"Risk level": "low", "Notes": RESPONSE}
            ),
        )
        await cases.send(case_ref, BypassTask(task="leaflet", reason=REASON))
        handle = client.get_workflow_handle(started.workflow_id)
        history = await handle.fetch_history()
    update = next(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )
    return SealedCase(started.workflow_id, history.run_id, update)
