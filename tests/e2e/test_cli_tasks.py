"""End to end: `support-provision tasks`, the worklist, on a case a real worker runs."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment

from activities.database.engine import create_engine, session_factory
from starter.worker import build_worker
from tests.e2e.cli import cli
from tests.waiting import eventually

TEAM = "tenancy-sustainment-team"
SHAPE = {
    "case_ref",
    "tenant_ref",
    "type",
    "priority",
    "key",
    "task",
    "name",
    "owner",
    "status",
    "occurrence",
    "sla_state",
    "opened_at",
    "opens_at",
    "warning_at",
    "due_at",
    "held",
    "waits_for",
}


async def test_the_worklist_of_a_team_through_the_cli(
    temporal_env: WorkflowEnvironment, task_queue: str, ready_database: str
):
    env = {
        "DATABASE_URL": ready_database,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "SUPPORT_PROVISION_TASK_QUEUE": task_queue,
        "SUPPORT_PROVISION_USER": "marcus-reid",
    }
    case_ref = f"TSA-{uuid.uuid4().hex[:8]}"
    engine = create_engine(ready_database)
    try:
        async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
            started = await cli(
                "case",
                "start",
                "tenancy-sustainment-assessment",
                "--tenant",
                "TEN-42",
                "--case-ref",
                case_ref,
                "--owner",
                "marcus-reid",
                env=env,
            )
            assert started.code == 0, started.stderr

            async def listed() -> dict[str, dict] | None:
                shown = await cli("tasks", "--team", TEAM, "--json", env=env)
                assert shown.code == 0, shown.stderr
                mine = {t["key"]: t for t in shown.json() if t["case_ref"] == case_ref}
                return mine or None

            tasks = await eventually(listed, timeout=30, interval=0.3)
    finally:
        await engine.dispose()

    for task in tasks.values():
        assert set(task) == SHAPE
    contact, visit = tasks["initial-contact"], tasks["home-visit"]
    assert (contact["status"], contact["sla_state"]) == ("open", "on_track")
    assert contact["owner"] == "tenancy-sustainment-officer" and contact["tenant_ref"] == "TEN-42"
    assert contact["due_at"] > contact["warning_at"] > contact["opened_at"]
    assert (visit["status"], visit["waits_for"], visit["due_at"]) == (
        "blocked",
        "initial-contact (open)",
        None,
    )
    keys = list(tasks)
    assert keys.index("initial-contact") < keys.index("home-visit"), "due points first"

    async def keys_of(*args: str) -> list[str]:
        shown = await cli("tasks", *args, "--json", env=env)
        assert shown.code == 0, shown.stderr
        return [t["key"] for t in shown.json() if t["case_ref"] == case_ref]

    by_role = [key for key, t in tasks.items() if t["owner"] == "tenancy-sustainment-officer"]
    assert "initial-contact" in by_role and len(by_role) < len(keys)  # the team has more
    assert await keys_of("--owner", "tenancy-sustainment-officer") == by_role
    # The case owner, a person of the team, has the task that names no owner of its own.
    assert await keys_of("--owner", "marcus-reid") == ["agree-outcome"]
    assert tasks["agree-outcome"]["owner"] == "marcus-reid"
    assert await keys_of("--late") == []
    assert "initial-contact" in await keys_of("--due-within", "4 working days")
    assert await keys_of("--due-within", "2wd") == []

    table = await cli("tasks", "--team", TEAM, env=env)
    assert table.code == 0, table.stderr
    rows = table.stdout.splitlines()
    assert "Waits for" in rows[1]
    line = next(row for row in rows if " initial-contact " in row)
    assert case_ref in line and "TEN-42" in line and "on track" in line
    assert contact["due_at"][:16].replace("T", " ") in line
    blocked = next(row for row in rows if " home-visit " in row)
    assert "blocked" in blocked and "initial-contact" in blocked

    for args, code, said in (
        # A value the command line alone shows wrong is a usage mistake (exit 2) ...
        (
            ("--due-within", "soon"),
            2,
            "support-provision tasks: Invalid value for '--due-within': \"soon\" is not a duration",
        ),
        # ... one the directory refuses, a refused request (exit 1).
        (("--team", "nowhere-team"), 1, "there is no team 'nowhere-team' in the directory"),
    ):
        refused = await cli("tasks", *args, env=env)
        assert refused.code == code and refused.stderr.count("\n") == 1, refused.stderr
        assert refused.stderr.startswith(said), refused.stderr
