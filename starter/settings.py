"""Where the service finds Temporal: read from the environment, with embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from activities.database.settings import DATA_ENV_VAR
from workflows.names import TASK_QUEUE


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    ui_url: str = "http://localhost:8233"
    data_dir: Path = Path("data")

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            temporal_address=env.get("TEMPORAL_ADDRESS", cls.temporal_address),
            namespace=env.get("TEMPORAL_NAMESPACE", cls.namespace),
            task_queue=env.get("SUPPORT_PROVISION_TASK_QUEUE", cls.task_queue),
            ui_url=env.get("TEMPORAL_UI_URL", cls.ui_url).rstrip("/"),
            # The same folder, read the same way, as the embedded database's.
            data_dir=Path(env.get(DATA_ENV_VAR) or cls.data_dir),
        )

    def case_url(self, workflow_id: str) -> str:
        return f"{self.ui_url}/namespaces/{self.namespace}/workflows/{workflow_id}"
