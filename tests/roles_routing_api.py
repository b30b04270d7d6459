"""Who may use the routing API (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

ROUTING_API: dict[str, frozenset[Role] | str] = {}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
