"""Who may use the routing admin pages (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

ROUTING_ADMIN: dict[str, frozenset[Role] | str] = {
    "routing_admin.rules": ADMIN,
    "routing_admin.rules_defaults": ADMIN,
    "routing_admin.rule_new": ADMIN,
    "routing_admin.rule_edit": ADMIN,
    "routing_admin.rule_move": ADMIN,
    "routing_admin.rule_delete": ADMIN,
    "routing_admin.dry_run": ADMIN,
    "routing_admin.queues": ADMIN,
    "routing_admin.queue_new": ADMIN,
    "routing_admin.queue_edit": ADMIN,
    "routing_admin.member_save": ADMIN,
    "routing_admin.member_remove": ADMIN,
    "routing_admin.accounts": ADMIN,
    "routing_admin.account_new": ADMIN,
    "routing_admin.account_edit": ADMIN,
    "routing_admin.account_delete": ADMIN,
    "routing_admin.accounts_import": ADMIN,
    "routing_admin.accounts_export": ADMIN,
    "routing_admin.outbox": ADMIN,
    "routing_admin.outbox_enable": ADMIN,
    "routing_admin.outbox_resend": ADMIN,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
