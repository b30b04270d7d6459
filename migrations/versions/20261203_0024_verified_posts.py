"""verified posts: the LinkedIn post a suggestion was shared as (address, id, time)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, no batch mode: on SQLite a batch copy of
    # "suggestion" would cascade-delete the tracked links pointing at it.
    op.add_column("suggestion", sa.Column("post_url", sa.String(length=120), nullable=True))
    op.add_column("suggestion", sa.Column("post_activity_id", sa.BigInteger(), nullable=True))
    op.add_column("suggestion", sa.Column("post_time", sa.DateTime(timezone=True), nullable=True))
    # One LinkedIn post counts for one suggestion only.
    op.create_index(
        op.f("ix_suggestion_post_activity_id"), "suggestion", ["post_activity_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_suggestion_post_activity_id"), table_name="suggestion")
    op.drop_column("suggestion", "post_time")
    op.drop_column("suggestion", "post_activity_id")
    op.drop_column("suggestion", "post_url")
