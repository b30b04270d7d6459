"""Who may use the routing API (merged into MATRIX in test_roles.py).

Reps and admins work queues and leads; a rep's call about a queue or lead outside their
queues answers 404 (tested in test_routing_api.py), which the matrix counts as let through.
Admins alone manage rules, queue settings, customer accounts and the CRM outbox.
"""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

WORKERS = frozenset({Role.ADMIN, Role.REP})

ROUTING_API: dict[str, frozenset[Role] | str] = {
    "routing_api.list_my_queues": WORKERS,
    "routing_api.list_queue_leads": WORKERS,
    "routing_api.claim_next": WORKERS,
    "routing_api.claim_lead": WORKERS,
    "routing_api.release_lead": WORKERS,
    "routing_api.reassign_lead": WORKERS,
    "routing_api.set_lead_status": WORKERS,
    "routing_api.add_lead_note": WORKERS,
    "routing_api.lead_history": WORKERS,
    "routing_api.list_cards": WORKERS,
    "routing_api.accept_card": WORKERS,
    "routing_api.finish_card": WORKERS,
    "routing_api.list_rules": ADMIN,
    "routing_api.create_rule": ADMIN,
    "routing_api.get_rule": ADMIN,
    "routing_api.update_rule": ADMIN,
    "routing_api.delete_rule": ADMIN,
    "routing_api.reorder_rules": ADMIN,
    "routing_api.dry_run": ADMIN,
    "routing_api.list_accounts": ADMIN,
    "routing_api.create_account": ADMIN,
    "routing_api.get_account": ADMIN,
    "routing_api.update_account": ADMIN,
    "routing_api.delete_account": ADMIN,
    "routing_api.import_accounts": ADMIN,
    "routing_api.list_queue_settings": ADMIN,
    "routing_api.update_queue": ADMIN,
    "routing_api.set_queue_member": ADMIN,
    "routing_api.remove_queue_member": ADMIN,
    "routing_api.list_outbox": ADMIN,
    "routing_api.resend_message": ADMIN,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF", "WORKERS"]
