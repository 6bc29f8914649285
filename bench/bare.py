"""The baseline of the long-lived benchmark: a Temporal workflow that takes updates and
does nothing with them.

It takes the busy case's requests (its updates as updates, its signals as signals), one
at a time, in one run (it never continues as new), so its history grows with every one.
Measured beside the case in the same run, on a worker with the same SDK defaults and
sandbox, it shows what Temporal alone costs: the case's latency over this one's is what
the case model and its activities cost, and the bare workflow's evicted latency, replaying
its one long history, is what continue-as-new saves the case.

The module imports nothing but `temporalio.workflow`: the sandbox imports it afresh for
each workflow, and what it imports is part of what each bare workflow costs (the case's
module imports only the workflow API and what passes through). Its worker is built in
`bare_worker.py`.
"""

from __future__ import annotations

from temporalio import workflow

TAKE = "take"
NOTE = "note"
CLOSE = "close"
UPDATE_LIMIT = 2000
"""Updates Temporal lets one run take (the server's `history.maxTotalUpdates`,
2,000 by default): it refuses the next. The bare workflow must stay under it; a case
continued as new at its event budget takes about 200 a run."""


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    def __init__(self) -> None:
        self._taken = 0
        self._noted = ""
        self._closing = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._closing)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._taken

    @workflow.update(name=TAKE)
    def take(self, note: str) -> int:
        self._taken += 1
        return self._taken

    @workflow.signal(name=NOTE)
    def note(self, note: str) -> None:
        self._noted = note

    @workflow.signal(name=CLOSE)
    def close(self) -> None:
        self._closing = True


@workflow.defn(name="BenchBareCaseWorkflow")
class BareCaseWorkflow:
    """The rate benchmark's baseline: a workflow of `tasks` tasks that ends when each has
    been taken by an update, as a case ends when its tasks are completed."""

    def __init__(self) -> None:
        self._taken: list[str] = []

    @workflow.run
    async def run(self, tasks: int) -> int:
        await workflow.wait_condition(lambda: len(self._taken) >= tasks)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return len(self._taken)

    @workflow.update(name=TAKE)
    def take(self, task: str) -> int:
        self._taken.append(task)
        return len(self._taken)
