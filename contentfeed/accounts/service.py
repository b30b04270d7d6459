"""Account decisions: users, teams, seller profiles, sign-in, API tokens. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from contentfeed.accounts.models import (
    ApiToken,
    LoginFailure,
    NotificationChannel,
    Role,
    SellerProfile,
    Team,
    TeamKind,
    User,
)
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Invalid, NotFound, TooManyAttempts, Unauthorized

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "cf_"  # noqa: S105 - a marker, not a secret

SCOPES: dict[str, str] = {
    "read": "Read everything the token's user may see",
    "content:write": "Create and change library content",
    "suggestions:write": "Mark suggestions posted or skipped, suggest now",
    "leads:write": "Post leads to the lead webhook",
    "routing:write": "Change routing rules, queues and leads",
    "admin": "Manage users, teams and tokens",
}

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


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
    name = name.strip()
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
    if not name.strip():
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


# --- sign-in and throttling --------------------------------------------------------------


def authenticate(
    s: Session,
    *,
    email: str,
    password: str,
    client_key: str,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> User:
    """Return the user these credentials belong to, counting failures per email and client.

    Unknown emails and wrong passwords fail alike, so the answer does not reveal which
    addresses have accounts. After ``max_failures`` failures for an email (or five times as
    many from one client), further attempts are refused until the lockout has passed.
    """
    now = now or utcnow()
    email_key = "email:" + email.strip().lower()
    client_key = "client:" + client_key
    limits = {email_key: max_failures, client_key: max_failures * 5}
    rows = {key: s.get(LoginFailure, key) for key in limits}
    for row in rows.values():
        if row is not None and row.locked_until is not None and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(
                f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes != 1)}."
            )
    user = find_user_by_email(s, email)
    hash_to_check = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    is_valid = check_password_hash(hash_to_check, password)
    if user is not None and user.password_hash and is_valid and user.is_active:
        if rows[email_key] is not None:
            s.delete(rows[email_key])
        user.last_login_at = now
        return user
    for key, limit in limits.items():
        row = rows[key]
        if row is None or now - row.first_failed_at > lockout:
            if row is None:
                row = LoginFailure(key=key)
                s.add(row)
            row.failures = 0
            row.first_failed_at = now
            row.locked_until = None
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + lockout
    if user is not None and not user.is_active and is_valid:
        raise Unauthorized("This account has been deactivated. Ask an admin to reactivate it.")
    raise Unauthorized("That email and password don't match an account.")


_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


# --- teams -------------------------------------------------------------------------------


def list_teams(s: Session) -> Sequence[Team]:
    """Return all teams by name, with their members loaded."""
    return s.scalars(
        sa.select(Team)
        .options(sa.orm.selectinload(Team.members))
        .order_by(sa.func.lower(Team.name))
    ).all()


def get_team(s: Session, team_id: int) -> Team:
    """Return one team or raise NotFound."""
    team = s.get(Team, team_id)
    if team is None:
        raise NotFound("No such team.")
    return team


def save_team(
    s: Session, *, name: str, kind: TeamKind | str, description: str = "", team: Team | None = None
) -> Team:
    """Create a team, or update one when given."""
    name = name.strip()
    if not name:
        raise Invalid("A team name is required.", {"name": "A team name is required."})
    try:
        kind = TeamKind(kind)
    except ValueError:
        raise Invalid(f"Unknown team kind {kind!r}.", {"kind": "unknown kind"}) from None
    clash = s.scalar(sa.select(Team).where(sa.func.lower(Team.name) == name.lower()))
    if clash is not None and clash is not team:
        raise Conflict(f"A team called {name} already exists.", {"name": "already in use"})
    if team is None:
        team = Team(name=name, kind=kind, description=description.strip())
        s.add(team)
    else:
        team.name, team.kind, team.description = name, kind, description.strip()
    s.flush()
    return team


# --- seller profiles ---------------------------------------------------------------------


def update_seller_profile(
    s: Session,
    profile: SellerProfile,
    *,
    title: str,
    region: str,
    language: str,
    topics: Iterable[str],
    posts_per_week: int,
    weekdays: Iterable[int],
    linkedin_url: str,
    linkedin_connections: int,
    notification_channel: NotificationChannel | str,
    notification_target: str,
    is_paused: bool,
) -> SellerProfile:
    """Check and store a seller's profile."""
    fields: dict[str, str] = {}
    if not 0 <= posts_per_week <= 21:
        fields["posts_per_week"] = "Between 0 and 21 posts a week."
    days = sorted({int(d) for d in weekdays})
    if any(not 0 <= d <= 6 for d in days):
        fields["weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    if linkedin_connections < 0:
        fields["linkedin_connections"] = "Cannot be negative."
    linkedin_url = linkedin_url.strip()
    if linkedin_url and not linkedin_url.startswith("https://www.linkedin.com/"):
        fields["linkedin_url"] = "Use your profile address, https://www.linkedin.com/in/…"
    channel = NotificationChannel(notification_channel)
    target = notification_target.strip()
    if channel in {NotificationChannel.SLACK, NotificationChannel.TEAMS} and not target.startswith(
        "https://"
    ):
        fields["notification_target"] = "Paste the incoming-webhook URL (https://…)."
    if channel is NotificationChannel.EMAIL and target:
        try:
            target = normalise_email(target)
        except Invalid:
            fields["notification_target"] = (
                "Enter an email address, or leave empty for your sign-in email."
            )
    if fields:
        raise Invalid("Some profile fields need attention.", fields)
    profile.title = title.strip()
    profile.region = region.strip()
    profile.language = language.strip().lower() or "en"
    profile.topics = sorted({t.strip().lower() for t in topics if t.strip()})
    profile.posts_per_week = posts_per_week
    profile.weekdays = days
    profile.linkedin_url = linkedin_url
    profile.linkedin_connections = linkedin_connections
    profile.notification_channel = channel
    profile.notification_target = target
    profile.is_paused = is_paused
    s.flush()
    return profile


# --- API tokens --------------------------------------------------------------------------


def hash_token(plaintext: str) -> str:
    """Hash a token for storage; tokens are long random strings, so SHA-256 suffices."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue_token(
    s: Session,
    user: User,
    *,
    name: str,
    scopes: Iterable[str],
    by: User | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a user; the plaintext is returned once and never stored."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        message = (
            f"Unknown scope {', '.join(unknown)}." if unknown else "Choose at least one scope."
        ) + f" Scopes: {', '.join(SCOPES)}."
        raise Invalid(message, {"scopes": message})
    if not name.strip():
        raise Invalid("Give the token a name, e.g. the system that uses it.", {"name": "required"})
    if not user.is_active:
        raise Conflict("This user is deactivated; reactivate them before issuing a token.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name.strip(),
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(plaintext),
        scopes=scopes,
        created_by=by,
        expires_at=expires_at,
    )
    s.add(token)
    s.flush()
    return token, plaintext


def revoke_token(s: Session, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking twice is harmless."""
    token = s.get(ApiToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def list_tokens(s: Session) -> Sequence[ApiToken]:
    """Return every token, newest first, with its user."""
    return s.scalars(
        sa.select(ApiToken)
        .options(sa.orm.selectinload(ApiToken.user))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
    ).all()


def token_for(s: Session, plaintext: str, now: datetime | None = None) -> ApiToken:
    """Return the usable token matching a bearer value, or raise Unauthorized."""
    now = now or utcnow()
    token = s.scalar(
        sa.select(ApiToken)
        .options(sa.orm.joinedload(ApiToken.user))
        .where(ApiToken.token_hash == hash_token(plaintext))
    )
    if token is None or not token.is_usable(now) or not token.user.is_active:
        raise Unauthorized("The API token is unknown, revoked, expired or its user is deactivated.")
    # Record use at most once a minute, so reads do not turn into a write per request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token
