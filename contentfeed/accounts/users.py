"""Users and roles: who has an account, with which role, team and time zone. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from contentfeed.accounts.models import Role, SellerProfile, Team, User
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound
from contentfeed.text import checked_text

MIN_PASSWORD_LENGTH = 10


def normalise_email(raw: str) -> str:
    """Validate an email address (syntax only, no network) and return it lower-cased."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(str(exc), {"email": str(exc)}) from None
    return result.normalized.lower()


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"Use at least {MIN_PASSWORD_LENGTH} characters."
        raise Invalid(message, {"password": message})


def check_timezone(name: str) -> str:
    """Return a valid IANA time zone name or refuse it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"Unknown time zone {name!r}; use a name like Europe/Berlin."
        raise Invalid(message, {"timezone": message}) from None
    return name


# --- users -------------------------------------------------------------------------------


def get_user(s: Session, user_id: int) -> User:
    """Return one user or raise NotFound."""
    user = s.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
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
        raise Invalid("A name is required.", {"name": "A name is required."})
    try:
        role = Role(role)
    except ValueError:
        message = f"Unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}."
        raise Invalid(message, {"role": message}) from None
    if find_user_by_email(s, email) is not None:
        raise Conflict(
            f"A user with the email {email} already exists.", {"email": "already in use"}
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
        raise Invalid("A name is required.", {"name": "A name is required."})
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
        raise Conflict("You cannot deactivate your own account.")
    if user.role is Role.ADMIN and _active_admin_count(s) <= 1:
        raise Conflict("This is the last active admin; make someone else admin first.")
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
