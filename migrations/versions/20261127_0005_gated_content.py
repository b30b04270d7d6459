"""content: is_gated (an asset offered behind a lead form)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("content") as batch:
        batch.add_column(
            sa.Column("is_gated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("content") as batch:
        batch.drop_column("is_gated")
