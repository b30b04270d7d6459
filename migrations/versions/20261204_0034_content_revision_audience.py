"""content revision audience: a change of an approved item's audience waits for review too

Revision ID: 0034
Revises: 0032
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every item was for "both" before 0032 made the audience, so a pending revision is too.
    op.add_column(
        "content_revision",
        sa.Column(
            "audience",
            sa.Enum(
                "prospects", "customers", "both", name="audience", native_enum=False, length=32
            ),
            server_default="both",
            nullable=False,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("content_revision") as batch_op:
        batch_op.drop_column("audience")
