"""The database commands, end to end on each database: what people see, and exit codes."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from activities.contracts import RegisterUpdate
from activities.database import definitions_store, register
from activities.database.directory import default_directory_file
from activities.database.engine import create_engine, session_factory
from activities.database.migrate import head_revision
from casemodel.case import Case
from definitions.loader import default_definitions_dir
from definitions.schema import ProvisionType
from starter import cli_db, cli_directory, cli_publish
from tests.integration.db_fixtures import database_url, engine, sessions  # noqa: F401


def command_line() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.add_typer(cli_db.app, name="db")
    app.add_typer(cli_directory.app, name="directory")
    definitions = typer.Typer()
    cli_publish.register(definitions)
    app.add_typer(definitions, name="definitions")
    return app


@pytest.fixture
def run(database_url: str, sessions: async_sessionmaker[AsyncSession]):
    """Run the command line on the (emptied) test database; the result."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(command_line(), list(args), env={"DATABASE_URL": database_url})

    return invoke


def test_upgrade_on_a_current_database_says_there_is_nothing_to_do(run):
    result = run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"is up to date (revision {head_revision()}); nothing to do." in result.stdout


def test_an_unreachable_database_is_one_line_and_exit_1():
    result = CliRunner().invoke(
        command_line(),
        ["db", "upgrade", "--url", "postgresql://nobody@127.0.0.1:1/none"],
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(
        "could not upgrade the database at postgresql+asyncpg://nobody@127.0.0.1:1/none: "
    )


def test_directory_sync_and_list(run, tmp_path: Path):
    first = run("directory", "sync")
    assert first.exit_code == 0, first.output
    assert "0 updated, 0 deactivated." in first.stdout

    data = yaml.safe_load(default_directory_file().read_text())
    data["people"] = [p for p in data["people"] if p["id"] != "sean-murphy"]
    changed = tmp_path / "directory.yaml"
    changed.write_text(yaml.safe_dump(data))
    second = run("directory", "sync", "--file", str(changed), "--json")
    assert json.loads(second.stdout) == {
        "added": [],
        "updated": [],
        "deactivated": ["person:sean-murphy"],
    }

    listing = json.loads(run("directory", "list", "--all", "--json").stdout)
    sean = next(p for p in listing["people"] if p["id"] == "sean-murphy")
    assert sean["active"] is False and sean["roles"] == ["income-officer"]


def test_directory_sync_reports_problems_with_file_and_field(run, tmp_path: Path):
    broken = tmp_path / "directory.yaml"
    person = {"id": "amy", "name": "Amy", "email": "amy@example.org", "team": "nowhere"}
    broken.write_text(yaml.safe_dump({"people": [person]}))
    result = run("directory", "sync", "--file", str(broken))
    assert result.exit_code == 1
    assert result.stderr == f"{broken}: people[0].team: 'nowhere' is not a team in the directory\n"


def test_publish_versions_show_and_diff(run, tmp_path: Path):
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    published = run("definitions", "publish", "--definitions", str(catalog), "--by", "amara")
    assert published.exit_code == 0, published.output
    type_file = sorted((catalog / "types").glob("*.yaml"))[0]
    data = yaml.safe_load(type_file.read_text())
    type_id = data["id"]
    assert f"{type_id}: v1 published" in published.stdout

    data["name"] += " (revised)"
    type_file.write_text(yaml.safe_dump(data, sort_keys=False))
    again = run("definitions", "publish", "--definitions", str(catalog), "--json", "--by", "ben")
    results = {r["type_id"]: r for r in json.loads(again.stdout)}
    assert results[type_id] == {
        "type_id": type_id,
        "version": 2,
        "changed": True,
        "effective_from": None,
        "effective_to": None,
    }
    assert sum(r["changed"] for r in results.values()) == 1

    versions = json.loads(run("definitions", "versions", type_id, "--json").stdout)
    assert [(v["version"], v["published_by"]) for v in versions] == [(1, "amara"), (2, "ben")]
    shown = json.loads(run("definitions", "published", type_id, "--version", "1", "--json").stdout)
    assert shown["version"] == 1 and not shown["definition"]["name"].endswith("(revised)")
    diff = run("definitions", "diff", type_id, "1")
    assert f"+name: {data['name']}" in diff.stdout

    missing = run("definitions", "published", type_id, "--version", "9")
    assert missing.exit_code == 1 and "version 9" in missing.stderr


def test_publish_refuses_what_validate_refuses_and_stores_nothing(run, tmp_path: Path):
    """A rule naming a template that does not exist, a template with an unknown field and
    a group nobody defined were published, since publish checked the schema and owners
    only: each escalation then reached no one when it fired."""
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    type_file = sorted((catalog / "types").glob("*.yaml"))[0]
    data = yaml.safe_load(type_file.read_text())
    rule = next(r for t in data["tasks"] for r in t.get("escalations", []))
    rule["template"] = "no-such-template"
    rule.setdefault("notify", {})["groups"] = ["no-such-group"]
    type_file.write_text(yaml.safe_dump(data, sort_keys=False))
    warning = catalog / "templates" / "task-sla-warning.text.j2"
    warning.write_text(warning.read_text() + "\n{{ recipient.nmae }}\n")

    refused = run("definitions", "publish", "--definitions", str(catalog), "--by", "amara")
    assert refused.exit_code == 1, refused.output
    assert "no-such-template" in refused.stderr and "no-such-group" in refused.stderr
    assert "nmae" in refused.stderr
    assert "nothing published: 3 problems in" in refused.stderr
    versions = run("definitions", "versions", "--json")
    assert json.loads(versions.stdout) == []


def test_versions_in_effect_expired_and_future(run, tmp_path: Path):
    """A type ending on 31 March 2027 and its successor from 1 April, published together;
    then the successor changed: the views and `published --at` follow the periods."""
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    old_file = catalog / "types" / "safeguarding-review.yaml"
    data = yaml.safe_load(old_file.read_text())
    old_file.write_text(yaml.safe_dump({**data, "effective_to": "2027-03-31"}, sort_keys=False))
    new_file = catalog / "types" / "safeguarding-review-2027.yaml"
    new = {**data, "effective_from": "2027-04-01", "name": "Safeguarding review (2027)"}
    new_file.write_text(yaml.safe_dump(new, sort_keys=False))
    published = run("definitions", "publish", "--definitions", str(catalog))
    assert published.exit_code == 0, published.output
    assert "safeguarding-review: v1 (until 2027-03-31) published" in published.stdout
    assert "safeguarding-review: v2 (from 2027-04-01) published" in published.stdout
    assert "6 of 6 provision type definitions published" in published.stdout
    new_file.write_text(yaml.safe_dump({**new, "name": "Safeguarding review, 2027"}))
    assert run("definitions", "publish", "--definitions", str(catalog)).exit_code == 0

    def versions(*args: str) -> list[tuple[str, int, str]]:
        result = run("definitions", "versions", *args, "--json")
        assert result.exit_code == 0, result.output
        return [(v["type_id"], v["version"], v["standing"]) for v in json.loads(result.stdout)]

    future = versions("safeguarding-review", "--at", "2027-03-31", "--view", "future")
    assert future == [("safeguarding-review", 3, "future")]  # v2 is superseded by v3
    assert versions("safeguarding-review", "--at", "2027-03-31") == [
        ("safeguarding-review", 1, "current")
    ]
    assert versions("safeguarding-review", "--at", "2027-04-01", "--view", "expired") == [
        ("safeguarding-review", 1, "expired")
    ]
    on_april = [v for v in versions("--at", "2027-04-01") if v[0] == "safeguarding-review"]
    assert on_april == [("safeguarding-review", 3, "current")]
    listing = json.loads(run("definitions", "versions", "safeguarding-review", "--json").stdout)
    assert [(v["version"], v["effective_from"], v["effective_to"]) for v in listing] == [
        (1, None, "2027-03-31"),
        (2, "2027-04-01", None),
        (3, "2027-04-01", None),
    ]
    assert listing[1]["standing"] == "superseded"

    shown = run("definitions", "published", "safeguarding-review", "--at", "2027-04-01")
    assert shown.stdout.startswith("# safeguarding-review v3, in effect from 2027-04-01\n")
    people = run("definitions", "versions", "safeguarding-review", "--at", "2027-04-01")
    assert "Published versions in effect on 2027-04-01" in people.stdout
    assert "from 2027-04-01" in people.stdout and "current" in people.stdout

    wrong = run("definitions", "versions", "--view", "soon")
    assert wrong.exit_code == 2  # a mistake in the command line, told in one line by cli.main
    assert "Invalid value for '--view': there is no view 'soon'; choose current," in wrong.stderr


def test_directory_list_shows_the_periods_of_memberships(run, tmp_path: Path):
    data = yaml.safe_load(default_directory_file().read_text())
    panel = next(g for g in data["stakeholder_groups"] if g["id"] == "safeguarding-panel")
    panel["members"][1]["until"] = "2027-03-31"
    panel["members"].append({"person": "marcus-reid", "from": "2027-04-01"})
    changed = tmp_path / "directory.yaml"
    changed.write_text(yaml.safe_dump(data))
    assert run("directory", "sync", "--file", str(changed)).exit_code == 0
    shown = run("directory", "list")
    assert shown.exit_code == 0, shown.output
    assert "joseph-adeyemi (until 2027-03-31)" in shown.stdout
    assert "marcus-reid (from 2027-04-01)" in shown.stdout
    listing = json.loads(run("directory", "list", "--json").stdout)
    members = next(g for g in listing["stakeholder_groups"] if g["id"] == "safeguarding-panel")
    assert {"person": "marcus-reid", "from": "2027-04-01"} in members["members"]


def test_publish_refuses_to_drop_a_template_open_cases_escalate_with(
    run, tmp_path: Path, database_url: str
):
    """A template renamed in the catalog (and its rules with it) validates, but the cases
    open on the version published before still name the old one: each of their notices
    would fail for good when it fired. Publish refuses, naming the version and a case."""
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    assert run("definitions", "publish", "--definitions", str(catalog)).exit_code == 0
    type_file = sorted((catalog / "types").glob("*.yaml"))[0]
    data = yaml.safe_load(type_file.read_text())
    old = next(r for t in data["tasks"] for r in t.get("escalations", []))["template"]
    provision_type = ProvisionType.model_validate(data)
    case = Case.open(
        provision_type,
        case_ref="OPEN-1",
        tenant_ref="TEN-1",
        owner="tom-bennett",
        now=datetime.now(UTC),
        opened_by="hms",
        type_version=1,
    )
    update = RegisterUpdate.from_state(case.state, workflow_id="case-OPEN-1", type_version=1)
    asyncio.run(_apply(database_url, update))

    for path in (catalog / "templates").glob(f"{old}.*.j2"):
        path.rename(path.with_name(path.name.replace(old, f"{old}-renamed", 1)))
    for path in (catalog / "types").glob("*.yaml"):
        text = path.read_text()
        path.write_text(text.replace(f"template: {old}\n", f"template: {old}-renamed\n"))

    refused = run("definitions", "publish", "--definitions", str(catalog))
    assert refused.exit_code == 1, refused.output
    assert (
        f"there is no template {old!r}, but {provision_type.id} v1 names it and 1 open case "
        f"run on that version (such as OPEN-1)"
    ) in refused.stderr
    assert "nothing published: 1 template that open cases need is gone from" in refused.stderr
    versions = json.loads(run("definitions", "versions", "--json").stdout)
    assert {v["version"] for v in versions} == {1}, "nothing published"


async def _apply(url: str, update: RegisterUpdate) -> None:
    """Write `update` through an engine of its own (this test's loop is not the session's)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await register.apply_update(session, update)
    finally:
        await engine.dispose()


def test_a_type_taken_out_of_the_catalog_stays_published_and_publish_says_so(run, tmp_path: Path):
    """Publishing adds versions and never withdraws one: a type whose file was removed is
    still in effect, and new cases open on it. Publish says so."""
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    assert run("definitions", "publish", "--definitions", str(catalog)).exit_code == 0
    demo = catalog / "types" / "escalation-demo.yaml"
    kept = demo.read_text()
    demo.unlink()
    published = run("definitions", "publish", "--definitions", str(catalog))
    assert published.exit_code == 0, published.output
    assert "escalation-demo has no file in" in published.stderr
    assert (
        "but stays published and in effect (v1, always): new cases still open on it, since "
        "publishing never withdraws a type; `support-provision definitions withdraw "
        "escalation-demo` does." in published.stderr
    )
    demo.write_text(kept)
    again = run("definitions", "publish", "--definitions", str(catalog))
    assert again.exit_code == 0 and again.stderr == "", again.output


def test_a_withdrawn_type_opens_no_case_from_its_day_and_publish_no_longer_warns(
    run, tmp_path: Path, database_url: str
):
    catalog = tmp_path / "catalog"
    shutil.copytree(default_definitions_dir(), catalog)
    assert run("definitions", "publish", "--definitions", str(catalog)).exit_code == 0
    never = run("definitions", "withdraw", "no-such-type")
    assert never.exit_code == 1 and '"no-such-type" has never been published' in never.stderr

    withdrawn = run("definitions", "withdraw", "escalation-demo", "--by", "amara")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "escalation-demo withdrawn from" in withdrawn.stdout
    assert asyncio.run(_in_effect(database_url, "escalation-demo")) is None
    assert asyncio.run(_in_effect(database_url, "safeguarding-review")) is not None
    later = run("definitions", "withdraw", "safeguarding-review", "--from", "2099-01-01")
    assert later.exit_code == 0, later.output
    assert asyncio.run(_in_effect(database_url, "safeguarding-review")) is not None

    (catalog / "types" / "escalation-demo.yaml").unlink()
    quiet = run("definitions", "publish", "--definitions", str(catalog))
    assert quiet.exit_code == 0 and "escalation-demo" not in quiet.stderr, quiet.output


async def _in_effect(url: str, type_id: str) -> object:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await definitions_store.in_effect(session, type_id)
    finally:
        await engine.dispose()
