"""Who may use the suggestions API, the seller's own profile page and the seller import
(merged into MATRIX in test_roles.py)."""

from __future__ import annotations

from contentfeed.accounts.models import Role
from tests.roles import ADMIN, ALL, PUBLIC, SELLER, STAFF

# Suggestions are read and acted on by their seller, and by admins and marketers for anyone.
FEED = frozenset({Role.SELLER, Role.ADMIN, Role.MARKETER})

SELLERS: dict[str, frozenset[object] | str] = {
    "suggestions_api.list_suggestions": FEED,
    "suggestions_api.get_suggestion": FEED,
    "suggestions_api.mark_posted": FEED,
    "suggestions_api.skip": FEED,
    "suggestions_api.list_sellers": STAFF,
    "suggestions_api.suggest_now": ADMIN,
    "accounts.profile": SELLER,
    "accounts.sellers_import": ADMIN,
}

__all__ = ["ADMIN", "ALL", "PUBLIC", "SELLER", "STAFF"]
