"""Where the service finds Temporal and its data folder: read from the environment, with
embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from activities.database import settings as database_settings
from protection.keys import KeyRing
from workflows.names import TASK_QUEUE

from . import payload_keys
from .stack_lock import running_stack
from .temporal_tls import TemporalConnection


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    ui_url: str = "http://localhost:8233"
    history_budget: int | None = None
    """Events a run of a new case may reach before it continues as new (the default of
    `casemodel.requests.HISTORY_BUDGET` when unset)."""
    follow_on_retry: int | None = None
    """Seconds a new case waits after a failed attempt to open its follow-on before the
    next (doubling, at most an hour; `casemodel.requests.FOLLOW_ON_RETRY` when unset)."""
    connection: TemporalConnection = field(default_factory=TemporalConnection)
    """TLS, mutual TLS or an API key (`TEMPORAL_TLS_*`, `TEMPORAL_API_KEY`); plain when
    unset."""
    # Resolved by the same function as the embedded database's, so they never disagree.
    data_dir: Path = field(default_factory=database_settings.data_dir)
    payload_keys: KeyRing | None = field(default=None, compare=False)
    """The ring that seals payloads; unset, `key_ring` reads the configured one
    (`starter.payload_keys`) when something first connects to Temporal."""

    @classmethod
    def from_env(cls) -> Settings:
        """The environment's settings; where it names no Temporal, the dev stack running
        on the data folder, on whatever ports it was started with."""
        env = os.environ
        data_dir = database_settings.data_dir()
        stack = running_stack(data_dir) or {}
        address = f"localhost:{stack['port']}" if "port" in stack else cls.temporal_address
        ui_url = f"http://localhost:{stack['ui_port']}" if "ui_port" in stack else cls.ui_url
        return cls(
            temporal_address=env.get("TEMPORAL_ADDRESS") or address,
            namespace=env.get("TEMPORAL_NAMESPACE", cls.namespace),
            task_queue=env.get("SUPPORT_PROVISION_TASK_QUEUE", cls.task_queue),
            ui_url=(env.get("TEMPORAL_UI_URL") or ui_url).rstrip("/"),
            data_dir=data_dir,
            history_budget=_number(env.get("SUPPORT_PROVISION_HISTORY_BUDGET")),
            follow_on_retry=_number(env.get("SUPPORT_PROVISION_FOLLOW_ON_RETRY")),
            connection=TemporalConnection.from_env(env),
        )

    def key_ring(self) -> KeyRing:
        """The payload keys: these settings' own, else the configured ones (raises
        `payload_keys.PayloadKeysUnavailable` in one line when there are none)."""
        if self.payload_keys is not None:
            return self.payload_keys
        return payload_keys.load_ring(folder=self.data_dir)

    def case_url(self, workflow_id: str) -> str:
        """The case in the Temporal UI. The namespace and the workflow id are each one part
        of the path, so each is encoded whole: a case reference may hold a `/`
        (`TSA/2026/1`), which the UI would otherwise read as the end of the workflow id."""
        namespace, workflow = quote(self.namespace, safe=""), quote(workflow_id, safe="")
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow}"


def _number(text: str | None) -> int | None:
    """A whole number from the environment; None when unset (a typo is refused at start)."""
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return -1  # refused, with the limits, when a case starts
