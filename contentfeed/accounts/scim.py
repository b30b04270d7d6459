"""SCIM 2.0 provisioning (RFC 7643, RFC 7644): an identity provider creates, updates,
deactivates and deletes users and maps its groups to teams. Never commits.

Resources are scim2-models objects; this module turns them into users and teams and back
(the adapter is ``accounts/scim_api.py``, the mapping is described in docs/scim.md):

- a User is a user: ``userName`` is kept (lower-cased, unique) and, when it is an email
  address and no ``emails`` are sent, is also the email they sign in with; otherwise the
  primary (or first) of ``emails`` is. ``displayName`` (else ``name``) is their name,
  ``preferredLanguage`` (or ``locale``) their interface language when it is German or
  English, ``active`` whether they may sign in. New users get ``[sso] default_role``.
- a Group is a team (``displayName`` = its name). A user has one team here: the group that
  added them last wins, and every group lists exactly the users of its team. A group named
  in ``[sso] group_roles`` also gives the users it adds that role.
- deactivating (``active: false``, or DELETE) ends the user's sessions, API tokens and
  unused sign-in links at once; their leads, suggestions and clicks stay. DELETE keeps the
  row (its history) and hides it from SCIM; creating the same userName again brings it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from scim2_models import (
    Email,
    EnterpriseUser,
    GroupMember,
    GroupMembership,
    Meta,
    PatchOp,
    SCIMException,
    ScimPolicy,
)
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUser
from scim2_models.path import FilterNode
from sqlalchemy.orm import Session

from contentfeed.accounts.models import (
    ApiToken,
    LinkPurpose,
    Role,
    SignInLink,
    Team,
    TeamKind,
    User,
)
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.scim_filters import GROUP_FILTERS, USER_FILTERS, resource_number, where

# The refusals the adapter raises too.
from contentfeed.accounts.scim_filters import ScimRefusal as ScimRefusal
from contentfeed.accounts.scim_filters import invalid as invalid
from contentfeed.accounts.sso import ROLE_PRECEDENCE
from contentfeed.accounts.teams import find_team, save_team
from contentfeed.accounts.users import activate_user, create_user, deactivate_user
from contentfeed.db import utcnow
from contentfeed.i18n import supported
from contentfeed.text import control_problem

# The enterprise extension Entra ID and Okta send is accepted (and ignored).
UserResource = ScimUser[EnterpriseUser]
GroupResource = ScimGroup
# What is tolerated beyond the RFCs' strict reading, as Microsoft Entra ID sends it: a PATCH
# "remove" naming the members to remove in its value, a "replace" of emails[type eq "work"]
# on a user who has no such entry yet. Unknown attributes are still refused (400).
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
MAX_RESULTS = 200  # the most resources one list answers (ServiceProviderConfig filter)
# A startIndex past any row: answered with an empty page, never an overflowing OFFSET.
_LAST_INDEX = 2**31


def not_found(kind: str, resource_id: str) -> ScimRefusal:
    return ScimRefusal(404, f"{kind} {resource_id} not found")


def refusal_of(exc: SCIMException) -> ScimRefusal:
    """Turn scim2-models' own refusal (a bad path, a read-only attribute) into ours."""
    return ScimRefusal(exc.status, exc.detail, exc.scim_type or None)


@dataclass(frozen=True)
class ScimSettings:
    """What provisioning needs from the settings: the role of new users, the groups that
    give a role (both ``[sso]``, shared with single sign-on), and the SCIM base URL."""

    base_url: str
    default_role: str = "seller"
    group_roles: dict[str, str] | None = None


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFields:
    user_name: str
    email: str
    name: str
    active: bool
    external_id: str | None
    locale: str


def _text(label: str, value: str | None, limit: int) -> str:
    value = (value or "").strip()
    if control_problem(value):
        raise invalid(f"{label} must not contain control characters such as NUL")
    if len(value) > limit:
        raise invalid(f"{label} is longer than {limit} characters")
    return value


def _email(value: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def user_fields(resource: UserResource) -> UserFields:
    """Read what a User resource says about the person, or refuse it (400)."""
    user_name = _text("userName", resource.user_name, 254).lower()
    if not user_name:
        raise invalid("userName is required")
    emails = [e for e in resource.emails or [] if e.value]
    # The primary email, else a work email, else the first.
    chosen = next(
        (e for e in emails if e.primary),
        next((e for e in emails if e.type == "work"), emails[0] if emails else None),
    )
    raw_email = _text("emails.value", chosen.value if chosen else user_name, 254)
    email = _email(raw_email)
    if email is None:
        raise invalid(
            f"{raw_email!r} is not an email address: send one in emails (primary) or as userName"
        )
    name = _text("displayName", resource.display_name, 200)
    if not name and resource.name is not None:
        given = _text("name.givenName", resource.name.given_name, 200)
        family = _text("name.familyName", resource.name.family_name, 200)
        formatted = _text("name.formatted", resource.name.formatted, 200)
        name = formatted or f"{given} {family}".strip()
    language = _text("preferredLanguage", resource.preferred_language or resource.locale, 35)
    return UserFields(
        user_name=user_name,
        email=email,
        name=name[:200] or email.split("@")[0],
        active=resource.active if resource.active is not None else True,
        external_id=_text("externalId", resource.external_id, 255) or None,
        locale=supported(language) or "",
    )


def user_resource(user: User, base_url: str, *, email_type: str | None = None) -> UserResource:
    """Describe a user as a SCIM User (their email typed ``email_type`` when given: a PATCH
    of ``emails[type eq "work"]`` then finds it)."""
    team = user.team if user.team is not None and user.team.scim_deleted_at is None else None
    return UserResource(
        id=str(user.id),
        external_id=user.scim_external_id,
        user_name=user.scim_user_name or user.email,
        display_name=user.name,
        active=user.is_active,
        emails=[Email(value=user.email, type=email_type)],
        preferred_language=user.locale or None,
        groups=[
            GroupMembership(
                value=str(team.id), ref=f"{base_url}/Groups/{team.id}", display=team.name
            )
        ]
        if team
        else None,
        meta=Meta(
            resource_type="User",
            created=user.created_at,
            last_modified=user.deactivated_at or user.created_at,
            location=f"{base_url}/Users/{user.id}",
        ),
    )


def get_user(s: Session, actor: User | None, resource_id: str) -> User:
    """Return the user a SCIM id names, or 404 (a user SCIM deleted is gone for it)."""
    require_admin(actor)
    user_id = resource_number(resource_id)
    user = s.get(User, user_id) if user_id is not None else None
    if user is None or user.scim_deleted_at is not None:
        raise not_found("User", resource_id)
    return user


def _by_user_name(s: Session, user_name: str) -> User | None:
    return s.scalar(sa.select(User).where(User.scim_user_name == user_name))


def _by_email(s: Session, email: str) -> User | None:
    return s.scalar(sa.select(User).where(User.email == email))


def end_access(s: Session, user: User) -> None:
    """End a user's sign-ins everywhere at once: sessions and "keep me signed in" cookies (the
    session version), API tokens, and invitation, reset and feed links not used yet."""
    now = utcnow()
    user.session_version += 1
    s.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    s.execute(
        sa.update(SignInLink)
        .where(
            SignInLink.user_id == user.id,
            SignInLink.purpose.in_(list(LinkPurpose)),
            SignInLink.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def _set_active(s: Session, user: User, active: bool, actor: User) -> None:
    if active and not user.is_active:
        activate_user(s, user)
    elif not active and user.is_active:
        deactivate_user(s, user, by=actor)  # not oneself, not the last admin: 409
        end_access(s, user)


def _apply(s: Session, user: User, fields: UserFields, actor: User) -> User:
    clash = _by_user_name(s, fields.user_name)
    if clash is not None and clash is not user:
        raise ScimRefusal(409, f"userName {fields.user_name} is taken", "uniqueness")
    clash = _by_email(s, fields.email)
    if clash is not None and clash is not user:
        raise ScimRefusal(409, f"email {fields.email} belongs to another user", "uniqueness")
    user.scim_user_name = fields.user_name
    user.email = fields.email
    user.name = fields.name
    user.scim_external_id = fields.external_id
    user.locale = fields.locale
    _set_active(s, user, fields.active, actor)
    s.flush()
    return user


def provision_user(
    s: Session, actor: User | None, resource: UserResource, settings: ScimSettings
) -> User:
    """Create the user a SCIM User describes (POST /Users); a userName (or email) SCIM
    deleted before comes back, history and all. A userName or email in use: 409."""
    actor = require_admin(actor)
    fields = user_fields(resource)
    user = _by_user_name(s, fields.user_name) or _by_email(s, fields.email)
    if user is not None and user.scim_deleted_at is None:
        raise ScimRefusal(409, f"a user with userName {fields.user_name} exists", "uniqueness")
    if user is None:
        user = create_user(
            s, email=fields.email, name=fields.name, role=Role(settings.default_role)
        )
    user.scim_deleted_at = None
    return _apply(s, user, fields, actor)


def replace_user(s: Session, actor: User | None, resource_id: str, resource: UserResource) -> User:
    """Replace what SCIM manages of a user (PUT /Users/{id})."""
    user = get_user(s, actor, resource_id)
    return _apply(s, user, user_fields(resource), require_admin(actor))


def patch_user(
    s: Session, actor: User | None, resource_id: str, patch: PatchOp[Any], settings: ScimSettings
) -> User:
    """Apply a PatchOp to a user (PATCH /Users/{id}): to the User they are now, then the
    result replaces them, so add, replace and remove act on every attribute alike."""
    user = get_user(s, actor, resource_id)
    resource = user_resource(user, settings.base_url, email_type="work")
    try:
        patch.patch(resource, scim_policy=POLICY)
    except SCIMException as exc:
        raise refusal_of(exc) from None
    if resource.emails and not any(e.primary for e in resource.emails):
        # An email the patch added (and did not mark primary) replaces the one they had.
        added = [e for e in resource.emails if e.value and e.value.lower() != user.email]
        resource.emails = added or resource.emails
    return _apply(s, user, user_fields(resource), require_admin(actor))


def delete_user(s: Session, actor: User | None, resource_id: str) -> None:
    """Delete a user for SCIM (DELETE /Users/{id}): deactivated, sign-ins ended, hidden from
    SCIM; the row and its history stay."""
    user = get_user(s, actor, resource_id)
    _set_active(s, user, False, require_admin(actor))
    user.scim_deleted_at = utcnow()
    s.flush()


@dataclass(frozen=True)
class Page:
    """One page of a list: the total matching and the rows from ``start_index`` on."""

    total: int
    start_index: int
    items: Sequence[Any]


def _bounds(start_index: int | None, count: int | None) -> tuple[int, int]:
    start = min(max(start_index or 1, 1), _LAST_INDEX)
    return start, min(max(count if count is not None else MAX_RESULTS, 0), MAX_RESULTS)


def _page(s: Session, query: sa.Select[Any], order: Any, start: int, count: int) -> Page:
    total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = (
        s.scalars(query.order_by(order).offset(start - 1).limit(count)).all()
        if count and start <= total
        else []
    )
    return Page(total=total, start_index=start, items=items)


def list_users(
    s: Session,
    actor: User | None,
    *,
    filter_ast: FilterNode | None,
    start_index: int | None,
    count: int | None,
) -> Page:
    """List users for SCIM (GET /Users), filtered and a page at a time, by id."""
    require_admin(actor)
    query = sa.select(User).where(User.scim_deleted_at.is_(None))
    if filter_ast is not None:
        query = query.where(where(filter_ast, USER_FILTERS))
    start, count = _bounds(start_index, count)
    query = query.options(sa.orm.selectinload(User.team))
    return _page(s, query, User.id, start, count)


# --- groups --------------------------------------------------------------------------------


def group_resource(team: Team, base_url: str, members: Sequence[User]) -> GroupResource:
    """Describe a team as a SCIM Group, with its members."""
    return GroupResource(
        id=str(team.id),
        external_id=team.scim_external_id,
        display_name=team.name,
        members=[
            GroupMember(value=str(u.id), ref=f"{base_url}/Users/{u.id}", type="User")
            for u in members
        ]
        or None,
        meta=Meta(
            resource_type="Group",
            created=team.created_at,
            last_modified=team.created_at,
            location=f"{base_url}/Groups/{team.id}",
        ),
    )


def team_members(s: Session, team: Team) -> Sequence[User]:
    """Return the team's members SCIM sees (users it deleted left out), by id."""
    return s.scalars(
        sa.select(User)
        .where(User.team_id == team.id, User.scim_deleted_at.is_(None))
        .order_by(User.id)
    ).all()


def get_group(s: Session, actor: User | None, resource_id: str) -> Team:
    """Return the team a SCIM id names, or 404 (a team SCIM deleted is gone for it)."""
    require_admin(actor)
    team_id = resource_number(resource_id)
    team = s.get(Team, team_id) if team_id is not None else None
    if team is None or team.scim_deleted_at is not None:
        raise not_found("Group", resource_id)
    return team


def _group_fields(resource: GroupResource) -> tuple[str, str | None, list[str]]:
    name = _text("displayName", resource.display_name, 120)
    if not name:
        raise invalid("displayName is required")
    members = [_text("members.value", m.value, 20) for m in resource.members or []]
    return name, _text("externalId", resource.external_id, 255) or None, members


def _set_members(s: Session, team: Team, member_ids: list[str], settings: ScimSettings) -> None:
    numbers = {member_id: resource_number(member_id) for member_id in member_ids}
    ids = {n for n in numbers.values() if n is not None}
    # One query for the whole list: a group of 300 sellers is one PUT.
    found = {u.id: u for u in s.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
    wanted: dict[int, User] = {}
    for member_id, user_id in numbers.items():
        user = found.get(user_id) if user_id is not None else None
        if user is None or user.scim_deleted_at is not None:
            raise invalid(f"member {member_id} is no user")
        wanted[user.id] = user
    for user in team_members(s, team):
        if user.id not in wanted:
            user.team = None
    role = (settings.group_roles or {}).get(team.name)
    for user in wanted.values():
        user.team = team  # out of the team they were in: the last group to add them wins
        if role and ROLE_PRECEDENCE.index(Role(role)) < ROLE_PRECEDENCE.index(user.role):
            user.role = Role(role)


def _save_group(
    s: Session, resource: GroupResource, settings: ScimSettings, team: Team | None
) -> Team:
    name, external_id, members = _group_fields(resource)
    clash = find_team(s, name)
    if clash is not None and clash is not team:
        if clash.scim_deleted_at is None or team is not None:
            raise ScimRefusal(409, f"a group named {name} exists", "uniqueness")
        team = clash  # a group deleted before comes back
    if team is None:
        team = save_team(s, name=name, kind=TeamKind.BUSINESS_DEVELOPMENT)
    else:
        save_team(s, name=name, kind=team.kind, description=team.description, team=team)
    team.scim_external_id = external_id
    team.scim_deleted_at = None
    _set_members(s, team, members, settings)
    s.flush()
    return team


def provision_group(
    s: Session, actor: User | None, resource: GroupResource, settings: ScimSettings
) -> Team:
    """Create the team a SCIM Group describes, with its members (POST /Groups); a name in
    use answers 409, a group SCIM deleted before comes back."""
    require_admin(actor)
    return _save_group(s, resource, settings, None)


def replace_group(
    s: Session,
    actor: User | None,
    resource_id: str,
    resource: GroupResource,
    settings: ScimSettings,
) -> Team:
    """Rename a team and set its members (PUT /Groups/{id})."""
    return _save_group(s, resource, settings, get_group(s, actor, resource_id))


def patch_group(
    s: Session, actor: User | None, resource_id: str, patch: PatchOp[Any], settings: ScimSettings
) -> Team:
    """Apply a PatchOp to a team (PATCH /Groups/{id}): members added or removed, renamed."""
    team = get_group(s, actor, resource_id)
    resource = group_resource(team, settings.base_url, team_members(s, team))
    try:
        patch.patch(resource, scim_policy=POLICY)
    except SCIMException as exc:
        raise refusal_of(exc) from None
    return _save_group(s, resource, settings, team)


def delete_group(s: Session, actor: User | None, resource_id: str) -> None:
    """Delete a group for SCIM (DELETE /Groups/{id}): its members leave the team, which
    stays (content may be aimed at it) but SCIM no longer sees it."""
    team = get_group(s, actor, resource_id)
    for user in team_members(s, team):
        user.team = None
    team.scim_deleted_at = utcnow()
    team.scim_external_id = None
    s.flush()


def list_groups(
    s: Session,
    actor: User | None,
    *,
    filter_ast: FilterNode | None,
    start_index: int | None,
    count: int | None,
) -> Page:
    """List teams for SCIM (GET /Groups), filtered and a page at a time, by id."""
    require_admin(actor)
    query = sa.select(Team).where(Team.scim_deleted_at.is_(None))
    if filter_ast is not None:
        query = query.where(where(filter_ast, GROUP_FILTERS))
    start, count = _bounds(start_index, count)
    return _page(s, query, Team.id, start, count)
