"""Activities that keep the database up to date with the case workflows.

Register an instance's bound methods on the worker:
``Worker(..., activities=[register.record_case_changes, register.load_published_definition])``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.attempts import failing_briefly
from activities.contracts import (
    CASE_REF_TAKEN,
    LOAD_PUBLISHED_DEFINITION,
    OWNER_REFUSED,
    RECORD_CASE_CHANGES,
    DefinitionRequest,
    PublishedType,
    RegisterUpdate,
)
from activities.database import definitions_store
from activities.database.register import CaseRefTaken, OwnerRefused, apply_updates
from activities.register_batches import GroupCommit


class RegisterActivities:
    """The case register and published definitions, through one session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        bind = getattr(sessions, "kw", {}).get("bind")  # what stands in for one may have none
        # SQLite takes one writer at a time; the others would wait in its busy handler,
        # which sleeps up to 100 ms between tries. So a worker's own writes wait here
        # instead, and those waiting share the next transaction (`GroupCommit`).
        self._sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
            weakref.WeakKeyDictionary()
        )

    async def _write(self, updates: Sequence[RegisterUpdate]) -> None:
        async with self._sessions.begin() as session:
            await apply_updates(session, updates)

    @activity.defn(name=RECORD_CASE_CHANGES)
    async def record_case_changes(self, update: RegisterUpdate) -> None:
        """Write a case's changes to the register in one transaction; safe to retry.

        A write from a workflow that is not the case the register holds under that
        reference (`CaseRefTaken`) fails for good, with the type `CASE_REF_TAKEN`: trying
        again would not change whose reference it is, and the workflow fails on it. So
        does a case's first write whose owner may not own a case (`OwnerRefused`,
        `OWNER_REFUSED`)."""
        with failing_briefly(f"register {update.case_ref}"):
            try:
                await self._record(update)
            except (CaseRefTaken, OwnerRefused) as refused:
                activity.logger.warning("refused %s: %s", update.case_ref, refused)
                code = CASE_REF_TAKEN if isinstance(refused, CaseRefTaken) else OWNER_REFUSED
                # Benign: a refusal, logged above in a line, not a fault worth a traceback.
                raise ApplicationError(
                    str(refused),
                    type=code,
                    non_retryable=True,
                    category=ApplicationErrorCategory.BENIGN,
                ) from None

    async def _record(self, update: RegisterUpdate) -> None:
        if not self._sqlite:  # many writers at once: each its own transaction
            await self._write([update])
            return
        loop = asyncio.get_running_loop()  # a batch belongs to one event loop
        batches = self._batches.get(loop) or self._batches.setdefault(
            loop, GroupCommit(self._write)
        )
        await batches.record(update)

    @activity.defn(name=LOAD_PUBLISHED_DEFINITION)
    async def load_published_definition(self, request: DefinitionRequest) -> PublishedType | None:
        """A published version of a type: the one named, else the one in effect on the day
        asked (today by default); ``None`` if there is none."""
        with failing_briefly(f"load {request.type_id}"):
            return await self._published(request)

    async def _published(self, request: DefinitionRequest) -> PublishedType | None:
        async with self._sessions() as session:
            if request.version is None:
                found = await definitions_store.in_effect(session, request.type_id, request.on)
            else:
                definition = await definitions_store.version(
                    session, request.type_id, request.version
                )
                found = (request.version, definition) if definition else None
        if found is None:
            return None
        number, definition = found
        return PublishedType(type_id=request.type_id, version=number, definition=definition)
