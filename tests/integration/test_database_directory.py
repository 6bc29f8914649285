"""The directory file, and syncing it: add, update, and deactivate without deleting;
group memberships with their periods."""

# Fixtures imported from db_fixtures reappear as test arguments.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.database.directory import (
    Directory,
    DirectoryInvalid,
    default_directory_file,
    directory_ids,
    list_directory,
    load_directory,
    owner_ids,
    owner_problems,
    sync_directory,
)
from activities.database.models import GroupMember, Person
from definitions.loader import default_definitions_dir, load_catalog
from tests.factories import visit_type
from tests.integration.db_fixtures import database_url, engine, sessions  # noqa: F401

T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

SMALL = {
    "teams": [{"id": "income-team", "name": "Income Team", "manager": "dee"}],
    "roles": [{"id": "income-officer", "name": "Income Officer", "team": "income-team"}],
    "people": [
        {"id": "dee", "name": "Dee", "email": "dee@example.org", "team": "income-team"},
        {
            "id": "ali",
            "name": "Ali",
            "email": "ali@example.org",
            "team": "income-team",
            "manager": "dee",
            "roles": ["income-officer"],
        },
        {"id": "bo", "name": "Bo", "email": "bo@example.org", "team": "income-team"},
    ],
    "stakeholder_groups": [
        {
            "id": "arrears-panel",
            "name": "Arrears panel",
            "members": [{"person": "dee"}, {"address": "advice@agency.example.org"}],
        }
    ],
}


def test_the_shipped_directory_is_valid_and_names_the_catalog_owners():
    directory = load_directory(default_directory_file())
    owners = owner_ids(directory)
    for owner in (
        "tenancy-sustainment-officer",
        "safeguarding-lead",
        "income-officer",
        "tenancy-sustainment-team",
    ):
        assert owner in owners
    groups = {"safeguarding-panel", "tenancy-sustainment-leads", "partner-agency-hoarding"}
    assert groups <= directory_ids(directory) - owners
    addresses = [m.address for g in directory.stakeholder_groups for m in g.members if m.address]
    addresses += [p.email for p in directory.people]
    assert all(a.endswith((".example.org", "@example.org", ".example.com")) for a in addresses)


def test_every_owner_in_the_shipped_catalog_is_in_the_directory():
    catalog = load_catalog(default_definitions_dir())
    directory = load_directory(default_directory_file())
    assert owner_problems(catalog.definitions(), directory) == []


def test_problems_name_the_file_and_the_field(tmp_path: Path):
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["people"][1]["team"] = "income-teem"
    data["people"][2]["id"] = "dee"
    data["stakeholder_groups"][0]["members"].append({"person": "ali", "address": "a@example.org"})
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)
    # One run reports them all: the entries that parsed are checked for references too.
    assert invalid.value.problems == [
        f"{path}: stakeholder_groups[0].members[2]: a member is either `person: <id>` or "
        "`address: <email>`",
        f"{path}: people[2].id: 'dee' is already used by people[0]; ids must be unique "
        "across people, teams, roles, groups, services and agencies",
        f"{path}: people[1].team: 'income-teem' is not a team in the directory "
        '(did you mean "income-team"?)',
    ]


def test_a_field_problem_hides_no_other_problem(tmp_path: Path):
    """The tester's file: one bad field used to hide every duplicate and reference."""
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["services"] = [{"id": "portal", "name": "Portal", "may": ["fly"]}]
    data["stakeholder_groups"][0]["members"][0].update(until="2027-01-01", **{"from": "2027-02-01"})
    data["people"][2].update(id="ali", login="dee")
    data["people"].append({"id": "cy", "name": "Cy", "email": "cy@example.org", "manager": "dea"})
    data["stakeholder_groups"].append(
        {"id": "panel", "name": "Panel", "members": [{"person": "nobody"}]}
    )
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)

    assert invalid.value.problems == [
        f"{path}: stakeholder_groups[0].members[0].until: 2027-01-01 is before `from` "
        "2027-02-01; `until` is the last day of the membership, so it cannot come before the "
        "first",
        f"{path}: services[0].may: 'fly' is not a permission; permissions are open-case, "
        "complete-task, cancel-task, bypass-task, undo, hold-task, add-task, pause-case, "
        "close-case, revise-target, stop-recurrence",
        f"{path}: people[2].id: 'ali' is already used by people[1]; ids must be unique "
        "across people, teams, roles, groups, services and agencies",
        f"{path}: people[3].manager: 'dea' is not a person in the directory "
        '(did you mean "dee"?)',
        f"{path}: stakeholder_groups[1].members[0].person: 'nobody' is not a person in the "
        "directory",
        f"{path}: people[2].login: 'dee' already signs in dee; a login names one person",
    ]
    assert [(p.file, p.location) for p in invalid.value.located][:2] == [
        (str(path), "stakeholder_groups[0].members[0].until"),
        (str(path), "services[0].may"),
    ]


def test_an_entry_that_did_not_parse_is_still_there_for_the_checks(tmp_path: Path):
    """A reference to an entry with a bad field is not called unknown (the entry is in
    the file; its own problem is reported), and its id is still taken. The others keep
    their places in the file."""
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["people"][0]["email"] = "dee at example.org"  # ali's manager, the team's manager
    data["people"].append({"id": "dee", "name": "Dee again", "email": "d2@example.org"})
    data["people"].append({"id": "eve", "name": "Eve", "email": "e@example.org", "team": "x"})
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)

    assert invalid.value.problems == [
        f'{path}: people[0].email: "dee at example.org" is not an email address (it contains '
        "a space); write it as name@example.org",
        f"{path}: people[3].id: 'dee' is already used by people[0]; ids must be unique "
        "across people, teams, roles, groups, services and agencies",
        f"{path}: people[4].team: 'x' is not a team in the directory",
    ]


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        (lambda d: d["people"][0].update(email="not-an-email"), "people[0].email", "it has no @"),
        (
            lambda d: d["stakeholder_groups"][0]["members"][1].update(address="also not an email"),
            "stakeholder_groups[0].members[1].address",
            "it contains a space",
        ),
        (lambda d: d["teams"][0].update(email="@@"), "teams[0].email", "it has more than one @"),
        (
            lambda d: d.update(agencies=[{"id": "mind", "name": "Mind", "email": "@mind.org"}]),
            "agencies[0].email",
            "it has nothing before the @",
        ),
        (
            lambda d: d["people"][1].update(email="ali@localhost"),
            "people[1].email",
            "what follows the @ is not a domain such as example.org",
        ),
        (
            lambda d: d["people"][1].update(email="ali@example..org"),
            "people[1].email",
            "what follows the @ is not a domain such as example.org",
        ),
    ],
)
def test_every_email_address_is_checked(tmp_path: Path, change, where: str, why: str):
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    change(data)
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))

    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)

    [problem] = invalid.value.located
    assert (problem.file, problem.location) == (str(path), where)
    assert problem.message.endswith(
        f"is not an email address ({why}); write it as name@example.org"
    )


def test_an_address_is_no_longer_than_a_mail_server_takes(tmp_path: Path):
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["people"][0]["email"] = f"{'d' * 250}@example.org"
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)
    assert invalid.value.problems == [
        f"{path}: people[0].email: String should have at most 254 characters"
    ]
    data["people"][0]["email"] = "Dee.O'Neill+arrears@mail.example.org"
    path.write_text(yaml.safe_dump(data))
    assert load_directory(path).people[0].email == "Dee.O'Neill+arrears@mail.example.org"


def test_owner_problems_point_at_the_type_and_field():
    directory = Directory.model_validate(SMALL)
    tasks = [{"id": "a", "name": "A", "owner": "income-oficer"}, {"id": "b", "name": "B"}]
    provision_type = visit_type(default_owner="ali", tasks=tasks)
    assert [str(p) for p in owner_problems([provision_type], directory)] == [
        "visit-assessment: tasks[0].owner: 'income-oficer' is not a person, team, role or "
        'agency in the directory (did you mean "income-officer"?)'
    ]


async def test_sync_adds_updates_and_deactivates(
    sessions: async_sessionmaker[AsyncSession],
):
    async with sessions.begin() as session:
        first = await sync_directory(session, Directory.model_validate(SMALL), T1)
    assert sorted(first.added) == [
        "group:arrears-panel",
        "person:ali",
        "person:bo",
        "person:dee",
        "role:income-officer",
        "team:income-team",
    ]
    assert (first.updated, first.deactivated) == ([], [])

    async with sessions.begin() as session:
        again = await sync_directory(session, Directory.model_validate(SMALL), T2)
    assert not again.changed

    changed = yaml.safe_load(yaml.safe_dump(SMALL))
    changed["people"] = [p for p in changed["people"] if p["id"] != "bo"]  # Bo left
    changed["people"][1]["email"] = "ali.new@example.org"
    changed["people"][0]["roles"] = ["income-officer"]
    changed["people"].append({"id": "cy", "name": "Cy", "email": "cy@example.org"})
    changed["stakeholder_groups"][0]["members"] = [{"person": "ali"}]
    async with sessions.begin() as session:
        report = await sync_directory(session, Directory.model_validate(changed), T2)
    assert report.added == ["person:cy"]
    assert sorted(report.updated) == ["group:arrears-panel", "person:ali", "person:dee"]
    assert report.deactivated == ["person:bo"]

    async with sessions() as session:
        bo = await session.get(Person, "bo")
        assert bo is not None and bo.active is False and bo.updated_at == T2
        ali = await session.get(Person, "ali")
        assert ali is not None and ali.email == "ali.new@example.org" and ali.updated_at == T2
        members = (await session.scalars(select(GroupMember))).all()
        assert [(m.person_id, m.address) for m in members] == [("ali", None)]
        listing = await list_directory(session)
        everyone = await list_directory(session, include_inactive=True)
    assert [p["id"] for p in listing["people"]] == ["ali", "cy", "dee"]
    assert [(p["id"], p["active"]) for p in everyone["people"]] == [
        ("ali", True),
        ("bo", False),
        ("cy", True),
        ("dee", True),
    ]
    assert next(p for p in listing["people"] if p["id"] == "dee")["roles"] == ["income-officer"]

    async with sessions.begin() as session:  # Bo comes back
        back = await sync_directory(session, Directory.model_validate(SMALL), T2)
    assert "person:bo" in back.updated and "person:cy" in back.deactivated


# --- memberships with periods -----------------------------------------------------------------


def with_members(*members: dict[str, str]) -> Directory:
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["stakeholder_groups"][0]["members"] = list(members)
    return Directory.model_validate(data)


async def test_memberships_keep_their_periods_and_a_member_may_rejoin(
    sessions: async_sessionmaker[AsyncSession],
):
    left = with_members(
        {"person": "dee", "until": "2027-03-31"},
        {"person": "dee", "from": "2027-09-01"},  # back after the summer
        {"person": "ali", "from": "2027-04-01"},
        {"address": "advice@agency.example.org"},
    )
    async with sessions.begin() as session:
        await sync_directory(session, left, T1)
    async with sessions.begin() as session:
        assert not (await sync_directory(session, left, T2)).changed
    async with sessions() as session:
        stored = (await session.scalars(select(GroupMember).order_by(GroupMember.id))).all()
        listing = await list_directory(session)
    assert [(m.person_id, m.effective_from, m.effective_to) for m in stored] == [
        ("dee", None, date(2027, 3, 31)),
        ("dee", date(2027, 9, 1), None),
        ("ali", date(2027, 4, 1), None),
        (None, None, None),
    ]
    assert listing["stakeholder_groups"][0]["members"] == [
        {"person": "dee", "until": "2027-03-31"},
        {"person": "dee", "from": "2027-09-01"},
        {"person": "ali", "from": "2027-04-01"},
        {"address": "advice@agency.example.org", "name": None},
    ]

    stays = with_members(
        {"person": "dee"}, {"person": "ali", "from": "2027-04-01", "until": "2027-12-31"}
    )
    async with sessions.begin() as session:
        report = await sync_directory(session, stays, T2)
    assert report.updated == ["group:arrears-panel"]
    async with sessions() as session:
        stored = (await session.scalars(select(GroupMember).order_by(GroupMember.id))).all()
    assert [(m.person_id, m.effective_from, m.effective_to) for m in stored] == [
        ("dee", None, None),  # the same stretch, no longer ending
        ("ali", date(2027, 4, 1), date(2027, 12, 31)),
    ]


def test_membership_dates_are_checked_with_file_and_field(tmp_path: Path):
    data = yaml.safe_load(yaml.safe_dump(SMALL))
    data["stakeholder_groups"][0]["members"] = [
        {"person": "dee", "from": "2027-04-01", "until": "2027-03-31"},
        {"person": "ali", "from": "1 April"},
    ]
    path = tmp_path / "directory.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)
    assert invalid.value.problems == [
        f"{path}: stakeholder_groups[0].members[0].until: 2027-03-31 is before `from` "
        "2027-04-01; `until` is the last day of the membership, so it cannot come before the "
        "first",
        f'{path}: stakeholder_groups[0].members[1].from: "1 April" is not a day; write the '
        "date alone as YYYY-MM-DD, e.g. 2027-04-01",
    ]

    data["stakeholder_groups"][0]["members"] = [
        {"person": "dee", "until": "2027-04-01"},
        {"person": "dee", "from": "2027-04-01"},
    ]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DirectoryInvalid) as invalid:
        load_directory(path)
    assert invalid.value.problems == [
        f"{path}: stakeholder_groups[0].members[1]: 'dee' is listed twice in this group for "
        "days in common, at members[0] (until 2027-04-01) and here (from 2027-04-01); give "
        "each stretch of membership its own `from` and `until`, or remove one"
    ]
