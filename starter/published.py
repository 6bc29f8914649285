"""Which version of a provision type a new case runs on: the latest published one."""

from __future__ import annotations

from activities.database import definitions_store
from activities.database.engine import create_engine, session_factory
from definitions.schema import ProvisionType

from .client import CaseRefused


async def latest_published(url: str, type_id: str) -> tuple[int, ProvisionType]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await definitions_store.latest(session, type_id)
            if found is not None:
                return found
            known = sorted(v.type_id for v in await definitions_store.list_latest(session))
    finally:
        await engine.dispose()
    if known:
        raise CaseRefused(
            f'There is no published provision type "{type_id}"; published types are: '
            f"{', '.join(known)}. Publish definitions with `support-provision definitions "
            "publish`.",
            "unknown_type",
        )
    raise CaseRefused(
        "No provision types have been published yet; run `support-provision definitions "
        "publish` (the dev stack does this when it starts).",
        "unknown_type",
    )
