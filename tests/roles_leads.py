"""Who may use the leads routes (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

# Admins, marketers and digital sales reps work with leads; which leads a rep reads is row
# level (their queues' and the ones they worked): test_roles.test_a_rep_reads_a_lead_only_...
READERS = frozenset({Role.ADMIN, Role.MARKETER, Role.REP})

LEADS: dict[str, frozenset[object] | str] = {
    # Open at the role level: it authenticates each delivery itself (a Standard Webhooks
    # signature or a token with leads:write) and answers 401 JSON without either.
    "leads_api.receive": PUBLIC,
    "leads.index": READERS,
    "leads.detail": READERS,
    "leads.secrets": ADMIN,
    "leads.secret_revoke": ADMIN,
    "leads.secret_mapping": ADMIN,
    "leads.events": ADMIN,
    "leads.event_reprocess": ADMIN,
    "leads_api.list_leads": READERS,
    "leads_api.get_lead": READERS,
    "leads_api.export_leads": READERS,
    "leads_api.export_person": ADMIN,
    "leads_api.erase_person": ADMIN,
    "leads_api.list_secrets": ADMIN,
    "leads_api.set_field_mapping": ADMIN,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
