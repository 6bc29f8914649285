"""The worklist: each task row keeps its due points and what it waits for.

Rows written before have none (no due points, `held` unknown) until their case next
writes them: a task without a due point sorts after those with one in the worklist. Every
new column may be NULL, so a worker of the release before, still running while this one
is deployed, writes its rows as it did.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from activities.database.columns import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_tasks") as table:
        table.add_column(sa.Column("occurrence", sa.Integer(), nullable=True))
        table.add_column(sa.Column("opens_at", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("warning_at", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("due_at", UtcDateTime(), nullable=True))
        table.add_column(sa.Column("sla_state", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("held", sa.Boolean(), nullable=True))
        table.add_column(sa.Column("waits_for", sa.Text(), nullable=True))
        table.create_index(op.f("ix_case_tasks_status_due_at"), ["status", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("case_tasks") as table:
        table.drop_index(op.f("ix_case_tasks_status_due_at"))
        table.drop_column("waits_for")
        table.drop_column("held")
        table.drop_column("sla_state")
        table.drop_column("due_at")
        table.drop_column("warning_at")
        table.drop_column("opens_at")
        table.drop_column("occurrence")
