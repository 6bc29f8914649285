"""End to end: the command line against a real Temporal server and worker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.contracts import RegisterUpdate
from activities.database import notifications as outbox
from activities.database import register
from activities.database.engine import create_engine, session_factory
from casemodel.case import Case
from definitions.schema import ProvisionType
from starter.client import CaseClient, CaseRefused
from starter.published import published_in_effect
from starter.settings import Settings
from starter.worker import build_worker
from tests.e2e.cli import cli
from tests.integration.sla_fixtures import seconds_type
from tests.waiting import eventually
from workflows import search_attributes as sa


@pytest.fixture
def cli_env(
    temporal_env: WorkflowEnvironment, task_queue: str, ready_database: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": ready_database,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "SUPPORT_PROVISION_TASK_QUEUE": task_queue,
        # A safeguarding lead of the team that owns safeguarding reviews, signed in.
        "SUPPORT_PROVISION_USER": "joseph-adeyemi",
    }


async def test_safeguarding_review_through_the_cli(
    temporal_env: WorkflowEnvironment, task_queue: str, cli_env: dict[str, str]
):
    engine = create_engine(cli_env["DATABASE_URL"])
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        published = await cli("definitions", "publish", "--json", env=cli_env)
        assert published.code == 0, published.stderr
        case_ref = f"SR-{uuid.uuid4().hex[:8]}"
        started = await cli(
            "case",
            "start",
            "safeguarding-review",
            "--tenant",
            "TEN-77",
            "--case-ref",
            case_ref,
            "--json",
            env=cli_env,
        )
        assert started.code == 0, started.stderr
        assert started.json()["case_ref"] == case_ref
        assert started.json()["workflow_id"] == f"case-{case_ref}"

        duplicate = await cli(
            "case",
            "start",
            "safeguarding-review",
            "--tenant",
            "TEN-77",
            "--case-ref",
            case_ref,
            env=cli_env,
        )
        assert duplicate.code == 1
        assert duplicate.stderr.count("\n") == 1 and "already exists" in duplicate.stderr

        shown = (await cli("case", "show", case_ref, "--json", env=cli_env)).json()
        assert shown["type"] == "safeguarding-review"
        assert shown["status"] == "open"
        for task in shown["tasks"]:
            assert set(task) >= {"key", "task", "status", "owner", "outcomes"}
        blocked = [t for t in shown["tasks"] if t["status"] == "blocked"]
        assert blocked, "the review has dependent tasks"
        # As a person reads it: the tasks, and the log from the register.
        read = await cli("case", "show", case_ref, env=cli_env)
        assert read.code == 0, read.stderr
        assert "Case log" in read.stdout and "case_opened" in read.stdout
        assert f"{case_ref} · Safeguarding review v{shown['type_version']} ·" in read.stdout
        assert blocked[0]["key"] in read.stdout

        refused = await cli("case", "complete", case_ref, blocked[0]["key"], env=cli_env)
        assert refused.code == 1
        assert "waits for" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert refused.stderr.count("\n") == 1

        unknown = await cli("case", "complete", case_ref, "no-such-task", env=cli_env)
        assert unknown.code == 1 and "no-such-task" in unknown.stderr

        missing_case = await cli("case", "show", "NOPE-404", env=cli_env)
        assert missing_case.code == 1 and "NOPE-404" in missing_case.stderr

        async def registered():
            listed = await cli("case", "list", "--tenant", "TEN-77", "--json", env=cli_env)
            assert listed.code == 0, listed.stderr
            return [c for c in listed.json() if c["case_ref"] == case_ref]

        listed = await eventually(registered, timeout=20, interval=0.3)
        assert listed[0]["type"] == "safeguarding-review"
        assert listed[0]["type_version"] >= 1
        assert listed[0]["status"] == "open"

        # A list the limit cut says so, on stderr, for the register and for Temporal.
        second = f"SR-{uuid.uuid4().hex[:8]}"
        start = ("case", "start", "safeguarding-review", "--tenant", "TEN-77", "--case-ref")
        assert (await cli(*start, second, env=cli_env)).code == 0

        async def both() -> bool:
            listed = await cli("case", "list", "--tenant", "TEN-77", "--json", env=cli_env)
            found = await cli("case", "list", "--temporal", "--tenant", "TEN-77", env=cli_env)
            return len(listed.json()) == 2 and second in found.stdout and case_ref in found.stdout

        await eventually(both, timeout=20, interval=0.3)
        for source in ((), ("--temporal",)):
            cut = await cli(
                "case", "list", *source, "--tenant", "TEN-77", "--limit", "1", "--json", env=cli_env
            )
            assert cut.code == 0, cut.stderr
            assert len(cut.json()) == 1
            assert cut.stderr == "Showing the newest 1; --limit shows more.\n"
            whole = await cli(
                "case", "list", *source, "--tenant", "TEN-77", "--limit", "2", env=cli_env
            )
            assert whole.code == 0 and whole.stderr == "", whole.stderr

    # No worker runs now: what the register recorded is shown, and said to be that.
    offline = await cli("case", "show", case_ref, env=cli_env)
    assert offline.code == 0, offline.stderr
    assert f"No worker answered for case {case_ref} within 10 s: this is what the case " in (
        " ".join(offline.stdout.split())
    )
    assert "case_opened" in offline.stdout
    await engine.dispose()


async def test_unreachable_temporal_is_one_clear_line():
    result = await cli("case", "show", "ANY-1", env={"TEMPORAL_ADDRESS": "127.0.0.1:1"}, timeout=60)
    assert result.code == 1
    assert "Cannot reach Temporal" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_case_owner_must_be_in_the_directory(
    temporal_env: WorkflowEnvironment, task_queue: str, ready_database: str
):
    env = {
        "DATABASE_URL": ready_database,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "SUPPORT_PROVISION_TASK_QUEUE": task_queue,
        "SUPPORT_PROVISION_USER": "tbennett",  # Tom Bennett's login in the directory
    }
    start = ("case", "start", "safeguarding-review", "--tenant", "TEN-78")
    unknown, typo, known = await asyncio.gather(
        cli(*start, "--owner", "nobody-here", env=env),
        cli(*start, "--owner", "tom-benett", env=env),
        cli(*start, "--owner", "tom-bennett", "--case-ref", f"SR-{uuid.uuid4().hex[:8]}", env=env),
    )
    assert unknown.code == 1 and unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith(
        "'nobody-here' is not a person, team or role in the directory; "
        "`support-provision directory list` shows who can own a case."
    )
    assert typo.code == 1 and '(did you mean "tom-bennett"?)' in typo.stderr
    assert known.code == 0, known.stderr


async def test_the_temporal_ui_link_holds_a_reference_with_a_slash(
    temporal_env: WorkflowEnvironment, task_queue: str, cli_env: dict[str, str]
):
    """A case reference may hold a `/` (`SR/2026/…`): the link encodes the workflow id as
    one part of the path, as the UI's own links do, or the UI reads `case-SR` as the case
    and the rest as a run."""
    env = {**cli_env, "TEMPORAL_UI_URL": "http://ui.example:8233"}
    suffix = uuid.uuid4().hex[:8]
    case_ref = f"SR/2026/{suffix}"
    link = f"http://ui.example:8233/namespaces/default/workflows/case-SR%2F2026%2F{suffix}"
    engine = create_engine(cli_env["DATABASE_URL"])
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        start = ("case", "start", "safeguarding-review", "--tenant", "TEN-79", "--case-ref")
        started = await cli(*start, case_ref, env=env)
        assert started.code == 0, started.stderr
        assert f"Temporal UI: {link}\n" in started.stdout

        shown = await cli("case", "show", case_ref, env=env)
        assert shown.code == 0, shown.stderr
        assert f"Temporal UI: {link}\n" in shown.stdout
        assert (await cli("case", "show", case_ref, "--json", env=env)).json()["url"] == link
    await engine.dispose()


async def test_case_show_says_which_escalations_told_nobody(
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    cli_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
):
    """An escalation whose notice could not be rendered fired, and the case's log says
    so, but it reached no one: `case show` says that of it, from the outbox, beside the
    ones that were told, and the worker logs it once."""
    data = seconds_type(warning_after=1, target=2).model_dump(mode="json")
    data["tasks"][0]["escalations"][0]["template"] = "no-such-template"
    kind = ProvisionType.model_validate(data)
    case_ref = f"TOLD-{uuid.uuid4().hex[:8]}"
    engine = create_engine(cli_env["DATABASE_URL"])
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        cases = CaseClient(temporal_env.client, Settings(task_queue=task_queue))
        await cases.start_case(kind, tenant_ref="TEN-80", case_ref=case_ref, owner="tom-bennett")

        async def both_recorded() -> bool:
            async with session_factory(engine)() as session:
                found = await outbox.deliveries(session, case_ref)
            return len(found) == 2 and not any(d.waiting for d in found.values())

        await eventually(both_recorded, timeout=30, what="both notices in the outbox")
        shown = await cli("case", "show", case_ref, "--json", env=cli_env)
        assert shown.code == 0, shown.stderr
        told = {e["rule"]: e["delivery"] for e in shown.json()["escalations"]}
        assert told["contact-breach"] == {"told": 2, "waiting": 0, "failed": []}
        assert told["contact-warning"]["told"] == 0
        [failed] = told["contact-warning"]["failed"]
        assert "no-such-template" in failed["reason"]

        plain = await cli("case", "show", case_ref, env=cli_env)
        assert "told nobody" in plain.stdout and "2 told" in plain.stdout
        assert "Not told: owner:tom-bennett" not in plain.stdout  # the owner was resolved
        assert "(contact-warning of contact): there is no template" in plain.stdout
        assert f"notifications list --case {case_ref} --status failed" in plain.stdout
    logged = [r.getMessage() for r in caplog.records if case_ref in r.getMessage()]
    assert len([m for m in logged if "not sent: there is no template" in m]) == 1, logged
    await engine.dispose()


async def test_a_start_the_case_refuses_exits_1_and_leaves_the_reference_free(
    temporal_env: WorkflowEnvironment, task_queue: str, cli_env: dict[str, str]
):
    """The tenant portal may not open cases: its start was printed as started, exit 0,
    while the case refused it, and the reference then stayed taken."""
    case_ref = f"SR-{uuid.uuid4().hex[:8]}"
    start = ("case", "start", "safeguarding-review", "--tenant", "TEN-81", "--case-ref", case_ref)
    portal = {**cli_env, "SUPPORT_PROVISION_SERVICE": "tenant-portal"}
    engine = create_engine(cli_env["DATABASE_URL"])
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        refused = await cli(*start, env=portal)
        assert refused.code == 1, refused.stdout
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert f"Case {case_ref} did not open" in refused.stderr
        assert "may not open cases" in refused.stderr
        assert "Started" not in refused.stdout
        handle = temporal_env.client.get_workflow_handle(f"case-{case_ref}")
        status = (await handle.describe()).typed_search_attributes.get(sa.CASE_STATUS)
        assert status == sa.NOT_OPENED, "its start said open; the UI must not find it so"

        opened = await cli(*start, "--json", env=cli_env)
        assert opened.code == 0, opened.stderr
        assert opened.json()["opened"] is True
        shown = await cli("case", "show", case_ref, "--json", env=cli_env)
        assert shown.json()["tenant_ref"] == "TEN-81"
    await engine.dispose()


async def test_a_case_temporal_no_longer_holds_is_shown_from_the_register(
    temporal_env: WorkflowEnvironment, task_queue: str, cli_env: dict[str, str]
):
    """Temporal deletes a closed case's history after its retention period (`temporal
    workflow delete` does it at once, but the dev server takes half a minute to act on it):
    here the case is one the register holds and Temporal never did. `case show` answers
    from the register, and the reference stays the case's."""
    case_ref = f"SR-{uuid.uuid4().hex[:8]}"
    _, review = await published_in_effect(cli_env["DATABASE_URL"], "safeguarding-review")
    case = Case.open(
        review,
        case_ref=case_ref,
        tenant_ref="TEN-90",
        owner="safeguarding-team",
        now=datetime.now(UTC),
        opened_by="hms",
        type_version=1,
    )
    case.close(
        outcome="no-safeguarding-concern",
        reason="resolved",
        by="joseph-adeyemi",
        now=datetime.now(UTC),
    )
    engine = create_engine(cli_env["DATABASE_URL"])
    async with session_factory(engine).begin() as session:
        await register.apply_update(
            session,
            RegisterUpdate.from_state(case.state, workflow_id=f"case-{case_ref}", type_version=1),
        )
    await engine.dispose()

    shown = await cli("case", "show", case_ref, env=cli_env)
    assert shown.code == 0, shown.stderr
    assert "From the case register: Temporal no longer holds" in shown.stdout
    assert "closed" in shown.stdout and "case_closed" in shown.stdout
    as_json = (await cli("case", "show", case_ref, "--json", env=cli_env)).json()
    assert (as_json["source"], as_json["status"]) == ("register", "closed")
    assert (as_json["type"], as_json["type_version"]) == ("safeguarding-review", 1)
    assert as_json["tasks"] and as_json["log"][0]["kind"] == "case_opened"
    paged = await cli(
        "case", "show", case_ref, "--json", "--log-from", "2", "--log-limit", "1", env=cli_env
    )
    assert [e["seq"] for e in paged.json()["log"]] == [2]

    start = ("case", "start", "safeguarding-review", "--tenant", "TEN-90", "--case-ref")
    again = await cli(*start, case_ref, env=cli_env)
    assert again.code == 1 and "already exists" in again.stderr, again.stderr
    nowhere = await cli("case", "show", "NOPE-404", env=cli_env)
    assert nowhere.code == 1 and "There is no case NOPE-404" in nowhere.stderr

    # Started again past `case start` (the Python client has no register to ask): the
    # register refuses it, the run never was a case, and the case stays the register's.
    cases = CaseClient(temporal_env.client, Settings(task_queue=task_queue))
    engine = create_engine(cli_env["DATABASE_URL"])
    async with build_worker(temporal_env.client, task_queue, session_factory(engine)):
        with pytest.raises(CaseRefused) as taken:
            await cases.start_case(review, tenant_ref="TEN-91", case_ref=case_ref, type_version=1)
        assert taken.value.code == "case_ref_taken"
        described = await temporal_env.client.get_workflow_handle(f"case-{case_ref}").describe()
        assert described.typed_search_attributes.get(sa.CASE_STATUS) == sa.NOT_OPENED
        shown = await cli("case", "show", case_ref, "--json", env=cli_env)
        assert shown.code == 0, shown.stderr
        assert (shown.json()["source"], shown.json()["tenant_ref"]) == ("register", "TEN-90")
        listed = await cli("case", "list", "--temporal", "--json", env=cli_env)
        assert case_ref not in [c["case_ref"] for c in listed.json()], "it never opened"
    await engine.dispose()
