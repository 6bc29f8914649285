"""Who an escalation reaches: the rule's `Recipients` resolved against the directory tables.

An owner id names a person (their email), a team (its shared mailbox, or its active
members when it has none) or a role (every active person holding it). The owner's
manager is the person's manager, the team's manager, or the manager of the role's team.
A stakeholder group reaches its active people and its external addresses whose membership
is in effect on the day the escalation fired (`fired_on`: its `from` and `until`, both days
included, in Europe/London); fixed addresses are used as given. Inactive people, teams,
roles and groups reach nobody. The activity resolves when it runs, so the directory is
read as it stands when the escalation fires, not as it stood when the case opened.

An owner who has left (a person made inactive by `directory sync` while their cases are
open) is told in their place: their manager if active, else their team (its mailbox, or
its active members). Their cases still have a target, and the breach of one is exactly
what someone must hear; the outbox row names who was told, and the reason line says
whom it stood in for.

Whatever the rule asked for that reaches nobody is returned in ``unreached`` with the
reason, so the caller can record it as a failed notification: an escalation that tells
no one must be visible in the outbox, not silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.contracts import Recipients
from activities.database.models import GroupMember, Person, PersonRole, Role, StakeholderGroup, Team
from definitions.periods import DEFAULT_TIME_ZONE

DIRECTORY_TIME_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)
"""The zone the directory's membership dates are in."""

Row = TypeVar("Row")


@dataclass(frozen=True)
class Recipient:
    """One address to tell. ``kind``: ``person``, ``team`` or ``external``; ``id`` is the
    directory id (``None`` for an external address)."""

    id: str | None
    name: str
    email: str
    kind: str


@dataclass(frozen=True)
class Unreached:
    """Part of a rule that reaches nobody: ``what`` is e.g. ``owner:tom-bennett``."""

    what: str
    reason: str


@dataclass
class Resolution:
    recipients: list[Recipient] = field(default_factory=list)
    unreached: list[Unreached] = field(default_factory=list)


def fired_on(moment: datetime) -> date:
    """The day an escalation fired at ``moment``, as the directory's dates count days."""
    return moment.astimezone(DIRECTORY_TIME_ZONE).date()


async def resolve_recipients(
    session: AsyncSession, wanted: Recipients, owner: str, *, on: date | None = None
) -> Resolution:
    """The recipients of ``wanted`` for ``owner``, de-duplicated by address, in rule order:
    owner, owner's manager, groups, fixed addresses. Group members are those whose
    membership is in effect on ``on`` (today by default)."""
    directory = _Directory(session, on or fired_on(datetime.now(UTC)))
    resolution = Resolution()
    found: list[Recipient] = []
    if wanted.owner:
        reached = await directory.owner(owner)
        if not reached:
            reached = await directory.in_place_of(owner)
        if not reached:
            resolution.unreached.append(Unreached(f"owner:{owner}", await directory.why(owner)))
        found += reached
    if wanted.owner_manager:
        manager = await directory.manager_of(owner)
        if manager is None:
            resolution.unreached.append(
                Unreached(f"manager:{owner}", f"no active manager for owner {owner}")
            )
        else:
            found.append(manager)
    for group_id in wanted.groups:
        reached = await directory.group(group_id)
        if not reached:
            resolution.unreached.append(
                Unreached(f"group:{group_id}", f"no address in stakeholder group {group_id}")
            )
        found += reached
    found += [Recipient(None, address, address, "external") for address in wanted.addresses]
    seen: set[str] = set()
    for recipient in found:
        if recipient.email.lower() not in seen:
            seen.add(recipient.email.lower())
            resolution.recipients.append(recipient)
    return resolution


class _Directory:
    def __init__(self, session: AsyncSession, on: date) -> None:
        self._session = session
        self._on = on

    async def owner(self, owner: str) -> list[Recipient]:
        person = await self._person(owner)
        if person is not None:
            return [person]
        team = await self._active(Team, owner)
        if team is not None:
            if team.email:
                return [Recipient(team.id, team.name, team.email, "team")]
            return await self._people(select(Person).where(Person.team_id == team.id))
        role = await self._active(Role, owner)
        if role is not None:
            holders = select(Person).join(PersonRole, PersonRole.person_id == Person.id)
            return await self._people(holders.where(PersonRole.role_id == role.id))
        return []

    async def in_place_of(self, owner: str) -> list[Recipient]:
        """Who is told for an owner who has left the directory: their manager, else their
        team; nobody for an owner who has not left (or was never in it)."""
        person = await self._session.get(Person, owner)
        if person is None or person.active:
            return []
        if person.manager_id and (manager := await self._person(person.manager_id)):
            return [manager]
        if person.team_id:
            return await self.owner(person.team_id)
        return []

    async def why(self, owner: str) -> str:
        """Why the owner part of a rule reaches nobody, in a line."""
        for model in (Person, Team, Role):
            entry = await self._session.get(model, owner)
            if entry is None:
                continue
            if not getattr(entry, "active", False):
                return (
                    f"owner {owner} has left the directory, and has no active manager or team "
                    "to tell in their place"
                )
            return f"no address for owner {owner}"
        return f"owner {owner} is not in the directory"

    async def manager_of(self, owner: str) -> Recipient | None:
        manager_id: str | None = None
        # A person who has left still has the manager their cases escalate to.
        if (person := await self._session.get(Person, owner)) is not None:
            manager_id = person.manager_id
        elif (team := await self._active(Team, owner)) is not None:
            manager_id = team.manager_id
        elif (role := await self._active(Role, owner)) is not None and role.team_id:
            team = await self._active(Team, role.team_id)
            manager_id = team.manager_id if team else None
        return await self._person(manager_id) if manager_id else None

    async def group(self, group_id: str) -> list[Recipient]:
        if await self._active(StakeholderGroup, group_id) is None:
            return []
        first, last = GroupMember.effective_from, GroupMember.effective_to
        query = (
            select(GroupMember, Person)
            .outerjoin(Person, Person.id == GroupMember.person_id)
            .where(
                GroupMember.group_id == group_id,
                or_(first.is_(None), first <= self._on),
                or_(last.is_(None), last >= self._on),
            )
            .order_by(GroupMember.id)
        )
        reached = []
        for member, person in (await self._session.execute(query)).all():
            if member.address:
                name = member.name or member.address
                reached.append(Recipient(None, name, member.address, "external"))
            elif person is not None and person.active:
                reached.append(_person(person))
        return reached

    async def _person(self, person_id: str) -> Recipient | None:
        person = await self._active(Person, person_id)
        return _person(person) if person is not None else None

    async def _people(self, query: Select[Any]) -> list[Recipient]:
        rows = await self._session.scalars(query.where(Person.active.is_(True)).order_by(Person.id))
        return [_person(p) for p in rows.all()]

    async def _active(self, model: type[Row], entry_id: str) -> Row | None:
        row = await self._session.get(model, entry_id)
        return row if row is not None and getattr(row, "active", False) else None


def _person(person: Person) -> Recipient:
    return Recipient(person.id, person.name, person.email, "person")
