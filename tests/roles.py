"""Role sets for the route matrix in test_roles.py; each domain's routes live in their own dict."""

from __future__ import annotations

from contentfeed.accounts.models import Role

ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
STAFF = frozenset({Role.ADMIN, Role.MARKETER})
AUTHORS = frozenset({Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR})
SELLER = frozenset({Role.SELLER})
PUBLIC = "public"
