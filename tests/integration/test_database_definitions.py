"""Published definitions: a new immutable version only when the content changed, each
with its period; the version in effect on a day is the highest whose period covers it."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.database import definitions_store as store
from definitions.schema import ProvisionType
from starter.client import CaseRefused
from starter.published import published_in_effect
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


# --- periods ------------------------------------------------------------------------------

MARCH_31, APRIL = date(2027, 3, 31), date(2027, 4, 1)


def ending() -> ProvisionType:
    """The visit assessment until 31 March 2027."""
    return visit_type(effective_to=MARCH_31)


def starting(**changes: object) -> ProvisionType:
    """The edited visit assessment from 1 April 2027."""
    return edited().model_copy(update={"effective_from": APRIL, **changes})


async def test_each_definition_is_published_with_its_period(
    sessions: async_sessionmaker[AsyncSession],
):
    async with sessions.begin() as session:
        first = await store.publish(session, [starting(), ending()], "amara", T1)
    assert first == [
        store.PublishResult("visit-assessment", 1, True, None, MARCH_31),
        store.PublishResult("visit-assessment", 2, True, APRIL, None),
    ]
    async with sessions.begin() as session:
        again = await store.publish(session, [ending(), starting()], "amara", T2)
        renamed = starting(name="Visit assessment (2027)")
        third = await store.publish(session, [ending(), renamed], "ben", T3)
    assert [(r.version, r.changed) for r in again] == [(1, False), (2, False)]
    assert [(r.version, r.changed) for r in third] == [(1, False), (3, True)]

    async with sessions() as session:
        assert await store.in_effect(session, "visit-assessment", MARCH_31) == (1, ending())
        assert await store.in_effect(session, "visit-assessment", APRIL) == (3, renamed)
        assert await store.in_effect(session, "visit-assessment", date(2040, 1, 1)) == (3, renamed)
        assert await store.in_effect(session, "no-such-type", APRIL) is None
        listed = await store.versions(session, "visit-assessment")
    assert [(v.version, v.effective_from, v.effective_to) for v in listed] == [
        (1, None, MARCH_31),
        (2, APRIL, None),
        (3, APRIL, None),
    ]
    assert {v.time_zone for v in listed} == {"Europe/London"}


async def test_a_later_publish_supersedes_an_earlier_one_on_the_days_both_cover(
    sessions: async_sessionmaker[AsyncSession],
):
    async with sessions.begin() as session:
        await store.publish(session, [visit_type()], "amara", T1)
        await store.publish(session, [starting()], "amara", T2)
    async with sessions() as session:
        assert await store.in_effect(session, "visit-assessment", MARCH_31) == (1, visit_type())
        assert await store.in_effect(session, "visit-assessment", APRIL) == (2, starting())
    async with sessions.begin() as session:  # the open one again: it supersedes from April
        results = await store.publish(session, [visit_type()], "amara", T3)
    assert [(r.version, r.changed) for r in results] == [(3, True)]
    async with sessions() as session:
        assert await store.in_effect(session, "visit-assessment", APRIL) == (3, visit_type())


async def test_the_version_in_effect_today_by_default(
    sessions: async_sessionmaker[AsyncSession],
):
    """Today in the time zone of the type's calendar: a version that ended yesterday is
    not it, whatever today is."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    yesterday = today - timedelta(days=1)
    async with sessions.begin() as session:
        await store.publish(
            session,
            [
                visit_type(effective_to=yesterday),
                edited().model_copy(update={"effective_from": today}),
            ],
            "amara",
            T1,
        )
    async with sessions() as session:
        found = await store.in_effect(session, "visit-assessment")
        assert found is not None and found[0] == 2
        assert await store.in_effect(session, "no-such-type") is None


async def test_a_starter_gets_the_version_in_effect_on_the_day_or_a_reason(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
):
    async with sessions.begin() as session:
        await store.publish(session, [starting()], "amara", T1)
    assert await published_in_effect(database_url, "visit-assessment", on=APRIL) == (
        1,
        starting(),
    )
    with pytest.raises(CaseRefused) as refused:
        await published_in_effect(database_url, "visit-assessment", on=MARCH_31)
    assert refused.value.code == "unknown_type"
    assert refused.value.message.startswith(
        'No published version of "visit-assessment" is in effect on 2027-03-31; its versions '
        "are in effect: v1 from 2027-04-01."
    )
    with pytest.raises(CaseRefused, match='no published provision type "visit"; published'):
        await published_in_effect(database_url, "visit")
