"""a webhook secret's field mapping; the secret that signed each delivery

An admin maps a sender's own field names to ours per webhook secret ("Firmenname" is our
company, "Anrede" is kept as salutation, "Bundesland" is left out). A stored delivery names
the secret that signed it, so processing it again applies the secret's current mapping.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_secret") as batch_op:
        batch_op.add_column(
            sa.Column("field_mapping", sa.JSON(), server_default="{}", nullable=False)
        )
    with op.batch_alter_table("inbound_event") as batch_op:
        batch_op.add_column(sa.Column("secret_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_inbound_event_secret_id_webhook_secret",
            "webhook_secret",
            ["secret_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_event") as batch_op:
        batch_op.drop_constraint("fk_inbound_event_secret_id_webhook_secret", type_="foreignkey")
        batch_op.drop_column("secret_id")
    with op.batch_alter_table("webhook_secret") as batch_op:
        batch_op.drop_column("field_mapping")
