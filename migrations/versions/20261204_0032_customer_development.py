"""customer development: handover and renewal cards, customer plans (contracts, goals, next
steps), CRM events, the account's customer_since and the content's audience

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-04 18:34:07.611926
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0032"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_contract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("crm_id", sa.String(length=120), nullable=False),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_customer_contract_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contract")),
    )
    with op.batch_alter_table("customer_contract", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_contract_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_contract_crm_id"), ["crm_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_contract_ends_on"), ["ends_on"], unique=False)

    op.create_table(
        "customer_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("open", "won", "dropped", name="goalstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_customer_goal_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_goal")),
    )
    with op.batch_alter_table("customer_goal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_goal_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "customer_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_customer_step_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_customer_step_owner_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_step")),
    )
    with op.batch_alter_table("customer_step", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_step_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_step_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "crm_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "processed",
                "failed",
                name="crmeventstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_crm_event_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_crm_event_lead_id_lead"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_crm_event_event_id")),
    )
    with op.batch_alter_table("crm_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_event_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_event_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_crm_event_status"), ["status"], unique=False)

    op.create_table(
        "customer_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("handover", "renewal", name="cardkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("open", "accepted", "done", name="cardstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("won_by_id", sa.Integer(), nullable=True),
        sa.Column("seller_id", sa.Integer(), nullable=True),
        sa.Column("content_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_customer_card_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user_account.id"],
            name=op.f("fk_customer_card_assignee_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["content.id"],
            name=op.f("fk_customer_card_content_id_content"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_customer_card_contract_id_customer_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_customer_card_lead_id_lead"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["lead_queue.id"],
            name=op.f("fk_customer_card_queue_id_lead_queue"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["user_account.id"],
            name=op.f("fk_customer_card_seller_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["won_by_id"],
            ["user_account.id"],
            name=op.f("fk_customer_card_won_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_card")),
        sa.UniqueConstraint("key", name=op.f("uq_customer_card_key")),
    )
    with op.batch_alter_table("customer_card", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_card_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_card_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_card_content_id"), ["content_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_card_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_card_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_customer_card_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_card_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_card_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_card_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_card_status"), ["status"], unique=False)

    # op.add_column, not batch mode: on SQLite a batch rebuild of "account" or "content" would
    # delete the rows that point at them through their cascades.
    op.add_column("account", sa.Column("customer_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "content",
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
    op.drop_column("content", "audience")
    op.drop_column("account", "customer_since")

    with op.batch_alter_table("customer_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_card_status"))
        batch_op.drop_index(batch_op.f("ix_customer_card_seller_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_queue_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_lead_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_due_at"))
        batch_op.drop_index(batch_op.f("ix_customer_card_created_at"))
        batch_op.drop_index(batch_op.f("ix_customer_card_contract_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_content_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_assignee_id"))
        batch_op.drop_index(batch_op.f("ix_customer_card_account_id"))

    op.drop_table("customer_card")
    with op.batch_alter_table("crm_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_event_status"))
        batch_op.drop_index(batch_op.f("ix_crm_event_received_at"))
        batch_op.drop_index(batch_op.f("ix_crm_event_account_id"))

    op.drop_table("crm_event")
    with op.batch_alter_table("customer_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_step_owner_id"))
        batch_op.drop_index(batch_op.f("ix_customer_step_account_id"))

    op.drop_table("customer_step")
    with op.batch_alter_table("customer_goal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_goal_account_id"))

    op.drop_table("customer_goal")
    with op.batch_alter_table("customer_contract", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_contract_ends_on"))
        batch_op.drop_index(batch_op.f("ix_customer_contract_crm_id"))
        batch_op.drop_index(batch_op.f("ix_customer_contract_account_id"))

    op.drop_table("customer_contract")
