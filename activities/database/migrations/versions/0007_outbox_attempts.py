"""The outbox counts the attempts a retry found cut off (``unconfirmed``), so a message
that may have been delivered is sent again a bounded number of times, then left
``uncertain``.

Rows from before start at 0: none of them was marked ``sending``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as table:
        table.add_column(sa.Column("unconfirmed", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as table:
        table.drop_column("unconfirmed")
