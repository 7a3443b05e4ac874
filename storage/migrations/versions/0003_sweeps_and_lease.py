"""sweeps and lease: the sweeps' watermarks, the leader lease, and an index on proposals.state

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27 21:30:00

Hand-written. The models live in storage/coordination.py. The overdue sweep starts from the few open items
through ix_proposals_state instead of scanning every item ever filed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "sweep_watermarks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_watermarks")),
    )
    op.create_index("ix_proposals_state", "proposals", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_proposals_state", table_name="proposals")
    op.drop_table("sweep_watermarks")
    op.drop_table("leases")
