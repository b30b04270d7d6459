"""Accounts API: users and teams (admins), under /api/v1."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Blueprint, Response, url_for
from pydantic import BaseModel, ConfigDict, Field

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.models import Role, Team, TeamKind, User
from contentfeed.api import json_response, operation, parse_json, parse_query
from contentfeed.db import Id, PageNumber
from contentfeed.errors import NotFound
from contentfeed.i18n import _
from contentfeed.suggestions import notify
from contentfeed.text import Input

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
    invited: bool = Field(
        description="Added without a password and not signed in yet: an invitation was made"
    )
    created_at: datetime
    last_login_at: datetime | None


class UserCreated(UserOut):
    """The user as created, and what became of their invitation."""

    invitation: Literal["sent", "kept"] | None = Field(
        default=None,
        description="For a user created without a password: `sent` by email, or `kept` "
        "(no mail server is set up) under Admin → Sent email, where an admin copies the link "
        "to pass on; null when a password was given",
    )


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


class UserIn(service.NewUser):
    """A user to create: the admin page's shape (``service.NewUser``)."""


class TeamIn(service.TeamData):
    """A team to create: the teams page's shape (``service.TeamData``)."""


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
        invited=user.is_invited,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@bp.get("/users")
@access.require_scope("read", *ADMIN)
@operation(summary="List users", tag="accounts", response=UserList, query=UserQuery)
def list_users() -> Response:
    """List users, filtered by text, role and team, a page at a time."""
    query = parse_query(UserQuery)
    result = service.list_users(
        db.session(),
        search=query.q,
        role=query.role.value if query.role else "",
        team_id=query.team_id,
        offset=(query.page - 1) * query.per_page,
        limit=query.per_page,
    )
    items = [user_out(u) for u in result.items]
    body = UserList(items=items, page=query.page, per_page=query.per_page, total=result.total)
    return json_response(body)


@bp.get("/users/<int:user_id>")
@access.require_scope("read", *ADMIN)
@operation(summary="Get a user", tag="accounts", response=UserOut, errors=(404,))
def get_user(user_id: int) -> Response:
    """Return one user."""
    return json_response(user_out(service.get_user(db.session(), user_id)))


@bp.post("/users")
@access.require_scope("admin", *ADMIN)
@operation(
    summary="Create a user",
    tag="accounts",
    response=UserCreated,
    status=201,
    body=UserIn,
    errors=(409, 503),
)
def create_user() -> Response:
    """Create a user; sellers get a default seller profile. Without a password the user is
    emailed an invitation to choose one; without a mail server it is kept under Admin → Sent
    email (``invitation``: ``kept``)."""
    mail = service.AccountMail.of(config.current())
    user = service.add_user(db.session(), access.signed_in_user(), parse_json(UserIn), mail)
    invitation = ("sent" if mail.can_send else "kept") if user.is_invited else None
    body = UserCreated(**user_out(user).model_dump(), invitation=invitation)
    response = json_response(body, 201)
    response.headers["Location"] = url_for("accounts_api.get_user", user_id=user.id)
    return response


class SellerProfileOut(service.SellerProfileData):
    """A seller's profile: their languages (the preferred first), topics, cadence, channel."""


class SellerProfileSaved(SellerProfileOut):
    """A seller's profile as saved; a newly set Slack or Teams webhook is sent a test
    message, and ``test_message`` says whether it arrived (``test_message_error`` why not)."""

    test_message: Literal["arrived", "failed"] | None = None
    test_message_error: str = ""


class SellerProfileIn(service.SellerProfileData):
    """A seller's whole profile as an admin sets it; ``languages`` in order, the preferred
    first (a single ``language`` is read as a list of one)."""


def _profile_of(user: User) -> SellerProfileOut:
    if user.seller_profile is None:
        raise NotFound(_("This user has no seller profile."))
    profile = user.seller_profile
    return SellerProfileOut.model_validate(
        {name: getattr(profile, name) for name in service.SellerProfileData.model_fields}
    )


@bp.get("/users/<int:user_id>/seller-profile")
@access.require_scope("read", *ADMIN)
@operation(
    summary="Get a seller's profile", tag="accounts", response=SellerProfileOut, errors=(404,)
)
def get_seller_profile(user_id: int) -> Response:
    """Return a seller's profile: languages, topics, cadence and notifications."""
    return json_response(_profile_of(service.get_user(db.session(), user_id)))


@bp.put("/users/<int:user_id>/seller-profile")
@access.require_scope("admin", *ADMIN)
@operation(
    summary="Set a seller's profile",
    tag="accounts",
    response=SellerProfileSaved,
    body=SellerProfileIn,
    errors=(404,),
)
def put_seller_profile(user_id: int) -> Response:
    """Replace a seller's profile; a seller is suggested items with a variant in one of the
    profile's languages, in the first of them that has one."""
    s = db.session()
    user = service.get_user(s, user_id)
    _profile_of(user)  # 404 for someone who is no seller, before reading the body
    trial = notify.WebhookTrial(user)
    data = parse_json(SellerProfileIn)
    service.save_seller_profile(s, access.signed_in_user(), user_id, data, on_new_webhook=trial)
    saved = SellerProfileSaved.model_validate(_profile_of(user).model_dump())
    if trial.result is not None:
        saved.test_message = "arrived" if trial.result.arrived else "failed"
        saved.test_message_error = trial.result.reason
    return json_response(saved)


@bp.get("/teams")
@access.require_scope("read", *ADMIN)
@operation(summary="List teams", tag="accounts", response=TeamList)
def list_teams() -> Response:
    """List every team."""
    return json_response(TeamList(items=[team_out(t) for t in service.list_teams(db.session())]))


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
    team = service.add_team(db.session(), access.signed_in_user(), parse_json(TeamIn))
    return json_response(team_out(team), 201)
