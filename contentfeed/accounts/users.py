"""Users and roles: who has an account, with which role, team and time zone. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from contentfeed.accounts.models import Role, SellerProfile, Team, User
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.teams import get_team
from contentfeed.db import Id, utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.i18n import LOCALES, _, current_locale
from contentfeed.text import Input, checked_text

if TYPE_CHECKING:
    from contentfeed.accounts.invitations import AccountMail

MIN_PASSWORD_LENGTH = 10


class UserData(Input):
    """A user's details as an admin sets them: one shape for the admin page and the API."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role
    team_id: Id | None = None
    timezone: str = ""


class NewUser(UserData):
    """A user to create: their details, the email they sign in with, an initial password."""

    email: str = Field(max_length=254)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH)


class UserChanges(UserData):
    """An admin's edit of a user: their details and, when given, a new password."""

    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH)


class AccountDetails(Input):
    """What anyone may change about themselves."""

    name: str = Field(max_length=200)
    timezone: str = ""


class PasswordChange(Input):
    """A new password, given with the current one."""

    current_password: str
    new_password: str


def normalise_email(raw: str) -> str:
    """Validate an email address (syntax only, no network) and return it lower-cased."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        # email_validator explains why in English only; other languages say it in short.
        message = str(exc) if current_locale() == LOCALES[0] else _("That isn't an email address.")
        raise Invalid(message, {"email": message}) from None
    return result.normalized.lower()


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = _("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
        raise Invalid(message, {"password": message})


def check_timezone(name: str) -> str:
    """Return a valid IANA time zone name or refuse it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = _("Unknown time zone “%(name)s”; use a name like Europe/Berlin.", name=name)
        raise Invalid(message, {"timezone": message}) from None
    return name


# --- users -------------------------------------------------------------------------------


def get_user(s: Session, user_id: int) -> User:
    """Return one user or raise NotFound."""
    user = s.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def find_user_by_email(s: Session, email: str) -> User | None:
    """Return the user with this (normalised) email, if any."""
    return s.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    s: Session,
    *,
    email: str,
    name: str,
    role: Role | str,
    password: str | None = None,
    team: Team | None = None,
    timezone: str = "",
) -> User:
    """Create an active user; sellers also get a default seller profile."""
    email = normalise_email(email)
    name = checked_text("name", name).strip()
    if not name:
        raise Invalid(_("A name is required."), {"name": _("A name is required.")})
    try:
        role = Role(role)
    except ValueError:
        message = _(
            "Unknown role “%(role)s”; choose one of %(roles)s.",
            role=role,
            roles=", ".join(r.value for r in Role),
        )
        raise Invalid(message, {"role": message}) from None
    if find_user_by_email(s, email) is not None:
        raise Conflict(
            _("A user with the email %(email)s already exists.", email=email),
            {"email": _("already in use")},
        )
    if timezone:
        check_timezone(timezone)
    user = User(email=email, name=name, role=role, team=team, timezone=timezone)
    if password is not None:
        check_password_strength(password)
        user.password_hash = generate_password_hash(password)
    if role is Role.SELLER:
        user.seller_profile = SellerProfile()
    s.add(user)
    s.flush()
    return user


def update_user(
    s: Session, user: User, *, name: str, role: Role | str, team: Team | None, timezone: str
) -> User:
    """Change a user's name, role, team and time zone."""
    if not checked_text("name", name).strip():
        raise Invalid(_("A name is required."), {"name": _("A name is required.")})
    if timezone:
        check_timezone(timezone)
    user.name = name.strip()
    user.role = Role(role)
    user.team = team
    user.timezone = timezone
    if user.role is Role.SELLER and user.seller_profile is None:
        user.seller_profile = SellerProfile()
    s.flush()
    return user


def set_password(s: Session, user: User, password: str) -> None:
    """Set a new password (hashed with werkzeug)."""
    check_password_strength(password)
    user.password_hash = generate_password_hash(password)


def deactivate_user(s: Session, user: User, *, by: User) -> None:
    """Stop a user signing in or using tokens; an admin cannot lock themselves out."""
    if user.id == by.id:
        raise Conflict(_("You cannot deactivate your own account."))
    if user.role is Role.ADMIN and _active_admin_count(s) <= 1:
        raise Conflict(_("This is the last active admin; make someone else admin first."))
    user.is_active = False
    user.deactivated_at = utcnow()


def activate_user(s: Session, user: User) -> None:
    """Let a deactivated user sign in again."""
    user.is_active = True
    user.deactivated_at = None


def _active_admin_count(s: Session) -> int:
    return (
        s.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.is_active)
        )
        or 0
    )


@dataclass(frozen=True)
class UserPage:
    """One page of users plus the total count matching the filter."""

    items: Sequence[User]
    total: int


def list_users(
    s: Session,
    *,
    search: str = "",
    role: str = "",
    team_id: int | None = None,
    include_inactive: bool = True,
    sort: str = "name",
    descending: bool = False,
    offset: int = 0,
    limit: int = 25,
) -> UserPage:
    """List users filtered by text, role and team, sorted and paginated."""
    query = sa.select(User)
    if search:
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
    if role:
        query = query.where(User.role == Role(role))
    if team_id:
        query = query.where(User.team_id == team_id)
    if not include_inactive:
        query = query.where(User.is_active)
    total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    columns = {
        "name": sa.func.lower(User.name),
        "email": User.email,
        "role": User.role,
        "created": User.created_at,
        "last_login": User.last_login_at,
    }
    column = columns.get(sort, columns["name"])
    order = column.desc() if descending else column.asc()
    items = s.scalars(
        query.options(sa.orm.selectinload(User.team))
        .order_by(order, User.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return UserPage(items=items, total=total)


def role_counts(s: Session) -> dict[Role, int]:
    """Count active users per role."""
    rows = s.execute(
        sa.select(User.role, sa.func.count()).where(User.is_active).group_by(User.role)
    ).all()
    counts = dict.fromkeys(Role, 0)
    counts.update({Role(role): n for role, n in rows})
    return counts


def recent_sign_ins(s: Session, limit: int = 6) -> Sequence[User]:
    """Return the users who signed in last, most recent first."""
    return s.scalars(
        sa.select(User)
        .where(User.last_login_at.is_not(None))
        .order_by(User.last_login_at.desc())
        .limit(limit)
    ).all()


def list_active_users(s: Session) -> Sequence[User]:
    """Return every active user by name."""
    return s.scalars(sa.select(User).where(User.is_active).order_by(sa.func.lower(User.name))).all()


def active_teammates(user: User) -> list[User]:
    """Return the active members of a user's team, the user left out."""
    if user.team is None:
        return []
    return [m for m in user.team.members if m.is_active and m.id != user.id]


# --- use cases ---------------------------------------------------------------------------


def add_user(
    s: Session, actor: User | None, data: NewUser, mail: AccountMail | None = None
) -> User:
    """Create the user an admin describes; sellers get a default seller profile.

    Without a password the user is sent an invitation to choose one (through ``mail``);
    without a mail server it is kept under Admin → Sent email, where an admin copies its
    link. Without ``mail`` at all no link can be made: the user is not created."""
    from contentfeed.accounts.invitations import check_can_invite, send_invitation

    require_admin(actor)
    user = create_user(
        s,
        email=data.email,
        name=data.name,
        role=data.role,
        password=data.password,
        team=get_team(s, data.team_id) if data.team_id else None,
        timezone=data.timezone,
    )
    if data.password is None:
        send_invitation(s, user, check_can_invite(mail))
    return user


def edit_user(s: Session, actor: User | None, user_id: int, data: UserChanges) -> User:
    """Change a user's details and, when one is given, their password."""
    require_admin(actor)
    user = get_user(s, user_id)
    update_user(
        s,
        user,
        name=data.name,
        role=data.role,
        team=get_team(s, data.team_id) if data.team_id else None,
        timezone=data.timezone,
    )
    if data.password:
        set_password(s, user, data.password)
    return user


def deactivate_account(s: Session, actor: User | None, user_id: int) -> User:
    """Stop a user signing in or using tokens (their history stays)."""
    user = get_user(s, user_id)
    deactivate_user(s, user, by=require_admin(actor))
    return user


def reactivate_account(s: Session, actor: User | None, user_id: int) -> User:
    """Let a deactivated user sign in again."""
    require_admin(actor)
    user = get_user(s, user_id)
    activate_user(s, user)
    return user


def change_own_details(s: Session, actor: User, data: AccountDetails) -> User:
    """Change the signed-in user's own name and time zone (role and team stay)."""
    return update_user(
        s, actor, name=data.name, role=actor.role, team=actor.team, timezone=data.timezone
    )


def choose_language(s: Session, actor: User, locale: str) -> User:
    """Keep the interface language the user chose ("" = let the profile and browser decide)."""
    if locale and locale not in LOCALES:
        raise Invalid(_("We do not speak that language yet."), {"locale": _("Unknown language.")})
    actor.locale = locale
    s.flush()
    return actor


def change_own_password(s: Session, actor: User, data: PasswordChange) -> None:
    """Set the signed-in user's new password, once they have proved the current one."""
    if not check_password_hash(actor.password_hash, data.current_password):
        message = _("That is not your current password.")
        raise Invalid(message, {"current_password": message})
    try:
        set_password(s, actor, data.new_password)
    except Invalid as exc:
        raise Invalid(exc.message, {"new_password": exc.message}) from None
