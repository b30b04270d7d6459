"""Teams: the groups users belong to. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from contentfeed.accounts.models import Team, TeamKind, User
from contentfeed.accounts.permissions import require_admin
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import _
from contentfeed.text import Input, MultiLineText, checked_text, name_key


class TeamData(Input):
    """A team as an admin describes it: one shape for the teams pages and the API."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: TeamKind
    description: MultiLineText = ""


def list_teams(s: Session) -> Sequence[Team]:
    """Return all teams by name (members not loaded: a sellers' team can be thousands)."""
    return s.scalars(sa.select(Team).order_by(sa.func.lower(Team.name))).all()


def active_member_counts(s: Session) -> dict[int, int]:
    """Return how many active users each team has (teams without any are left out)."""
    rows = s.execute(
        sa.select(User.team_id, sa.func.count())
        .where(User.team_id.is_not(None), User.is_active)
        .group_by(User.team_id)
    )
    return {team_id: int(n) for team_id, n in rows if team_id is not None}


def get_team(s: Session, team_id: int) -> Team:
    """Return one team or raise NotFound."""
    team = s.get(Team, team_id)
    if team is None:
        raise NotFound(_("No such team."))
    return team


def find_team(s: Session, name: str) -> Team | None:
    """Find the team of this name, compared as names are (case and Unicode folded)."""
    key = name_key(name)
    # Compared in Python: SQLite's lower() folds ASCII only. Teams are few.
    return next((t for t in s.scalars(sa.select(Team)) if name_key(t.name) == key), None)


def save_team(
    s: Session, *, name: str, kind: TeamKind | str, description: str = "", team: Team | None = None
) -> Team:
    """Create a team, or update one when given; names are unique ignoring case and accents'
    composition ("Équipe Nord" and "équipe nord" are one team)."""
    name = checked_text("name", name).strip()
    checked_text("description", description, multiline=True)
    if not name:
        raise Invalid(_("A team name is required."), {"name": _("A team name is required.")})
    try:
        kind = TeamKind(kind)
    except ValueError:
        message = _("Unknown team kind “%(kind)s”.", kind=kind)
        raise Invalid(message, {"kind": _("unknown kind")}) from None
    clash = find_team(s, name)
    if clash is not None and clash is not team:
        raise Conflict(
            _("A team called %(name)s already exists.", name=clash.name),
            {"name": _("already in use")},
        )
    if team is None:
        team = Team(name=name, kind=kind, description=description.strip())
        s.add(team)
    else:
        team.name, team.kind, team.description = name, kind, description.strip()
    s.flush()
    return team


def add_team(s: Session, actor: User | None, data: TeamData) -> Team:
    """Create a team; its name must be new (ignoring case and accents' composition)."""
    require_admin(actor)
    return save_team(s, name=data.name, kind=data.kind, description=data.description)


def edit_team(s: Session, actor: User | None, team_id: int, data: TeamData) -> Team:
    """Rename a team, or change its kind or description."""
    require_admin(actor)
    team = get_team(s, team_id)
    return save_team(s, name=data.name, kind=data.kind, description=data.description, team=team)
