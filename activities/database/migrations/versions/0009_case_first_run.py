"""A case row names the first run of its case's workflow (``first_run_id``), so that a
workflow started again under a closed case's id, by Temporal directly, is told apart
from that case and its writes refused instead of mixed into its register.

Rows from before have none; a row is named by the next write of its own case.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("first_run_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("first_run_id")
