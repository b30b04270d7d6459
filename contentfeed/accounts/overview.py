"""What each role's home page sums up: the accounts at a glance. Reads only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.accounts.profiles import seller_audience
from contentfeed.accounts.teams import active_member_counts, list_teams
from contentfeed.accounts.tokens import count_active_tokens
from contentfeed.accounts.users import active_teammates, recent_sign_ins, role_counts


def home_overview(s: Session, actor: User) -> dict[str, object]:
    """Return what the actor's home page shows, named as the page names it."""
    overview: dict[str, object] = {"user": actor}
    if actor.role is Role.ADMIN:
        overview["role_counts"] = role_counts(s)
        overview["teams"] = list_teams(s)
        overview["active_members"] = active_member_counts(s)
        overview["active_tokens"] = count_active_tokens(s)
        overview["recent_logins"] = recent_sign_ins(s)
    elif actor.role in (Role.MARKETER, Role.CONTRIBUTOR):
        overview["audience"] = seller_audience(s)
    elif actor.role is Role.REP:
        overview["teammates"] = active_teammates(actor)
    return overview
