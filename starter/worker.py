"""The worker: hosts case workflows (and, as they arrive, their activities) on a task queue.

Workers scale horizontally: start as many as the load needs on the same task queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from workflows.case_workflow import SupportCaseWorkflow

from .client import CaseClient
from .settings import Settings

WORKFLOWS: Sequence[type] = (SupportCaseWorkflow,)

log = logging.getLogger("support_provision.worker")


def build_worker(client: Client, task_queue: str, activities: Sequence[Any] = ()) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        activities=list(activities),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever), then finish in-flight work and return."""
    cases = await CaseClient.connect(settings)
    worker = build_worker(cases.client, settings.task_queue)
    log.info(
        "worker polling %s on %s/%s",
        settings.task_queue,
        settings.temporal_address,
        settings.namespace,
    )
    async with worker:
        await (stop or asyncio.Event()).wait()
