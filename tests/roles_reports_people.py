"""Who may use the people report pages (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

REPORTS_PEOPLE: dict[str, frozenset[Role] | str] = {}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
