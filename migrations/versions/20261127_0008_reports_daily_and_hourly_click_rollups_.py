"""reports: daily and hourly click rollups, their watermark

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 14:59:47.559047
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_watermark",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_watermark")),
    )
    op.create_table(
        "daily_clicks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("seller_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content.id"],
            name=op.f("fk_daily_clicks_content_id_content"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["user_account.id"],
            name=op.f("fk_daily_clicks_seller_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_clicks")),
        sa.UniqueConstraint(
            "day", "content_id", "seller_id", name=op.f("uq_daily_clicks_day_content_id_seller_id")
        ),
    )
    with op.batch_alter_table("daily_clicks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_clicks_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "hourly_clicks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content.id"],
            name=op.f("fk_hourly_clicks_content_id_content"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_clicks")),
        sa.UniqueConstraint("hour", "content_id", name=op.f("uq_hourly_clicks_hour_content_id")),
    )
    with op.batch_alter_table("hourly_clicks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hourly_clicks_content_id"), ["content_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("hourly_clicks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hourly_clicks_content_id"))

    op.drop_table("hourly_clicks")
    with op.batch_alter_table("daily_clicks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_clicks_seller_id"))

    op.drop_table("daily_clicks")
    op.drop_table("rollup_watermark")
