"""outbox digests: rows held for a daily or weekly digest; longer status values (merged, cancelled)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("digest", sa.String(length=8), nullable=True))
        batch.alter_column("status", existing_type=sa.String(length=8), type_=sa.String(length=10))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("status", existing_type=sa.String(length=10), type_=sa.String(length=8))
        batch.drop_column("digest")
