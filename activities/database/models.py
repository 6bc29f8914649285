"""The tables: the directory, published definitions and the case register.

Timestamps are `UtcDateTime` and documents `JsonDocument`, so a row reads back the same
on SQLite and PostgreSQL. Nothing here has a server-side default: every value is written
by the code, which is what lets a replayed write produce exactly the same row.

Directory rows refer to each other (a team's manager is a person, a person's team is a
team) without foreign keys: the directory file is validated as a whole before it is
synced, and a cycle of foreign keys would force an insertion order on every sync.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .columns import JsonDocument, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints, so that later migrations can alter them on SQLite (batch mode)."""

ID = String(64)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDocument}


# --- directory ------------------------------------------------------------------------


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[str | None] = mapped_column(ID)
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class Role(Base):
    """A job that owns work (`income-officer`), held by people and belonging to a team."""

    __tablename__ = "roles"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class Person(Base):
    """Someone who owns cases or tasks; kept (inactive) after they leave, for history."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    team_id: Mapped[str | None] = mapped_column(ID, index=True)
    manager_id: Mapped[str | None] = mapped_column(ID)
    login: Mapped[str | None] = mapped_column(String(200), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class PersonRole(Base):
    __tablename__ = "person_roles"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"), primary_key=True)


class Service(Base):
    """Another system that signs its requests: the tasks it may complete, whether it may
    open cases, the further permissions it `may` hold (documents: lists of ids)."""

    __tablename__ = "services"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tasks: Mapped[dict[str, Any]]
    open_cases: Mapped[bool] = mapped_column(Boolean)
    may: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class Agency(Base):
    """A partner agency: owns tasks of cases, and completes only its own."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class StakeholderGroup(Base):
    """A named set of people and external addresses told about a case or task."""

    __tablename__ = "stakeholder_groups"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class GroupMember(Base):
    """One membership of a group: a person of the directory or an external email address,
    from ``effective_from`` until ``effective_to`` (both days included; none: open).

    Someone who leaves and rejoins has a row for each stretch, so the unique constraints
    include ``effective_from``; the directory file is checked for overlapping stretches
    before it is synced (a NULL start is never equal to another in SQL).
    """

    __tablename__ = "group_members"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (address IS NULL)", name="person_or_address"),
        UniqueConstraint("group_id", "person_id", "effective_from"),
        UniqueConstraint("group_id", "address", "effective_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("stakeholder_groups.id"))
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    address: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


# --- published definitions ------------------------------------------------------------


class PublishedDefinition(Base):
    """One immutable version of a provision type, as it was published, with the period
    it is in effect (from its content; both days included, none: open). On a day several
    versions cover, the highest version number is in effect: a later publish supersedes."""

    __tablename__ = "published_definitions"
    __table_args__ = (Index(None, "type_id", "content_hash"),)

    type_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class WithdrawnType(Base):
    """A provision type taken out of use from a day on: no version of it is in effect on
    that day or after (`definitions_store.in_effect`), whatever was published; cases that
    opened on it before run on."""

    __tablename__ = "withdrawn_types"

    type_id: Mapped[str] = mapped_column(ID, primary_key=True)
    from_day: Mapped[date] = mapped_column(Date)
    withdrawn_at: Mapped[datetime]
    withdrawn_by: Mapped[str] = mapped_column(String(200))


# --- case register --------------------------------------------------------------------


class CaseRecord(Base):
    """A case as the register knows it; ``last_seq`` is the log position it reflects.
    ``opened_from`` and ``follow_on_ref`` link a chain of cases both ways."""

    __tablename__ = "cases"
    __table_args__ = (
        Index(None, "type_id", "status"),
        Index(None, "owner", "status"),
        Index(None, "tenant_ref"),
    )

    case_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200))
    type_id: Mapped[str] = mapped_column(ID)
    type_version: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    tenant_ref: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(64))
    opened_from: Mapped[str | None] = mapped_column(String(100), index=True)
    """Of a follow-on case: the case whose outcome opened it."""
    follow_on_ref: Mapped[str | None] = mapped_column(String(100))
    """The follow-on case this case's outcome opened, once it is open."""
    updated_at: Mapped[datetime]
    last_seq: Mapped[int] = mapped_column(Integer)
    first_run_id: Mapped[str | None] = mapped_column(String(64))
    """The first run of the case's workflow: which case of this reference the row is
    (`RegisterUpdate.first_run_id`); none for a row from before it, until its case writes."""


class TaskRecord(Base):
    """A task instance of a case; ``last_seq`` is the case log position it reflects.

    Its due points (``warning_at``, ``due_at``), ``sla_state``, ``held``, ``waits_for``
    and ``opens_at`` are as the case stood at that write: what the worklist reads
    (`worklist.py`), which works the state out again at the time of reading.
    """

    __tablename__ = "case_tasks"
    __table_args__ = (Index(None, "owner", "status"), Index(None, "status", "due_at"))

    case_ref: Mapped[str] = mapped_column(ForeignKey("cases.case_ref"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # place in the execution plan, from 0
    task_id: Mapped[str] = mapped_column(ID)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(200))
    mandatory: Mapped[bool] = mapped_column(Boolean)
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(64))
    responses: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    last_seq: Mapped[int] = mapped_column(Integer)
    occurrence: Mapped[int | None] = mapped_column(Integer)  # in a recurring task's series
    opens_at: Mapped[datetime | None]  # when a blocked task opens, where that is known
    warning_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    sla_state: Mapped[str | None] = mapped_column(String(32))
    # None on rows written before 0004, or by a worker of an older release still running
    # while a new one is deployed: nothing known, so nothing refused.
    held: Mapped[bool | None] = mapped_column(Boolean)
    waits_for: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    """One entry of a case's log. Append-only: rows are inserted, never changed."""

    __tablename__ = "case_events"

    case_ref: Mapped[str] = mapped_column(ForeignKey("cases.case_ref"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(200))
    task_key: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)


# The outbox is declared in its own module; importing it here puts its table on
# `Base.metadata` wherever the models are loaded (migrations, drift checks, tests).
from . import notifications as _notifications  # noqa: E402, F401
