"""Who may use the report pages (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

REPORTS: dict[str, frozenset[Role] | str] = {
    "reports.dashboard": STAFF,
    "reports.dashboard_csv": STAFF,
    "reports.campaign": STAFF,
    "reports.campaign_csv": STAFF,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
