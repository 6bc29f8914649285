"""Published definitions: immutable, numbered versions of each provision type.

Publishing stores a new version only when a definition's content changed, recognised by
the hash of its canonical JSON. A case records the version it runs on, so every version
stays readable for as long as the database lives. Going back to earlier content publishes
it again as a new version: versions only ever count up.

Each version has the period of its definition (`effective_from`, `effective_to`, both days
included), stored beside its content so that the version in effect on a day is one query:
of the versions whose period covers the day, the highest number, so a later publish
supersedes an earlier one for the days both cover.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby

import yaml
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from definitions.periods import DEFAULT_TIME_ZONE, Period, local_date
from definitions.schema import ProvisionType

from .models import PublishedDefinition, WithdrawnType


class PublishConflict(Exception):
    """Someone else published a version of the same type at the same moment."""


@dataclass(frozen=True)
class PublishResult:
    """What publishing did with one definition: stored it as ``version`` (``changed``), or
    found it already in effect as ``version`` over its period."""

    type_id: str
    version: int
    changed: bool
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True)
class VersionInfo:
    """A published version, without its content: its period, and the time zone its
    calendar counts days in (so that "today" is the type's own)."""

    type_id: str
    version: int
    content_hash: str
    published_at: datetime
    published_by: str
    effective_from: date | None = None
    effective_to: date | None = None
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def period(self) -> Period:
        return Period(self.effective_from, self.effective_to)


def content_hash(provision_type: ProvisionType) -> str:
    """sha256 of the type's canonical JSON: equal content, equal hash, whatever the YAML.

    Defaults are left out, so that adding an optional field to the schema does not make
    every type look changed.
    """
    return hashlib.sha256(_canonical(provision_type).encode("utf-8")).hexdigest()


async def publish(
    session: AsyncSession, types: Iterable[ProvisionType], by: str, now: datetime
) -> list[PublishResult]:
    """Store each definition whose content is not already what is in effect over its period.

    ``types`` may hold several definitions of one type id, for periods that do not overlap
    (the catalog's versions). Each is compared with the latest published version whose
    period overlaps its own: the same content (period included) is unchanged; anything
    else is stored as the next version number of its type, and then is in effect over its
    whole period. Results are by type id, then by when each definition takes effect.

    Two people publishing at once may both pick the same next version; the primary key
    on ``(type_id, version)`` refuses the second with `PublishConflict`, and its
    transaction must be rolled back whole.
    """
    results = []
    ordered = sorted(types, key=lambda t: (t.id, t.effective_from or date.min))
    for type_id, definitions in groupby(ordered, key=lambda t: t.id):
        published = (
            await session.execute(
                select(
                    PublishedDefinition.version,
                    PublishedDefinition.content_hash,
                    PublishedDefinition.effective_from,
                    PublishedDefinition.effective_to,
                ).where(PublishedDefinition.type_id == type_id)
            )
        ).all()
        number = max((row.version for row in published), default=0)
        for definition in definitions:
            digest, period = content_hash(definition), Period.of(definition)
            overlapping = [
                row
                for row in published
                if period.overlaps(Period(row.effective_from, row.effective_to))
            ]
            current = max(overlapping, key=lambda row: row.version, default=None)
            if current is not None and current.content_hash == digest:
                results.append(_result(definition, current.version, changed=False))
                continue
            number += 1
            session.add(
                PublishedDefinition(
                    type_id=type_id,
                    version=number,
                    content_hash=digest,
                    content=definition.model_dump(mode="json"),
                    published_at=now,
                    published_by=by,
                    effective_from=period.start,
                    effective_to=period.end,
                )
            )
            results.append(_result(definition, number, changed=True))
    try:
        await session.flush()
    except IntegrityError as error:
        raise PublishConflict(
            "someone else published at the same moment; run publish again"
        ) from error
    return results


async def latest(session: AsyncSession, type_id: str) -> tuple[int, ProvisionType] | None:
    """The highest version number and its content; ``None`` if never published. Not
    necessarily the version in effect: see `in_effect`."""
    row = await _latest_row(session, type_id)
    return (row.version, _type(row)) if row else None


async def in_effect(
    session: AsyncSession, type_id: str, on: date | None = None
) -> tuple[int, ProvisionType] | None:
    """The version of a type in effect on ``on``: of those whose period covers the day,
    the highest number. ``on`` defaults to today in the time zone of the type's calendar
    (as its latest version has it). ``None`` when no version is in effect that day."""
    if on is None:
        newest = await _latest_row(session, type_id)
        if newest is None:
            return None
        on = local_date(newest.content, datetime.now(UTC))
    withdrawn = await session.get(WithdrawnType, type_id)
    if withdrawn is not None and on >= withdrawn.from_day:
        return None
    query = (
        select(PublishedDefinition)
        .where(PublishedDefinition.type_id == type_id, _covers(on))
        .order_by(PublishedDefinition.version.desc())
        .limit(1)
    )
    row = (await session.scalars(query)).first()
    return (row.version, _type(row)) if row else None


async def withdraw(
    session: AsyncSession, type_id: str, from_day: date, by: str, now: datetime
) -> None:
    """Take `type_id` out of use from `from_day` on (`WithdrawnType`): no version of it is
    in effect then, so no case opens on it; cases that opened before run on. `LookupError`
    if it was never published. Withdrawing again moves the day."""
    if await _latest_row(session, type_id) is None:
        raise LookupError(f'"{type_id}" has never been published')
    found = await session.get(WithdrawnType, type_id)
    if found is None:
        session.add(
            WithdrawnType(type_id=type_id, from_day=from_day, withdrawn_at=now, withdrawn_by=by)
        )
    else:
        found.from_day, found.withdrawn_at, found.withdrawn_by = from_day, now, by


async def withdrawals(session: AsyncSession) -> dict[str, date]:
    """The day each withdrawn type is out of use from, by type id."""
    rows = await session.execute(select(WithdrawnType.type_id, WithdrawnType.from_day))
    return {type_id: day for type_id, day in rows.all()}


async def version(session: AsyncSession, type_id: str, number: int) -> ProvisionType | None:
    row = await session.get(PublishedDefinition, (type_id, number))
    return _type(row) if row else None


async def versions(session: AsyncSession, type_id: str | None = None) -> list[VersionInfo]:
    """Every version of a type (of every type when ``type_id`` is None), by type id, then
    oldest first."""
    query = select(*_INFO_COLUMNS).order_by(
        PublishedDefinition.type_id, PublishedDefinition.version
    )
    if type_id is not None:
        query = query.where(PublishedDefinition.type_id == type_id)
    return [VersionInfo(*row) for row in (await session.execute(query)).all()]


async def list_latest(session: AsyncSession) -> list[VersionInfo]:
    """The highest version of every published type, by type id."""
    newest = (
        select(PublishedDefinition.type_id, func.max(PublishedDefinition.version).label("v"))
        .group_by(PublishedDefinition.type_id)
        .subquery()
    )
    query = (
        select(*_INFO_COLUMNS)
        .join(
            newest,
            (PublishedDefinition.type_id == newest.c.type_id)
            & (PublishedDefinition.version == newest.c.v),
        )
        .order_by(PublishedDefinition.type_id)
    )
    return [VersionInfo(*row) for row in (await session.execute(query)).all()]


def diff(
    a: ProvisionType, b: ProvisionType, *, a_label: str = "a", b_label: str = "b"
) -> list[str]:
    """Unified diff lines between the YAML of two versions; empty when they are equal."""
    return list(
        difflib.unified_diff(
            _yaml(a).splitlines(), _yaml(b).splitlines(), a_label, b_label, lineterm=""
        )
    )


_INFO_COLUMNS = (
    PublishedDefinition.type_id,
    PublishedDefinition.version,
    PublishedDefinition.content_hash,
    PublishedDefinition.published_at,
    PublishedDefinition.published_by,
    PublishedDefinition.effective_from,
    PublishedDefinition.effective_to,
    # Read inside the JSON by the database, so that listing versions loads no content.
    func.coalesce(
        PublishedDefinition.content[("resolved_calendar", "timezone")].as_string(),
        DEFAULT_TIME_ZONE,
    ),
)


def _covers(day: date) -> ColumnElement[bool]:
    """The version's period covers ``day``."""
    first, last = PublishedDefinition.effective_from, PublishedDefinition.effective_to
    return or_(first.is_(None), first <= day) & or_(last.is_(None), last >= day)


def _result(definition: ProvisionType, number: int, *, changed: bool) -> PublishResult:
    return PublishResult(
        definition.id, number, changed, definition.effective_from, definition.effective_to
    )


async def _latest_row(session: AsyncSession, type_id: str) -> PublishedDefinition | None:
    query = (
        select(PublishedDefinition)
        .where(PublishedDefinition.type_id == type_id)
        .order_by(PublishedDefinition.version.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


def _type(row: PublishedDefinition) -> ProvisionType:
    return ProvisionType.model_validate(row.content)


def _canonical(provision_type: ProvisionType) -> str:
    data = provision_type.model_dump(mode="json", exclude_defaults=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _yaml(provision_type: ProvisionType) -> str:
    data = provision_type.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
