"""Published definitions: a new immutable version only when the content changed."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.database import definitions_store as store
from tests.factories import visit_type
from tests.integration.db_fixtures import database_url, engine, sessions  # noqa: F401

T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
T3 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def edited():
    """The visit assessment with a longer name for its home visit."""
    original = visit_type()
    tasks = [t.model_dump() for t in original.tasks]
    tasks[1]["name"] = "Home visit (with interpreter if needed)"
    return visit_type(tasks=tasks)


async def test_publish_versions_only_what_changed(sessions: async_sessionmaker[AsyncSession]):
    original, changed = visit_type(), edited()

    async with sessions.begin() as session:
        assert await store.publish(session, [original], "amara", T1) == [
            store.PublishResult("visit-assessment", 1, changed=True)
        ]
    async with sessions.begin() as session:
        assert await store.publish(session, [visit_type()], "amara", T2) == [
            store.PublishResult("visit-assessment", 1, changed=False)
        ]
    async with sessions.begin() as session:
        assert await store.publish(session, [changed], "ben", T2) == [
            store.PublishResult("visit-assessment", 2, changed=True)
        ]

    async with sessions() as session:
        assert await store.latest(session, "visit-assessment") == (2, changed)
        assert await store.version(session, "visit-assessment", 1) == original
        assert await store.version(session, "visit-assessment", 3) is None
        assert await store.latest(session, "no-such-type") is None
        history = await store.versions(session, "visit-assessment")
        newest = await store.list_latest(session)
    assert [(v.version, v.published_at, v.published_by) for v in history] == [
        (1, T1, "amara"),
        (2, T2, "ben"),
    ]
    assert history[0].content_hash == store.content_hash(original)
    assert newest == [history[1]]

    lines = store.diff(original, changed, a_label="v1", b_label="v2")
    assert lines[:2] == ["--- v1", "+++ v2"]
    assert "-  name: Home visit" in lines
    assert "+  name: Home visit (with interpreter if needed)" in lines
    assert store.diff(original, original) == []


async def test_going_back_to_earlier_content_is_a_new_version(
    sessions: async_sessionmaker[AsyncSession],
):
    for content, when in ((visit_type(), T1), (edited(), T2), (visit_type(), T3)):
        async with sessions.begin() as session:
            await store.publish(session, [content], "amara", when)
    async with sessions() as session:
        assert await store.latest(session, "visit-assessment") == (3, visit_type())
        assert [v.version for v in await store.versions(session, "visit-assessment")] == [1, 2, 3]


def test_the_hash_ignores_how_the_content_was_written():
    explicit_defaults = visit_type(calendar="24x7", may_be_held=True)
    assert store.content_hash(explicit_defaults) == store.content_hash(visit_type())
    assert store.content_hash(edited()) != store.content_hash(visit_type())
