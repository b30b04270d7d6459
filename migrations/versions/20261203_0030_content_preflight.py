"""content preflight: the facts the LinkedIn pre-flight found about an item's page and image

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # op.add_column, not batch mode: on SQLite a batch rebuild of "content" would delete the
    # rows that point at it through their cascades.
    op.add_column(
        "content",
        sa.Column("preflight", sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("content", "preflight")
