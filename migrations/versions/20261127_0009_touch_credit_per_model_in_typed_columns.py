"""touch: credit per model in typed columns instead of one JSON document

Reports sum a model's credit over tens of thousands of touches; reading it out of JSON cost
more than the rest of those queries together.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 16:30:17.663190
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "time_decay")


def _share(model: str) -> str:
    """SQL reading one model's share out of the old JSON column (0 when it is missing)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"coalesce((credits ->> '{model}')::double precision, 0)"
    return f"coalesce(json_extract(credits, '$.{model}'), 0)"


def upgrade() -> None:
    with op.batch_alter_table("touch") as batch_op:
        for model in MODELS:
            batch_op.add_column(
                sa.Column(f"credit_{model}", sa.Double(), server_default="0", nullable=False)
            )
    shares = ", ".join(f"credit_{model} = {_share(model)}" for model in MODELS)
    op.execute(f"UPDATE touch SET {shares}")
    with op.batch_alter_table("touch") as batch_op:
        batch_op.drop_column("credits")


def downgrade() -> None:
    with op.batch_alter_table("touch") as batch_op:
        batch_op.add_column(sa.Column("credits", sa.JSON(), nullable=True))
    build = "json_build_object" if op.get_bind().dialect.name == "postgresql" else "json_object"
    pairs = ", ".join(f"'{model}', credit_{model}" for model in MODELS)
    op.execute(f"UPDATE touch SET credits = {build}({pairs})")
    with op.batch_alter_table("touch") as batch_op:
        batch_op.alter_column("credits", existing_type=sa.JSON(), nullable=False)
        for model in MODELS:
            batch_op.drop_column(f"credit_{model}")
