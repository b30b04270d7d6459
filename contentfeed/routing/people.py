"""The people and teams routing's pages pick from: active reps, queue leads, account owners."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, Team, User


def active_users(s: Session, roles: Collection[Role] | None = None) -> list[User]:
    """Return the active users (of these roles, if given) by name, ignoring case."""
    query = sa.select(User).where(User.is_active.is_(True)).order_by(sa.func.lower(User.name))
    if roles is not None:
        query = query.where(User.role.in_(list(roles)))
    return list(s.scalars(query))


def user_names(s: Session, user_ids: Collection[int]) -> dict[int, str]:
    """Return the names of these users, by id (ids of no user are left out)."""
    if not user_ids:
        return {}
    return dict(s.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all())


def team_names(s: Session) -> dict[int, str]:
    """Return every team's name by id."""
    return dict(s.execute(sa.select(Team.id, Team.name)).all())


def sorted_teams(s: Session) -> list[tuple[int, str]]:
    """Return (id, name) of every team, by name."""
    return list(s.execute(sa.select(Team.id, Team.name).order_by(sa.func.lower(Team.name))).all())
