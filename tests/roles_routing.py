"""Who may use the rep's queue and lead actions (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

# Reps work queues; admins may too. Acting on a lead outside one's queues answers 404.
WORKERS = frozenset({Role.REP, Role.ADMIN})

ROUTING: dict[str, frozenset[Role] | str] = {
    "routing.queue": WORKERS,
    "routing.queue_changes": WORKERS,
    "routing.claim_next": WORKERS,
    "routing.lead_claim": WORKERS,
    "routing.lead_release": WORKERS,
    "routing.lead_status": WORKERS,
    "routing.lead_reassign": WORKERS,
    "routing.lead_note": WORKERS,
    "routing.card_accept": WORKERS,
    "routing.card_done": WORKERS,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
