"""Effective dating: the period of each published version and of each group membership.

Rows from before have open periods (NULL at both ends): every version and membership
stays in effect as it was. A person may now be a member of one group for more than one
stretch, so its unique constraints take in the first day of the stretch.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("published_definitions") as table:
        table.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        table.add_column(sa.Column("effective_to", sa.Date(), nullable=True))
    with op.batch_alter_table("group_members") as table:
        table.add_column(sa.Column("effective_from", sa.Date(), nullable=True))
        table.add_column(sa.Column("effective_to", sa.Date(), nullable=True))
        table.drop_constraint("uq_group_members_group_id_address", type_="unique")
        table.drop_constraint("uq_group_members_group_id_person_id", type_="unique")
        table.create_unique_constraint(
            op.f("uq_group_members_group_id_person_id_effective_from"),
            ["group_id", "person_id", "effective_from"],
        )
        table.create_unique_constraint(
            op.f("uq_group_members_group_id_address_effective_from"),
            ["group_id", "address", "effective_from"],
        )


def downgrade() -> None:
    # A member of one group for several stretches cannot go back to one row each: the
    # downgrade keeps the row synced first, and forgets every period.
    op.execute(
        "DELETE FROM group_members WHERE id NOT IN ("
        "SELECT MIN(id) FROM group_members GROUP BY group_id, person_id, address)"
    )
    with op.batch_alter_table("group_members") as table:
        table.drop_constraint("uq_group_members_group_id_address_effective_from", type_="unique")
        table.drop_constraint("uq_group_members_group_id_person_id_effective_from", type_="unique")
        table.create_unique_constraint(
            op.f("uq_group_members_group_id_address"), ["group_id", "address"]
        )
        table.create_unique_constraint(
            op.f("uq_group_members_group_id_person_id"), ["group_id", "person_id"]
        )
        table.drop_column("effective_to")
        table.drop_column("effective_from")
    with op.batch_alter_table("published_definitions") as table:
        table.drop_column("effective_to")
        table.drop_column("effective_from")
