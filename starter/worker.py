"""The worker: hosts case workflows and their activities on a task queue.

Workers scale horizontally: start as many as the load needs on the same task queue and
the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, Worker

from activities.attempts import HEARTBEAT_EVERY
from activities.database import migrate
from activities.database.engine import create_engine, session_factory
from activities.database.settings import (
    DatabaseMissing,
    UnsupportedDatabase,
    existing_database_url,
)
from activities.follow_on import FollowOnActivities
from activities.mailer import Mailer, mailer_from_env
from activities.notifications import NotificationActivities
from activities.register import RegisterActivities
from activities.templates import TemplateStore, check_templates, templates_dir
from definitions.loader import default_definitions_dir
from protection.codec import PayloadSealer, data_converter
from protection.keys import KeyRing
from workflows.case_workflow import SupportCaseWorkflow
from workflows.identities import IdentityInterceptor
from workflows.names import notice_queue

from . import payload_passes
from .cache_budget import MemoryBudgetInvalid, cache_budget
from .cli_db import explain
from .client import CaseClient, CaseRefused, with_key_ring
from .ended_outside import EndedOutside
from .identities import WORKER_SERVICE, IdentityUnavailable, Signer, identity_ring
from .payload_keys import describe_ring
from .sandbox import workflow_runner
from .settings import Settings

WORKFLOWS: Sequence[type] = (SupportCaseWorkflow,)


def build_replayer(payload_keys: KeyRing | None, identity_keys: KeyRing | None) -> Replayer:
    """A replayer that rebuilds cases as a worker runs them: the same sandbox, payloads
    opened with `payload_keys`, identities verified with `identity_keys`."""
    payload_passes.install()
    converter = data_converter(payload_keys)
    return Replayer(
        workflows=list(WORKFLOWS),
        data_converter=converter,
        workflow_runner=workflow_runner(),
        interceptors=[IdentityInterceptor(identity_keys, _header_opener(converter))],
    )


def _header_opener(converter: DataConverter) -> Callable[[Payload], Payload] | None:
    """What opens an identity header sealed as `converter` seals payloads (none when it
    seals nothing)."""
    codec = converter.payload_codec
    return codec.open if isinstance(codec, PayloadSealer) else None


STICKY_TIMEOUT = timedelta(seconds=3)

log = logging.getLogger("support_provision.worker")


def case_activities(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailer: Mailer | None = None,
    *,
    client: Client,
    ring: KeyRing,
) -> list[Any]:
    """The activities of cases; follow-on cases are started through `client`, signed as
    the worker's own service identity."""
    register = RegisterActivities(sessions)
    worker_client = CaseClient(client, settings, identity=Signer(ring, WORKER_SERVICE))
    follow_ons = FollowOnActivities(sessions, worker_client)
    notifications = NotificationActivities(
        sessions,
        TemplateStore(templates_dir(default_definitions_dir()), snapshot=True),
        mailer,
        settings.ui_url,
        settings.namespace,
    )
    return [
        register.record_case_changes,
        register.load_published_definition,
        notifications.notify_escalation,
        follow_ons.open_follow_on,
    ]


class CaseWorker:
    """The worker of cases on `task_queue` and, beside it, the worker of their notices on
    `notice_queue(task_queue)` with activity slots of its own: run, entered and shut
    down together, as one `Worker` is. While it runs, it looks for cases whose workflow
    Temporal ended outside the service (`starter.ended_outside`)."""

    def __init__(self, cases: Worker, notices: Worker, ended_outside: EndedOutside) -> None:
        self.cases = cases
        self.notices = notices
        self.ended_outside = ended_outside
        self._watching: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self._watch()
        try:
            await asyncio.gather(self.cases.run(), self.notices.run())
        finally:
            await self._unwatch()

    async def shutdown(self) -> None:
        try:
            await asyncio.gather(self.cases.shutdown(), self.notices.shutdown())
        finally:
            await self._unwatch()

    def config(self) -> Any:
        """The cases' worker's configuration (its cache size, its slots)."""
        return self.cases.config()

    async def __aenter__(self) -> CaseWorker:
        await self.notices.__aenter__()
        await self.cases.__aenter__()
        self._watch()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._unwatch()
            await self.cases.__aexit__(*exc)
        finally:
            await self.notices.__aexit__(*exc)

    def _watch(self) -> None:
        if self._watching is None:
            self._watching = asyncio.create_task(
                self.ended_outside.watch(), name="cases ended outside"
            )

    async def _unwatch(self) -> None:
        watching, self._watching = self._watching, None
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching


def build_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    settings: Settings | None = None,
    mailer: Mailer | None = None,
    ring: KeyRing | None = None,
    grace: timedelta = timedelta(0),
) -> CaseWorker:
    """A worker for cases; mail goes out only through `mailer` (the outbox always).

    `ring` verifies the identity of every request (default: the configured identity key
    ring, `starter.identities.identity_ring`). `grace`: how long a shutdown lets running
    activities finish before cancelling them (`run_worker`'s is `SHUTDOWN_GRACE`)."""
    settings = settings or Settings()
    ring = ring or identity_ring(settings.data_dir)
    payload_passes.install()  # one walk over each activation's payloads, not three
    budget = cache_budget()  # cases cached: from the memory the worker may use
    log.info("worker on %s %s", task_queue, budget.describe())
    activities = case_activities(sessions, settings, mailer, client=client, ring=ring)
    cases = Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        # Notices too: those scheduled on the case's queue before notices had their own.
        activities=activities,
        interceptors=[IdentityInterceptor(ring, _header_opener(client.data_converter))],
        workflow_runner=workflow_runner(),
        # A case's next workflow task first goes to the worker that has it cached; if that
        # worker died, the task moves to another after this long (SDK default 10 s). A
        # case rebuilds in well under a second, so waiting long for its cache buys nothing.
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
        max_cached_workflows=budget.cached_cases,
        graceful_shutdown_timeout=grace,
    )
    notify = [a for a in activities if getattr(a, "__name__", "") == "notify_escalation"]
    notices = Worker(
        client,
        task_queue=notice_queue(task_queue),
        activities=notify,
        # The SDK holds heartbeats back for 80 % of the heartbeat timeout (8 s of the
        # notices' 10 s) unless told otherwise: a worker starved for 2 s more then timed
        # out an attempt that was alive, and its retry mailed beside it. Sent as often as
        # the attempt beats, every 2 s, a heartbeat leaves the server 8 s to spare.
        max_heartbeat_throttle_interval=timedelta(seconds=HEARTBEAT_EVERY),
        graceful_shutdown_timeout=grace,
    )
    told_by = notify[0].__self__  # the notices' activities: they tell owners of cases ended outside
    return CaseWorker(cases, notices, EndedOutside(client, sessions, told_by))


async def require_current_schema(url: str) -> None:
    """Refuse to start on a database the migrations have not reached: the register would
    otherwise fall behind silently while its activities retry."""
    current = await migrate.current_revision(url)
    head = migrate.head_revision()
    if current != head:
        raise CaseRefused(
            f"The database at {migrate.display_url(url)} is at revision {current or '(empty)'}, "
            f"not {head}; run `support-provision db upgrade` first.",
            "database_not_ready",
        )


SHUTDOWN_GRACE = timedelta(seconds=25)
"""How long a production worker stopped with SIGTERM lets a running register write or mail
send finish before cancelling it: within the 30 s a container is given to stop
(`docker-compose.yml` `stop_grace_period`), so that it exits before being killed."""


def _say_template_problems() -> None:
    """Log each problem of the templates the worker read as it started: it renders those
    until it restarts, and a template that cannot render tells nobody when it fires."""
    directory = templates_dir(default_definitions_dir())
    problems = check_templates(directory)
    for problem in problems:
        log.error("template problem, its notices will fail: %s", problem)
    log.info("templates read from %s: %d problems", directory, len(problems))


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever), then finish in-flight work and return."""
    try:
        cache_budget()  # a budget that cannot be read is refused before anything starts
    except MemoryBudgetInvalid as problem:
        raise CaseRefused(str(problem), "worker_memory_invalid") from None
    settings = with_key_ring(settings)
    try:
        url = existing_database_url()
    except (DatabaseMissing, UnsupportedDatabase) as problem:
        raise CaseRefused(str(problem), "database_not_ready") from None
    try:
        await require_current_schema(url)
    except (SQLAlchemyError, OSError) as error:
        raise CaseRefused(
            f"Could not read the database at {migrate.display_url(url)}: {explain(error)}",
            "database_unavailable",
        ) from None
    try:
        ring = identity_ring(settings.data_dir)
    except IdentityUnavailable as missing:
        raise CaseRefused(missing.message, missing.code) from None
    cases = await CaseClient.connect(settings)
    engine = create_engine(url)
    try:
        worker = build_worker(
            cases.client,
            settings.task_queue,
            session_factory(engine),
            settings=settings,
            mailer=mailer_from_env(),
            ring=ring,
            grace=SHUTDOWN_GRACE,
        )
        log.info(
            "worker polling %s (and %s) on %s/%s (%s), database %s, payloads sealed with %s",
            settings.task_queue,
            notice_queue(settings.task_queue),
            settings.temporal_address,
            settings.namespace,
            settings.connection.describe(),
            migrate.display_url(url),
            describe_ring(settings.key_ring()),
        )
        _say_template_problems()
        async with worker:
            await (stop or asyncio.Event()).wait()
    finally:
        await engine.dispose()
