"""sent email: mail kept for admins while no SMTP server is set up

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sent_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_email")),
    )
    with op.batch_alter_table("sent_email") as batch_op:
        batch_op.create_index(batch_op.f("ix_sent_email_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sent_email") as batch_op:
        batch_op.drop_index(batch_op.f("ix_sent_email_created_at"))
    op.drop_table("sent_email")
