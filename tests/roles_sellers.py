"""Who may use the suggestions API, the seller's own profile page and the seller import
(merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from tests.roles import ADMIN, ALL, PUBLIC, STAFF

SELLERS: dict[str, frozenset[object] | str] = {
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
