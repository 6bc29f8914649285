"""A provision type may be withdrawn from a day (``withdrawn_types``): publishing only adds
versions, and an open-ended version stays in effect whatever is published after it for a
shorter period, so a type published by mistake (the demonstration type, say) could not be
taken out of use.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from activities.database.columns import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "withdrawn_types",
        sa.Column("type_id", sa.String(64), primary_key=True),
        sa.Column("from_day", sa.Date(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_by", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("withdrawn_types")
