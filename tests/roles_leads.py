"""Who may use the leads routes (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from tests.roles import ADMIN, ALL, PUBLIC, STAFF

LEADS: dict[str, frozenset[object] | str] = {
    # Open at the role level: it authenticates each delivery itself (a Standard Webhooks
    # signature or a token with leads:write) and answers 401 JSON without either.
    "leads_api.receive": PUBLIC,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
