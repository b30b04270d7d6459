"""consent versions and double opt-in on leads

The gated form's consent text is per language and versioned ([consent] in config.toml): each
lead keeps the version and language it agreed to. With double opt-in, the lead records when
the confirmation email was asked for and when the person confirmed.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lead") as batch_op:
        batch_op.add_column(
            sa.Column("consent_version", sa.String(64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("consent_locale", sa.String(16), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("consent_confirm_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("consent_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("lead") as batch_op:
        batch_op.drop_column("consent_confirmed_at")
        batch_op.drop_column("consent_confirm_requested_at")
        batch_op.drop_column("consent_locale")
        batch_op.drop_column("consent_version")
