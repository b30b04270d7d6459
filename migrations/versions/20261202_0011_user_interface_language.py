"""a user's interface language

The interface speaks German and English. A user's choice in the header's language switch is
kept with the user; empty means not chosen (the seller profile's language, the browser's
Accept-Language or the configured default decide).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(8), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("locale")
