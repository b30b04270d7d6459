"""Who may use the leads routes (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from tests.roles import ADMIN, ALL, PUBLIC, STAFF

LEADS: dict[str, frozenset[object] | str] = {}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
