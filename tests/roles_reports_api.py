"""Who may use the reports API (merged into MATRIX in test_roles.py).

Marketers and admins see every report; reps the sales view and the customer report too.
Sellers may read one seller report, their own: another seller's answers 404 (tested in
test_reports_api.py), which the matrix counts as let through.
"""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

SALES = frozenset({Role.ADMIN, Role.MARKETER, Role.REP})
SELLER_REPORT = frozenset({Role.ADMIN, Role.MARKETER, Role.SELLER})

REPORTS_API: dict[str, frozenset[Role] | str] = {
    "reports_api.content_dashboard": STAFF,
    "reports_api.daily": STAFF,
    "reports_api.campaign_report": STAFF,
    "reports_api.leaderboard": STAFF,
    "reports_api.seller_report": SELLER_REPORT,
    "reports_api.sales": SALES,
    "reports_api.customers": SALES,
    "reports_api.campaign_attribution": STAFF,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
