"""Who may use the CRM events routes (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from tests.roles import ADMIN, PUBLIC

CRM: dict[str, frozenset[object] | str] = {
    # Open at the role level: it authenticates each event itself (a Standard Webhooks
    # signature made with [crm] events_secret) and answers 401 JSON without one.
    "crm_api.receive": PUBLIC,
    "crm.events": ADMIN,
    "crm.event_reprocess": ADMIN,
}
