"""Which version of a provision type a new case runs on: the published one in effect."""

from __future__ import annotations

from datetime import date

from activities.database import definitions_store
from activities.database.engine import create_engine, session_factory
from definitions.schema import ProvisionType

from .client import CaseRefused


async def published_in_effect(
    url: str, type_id: str, on: date | None = None
) -> tuple[int, ProvisionType]:
    """The version number and content of ``type_id`` in effect on ``on`` (default: today,
    in the time zone of the type's calendar), to start a case on.

    Of the published versions whose period covers the day, the highest number: a later
    publish supersedes. Refused (`CaseRefused`, code ``unknown_type``) when the type was
    never published, or when none of its versions is in effect that day.
    """
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            found = await definitions_store.in_effect(session, type_id, on)
            if found is not None:
                return found
            versions = await definitions_store.versions(session, type_id)
            known = sorted(v.type_id for v in await definitions_store.list_latest(session))
    finally:
        await engine.dispose()
    if versions:
        listed = ", ".join(f"v{v.version} {v.period}" for v in versions)
        day = f"on {on}" if on is not None else "today"
        raise CaseRefused(
            f'No published version of "{type_id}" is in effect {day}; its versions are in '
            f"effect: {listed}. Publish a definition for that day with `support-provision "
            "definitions publish`.",
            "unknown_type",
        )
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
