"""Follow-on cases in the register: the case a case was opened from, and the one it opened.

Both columns are empty for the cases from before: none of them was opened from another,
and none opened a follow-on (the outcome was recorded, the case was not opened).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("opened_from", sa.String(length=100), nullable=True))
        table.add_column(sa.Column("follow_on_ref", sa.String(length=100), nullable=True))
        table.create_index(op.f("ix_cases_opened_from"), ["opened_from"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_index(op.f("ix_cases_opened_from"))
        table.drop_column("follow_on_ref")
        table.drop_column("opened_from")
