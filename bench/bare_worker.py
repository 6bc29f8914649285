"""The worker of the bare workflows, apart from them (see `bare.py`)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from starter.compiled import compile_once
from starter.sandbox import workflow_runner

from .bare import BareCaseWorkflow, BareWorkflow


def bare_worker(client: Client, task_queue: str) -> Worker:
    """A worker for the bare workflows: SDK defaults and the service's sandbox, their
    module compiled once as the case's is (`starter.compiled`), so that neither kind pays
    for compiling its module per workflow where bytecode is not written."""
    compile_once("bench")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareWorkflow, BareCaseWorkflow],
        workflow_runner=workflow_runner(),
    )
