"""Identities: services and partner agencies in the directory, and the login of a person.

Services (other systems that sign their requests) and agencies (partner agencies that own
and complete tasks) are new tables, empty until the next `directory sync`; a person's
`login` is empty for everyone until the directory file gives one (the CLI then maps a
login to the person of that id).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from activities.database.columns import JsonDocument, UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tasks", JsonDocument, nullable=False),
        sa.Column("open_cases", sa.Boolean(), nullable=False),
        sa.Column("may", JsonDocument, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
    )
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
    )
    with op.batch_alter_table("people") as table:
        table.add_column(sa.Column("login", sa.String(length=200), nullable=True))
        table.create_index(op.f("ix_people_login"), ["login"])


def downgrade() -> None:
    with op.batch_alter_table("people") as table:
        table.drop_index(op.f("ix_people_login"))
        table.drop_column("login")
    op.drop_table("agencies")
    op.drop_table("services")
