"""Who may change accounts: the rule every account use case checks before it acts."""

from __future__ import annotations

from contentfeed.accounts.models import Role, User
from contentfeed.errors import Forbidden
from contentfeed.i18n import _


def require_admin(actor: User | None) -> User:
    """Return the actor when they are an admin, or refuse (pages and API check it first)."""
    if actor is None or actor.role is not Role.ADMIN:
        raise Forbidden(_("Only admins manage accounts."))
    return actor
