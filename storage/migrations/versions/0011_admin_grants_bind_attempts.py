"""admin grants (admins beyond the settings, revocable) and wrong bind attempts (a throttle that survives restarts)

Revision ID: 0011
Revises: 0004
Create Date: 2026-12-05 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_grants",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_admin_grants")),
    )
    op.create_table(
        "bind_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bind_attempts")),
    )
    op.create_index("ix_bind_attempts_telegram_id_at", "bind_attempts", ["telegram_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_bind_attempts_telegram_id_at", table_name="bind_attempts")
    op.drop_table("bind_attempts")
    op.drop_table("admin_grants")
