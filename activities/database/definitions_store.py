"""Published definitions: immutable, numbered versions of each provision type.

Publishing stores a new version only when a type's content changed, recognised by the
hash of its canonical JSON. A case records the version it runs on, so every version stays
readable for as long as the database lives. Going back to earlier content publishes it
again as a new version: versions only ever count up.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from definitions.schema import ProvisionType

from .models import PublishedDefinition


class PublishConflict(Exception):
    """Someone else published a version of the same type at the same moment."""


@dataclass(frozen=True)
class PublishResult:
    type_id: str
    version: int
    changed: bool


@dataclass(frozen=True)
class VersionInfo:
    """A published version, without its content."""

    type_id: str
    version: int
    content_hash: str
    published_at: datetime
    published_by: str


def content_hash(provision_type: ProvisionType) -> str:
    """sha256 of the type's canonical JSON: equal content, equal hash, whatever the YAML.

    Defaults are left out, so that adding an optional field to the schema does not make
    every type look changed.
    """
    return hashlib.sha256(_canonical(provision_type).encode("utf-8")).hexdigest()


async def publish(
    session: AsyncSession, types: Iterable[ProvisionType], by: str, now: datetime
) -> list[PublishResult]:
    """Store a new version of each type whose content differs from its latest version.

    Two people publishing at once may both pick the same next version; the primary key
    on ``(type_id, version)`` refuses the second with `PublishConflict`, and its
    transaction must be rolled back whole.
    """
    results = []
    for provision_type in sorted(types, key=lambda t: t.id):
        digest = content_hash(provision_type)
        current = await _latest_row(session, provision_type.id)
        if current is not None and current.content_hash == digest:
            results.append(PublishResult(provision_type.id, current.version, changed=False))
            continue
        version = current.version + 1 if current else 1
        session.add(
            PublishedDefinition(
                type_id=provision_type.id,
                version=version,
                content_hash=digest,
                content=provision_type.model_dump(mode="json"),
                published_at=now,
                published_by=by,
            )
        )
        results.append(PublishResult(provision_type.id, version, changed=True))
    try:
        await session.flush()
    except IntegrityError as error:
        raise PublishConflict(
            "someone else published at the same moment; run publish again"
        ) from error
    return results


async def latest(session: AsyncSession, type_id: str) -> tuple[int, ProvisionType] | None:
    """The latest version number and content of a type; ``None`` if never published."""
    row = await _latest_row(session, type_id)
    return (row.version, _type(row)) if row else None


async def version(session: AsyncSession, type_id: str, number: int) -> ProvisionType | None:
    row = await session.get(PublishedDefinition, (type_id, number))
    return _type(row) if row else None


async def versions(session: AsyncSession, type_id: str) -> list[VersionInfo]:
    """Every version of a type, oldest first."""
    query = (
        select(*_INFO_COLUMNS)
        .where(PublishedDefinition.type_id == type_id)
        .order_by(PublishedDefinition.version)
    )
    return [VersionInfo(*row) for row in (await session.execute(query)).all()]


async def list_latest(session: AsyncSession) -> list[VersionInfo]:
    """The latest version of every published type, by type id."""
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
