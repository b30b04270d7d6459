"""each post variant has a language; a seller profile lists several

A seller is suggested an item only when one of its variants is in one of the seller's
languages, and gets the variant in the first of them that has one. So the language moves to
the variant (backfilled from its item's), the profile's single language becomes an ordered list
(backfilled with it, and English after it: until now English reached every seller, so nobody's
feed empties on the upgrade; an admin removes "en" where it is not wanted), and the item's "seller languages" are dropped: the variants' languages
now say whom an item reaches. ``content.language`` stays: the language of the title and summary.

On SQLite, ``content`` and ``post_variant`` are altered in place, never recreated (batch mode
would copy and drop them, and with foreign keys on, dropping ``content`` deletes its variants
and suggestions, dropping ``post_variant`` unlinks every suggestion from its variant). So the
variant's column is added NOT NULL with an empty default (the backfill replaces it); on
PostgreSQL the default is dropped afterwards, SQLite cannot drop it without a copy. The app
always sets a variant's language; an empty one would reach no seller, never everyone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Just the columns the data steps read and write (JSON binds as JSON on either database).
_profile = sa.table(
    "seller_profile",
    sa.column("id", sa.Integer()),
    sa.column("language", sa.String(8)),
    sa.column("languages", sa.JSON()),
)


def upgrade() -> None:
    op.add_column(
        "post_variant", sa.Column("language", sa.String(8), server_default="", nullable=False)
    )
    op.execute(
        "UPDATE post_variant SET language = COALESCE("
        "(SELECT lower(content.language) FROM content WHERE content.id = post_variant.content_id)"
        ", 'en')"
    )
    op.execute("UPDATE post_variant SET language = 'en' WHERE language = ''")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("post_variant", "language", existing_type=sa.String(8), server_default=None)

    with op.batch_alter_table("seller_profile") as batch_op:
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=True))
    conn = op.get_bind()
    for profile_id, language in conn.execute(sa.select(_profile.c.id, _profile.c.language)):
        own = (language or "en").lower()
        conn.execute(
            sa.update(_profile)
            .where(_profile.c.id == profile_id)
            .values(languages=list(dict.fromkeys([own, "en"])))
        )
    with op.batch_alter_table("seller_profile") as batch_op:
        batch_op.alter_column("languages", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("language")

    op.drop_column("content", "target_languages")  # in place, see above


def downgrade() -> None:
    op.add_column(
        "content", sa.Column("target_languages", sa.JSON(), server_default="[]", nullable=False)
    )

    with op.batch_alter_table("seller_profile") as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(8), nullable=True))
    conn = op.get_bind()
    for profile_id, languages in conn.execute(sa.select(_profile.c.id, _profile.c.languages)):
        conn.execute(
            sa.update(_profile)
            .where(_profile.c.id == profile_id)
            .values(language=(languages or ["en"])[0])
        )
    with op.batch_alter_table("seller_profile") as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(8), nullable=False)
        batch_op.drop_column("languages")

    op.drop_column("post_variant", "language")  # in place, see above
