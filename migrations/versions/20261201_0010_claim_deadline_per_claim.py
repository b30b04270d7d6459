"""queue claim window and a lead's claim deadline, apart from the response SLA

The SLA sweep compared a claimed lead's response due time (often past when a rep claims an
overdue lead) with now, and took every such claim back a minute later. A claim now has its own
deadline, counted from the claim in the queue's claim window.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:45:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_MINUTES = 30  # the new column's default, so every queue has it right after upgrade


def upgrade() -> None:
    with op.batch_alter_table("lead_queue") as batch_op:
        batch_op.add_column(
            sa.Column("claim_minutes", sa.Integer(), server_default="30", nullable=False)
        )
    with op.batch_alter_table("lead") as batch_op:
        batch_op.add_column(sa.Column("claim_due_at", sa.DateTime(timezone=True), nullable=True))
    # Claims open at upgrade get a full window from now, not from when they were claimed:
    # counted from the claim, most would be past at once and the first sweep after the
    # upgrade would take every rep's leads back together.
    lead = sa.table(
        "lead",
        sa.column("status", sa.String()),
        sa.column("first_contact_at", sa.DateTime(timezone=True)),
        sa.column("claim_due_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        lead.update()
        .where(lead.c.status == "claimed", lead.c.first_contact_at.is_(None))
        .values(claim_due_at=datetime.now(UTC) + timedelta(minutes=CLAIM_MINUTES))
    )


def downgrade() -> None:
    with op.batch_alter_table("lead") as batch_op:
        batch_op.drop_column("claim_due_at")
    with op.batch_alter_table("lead_queue") as batch_op:
        batch_op.drop_column("claim_minutes")
