"""The directory: people, teams, roles, stakeholder groups, services and partner
agencies, from ``directory.yaml``.

The file is the source of truth. `sync_directory` makes the database match it: it adds
what is new, updates what changed, and deactivates whatever the file no longer lists.
Nothing is deleted, so cases and logs that name someone who left still resolve.
Case and task owners name a person, a team or a role (a task's owner may also be a partner
agency); notifications go to a group. Services (other systems) and agencies are identities
that sign requests (`starter.identities`); people may give the `login` they sign in with.

A group membership may have a period, ``from`` and ``until`` (both days included, in
Europe/London): someone who leaves a group on a date is not told after it, someone who
joins is told from then, and someone who rejoins has one entry for each stretch.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

import definitions
from casemodel.permissions import ALL as PERMISSIONS
from casemodel.permissions import ANY_TASK, OPEN_CASE
from definitions.addresses import EmailAddress
from definitions.loader import Problem, default_definitions_dir
from definitions.periods import Period
from definitions.references import owner_references
from definitions.schema import CalendarDate, Identifier, ProvisionType
from definitions.yaml_files import BoundedLoader, DefinitionFileRefused, read_definition_text

from .models import (
    Agency,
    GroupMember,
    Person,
    PersonRole,
    Role,
    Service,
    StakeholderGroup,
    Team,
)

ENV_VAR = "SUPPORT_PROVISION_DIRECTORY"
FILE_NAME = "directory.yaml"


# --- the file -------------------------------------------------------------------------


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamEntry(_Entry):
    """A team: owns work as a whole, and has a manager who hears about escalations."""

    id: Identifier = Field(description="Stable id, used as an owner in the definitions.")
    name: str = Field(min_length=1)
    manager: Identifier | None = Field(default=None, description="Person who leads the team.")
    email: EmailAddress | None = Field(default=None, description="The team's shared mailbox.")


class RoleEntry(_Entry):
    """A job that owns work, such as `income-officer`; people hold roles."""

    id: Identifier = Field(description="Stable id, used as an owner in the definitions.")
    name: str = Field(min_length=1)
    team: Identifier | None = Field(default=None, description="Team the role belongs to.")
    description: str = ""


class PersonEntry(_Entry):
    """Someone who owns cases and tasks; remove them from the file when they leave."""

    id: Identifier = Field(description="Stable id, e.g. `amara-okafor`; never reuse one.")
    name: str = Field(min_length=1)
    email: EmailAddress
    team: Identifier | None = Field(default=None, description="Id of the person's team.")
    manager: Identifier | None = Field(default=None, description="Id of their manager.")
    roles: tuple[Identifier, ...] = Field(default=(), description="Roles the person holds.")
    login: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The login they sign in with, when it is not their id (the CLI maps it).",
    )


class MemberEntry(_Entry):
    """A group member: ``person: <id>`` or ``address: <email>`` (an external contact),
    told from ``from`` until ``until`` when those are given."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    person: Identifier | None = None
    address: EmailAddress | None = None
    name: str | None = Field(default=None, description="Who an external address reaches.")
    from_: CalendarDate | None = Field(
        default=None,
        alias="from",
        description="First day the member is told (included), YYYY-MM-DD in Europe/London; "
        "none: since always.",
    )
    until: CalendarDate | None = Field(
        default=None,
        description="Last day the member is told (included: someone who leaves on 31 March "
        "is still told that day); none: no end.",
    )

    @field_validator("until")
    @classmethod
    def _until_after_from(cls, until: Any, info: ValidationInfo) -> Any:
        start = info.data.get("from_")
        if until is not None and start is not None and until < start:
            raise ValueError(
                f"{until} is before `from` {start}; `until` is the last day of the "
                "membership, so it cannot come before the first"
            )
        return until

    @model_validator(mode="after")
    def _person_or_address(self) -> MemberEntry:
        if (self.person is None) == (self.address is None):
            raise ValueError("a member is either `person: <id>` or `address: <email>`")
        return self

    @property
    def period(self) -> Period:
        return Period(self.from_, self.until)


class GroupEntry(_Entry):
    """A stakeholder group, e.g. a safeguarding panel or a partner agency contact list."""

    id: Identifier = Field(description="Stable id, named by escalation rules.")
    name: str = Field(min_length=1)
    description: str = ""
    members: tuple[MemberEntry, ...] = ()


class ServiceEntry(_Entry):
    """Another system that sends requests (the housing management system, a tenant
    portal): it may complete the tasks listed, open cases if allowed, and hold the
    permissions it `may` on every case."""

    id: Identifier = Field(description="Stable id: the `by` its requests are logged with.")
    name: str = Field(min_length=1)
    tasks: tuple[str, ...] = Field(
        default=(), description=f"Task ids it may complete; `{ANY_TASK}` for every task."
    )
    open_cases: bool = Field(default=False, description="Whether it may open cases.")
    may: tuple[str, ...] = Field(
        default=(),
        description="Further permissions it holds on every case, e.g. `pause-case`.",
    )

    @field_validator("may")
    @classmethod
    def _known_permissions(cls, may: tuple[str, ...]) -> tuple[str, ...]:
        for permission in may:
            if permission not in PERMISSIONS:
                raise ValueError(
                    f"{permission!r} is not a permission; permissions are {', '.join(PERMISSIONS)}"
                )
        return may

    @property
    def grants(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*((OPEN_CASE,) if self.open_cases else ()), *self.may)))


class AgencyEntry(_Entry):
    """A partner agency: may own tasks, and completes only its own."""

    id: Identifier = Field(description="Stable id, used as a task owner in the definitions.")
    name: str = Field(min_length=1)
    email: EmailAddress | None = None


class Directory(_Entry):
    """The contents of ``directory.yaml``, checked as a whole."""

    teams: tuple[TeamEntry, ...] = ()
    roles: tuple[RoleEntry, ...] = ()
    people: tuple[PersonEntry, ...] = ()
    stakeholder_groups: tuple[GroupEntry, ...] = ()
    services: tuple[ServiceEntry, ...] = ()
    agencies: tuple[AgencyEntry, ...] = ()


SECTIONS: dict[str, type[_Entry]] = {
    "teams": TeamEntry,
    "roles": RoleEntry,
    "people": PersonEntry,
    "stakeholder_groups": GroupEntry,
    "services": ServiceEntry,
    "agencies": AgencyEntry,
}
"""Each section of the file and the entry it lists, in the order the file is checked."""


class DirectoryInvalid(Exception):
    """The directory file cannot be used; ``problems`` are ``file: field: message`` lines,
    ``located`` the same problems with file, field and message apart."""

    def __init__(self, located: list[Problem]) -> None:
        self.located = located
        self.problems = [str(problem) for problem in located]
        super().__init__("\n".join(self.problems))


def default_directory_file() -> Path:
    """``$SUPPORT_PROVISION_DIRECTORY``; else ``directory.yaml`` in the definitions
    directory, if there is one; else the one shipped beside the catalog."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    beside_catalog = default_definitions_dir() / FILE_NAME
    if beside_catalog.is_file():
        return beside_catalog
    return Path(definitions.__file__).parent / FILE_NAME


def load_directory(path: Path) -> Directory:
    """The directory in ``path``; raises `DirectoryInvalid` naming every problem.

    Each entry is checked on its own (`_read_entries`), and the duplicate ids and
    references are checked on the entries that could be read, so one run reports every
    problem, not the fields first and the references once the fields are right.
    """
    try:
        # Read within the limits of the definitions files: `definitions validate` reads it.
        data = yaml.load(read_definition_text(Path(path)), Loader=BoundedLoader) or {}  # noqa: S506
    except OSError as error:
        raise _invalid(path, f"could not be read: {error.strerror or error}") from None
    except DefinitionFileRefused as refused:
        raise _invalid(path, str(refused)) from None
    except yaml.YAMLError as error:
        raise _invalid(path, f"is not valid YAML: {error}") from None
    except ValueError as error:  # not UTF-8, or a number with thousands of digits
        raise _invalid(path, f"could not be read: {error}") from None
    reading = _read_entries(data)
    problems = [*reading.problems, *_reference_problems(reading.directory, reading.order)]
    if problems:
        raise DirectoryInvalid([Problem(str(path), where, message) for where, message in problems])
    return reading.directory


def _invalid(path: Path, message: str) -> DirectoryInvalid:
    return DirectoryInvalid([Problem(str(path), "", message)])


@dataclass(frozen=True)
class _FileOrder:
    """Where each entry of a directory stands in its file.

    ``kept`` gives, by section, the position in the file of each entry that could be read,
    so that a problem names the entry where the reader will find it. ``unread`` gives, by
    section, the id at each position whose entry could not be read (its own problems are
    reported). Such an id still counts as taken, so a second entry with it is a duplicate;
    and a reference to it is not called unknown: the entry is in the file, and saying it
    is not would send the reader looking for the wrong mistake.
    """

    kept: Mapping[str, list[int]]
    unread: Mapping[str, dict[int, str]]
    members: Mapping[int, list[tuple[int, MemberEntry]]]
    """By the place in the file of each stakeholder group, read or not, the members of it
    that could be read, each with its place in the group's list: a group's members are
    checked one by one, so one bad member (or a mistake of the group's own) hides none of
    the other members' problems."""

    @classmethod
    def of(cls, directory: Directory) -> _FileOrder:
        """The order of a directory read whole: every entry where it is."""
        kept = {s: list(range(len(getattr(directory, s)))) for s in SECTIONS}
        groups = directory.stakeholder_groups
        return cls(kept, {}, {i: list(enumerate(g.members)) for i, g in enumerate(groups)})

    def at(self, section: str, index: int) -> str:
        """``section[n]``: the place in the file of the section's ``index``-th kept entry."""
        return f"{section}[{self.kept[section][index]}]"

    def ids(self, directory: Directory, section: str) -> list[tuple[str, str]]:
        """``(place, id)`` of every entry of the section with an id, read or not, in file
        order."""
        placed = dict(self.unread.get(section, {}))
        for index, entry in zip(self.kept[section], getattr(directory, section), strict=True):
            placed[index] = entry.id
        return [(f"{section}[{index}]", placed[index]) for index in sorted(placed)]

    def unread_ids(self, section: str) -> set[str]:
        return set(self.unread.get(section, {}).values())

    def group_members(self) -> Iterator[tuple[str, list[tuple[int, MemberEntry]]]]:
        """``(place, members)`` of every stakeholder group, in file order: its members
        that could be read, each with its place in the group's list."""
        for index in sorted(self.members):
            yield f"stakeholder_groups[{index}]", self.members[index]


@dataclass(frozen=True)
class _Reading:
    """What could be read of a directory file: the entries that validated, the
    ``(field, message)`` problems of those that did not, and where each stands."""

    directory: Directory
    problems: list[tuple[str, str]]
    order: _FileOrder


def _read_entries(data: Any) -> _Reading:
    """The file's entries, validated one by one, so that one bad field costs only its own
    entry; a stakeholder group's members too, each on its own (`_read_members`)."""
    if not isinstance(data, Mapping):
        try:
            Directory.model_validate(data)
        except ValidationError as error:
            return _Reading(Directory(), _pydantic_problems(error, ()), _FileOrder.of(Directory()))
    # The sections' shape (known names, each a list) with pydantic's words; entries next.
    shape = {k: [] if isinstance(v, list | tuple) else v for k, v in data.items()}
    try:
        Directory.model_validate(shape)
        problems = []
    except ValidationError as error:
        problems = _pydantic_problems(error, ())
    kept: dict[str, list[Any]] = {section: [] for section in SECTIONS}
    places: dict[str, list[int]] = {section: [] for section in SECTIONS}
    unread: dict[str, dict[int, str]] = {}
    members: dict[int, list[tuple[int, MemberEntry]]] = {}
    for section, model in SECTIONS.items():
        entries = data.get(section)
        for index, raw in enumerate(entries if isinstance(entries, list | tuple) else ()):
            if model is GroupEntry:
                raw, members[index], found = _read_members(raw, (section, index))
                problems += found
            try:
                kept[section].append(model.model_validate(raw))
            except ValidationError as error:
                problems += _pydantic_problems(error, (section, index))
                raw_id = raw.get("id") if isinstance(raw, Mapping) else None
                if isinstance(raw_id, str) and not _at_field(error, "id"):
                    unread.setdefault(section, {})[index] = raw_id
            else:
                places[section].append(index)
    return _Reading(Directory(**kept), problems, _FileOrder(places, unread, members))


def _read_members(
    raw: Any, at: tuple[Any, ...]
) -> tuple[Any, list[tuple[int, MemberEntry]], list[tuple[str, str]]]:
    """A group's members validated one by one, as entries are: the group with those that
    could be read in place of its list, those members with their places in the list, and
    the problems of the others. A list that is not one is left to the group to report."""
    listed = raw.get("members") if isinstance(raw, Mapping) else None
    if not isinstance(listed, list | tuple):
        return raw, [], []
    read: list[tuple[int, MemberEntry]] = []
    problems: list[tuple[str, str]] = []
    for k, member in enumerate(listed):
        try:
            read.append((k, MemberEntry.model_validate(member)))
        except ValidationError as error:
            problems += _pydantic_problems(error, (*at, "members", k))
    return {**raw, "members": [member for _, member in read]}, read, problems


def _at_field(error: ValidationError, name: str) -> bool:
    return any(e["loc"][:1] == (name,) for e in error.errors())


def _pydantic_problems(error: ValidationError, at: tuple[Any, ...]) -> list[tuple[str, str]]:
    return [(_location((*at, *e["loc"])), _message(e)) for e in error.errors()]


def check_directory(directory: Directory) -> list[str]:
    """``field: message`` for each duplicate id and each reference that does not resolve."""
    return [f"{where}: {message}" for where, message in _reference_problems(directory)]


def owner_ids(directory: Directory) -> set[str]:
    """Ids a case or task may be owned by: people, teams, roles and partner agencies (a
    case owned by an agency is refused when it starts, `owner_refusal`)."""
    entries: Iterable[Any] = (
        *directory.people,
        *directory.teams,
        *directory.roles,
        *directory.agencies,
    )
    return {entry.id for entry in entries}


def group_ids(directory: Directory) -> set[str]:
    """Ids of the stakeholder groups, which escalation rules notify."""
    return {group.id for group in directory.stakeholder_groups}


def directory_ids(directory: Directory) -> set[str]:
    """Every id in the directory: owners and stakeholder groups."""
    return owner_ids(directory) | group_ids(directory)


@dataclass(frozen=True)
class OwnerProblem:
    """An owner in a provision type that the directory does not know."""

    type_id: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.type_id}: {self.location}: {self.message}"


def owner_problems(
    types: Iterable[ProvisionType | Mapping[str, Any]], directory: Directory
) -> list[OwnerProblem]:
    """Each owner named in ``types`` (default owner, task owners) the directory lacks.

    A type may also be the raw mapping of a types file the schema refused.
    """
    known = owner_ids(directory)
    return [
        OwnerProblem(
            ref.type_id,
            ref.location,
            f"{ref.target!r} is not a person, team, role or agency in the directory"
            f"{_did_you_mean(ref.target, known)}",
        )
        for ref in owner_references(types)
        if ref.target not in known
    ]


# --- syncing --------------------------------------------------------------------------


@dataclass
class SyncReport:
    """What a sync changed, as ``kind:id`` strings such as ``person:amara-okafor``."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated)


async def sync_directory(
    session: AsyncSession, directory: Directory, now: datetime | None = None
) -> SyncReport:
    """Make the database match ``directory``, in the caller's transaction."""
    problems = _reference_problems(directory)
    if problems:
        # Only a directory built in code gets here: a file's problems are found reading it.
        raise DirectoryInvalid([Problem("the directory", *problem) for problem in problems])
    now = now or datetime.now(UTC)
    report = SyncReport()
    sync = _Sync(session, now, report)
    await sync.table(
        Team,
        {
            t.id: {"name": t.name, "manager_id": t.manager, "email": t.email}
            for t in directory.teams
        },
    )
    await sync.table(
        Role,
        {
            r.id: {"name": r.name, "team_id": r.team, "description": r.description}
            for r in directory.roles
        },
    )
    people = await sync.table(
        Person,
        {
            p.id: {
                "name": p.name,
                "email": p.email,
                "team_id": p.team,
                "manager_id": p.manager,
                "login": p.login,
            }
            for p in directory.people
        },
    )
    await sync.table(
        Service,
        {
            s.id: {
                "name": s.name,
                "tasks": {"tasks": list(s.tasks)},
                "open_cases": s.open_cases,
                "may": {"may": list(s.may)},
            }
            for s in directory.services
        },
    )
    await sync.table(Agency, {a.id: {"name": a.name, "email": a.email} for a in directory.agencies})
    groups = await sync.table(
        StakeholderGroup,
        {
            g.id: {"name": g.name, "description": g.description}
            for g in directory.stakeholder_groups
        },
    )
    await session.flush()
    for person_id in await _sync_roles(session, directory.people):
        sync.updated(people[person_id])
    for group in directory.stakeholder_groups:
        if await _sync_members(session, group):
            sync.updated(groups[group.id])
    await session.flush()
    return report


_KIND = {
    Team: "team",
    Role: "role",
    Person: "person",
    StakeholderGroup: "group",
    Service: "service",
    Agency: "agency",
}


@dataclass
class _Sync:
    session: AsyncSession
    now: datetime
    report: SyncReport

    async def table(self, model: Any, wanted: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Add, update and deactivate rows of ``model``; every wanted row, by id."""
        rows = {row.id: row for row in (await self.session.scalars(select(model))).all()}
        for entry_id, values in wanted.items():
            row = rows.get(entry_id)
            if row is None:
                rows[entry_id] = model(id=entry_id, active=True, updated_at=self.now, **values)
                self.session.add(rows[entry_id])
                self.report.added.append(_name(rows[entry_id]))
                continue
            values = {**values, "active": True}
            if any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                self.updated(row)
        for entry_id, row in rows.items():
            if entry_id not in wanted and row.active:
                row.active = False
                row.updated_at = self.now
                self.report.deactivated.append(_name(row))
        return rows

    def updated(self, row: Any) -> None:
        row.updated_at = self.now
        name = _name(row)
        if name not in self.report.updated and name not in self.report.added:
            self.report.updated.append(name)


def _name(row: Any) -> str:
    return f"{_KIND[type(row)]}:{row.id}"


async def _sync_roles(session: AsyncSession, people: Iterable[PersonEntry]) -> set[str]:
    """Give each person exactly the roles the file lists; the ids of those who changed."""
    held: dict[str, dict[str, PersonRole]] = {}
    for link in (await session.scalars(select(PersonRole))).all():
        held.setdefault(link.person_id, {})[link.role_id] = link
    changed = set()
    for person in people:
        links = held.get(person.id, {})
        wanted = set(person.roles)
        if set(links) == wanted:
            continue
        for role_id, link in links.items():
            if role_id not in wanted:
                await session.delete(link)
        session.add_all(
            PersonRole(person_id=person.id, role_id=r) for r in sorted(wanted - set(links))
        )
        changed.add(person.id)
    return changed


async def _sync_members(session: AsyncSession, group: GroupEntry) -> bool:
    """Give the group exactly the memberships the file lists, each a member and the first
    day of its stretch (someone who rejoins has two); a changed name or last day updates
    the row. Whether anything changed."""
    query = select(GroupMember).where(GroupMember.group_id == group.id)
    current = {
        (m.person_id, m.address, m.effective_from): m for m in (await session.scalars(query)).all()
    }
    wanted = {(m.person, m.address, m.from_): m for m in group.members}
    changed = False
    for key, member in current.items():
        entry = wanted.get(key)
        if entry is None:
            await session.delete(member)
            changed = True
        elif (member.name, member.effective_to) != (entry.name, entry.until):
            member.name, member.effective_to = entry.name, entry.until
            changed = True
    if changed:
        await session.flush()  # deletions first: a member may move between stretches
    for key, entry in wanted.items():
        if key not in current:
            session.add(
                GroupMember(
                    group_id=group.id,
                    person_id=entry.person,
                    address=entry.address,
                    name=entry.name,
                    effective_from=entry.from_,
                    effective_to=entry.until,
                )
            )
            changed = True
    return changed


# --- reading ------------------------------------------------------------------------


async def list_directory(
    session: AsyncSession, *, include_inactive: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """The directory as stored, as JSON-ready rows by section, each sorted by id."""

    async def rows(model: Any) -> list[Any]:
        query = select(model).order_by(model.id)
        if not include_inactive:
            query = query.where(model.active.is_(True))
        return list((await session.scalars(query)).all())

    roles: dict[str, list[str]] = {}
    for link in (await session.scalars(select(PersonRole).order_by(PersonRole.role_id))).all():
        roles.setdefault(link.person_id, []).append(link.role_id)
    members: dict[str, list[dict[str, Any]]] = {}
    for m in (await session.scalars(select(GroupMember).order_by(GroupMember.id))).all():
        entry = {"person": m.person_id} if m.person_id else {"address": m.address, "name": m.name}
        if m.effective_from is not None:
            entry["from"] = m.effective_from.isoformat()
        if m.effective_to is not None:
            entry["until"] = m.effective_to.isoformat()
        members.setdefault(m.group_id, []).append(entry)

    def plain(row: Any, *names: str) -> dict[str, Any]:
        return {"id": row.id, **{n: getattr(row, n) for n in names}, "active": row.active}

    return {
        "teams": [plain(t, "name", "manager_id", "email") for t in await rows(Team)],
        "roles": [plain(r, "name", "team_id", "description") for r in await rows(Role)],
        "people": [
            {
                **plain(p, "name", "email", "team_id", "manager_id", "login"),
                "roles": roles.get(p.id, []),
            }
            for p in await rows(Person)
        ],
        "stakeholder_groups": [
            {**plain(g, "name", "description"), "members": members.get(g.id, [])}
            for g in await rows(StakeholderGroup)
        ],
        "services": [
            {
                **plain(s, "name", "open_cases"),
                "tasks": list(s.tasks.get("tasks", [])),
                "may": list(s.may.get("may", [])),
            }
            for s in await rows(Service)
        ],
        "agencies": [plain(a, "name", "email") for a in await rows(Agency)],
    }


async def stored_owners(session: AsyncSession) -> dict[str, bool]:
    """Ids a case may be owned by (people, teams and roles) as the database holds them,
    each with whether it is still active."""
    owners: dict[str, bool] = {}
    for model in (Person, Team, Role):  # not agencies: an agency owns tasks, never a case
        for entry_id, active in (await session.execute(select(model.id, model.active))).all():
            owners[entry_id] = active
    return owners


async def inactive_owners(session: AsyncSession, owners: set[str]) -> set[str]:
    """Of `owners`, those that may not own a case: not an active person, team or role of
    the directory in the database. One statement, reading only the ids asked about."""
    found = union_all(
        *(
            select(model.id).where(model.id.in_(list(owners)), model.active.is_(True))
            for model in (Person, Team, Role)
        )
    )
    active = set((await session.execute(found)).scalars())
    return owners - active


async def owner_refusal(session: AsyncSession, owner: str) -> str | None:
    """Why ``owner`` cannot own a new case, or None when it can: it must be an active
    person, team or role of the directory in the database."""
    owners = await stored_owners(session)
    if owners.get(owner):
        return None
    if owner in owners:
        return f"{owner!r} has left the directory (inactive) and cannot own a new case"
    active = [entry_id for entry_id, is_active in owners.items() if is_active]
    return f"{owner!r} is not a person, team or role in the directory{_did_you_mean(owner, active)}"


# --- checking the file ----------------------------------------------------------------


def _reference_problems(
    directory: Directory, order: _FileOrder | None = None
) -> list[tuple[str, str]]:
    """``(field, message)`` for each duplicate id, reference that does not resolve and
    login that signs in two people; ``order`` places each entry in its file."""
    order = order or _FileOrder.of(directory)
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for section in SECTIONS:
        for place, entry_id in order.ids(directory, section):
            if entry_id in seen:
                problems.append(
                    (
                        f"{place}.id",
                        f"{entry_id!r} is already used by {seen[entry_id]}; ids must be unique "
                        "across people, teams, roles, groups, services and agencies",
                    )
                )
            else:
                seen[entry_id] = place
    people = {p.id for p in directory.people}
    teams = {t.id for t in directory.teams}
    roles = {r.id for r in directory.roles}
    checks: list[tuple[str, str | None, set[str], str, set[str]]] = []
    unread_people, unread_teams = order.unread_ids("people"), order.unread_ids("teams")
    for i, t in enumerate(directory.teams):
        at = order.at("teams", i)
        checks.append((f"{at}.manager", t.manager, people, "person", unread_people))
    for i, r in enumerate(directory.roles):
        checks.append((f"{order.at('roles', i)}.team", r.team, teams, "team", unread_teams))
    for i, p in enumerate(directory.people):
        at = order.at("people", i)
        checks.append((f"{at}.team", p.team, teams, "team", unread_teams))
        checks.append((f"{at}.manager", p.manager, people, "person", unread_people))
        for k, role in enumerate(p.roles):
            checks.append((f"{at}.roles[{k}]", role, roles, "role", order.unread_ids("roles")))
    for at, members in order.group_members():
        for k, m in members:
            checks.append((f"{at}.members[{k}].person", m.person, people, "person", unread_people))
    for where, ref, known, kind, unread in checks:
        if ref is not None and ref not in known and ref not in unread:
            problems.append(
                (where, f"{ref!r} is not a {kind} in the directory{_did_you_mean(ref, known)}")
            )
    for at, members in order.group_members():
        problems += _overlapping_memberships(at, members)
    logins: dict[str, str] = {}
    for i, p in enumerate(directory.people):
        if p.login is None:
            continue
        other = logins.get(p.login) or next(
            (q.id for q in directory.people if q.id == p.login and q.id != p.id), None
        )
        if other is not None:
            problems.append(
                (
                    f"{order.at('people', i)}.login",
                    f"{p.login!r} already signs in {other}; a login names one person",
                )
            )
        logins[p.login] = p.id
    return problems


def _overlapping_memberships(
    where: str, members: list[tuple[int, MemberEntry]]
) -> Iterable[tuple[str, str]]:
    """One member listed twice for days in common: on those days, which entry says when
    they joined and left is ambiguous. ``members`` are those of the group at ``where``
    that could be read, each with its place in the group's list."""
    for n, (k, member) in enumerate(members):
        for j, earlier in members[:n]:
            same = (member.person, member.address) == (earlier.person, earlier.address)
            if same and member.period.overlaps(earlier.period):
                who = member.person or member.address
                yield (
                    f"{where}.members[{k}]",
                    f"{who!r} is listed twice in this group for days "
                    f"in common, at members[{j}] ({_dates(earlier.period)}) and here "
                    f"({_dates(member.period)}); give each stretch of membership its own "
                    "`from` and `until`, or remove one",
                )


def _dates(period: Period) -> str:
    return "no dates" if period.is_open else str(period)


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text = f"{text}[{part}]" if isinstance(part, int) else f"{text}.{part}" if text else part
    return text


def _message(error: Any) -> str:
    return str(error["msg"]).removeprefix("Value error, ")


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
