"""Accounts API: users and teams (admins), under /api/v1."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, url_for
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import db
from contentfeed.accounts import access, service
from contentfeed.accounts.models import Role, Team, TeamKind, User
from contentfeed.api import json_response, operation, parse_json, parse_query
from contentfeed.db import Id, PageNumber
from contentfeed.text import Input, MultiLineText

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")

ADMIN = (Role.ADMIN,)


class TeamOut(BaseModel):
    id: int
    name: str
    kind: TeamKind
    description: str


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    team: TeamOut | None
    timezone: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    items: list[UserOut]
    page: int
    per_page: int
    total: int


class TeamList(BaseModel):
    items: list[TeamOut]


class UserQuery(Input):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(default="", description="Search in name and email")
    role: Role | None = None
    team_id: Id | None = None
    page: PageNumber = 1
    per_page: int = Field(default=50, ge=1, le=500)


class UserIn(Input):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: Role
    team_id: Id | None = None
    timezone: str = ""
    password: str | None = Field(default=None, min_length=service.MIN_PASSWORD_LENGTH)


class TeamIn(Input):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    kind: TeamKind
    description: MultiLineText = ""


def team_out(team: Team) -> TeamOut:
    """Describe a team for the API."""
    return TeamOut(id=team.id, name=team.name, kind=team.kind, description=team.description)


def user_out(user: User) -> UserOut:
    """Describe a user for the API."""
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        team=team_out(user.team) if user.team else None,
        timezone=user.timezone,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@bp.get("/users")
@access.require_scope("read", *ADMIN)
@operation(summary="List users", tag="accounts", response=UserList, query=UserQuery)
def list_users() -> Response:
    """List users, filtered by text, role and team, a page at a time."""
    query = parse_query(UserQuery)
    s = db.session()
    result = service.list_users(
        s,
        search=query.q,
        role=query.role.value if query.role else "",
        team_id=query.team_id,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    body = UserList(
        items=[user_out(u) for u in result.items],
        page=query.page,
        per_page=query.per_page,
        total=result.total,
    )
    s.commit()
    return json_response(body)


@bp.get("/users/<int:user_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a user", tag="accounts", response=UserOut, errors=(404,))
def get_user(user_id: int) -> Response:
    """Return one user."""
    s = db.session()
    body = user_out(service.get_user(s, user_id))
    s.commit()
    return json_response(body)


@bp.post("/users")
@access.require_scope("admin", *ADMIN)
@operation(
    summary="Create a user",
    tag="accounts",
    response=UserOut,
    status=201,
    body=UserIn,
    errors=(409,),
)
def create_user() -> Response:
    """Create a user; sellers get a default seller profile."""
    data = parse_json(UserIn)
    s = db.session()
    team = service.get_team(s, data.team_id) if data.team_id else None
    user = service.create_user(
        s,
        email=data.email,
        name=data.name,
        role=data.role,
        password=data.password,
        team=team,
        timezone=data.timezone,
    )
    s.commit()
    response = json_response(user_out(user), 201)
    response.headers["Location"] = url_for("accounts_api.get_user", user_id=user.id)
    return response


@bp.get("/teams")
@access.require_scope("read", *ADMIN)
@operation(summary="List teams", tag="accounts", response=TeamList)
def list_teams() -> Response:
    """List every team."""
    s = db.session()
    body = TeamList(items=[team_out(t) for t in service.list_teams(s)])
    s.commit()
    return json_response(body)


@bp.post("/teams")
@access.require_scope("admin", *ADMIN)
@operation(
    summary="Create a team",
    tag="accounts",
    response=TeamOut,
    status=201,
    body=TeamIn,
    errors=(409,),
)
def create_team() -> Response:
    """Create a team."""
    data = parse_json(TeamIn)
    s = db.session()
    team = service.save_team(s, name=data.name, kind=data.kind, description=data.description)
    s.commit()
    return json_response(team_out(team), 201)
