"""Account pages: sign-in, the home page per role, your account, and the admin pages.

One blueprint (``accounts``) whose routes live in a module per page group; importing this
package registers them all."""

from __future__ import annotations

from contentfeed.accounts.views import (
    account,
    feed_link,
    home,
    passwords,
    profile,
    sellers,
    sent_email,
    signin,
    sso,
    teams,
    tokens,
    users,
)
from contentfeed.accounts.views.profile import Cadence, PlannedDay, describe_cadence
from contentfeed.accounts.views.shared import bp

__all__ = [
    "Cadence",
    "PlannedDay",
    "account",
    "bp",
    "describe_cadence",
    "feed_link",
    "home",
    "passwords",
    "profile",
    "sellers",
    "sent_email",
    "signin",
    "sso",
    "teams",
    "tokens",
    "users",
]
