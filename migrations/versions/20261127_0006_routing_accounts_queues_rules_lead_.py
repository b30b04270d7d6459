"""routing: accounts, queues, rules, lead activity, outbox, notices

Existing leads get routed by the routing job on its first run (routed_at is empty).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:51:24.366781
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_destination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_destination")),
        sa.UniqueConstraint("name", name=op.f("uq_outbox_destination_name")),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("crm_id", sa.String(length=120), nullable=False),
        sa.Column("owner_team_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_account_owner_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_team_id"],
            ["team.id"],
            name=op.f("fk_account_owner_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_crm_id"), ["crm_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_account_owner_team_id"), ["owner_team_id"], unique=False
        )

    op.create_table(
        "lead_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum(
                "claim", "round_robin", "weighted", name="strategy", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("sla_minutes", sa.Integer(), nullable=False),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("workdays", sa.JSON(), nullable=False),
        sa.Column("day_start", sa.String(length=5), nullable=False),
        sa.Column("day_end", sa.String(length=5), nullable=False),
        sa.Column("lead_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_user_id"],
            ["user_account.id"],
            name=op.f("fk_lead_queue_lead_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_queue")),
        sa.UniqueConstraint("name", name=op.f("uq_lead_queue_name")),
    )
    op.create_table(
        "account_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_account_domain_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_domain")),
        sa.UniqueConstraint("domain", name=op.f("uq_account_domain_domain")),
    )
    with op.batch_alter_table("account_domain", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_domain_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "queue_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("assigned_count", sa.Integer(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["lead_queue.id"],
            name=op.f("fk_queue_member_queue_id_lead_queue"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_queue_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_member")),
        sa.UniqueConstraint("queue_id", "user_id", name=op.f("uq_queue_member_queue_id_user_id")),
    )
    with op.batch_alter_table("queue_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_member_queue_id"), ["queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "routing_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum(
                "claim", "round_robin", "weighted", name="strategy", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["lead_queue.id"],
            name=op.f("fk_routing_rule_queue_id_lead_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rule")),
    )
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routing_rule_position"), ["position"], unique=False)

    op.create_table(
        "lead_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_lead_activity_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_activity_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_activity")),
    )
    with op.batch_alter_table("lead_activity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_activity_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_activity_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "delivered", "dead", name="outboxstatus", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_outbox_message_lead_id_lead"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_message_id")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_message_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    op.create_table(
        "seller_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_seller_notice_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_seller_notice_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seller_notice")),
    )
    with op.batch_alter_table("seller_notice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seller_notice_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_seller_notice_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_seller_notice_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_seller_notice_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("queue_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("routing_trace", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("disqualify_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("returned_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_lead_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_assignee_id"), ["assignee_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lead_merged_into_id"), ["merged_into_id"], unique=False
        )
        batch_op.create_index("ix_lead_queue_open", ["queue_id", "status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_routed_at"), ["routed_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_lead_assignee_id_user_account"),
            "user_account",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lead_queue_id_lead_queue"),
            "lead_queue",
            ["queue_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lead_merged_into_id_lead"),
            "lead",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lead_account_id_account"),
            "account",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lead_account_id_account"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_lead_merged_into_id_lead"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_lead_queue_id_lead_queue"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_lead_assignee_id_user_account"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_lead_routed_at"))
        batch_op.drop_index("ix_lead_queue_open")
        batch_op.drop_index(batch_op.f("ix_lead_merged_into_id"))
        batch_op.drop_index(batch_op.f("ix_lead_assignee_id"))
        batch_op.drop_index(batch_op.f("ix_lead_account_id"))
        batch_op.drop_column("returned_count")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("disqualify_reason")
        batch_op.drop_column("routing_trace")
        batch_op.drop_column("overdue_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("first_contact_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("due_at")
        batch_op.drop_column("routed_at")
        batch_op.drop_column("assignee_id")
        batch_op.drop_column("queue_id")
        batch_op.drop_column("account_id")
        batch_op.drop_column("score")

    with op.batch_alter_table("seller_notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seller_notice_user_id"))
        batch_op.drop_index(batch_op.f("ix_seller_notice_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_seller_notice_lead_id"))
        batch_op.drop_index(batch_op.f("ix_seller_notice_created_at"))

    op.drop_table("seller_notice")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_lead_id"))
        batch_op.drop_index("ix_outbox_message_due")

    op.drop_table("outbox_message")
    with op.batch_alter_table("lead_activity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_activity_lead_id"))
        batch_op.drop_index(batch_op.f("ix_lead_activity_at"))

    op.drop_table("lead_activity")
    with op.batch_alter_table("routing_rule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rule_position"))

    op.drop_table("routing_rule")
    with op.batch_alter_table("queue_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_member_user_id"))
        batch_op.drop_index(batch_op.f("ix_queue_member_queue_id"))

    op.drop_table("queue_member")
    with op.batch_alter_table("account_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_domain_account_id"))

    op.drop_table("account_domain")
    op.drop_table("lead_queue")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_owner_team_id"))
        batch_op.drop_index(batch_op.f("ix_account_owner_id"))
        batch_op.drop_index(batch_op.f("ix_account_crm_id"))

    op.drop_table("account")
    op.drop_table("outbox_destination")
