"""scim provisioning: users and teams an identity provider manages

The identity provider's userName and externalId of a user, its externalId of a team, and when
it deleted either (the rows stay for their history; SCIM no longer sees them).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("scim_user_name", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("scim_external_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("scim_deleted_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        op.f("ix_user_account_scim_user_name"), "user_account", ["scim_user_name"], unique=True
    )
    with op.batch_alter_table("team") as batch_op:
        batch_op.add_column(sa.Column("scim_external_id", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("scim_deleted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("team") as batch_op:
        batch_op.drop_column("scim_deleted_at")
        batch_op.drop_column("scim_external_id")
    op.drop_index(op.f("ix_user_account_scim_user_name"), table_name="user_account")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("scim_deleted_at")
        batch_op.drop_column("scim_external_id")
        batch_op.drop_column("scim_user_name")
