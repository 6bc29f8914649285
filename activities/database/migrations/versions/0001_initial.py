"""Initial schema: the directory, published definitions and the case register.

Revision ID: 0001
Revises:
Create Date: 2026-03-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from activities.database.columns import JsonDocument, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
EMAIL = sa.String(length=320)
NAME = sa.String(length=200)


def _id(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, ID, nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UtcDateTime(), nullable=nullable)


def upgrade() -> None:
    # -- directory
    op.create_table(
        "teams",
        _id("id"),
        sa.Column("name", NAME, nullable=False),
        _id("manager_id", nullable=True),
        sa.Column("email", EMAIL, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    op.create_table(
        "roles",
        _id("id"),
        sa.Column("name", NAME, nullable=False),
        _id("team_id", nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
    )
    op.create_table(
        "people",
        _id("id"),
        sa.Column("name", NAME, nullable=False),
        sa.Column("email", EMAIL, nullable=False),
        _id("team_id", nullable=True),
        _id("manager_id", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(op.f("ix_people_team_id"), "people", ["team_id"])
    op.create_table(
        "person_roles",
        _id("person_id"),
        _id("role_id"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_roles_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_person_roles_role_id_roles")
        ),
        sa.PrimaryKeyConstraint("person_id", "role_id", name=op.f("pk_person_roles")),
    )
    op.create_table(
        "stakeholder_groups",
        _id("id"),
        sa.Column("name", NAME, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stakeholder_groups")),
    )
    op.create_table(
        "group_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _id("group_id"),
        _id("person_id", nullable=True),
        sa.Column("address", EMAIL, nullable=True),
        sa.Column("name", NAME, nullable=True),
        sa.CheckConstraint(
            "(person_id IS NULL) <> (address IS NULL)",
            name=op.f("ck_group_members_person_or_address"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["stakeholder_groups.id"],
            name=op.f("fk_group_members_group_id_stakeholder_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_group_members_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
        sa.UniqueConstraint("group_id", "address", name=op.f("uq_group_members_group_id_address")),
        sa.UniqueConstraint(
            "group_id", "person_id", name=op.f("uq_group_members_group_id_person_id")
        ),
    )

    # -- published definitions
    op.create_table(
        "published_definitions",
        _id("type_id"),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", JsonDocument, nullable=False),
        _at("published_at"),
        sa.Column("published_by", NAME, nullable=False),
        sa.PrimaryKeyConstraint("type_id", "version", name=op.f("pk_published_definitions")),
    )
    op.create_index(
        op.f("ix_published_definitions_type_id_content_hash"),
        "published_definitions",
        ["type_id", "content_hash"],
    )

    # -- case register
    op.create_table(
        "cases",
        sa.Column("case_ref", sa.String(length=100), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        _id("type_id"),
        sa.Column("type_version", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("tenant_ref", sa.String(length=100), nullable=False),
        sa.Column("owner", NAME, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=32), nullable=False),
        _at("opened_at"),
        _at("resolved_at", nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        _at("updated_at"),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("case_ref", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_type_id_status"), "cases", ["type_id", "status"])
    op.create_index(op.f("ix_cases_owner_status"), "cases", ["owner", "status"])
    op.create_index(op.f("ix_cases_tenant_ref"), "cases", ["tenant_ref"])
    op.create_table(
        "case_tasks",
        sa.Column("case_ref", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _id("task_id"),
        sa.Column("name", NAME, nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("owner", NAME, nullable=False),
        sa.Column("mandatory", sa.Boolean(), nullable=False),
        _at("added_at"),
        sa.Column("added_by", NAME, nullable=False),
        _at("opened_at", nullable=True),
        _at("resolved_at", nullable=True),
        sa.Column("resolved_by", NAME, nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("responses", JsonDocument, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_ref"], ["cases.case_ref"], name=op.f("fk_case_tasks_case_ref_cases")
        ),
        sa.PrimaryKeyConstraint("case_ref", "key", name=op.f("pk_case_tasks")),
    )
    op.create_index(op.f("ix_case_tasks_owner_status"), "case_tasks", ["owner", "status"])
    op.create_table(
        "case_events",
        sa.Column("case_ref", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        _at("at"),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("by", NAME, nullable=False),
        sa.Column("task_key", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_ref"], ["cases.case_ref"], name=op.f("fk_case_events_case_ref_cases")
        ),
        sa.PrimaryKeyConstraint("case_ref", "seq", name=op.f("pk_case_events")),
    )


def downgrade() -> None:
    for table in (
        "case_events",
        "case_tasks",
        "cases",
        "published_definitions",
        "group_members",
        "stakeholder_groups",
        "person_roles",
        "people",
        "roles",
        "teams",
    ):
        op.drop_table(table)
