"""share kit: a seller's LinkedIn composer choice, a variant's first comment

``seller_profile.linkedin_composer`` says how "Post on LinkedIn" opens LinkedIn for the
seller ("" follows ``[suggestions] linkedin_composer``); ``post_variant.first_comment`` is the
text a seller posts as the first comment (often the link), rendered per seller into
``suggestion.rendered_comment``.

The columns are added in place (no batch mode: rows of ``post_variant`` and ``suggestion`` are
pointed at by foreign keys, and recreating the tables on SQLite would cascade), NOT NULL with
an empty default for the existing rows; PostgreSQL then drops the default, SQLite cannot
without a copy. The app always sets them.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-03 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("seller_profile", "linkedin_composer", sa.String(16)),
    ("post_variant", "first_comment", sa.Text()),
    ("suggestion", "rendered_comment", sa.Text()),
)


def upgrade() -> None:
    for table, column, kind in _COLUMNS:
        op.add_column(table, sa.Column(column, kind, server_default="", nullable=False))
        if op.get_bind().dialect.name != "sqlite":
            op.alter_column(table, column, existing_type=kind, server_default=None)


def downgrade() -> None:
    for table, column, _kind in reversed(_COLUMNS):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_column(table, column)
