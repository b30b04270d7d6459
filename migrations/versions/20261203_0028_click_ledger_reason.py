"""click ledger: every request for a tracked link keeps the reason it counts or does not

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-03 13:30:00.000000

``click.reason`` is one of human, head, scanner, bot, repeat, early (links/reasons.py); only
``human`` counts as a click. Rows recorded before keep what was known of them: a bot's request
becomes ``bot``, every other one ``human`` (HEAD requests, repeats and early fetches were not
told apart then). The per-link index gains the click time, which the redirect's look-up of the
visitor's previous request reads (same number of indexes to keep current).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No batch mode: on SQLite it would copy the table (clicks can be millions of rows).
    op.add_column(
        "click",
        sa.Column("reason", sa.String(length=16), server_default="human", nullable=False),
    )
    op.execute("UPDATE click SET reason = 'bot' WHERE is_bot")
    op.create_index("ix_click_link_time", "click", ["link_id", "clicked_at"], unique=False)
    op.drop_index("ix_click_link_id", table_name="click")


def downgrade() -> None:
    op.create_index("ix_click_link_id", "click", ["link_id"], unique=False)
    op.drop_index("ix_click_link_time", table_name="click")
    # Requests that were kept but not counted were not clicks: a downgraded database, which
    # knows only is_bot, must not start counting them.
    op.execute("UPDATE click SET is_bot = true WHERE reason <> 'human'")
    op.drop_column("click", "reason")
