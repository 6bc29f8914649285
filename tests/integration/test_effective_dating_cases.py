"""Effective dating on a real Temporal server and each database: what "done" means.

A type changed from a date opens new cases on the new version and leaves running cases on
the old; a stakeholder group member who left before an escalation fires is not told, one
who joined is. Days are injected (the version test) or taken relative to today in London
(the escalation fires now), so the tests never depend on today's date.
"""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from activities.database import definitions_store, register
from activities.database.directory import Directory, MemberEntry, sync_directory
from activities.recipients import fired_on
from casemodel.requests import CompleteTask
from definitions.loader import load_catalog
from definitions.schema import ProvisionType
from starter.client import CaseClient, CaseRefused
from starter.published import published_in_effect
from starter.settings import Settings
from starter.worker import build_worker
from tests.factories import visit_type
from tests.integration.db_fixtures import database_url, engine, sessions, staff  # noqa: F401
from tests.integration.sla_fixtures import DEFINITIONS, DIRECTORY, address_of, by_rule, outbox
from tests.waiting import eventually

SWITCH = date(2031, 4, 1)
"""The day the new version of the type takes effect: far from any day the suite runs."""


# --- a type changed from a date -----------------------------------------------------------------


OUTCOMES = [{"id": "no-further-support", "label": "No further support"}]
"""The visit assessment's outcomes, without its follow-on type (not in this catalog)."""


def write_type(root: Path, name: str, provision_type: ProvisionType) -> None:
    data = provision_type.model_dump(mode="json", exclude_defaults=True)
    (root / "types" / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


async def publish(sessions: async_sessionmaker[AsyncSession], root: Path) -> dict[Any, int]:
    """Validate the definitions in ``root`` and publish them, as `definitions publish`
    does; the version of each definition, by its effective_from."""
    catalog = load_catalog(root)
    async with sessions.begin() as session:
        results = await definitions_store.publish(
            session, catalog.definitions(), "admin", datetime.now(UTC)
        )
    return {r.effective_from: r.version for r in results}


async def test_a_type_changed_from_a_date_opens_new_cases_on_the_new_version(
    temporal_client: Client,
    task_queue: str,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
):
    await staff(sessions)  # the directory: cases open with an owner of it
    type_id = f"dated-{uuid.uuid4().hex[:6]}"
    root = tmp_path / "definitions"
    (root / "types").mkdir(parents=True)
    shutil.copy(DEFINITIONS / "catalog" / "calendars.yaml", root / "calendars.yaml")
    original = visit_type(id=type_id, outcomes=OUTCOMES)
    write_type(root, "visit.yaml", original)
    assert await publish(sessions, root) == {None: 1}

    # From 1 April 2031 the leaflet goes, and a welfare call joins every new case.
    tasks = [t.model_dump(exclude_defaults=True) for t in original.tasks if t.id != "leaflet"]
    tasks.append({"id": "welfare-call", "name": "Welfare call", "depends_on": ["contact"]})
    revised = visit_type(
        id=type_id,
        name="Visit assessment (2031)",
        tasks=tasks,
        outcomes=OUTCOMES,
        effective_from=SWITCH,
    )
    ended = original.model_copy(update={"effective_to": SWITCH - timedelta(days=1)})

    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    async with build_worker(temporal_client, task_queue, sessions):
        # The day is injected: before the change is published, even the switch day gets v1.
        v1, kind = await published_in_effect(database_url, type_id, on=SWITCH)
        first = await cases.start_case(
            kind, tenant_ref="TEN-D1", owner="tom-bennett", type_version=v1
        )

        write_type(root, "visit.yaml", ended)
        write_type(root, "visit-2031.yaml", revised)
        published = await publish(sessions, root)
        v_ended, v_new = published[None], published[SWITCH]
        assert (v1, v_ended, v_new) == (1, 2, 3)
        before, as_ended = await published_in_effect(
            database_url, type_id, on=SWITCH - timedelta(days=1)
        )
        assert (before, as_ended.effective_to) == (v_ended, SWITCH - timedelta(days=1))
        chosen, kind = await published_in_effect(database_url, type_id, on=SWITCH)
        assert (chosen, kind.name, kind.effective_from) == (v_new, revised.name, SWITCH)
        second = await cases.start_case(
            kind, tenant_ref="TEN-D2", owner="tom-bennett", type_version=chosen
        )

        # The first case runs on as it opened: the leaflet is still its to send.
        await cases.send(first.case_ref, CompleteTask(task="leaflet"))
        with pytest.raises(CaseRefused) as refused:
            await cases.send(first.case_ref, CompleteTask(task="welfare-call"))
        assert refused.value.code == "unknown_task"
        # The second opened on the new version: a welfare call, and no leaflet.
        await cases.send(second.case_ref, CompleteTask(task="contact"))
        await cases.send(second.case_ref, CompleteTask(task="welfare-call"))
        with pytest.raises(CaseRefused) as refused:
            await cases.send(second.case_ref, CompleteTask(task="leaflet"))
        assert refused.value.code == "unknown_task"

        old = await cases.state(first.case_ref)
        new = await cases.state(second.case_ref)

        async def registered() -> list[int | None] | None:
            async with sessions() as session:
                rows = [await register.get_case(session, c.case_ref) for c in (first, second)]
            return [r.type_version for r in rows] if all(rows) else None

        assert await eventually(registered) == [1, v_new]

    assert (old.type_version, old.provision_type.name) == (1, "Visit assessment")
    assert "welfare-call" not in [t.key for t in old.tasks]
    assert next(t for t in old.tasks if t.key == "leaflet").status.value == "completed"
    assert (new.type_version, new.provision_type.name) == (v_new, "Visit assessment (2031)")
    assert new.provision_type.effective_from == SWITCH
    assert "leaflet" not in [t.key for t in new.tasks]
    assert next(t for t in new.tasks if t.key == "welfare-call").status.value == "completed"


# --- a member who left, a member who joined -------------------------------------------------


def panel_type() -> ProvisionType:
    """A contact, then a panel review whose target is a second after it opens: its breach
    tells the safeguarding panel, and nobody else."""
    return ProvisionType.model_validate(
        {
            "id": "panel-referral",
            "name": "Panel referral",
            "category": "assessment",
            "audience": "internal",
            "tasks": [
                {"id": "contact", "name": "Contact"},
                {
                    "id": "panel-review",
                    "name": "Panel review",
                    "depends_on": ["contact"],
                    "sla": {"target": "1 seconds"},
                    "escalations": [
                        {
                            "id": "panel-breach",
                            "trigger": "breach",
                            "template": "task-sla-breach",
                            "notify": {"owner": False, "groups": ["safeguarding-panel"]},
                        }
                    ],
                },
            ],
        }
    )


def panel_changed(today: date) -> Directory:
    """The shipped directory, where Joseph left the panel yesterday, Marcus joined it
    today and Sean joins it the day after tomorrow."""
    groups = []
    for group in DIRECTORY.stakeholder_groups:
        if group.id == "safeguarding-panel":
            members = tuple(
                m.model_copy(update={"until": today - timedelta(days=1)})
                if m.person == "joseph-adeyemi"
                else m
                for m in group.members
            )
            joining = [
                {"person": "marcus-reid", "from": today.isoformat()},
                {"person": "sean-murphy", "from": (today + timedelta(days=2)).isoformat()},
            ]
            group = group.model_copy(
                update={"members": members + tuple(MemberEntry.model_validate(j) for j in joining)}
            )
        groups.append(group)
    return DIRECTORY.model_copy(update={"stakeholder_groups": tuple(groups)})


async def test_a_member_who_left_the_group_is_not_told_and_one_who_joined_is(
    temporal_client: Client, task_queue: str, sessions: async_sessionmaker[AsyncSession]
):
    async with sessions.begin() as session:
        await sync_directory(session, DIRECTORY)
    cases = CaseClient(temporal_client, Settings(task_queue=task_queue))
    async with build_worker(temporal_client, task_queue, sessions):
        started = await cases.start_case(
            panel_type(),
            tenant_ref="TEN-P",
            case_ref=f"PR-{uuid.uuid4().hex[:8]}",
            owner="tom-bennett",
        )
        # The directory changes after the case opened and before the rule fires: the
        # notification is resolved against it as it stands when it fires.
        async with sessions.begin() as session:
            await sync_directory(session, panel_changed(fired_on(datetime.now(UTC))))
        await cases.send(started.case_ref, CompleteTask(task="contact"))

        async def told() -> list[str] | None:
            rows = await outbox(sessions, started.case_ref)
            return by_rule(rows).get("panel-breach")

        recipients = await eventually(told, timeout=15)
        await cases.send(started.case_ref, CompleteTask(task="panel-review"))
        await cases.result(started.case_ref)

    assert sorted(recipients) == sorted(
        [
            address_of("helen-marsh"),
            address_of("claire-donnelly"),
            address_of("priya-shah"),
            "adult.safeguarding@council.example.org",
            "mash@council.example.org",
            address_of("marcus-reid"),
        ]
    )
    assert address_of("joseph-adeyemi") not in recipients
    assert address_of("sean-murphy") not in recipients
