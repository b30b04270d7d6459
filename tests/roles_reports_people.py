"""Who may use the people report pages (merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, STAFF

# Sellers see the leaderboard (as the admin decided) and their own page; reps see sales.
LEADERBOARD = frozenset({Role.ADMIN, Role.MARKETER, Role.SELLER})
SALES = frozenset({Role.ADMIN, Role.MARKETER, Role.REP})

REPORTS_PEOPLE: dict[str, frozenset[Role] | str] = {
    "reports_people.leaderboard": LEADERBOARD,
    "reports_people.leaderboard_csv": LEADERBOARD,
    "reports_people.seller": LEADERBOARD,
    "reports_people.seller_csv": LEADERBOARD,
    "reports_people.settings": ADMIN,
    "reports_people.sales": SALES,
    "reports_people.sales_csv": SALES,
    # The customer development report: reps work the handovers and renewals it counts.
    "reports_customers.report": SALES,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "STAFF"]
