"""Account decisions: users, teams, seller profiles, sign-in, API tokens. Never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any, Literal
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
from contentfeed.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from contentfeed.sheets import decode_upload, read_csv, refuse_file
from contentfeed.text import checked_text, control_problem, name_key, web_address

MIN_PASSWORD_LENGTH = 10
MAX_CONNECTIONS = 10_000_000  # far beyond LinkedIn's own limit, well inside an integer column
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
        raise NotFound("No such team.")
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
        raise Invalid("A team name is required.", {"name": "A team name is required."})
    try:
        kind = TeamKind(kind)
    except ValueError:
        raise Invalid(f"Unknown team kind {kind!r}.", {"kind": "unknown kind"}) from None
    clash = find_team(s, name)
    if clash is not None and clash is not team:
        raise Conflict(f"A team called {clash.name} already exists.", {"name": "already in use"})
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
    days = sorted({int(d) for d in weekdays})
    fields = seller_profile_problems(
        posts_per_week=posts_per_week,
        weekdays=days,
        linkedin_url=linkedin_url,
        linkedin_connections=linkedin_connections,
        notification_channel=notification_channel,
        notification_target=notification_target,
    )
    if fields:
        raise Invalid("Some profile fields need attention.", fields)
    # Stored percent-encoded, like every user-given web address.
    linkedin_url = web_address(linkedin_url.strip())
    channel = NotificationChannel(notification_channel)
    target = notification_target.strip()
    if channel is NotificationChannel.EMAIL and target:
        target = normalise_email(target)
    elif channel in WEBHOOK_CHANNELS:
        target = web_address(target)
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


WEBHOOK_CHANNELS = frozenset({NotificationChannel.SLACK, NotificationChannel.TEAMS})


def seller_profile_problems(
    *,
    posts_per_week: int,
    weekdays: Iterable[int],
    linkedin_url: str,
    linkedin_connections: int,
    notification_channel: NotificationChannel | str,
    notification_target: str,
) -> dict[str, str]:
    """Return what is wrong with these seller-profile values, by field (empty when fine)."""
    fields: dict[str, str] = {}
    for name, text in (
        ("linkedin_url", linkedin_url),
        ("notification_target", notification_target),
    ):
        problem = control_problem(text)
        if problem:
            fields[name] = problem[:1].upper() + problem[1:] + "."
    if fields:
        return fields
    if not 0 <= posts_per_week <= 21:
        fields["posts_per_week"] = "Between 0 and 21 posts a week."
    if any(not 0 <= int(d) <= 6 for d in weekdays):
        fields["weekdays"] = "Weekdays are 0 (Monday) to 6 (Sunday)."
    if not 0 <= linkedin_connections <= MAX_CONNECTIONS:
        # The column is an integer: a bigger number would overflow it (a 500, not a message).
        fields["linkedin_connections"] = f"Between 0 and {MAX_CONNECTIONS:,}."
    linkedin_url = linkedin_url.strip()
    if linkedin_url and not linkedin_url.startswith("https://www.linkedin.com/"):
        fields["linkedin_url"] = "Use your profile address, https://www.linkedin.com/in/…"
    try:
        channel = NotificationChannel(notification_channel)
    except ValueError:
        choices = ", ".join(c.value for c in NotificationChannel)
        fields["notification_channel"] = f"Choose one of {choices}."
        return fields
    target = notification_target.strip()
    if channel in WEBHOOK_CHANNELS and not target.startswith("https://"):
        fields["notification_target"] = "Paste the incoming-webhook URL (https://…)."
    for name, url in (("linkedin_url", linkedin_url), ("notification_target", target)):
        if name in fields or (name == "notification_target" and channel not in WEBHOOK_CHANNELS):
            continue
        try:
            web_address(url)
        except ValueError as exc:
            fields[name] = f"The address {exc}."
    if channel is NotificationChannel.EMAIL and target:
        try:
            normalise_email(target)
        except Invalid:
            fields["notification_target"] = (
                "Enter an email address, or leave empty for your sign-in email."
            )
    return fields


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
    if not checked_text("name", name).strip():
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


# --- sellers: listing and CSV import -----------------------------------------------------


def list_sellers(
    s: Session,
    *,
    search: str = "",
    team_id: int | None = None,
    region: str = "",
    language: str = "",
    offset: int = 0,
    limit: int = 50,
) -> UserPage:
    """List sellers with their profiles, filtered by text, team, region and language."""
    query = (
        sa.select(User)
        .join(SellerProfile, SellerProfile.user_id == User.id)
        .where(User.role == Role.SELLER)
    )
    if search.strip():
        like = f"%{search.strip().lower()}%"
        query = query.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
    if team_id:
        query = query.where(User.team_id == team_id)
    if region.strip():
        query = query.where(sa.func.lower(SellerProfile.region) == region.strip().lower())
    if language.strip():
        query = query.where(SellerProfile.language == language.strip().lower())
    total = s.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = s.scalars(
        query.options(sa.orm.selectinload(User.team), sa.orm.selectinload(User.seller_profile))
        .order_by(sa.func.lower(User.name), User.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return UserPage(items=items, total=total)


SELLER_IMPORT_MAX_ROWS = 5_000
SELLER_COLUMNS: tuple[str, ...] = (
    "email",
    "name",
    "team",
    "title",
    "region",
    "language",
    "timezone",
    "topics",
    "posts_per_week",
    "weekdays",
    "linkedin_url",
    "linkedin_connections",
    "notification_channel",
    "notification_target",
    "paused",
)
SELLER_COLUMN_HELP: dict[str, str] = {
    "email": "Finds an existing seller to update, or names a new one.",
    "name": "Full name; required for a new seller.",
    "team": "Team name, as under Teams; the team must exist.",
    "title": "Job title, e.g. Account Executive.",
    "region": "e.g. DACH, Nordics, UK&I.",
    "language": "Language code such as en or de.",
    "timezone": "IANA name such as Europe/Berlin.",
    "topics": "Separated by ; — “cloud; security”.",
    "posts_per_week": "0 to 21 (3 for a new seller when empty).",
    "weekdays": "“Mon;Wed;Thu” or “0;2;3” (0 is Monday); Monday to Friday when empty.",
    "linkedin_url": "https://www.linkedin.com/in/…",
    "linkedin_connections": "A whole number.",
    "notification_channel": "email, slack, teams or none.",
    "notification_target": "Email address, or the Slack / Teams incoming-webhook URL.",
    "paused": "yes or no.",
}
# Spreadsheets write "Is paused" or "posts per week": both still count.
_COLUMN_ALIASES = {"is_paused": "paused", "e_mail": "email", "full_name": "name"}
_DAY_NAMES = {name.lower(): n for n, name in enumerate(WEEKDAY_NAMES)}
_YES = {"yes", "y", "true", "1", "ja", "x"}
_NO = {"no", "n", "false", "0", "nein"}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")
# Letters and digits that cannot be mistaken for one another (no 0/O, 1/l/I).
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
# Generated initial passwords carry ~93 bits of randomness, so a slow hash adds no safety
# and would make a 5,000-row import take minutes (scrypt costs ~0.1 s a hash). Passwords
# people choose later are hashed with werkzeug's default.
_GENERATED_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - a hash method name


@dataclass(frozen=True)
class SheetRow:
    """One data row of an uploaded sheet: its row number as a spreadsheet shows it, and cells."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class SellerSheet:
    """The rows of an uploaded seller CSV, and the columns that were not understood."""

    rows: list[SheetRow]
    ignored_columns: list[str]


@dataclass(frozen=True)
class ImportProblem:
    """Why a row was refused, naming the column at fault."""

    column: str
    message: str


@dataclass(frozen=True)
class SellerImportRow:
    """What happened to one row: created, updated or refused, and why."""

    number: int
    email: str
    name: str
    outcome: Literal["created", "updated", "refused"]
    problems: tuple[ImportProblem, ...] = ()
    changes: tuple[str, ...] = ()
    password: str = ""  # only for sellers just created; shown once, never stored


@dataclass(frozen=True)
class SellerImportReport:
    """The per-row outcome of a seller import."""

    rows: list[SellerImportRow]

    def _with(self, outcome: str) -> list[SellerImportRow]:
        return [r for r in self.rows if r.outcome == outcome]

    @property
    def created(self) -> list[SellerImportRow]:
        """Rows that created a seller."""
        return self._with("created")

    @property
    def updated(self) -> list[SellerImportRow]:
        """Rows that updated an existing seller."""
        return self._with("updated")

    @property
    def refused(self) -> list[SellerImportRow]:
        """Rows that changed nothing, with their reasons."""
        return self._with("refused")


def _column_key(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _COLUMN_ALIASES.get(key, key)


def read_sellers_csv(
    data: bytes, *, filename: str = "", max_rows: int = SELLER_IMPORT_MAX_ROWS
) -> SellerSheet:
    """Read a seller CSV (UTF-8, with or without BOM; ; or , between cells) into rows."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xls", ".ods", ".numbers"):
        raise refuse_file(
            f"“{PurePath(filename).name}” is a spreadsheet workbook. In your spreadsheet choose "
            "Save as (or Download) with the format “CSV UTF-8”, then upload that file."
        )
    if suffix not in ("", ".csv", ".txt"):
        raise refuse_file(
            f"“{PurePath(filename).name}” isn't a CSV file. Upload a .csv file like the template."
        )
    text = decode_upload(data, empty_hint="Download the template, fill it in and upload it.")
    if text.lstrip().startswith(("%PDF", "<", "{", "[")):
        raise refuse_file("This isn't a CSV file. Upload a .csv file like the template.")
    records = read_csv(text)
    first = 0
    while first < len(records) and not any(cell.strip() for cell in records[first]):
        first += 1
    if first == len(records):
        raise refuse_file("The file is empty. Download the template, fill it in and upload it.")
    keys = [_column_key(name) for name in records[first]]
    if "email" not in keys:
        found = ", ".join(k for k in keys if k) or "nothing"
        raise refuse_file(
            "The first line must name the columns, with at least an email column "
            f"(found: {found}). Download the template to see the format."
        )
    repeated = sorted({k for k in keys if k and keys.count(k) > 1})
    if repeated:
        raise refuse_file(f"The column {repeated[0]} appears more than once in the first line.")
    rows = []
    for index, record in enumerate(records[first + 1 :], start=first + 2):
        if not any(cell.strip() for cell in record):
            continue
        cells = {
            key: value.strip()
            for key, value in zip(keys, record, strict=False)
            if key in SELLER_COLUMNS
        }
        rows.append(SheetRow(index, cells))
    if not rows:
        raise refuse_file("The file has a header line but no sellers below it.")
    if len(rows) > max_rows:
        raise refuse_file(
            f"The file has {len(rows):,} sellers; one import takes at most {max_rows:,}. "
            "Split it into smaller files."
        )
    ignored = [k or "(unnamed)" for k in keys if k not in SELLER_COLUMNS]
    return SellerSheet(rows=rows, ignored_columns=ignored)


def seller_template_rows(team_name: str = "") -> list[list[str]]:
    """Return the rows of a CSV template: every column and two example sellers that import
    cleanly."""
    return [
        list(SELLER_COLUMNS),
        [
            "jane.doe@example.com",
            "Jane Doe",
            team_name,
            "Account Executive",
            "DACH",
            "de",
            "Europe/Berlin",
            "cloud; security",
            "3",
            "Mon;Wed;Thu",
            "https://www.linkedin.com/in/jane-doe-example",
            "850",
            "email",
            "",
            "no",
        ],
        [
            "li.wei@example.com",
            "Li Wei",
            team_name,
            "Solutions Engineer",
            "Nordics",
            "en",
            "Europe/Stockholm",
            "databases",
            "2",
            "1;3",
            "",
            "",
            "none",
            "",
            "yes",
        ],
    ]


def generate_initial_password() -> str:
    """Return a random, readable initial password such as k3Jx-9qPm-2aTw-Zr7c."""
    groups = ("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def _profile_values(profile: SellerProfile | None) -> dict[str, Any]:
    """Return a profile's current values, or a new seller's defaults."""
    if profile is None:
        return {
            "title": "",
            "region": "",
            "language": "en",
            "topics": [],
            "posts_per_week": 3,
            "weekdays": [0, 1, 2, 3, 4],
            "linkedin_url": "",
            "linkedin_connections": 0,
            "notification_channel": NotificationChannel.EMAIL,
            "notification_target": "",
            "is_paused": False,
        }
    return {
        "title": profile.title,
        "region": profile.region,
        "language": profile.language,
        "topics": list(profile.topics),
        "posts_per_week": profile.posts_per_week,
        "weekdays": list(profile.weekdays),
        "linkedin_url": profile.linkedin_url,
        "linkedin_connections": profile.linkedin_connections,
        "notification_channel": NotificationChannel(profile.notification_channel),
        "notification_target": profile.notification_target,
        "is_paused": profile.is_paused,
    }


def _parse_weekdays(raw: str) -> tuple[list[int], str]:
    days: set[int] = set()
    for token in re.split(r"[;,/\s]+", raw.strip()):
        if not token:
            continue
        lowered = token.lower()
        if lowered.isdigit() and 0 <= int(lowered) <= 6:
            days.add(int(lowered))
        elif len(lowered) >= 3 and lowered[:3] in _DAY_NAMES:
            days.add(_DAY_NAMES[lowered[:3]])
        else:
            return [], (
                f"“{token}” isn't a weekday: use Mon to Sun, or 0 (Monday) to 6 (Sunday), "
                "separated by ;."
            )
    return sorted(days), ""


def _parse_count(raw: str) -> int | None:
    cleaned = re.sub(r"[\s,_']", "", raw)
    return int(cleaned) if cleaned.isdigit() else None


# Free-text columns and their stored lengths.
_TEXT_LIMITS = {
    "name": 200,
    "title": 200,
    "region": 64,
    "linkedin_url": 300,
    "notification_target": 500,
}


def _parse_row(
    cells: dict[str, str], teams: dict[str, Team], current: dict[str, Any]
) -> tuple[dict[str, Any], list[ImportProblem]]:
    """Turn a row's non-empty cells into values over ``current``, noting every problem."""
    values = dict(current)
    problems: list[ImportProblem] = []

    def problem(column: str, message: str) -> None:
        problems.append(ImportProblem(column, message))

    for column, limit in _TEXT_LIMITS.items():
        raw = cells.get(column, "")
        if len(raw) > limit:
            problem(column, f"At most {limit} characters (this one has {len(raw)}).")
        elif raw:
            values[column] = raw
    if raw := cells.get("team", ""):
        team = teams.get(raw.lower())
        if team is None:
            problem(
                "team", f"No team called “{raw}”. Create it under Teams first, or fix the name."
            )
        else:
            values["team"] = team
    if raw := cells.get("language", ""):
        if _LANGUAGE_CODE.match(raw.lower()):
            values["language"] = raw.lower()
        else:
            problem("language", f"“{raw}” isn't a language code; use one such as en or de.")
    if raw := cells.get("timezone", ""):
        try:
            values["timezone"] = check_timezone(raw)
        except Invalid:
            problem("timezone", f"Unknown time zone “{raw}”; use an IANA name like Europe/Berlin.")
    if raw := cells.get("topics", ""):
        values["topics"] = [t for t in re.split(r"[;,]", raw) if t.strip()]
    if raw := cells.get("posts_per_week", ""):
        count = _parse_count(raw)
        if count is None or not 0 <= count <= 21:
            problem("posts_per_week", f"Between 0 and 21 posts a week (got “{raw}”).")
        else:
            values["posts_per_week"] = count
    if raw := cells.get("weekdays", ""):
        days, message = _parse_weekdays(raw)
        if message:
            problem("weekdays", message)
        else:
            values["weekdays"] = days
    if raw := cells.get("linkedin_connections", ""):
        count = _parse_count(raw)
        if count is None:
            problem("linkedin_connections", f"“{raw}” isn't a whole number of connections.")
        else:
            values["linkedin_connections"] = count
    if raw := cells.get("notification_channel", ""):
        try:
            values["notification_channel"] = NotificationChannel(raw.lower())
        except ValueError:
            choices = ", ".join(c.value for c in NotificationChannel)
            problem("notification_channel", f"“{raw}” isn't a channel; use one of {choices}.")
    if raw := cells.get("paused", ""):
        if raw.lower() in _YES:
            values["is_paused"] = True
        elif raw.lower() in _NO:
            values["is_paused"] = False
        else:
            problem("paused", f"“{raw}” isn't yes or no.")
    rules = seller_profile_problems(
        posts_per_week=values["posts_per_week"],
        weekdays=values["weekdays"],
        linkedin_url=values["linkedin_url"],
        linkedin_connections=values["linkedin_connections"],
        notification_channel=values["notification_channel"],
        notification_target=values["notification_target"],
    )
    reported = {p.column for p in problems}
    for field, message in rules.items():
        column = "paused" if field == "is_paused" else field
        if column not in reported:
            problem(column, message)
    return values, problems


_TRACKED = tuple(c for c in SELLER_COLUMNS if c != "email")


def _snapshot(user: User) -> dict[str, Any]:
    profile = _profile_values(user.seller_profile)
    return {
        "name": user.name,
        "team": user.team_id,
        "timezone": user.timezone,
        **{("paused" if k == "is_paused" else k): v for k, v in profile.items()},
    }


def import_sellers(
    s: Session,
    rows: Sequence[SheetRow],
    *,
    new_password: Callable[[], str] = generate_initial_password,
) -> SellerImportReport:
    """Create or update sellers from sheet rows, each in its own savepoint; never commits.

    Existing users are found by email and must be sellers. New sellers get a random initial
    password, returned in the report only (its hash is stored). A refused row changes
    nothing and lists every problem it has, each naming its column.
    """
    teams = {t.name.lower(): t for t in s.scalars(sa.select(Team))}
    emails: dict[int, str] = {}
    results: dict[int, SellerImportRow] = {}
    for row in rows:
        raw = row.cells.get("email", "")
        if not raw:
            results[row.number] = _refused(row, "", ImportProblem("email", "Required."))
            continue
        try:
            emails[row.number] = normalise_email(raw)
        except Invalid as exc:
            results[row.number] = _refused(row, raw, ImportProblem("email", exc.message))
    existing: dict[str, User] = {}
    addresses = sorted(set(emails.values()))
    for start in range(0, len(addresses), 1000):
        for user in s.scalars(
            sa.select(User)
            .where(User.email.in_(addresses[start : start + 1000]))
            .options(sa.orm.selectinload(User.seller_profile), sa.orm.selectinload(User.team))
        ):
            existing[user.email] = user
    first_row: dict[str, int] = {}
    for row in rows:
        if row.number in results:
            continue
        email = emails[row.number]
        if email in first_row:
            results[row.number] = _refused(
                row,
                email,
                ImportProblem("email", f"Already in row {first_row[email]} of this file."),
            )
            continue
        first_row[email] = row.number
        results[row.number] = _import_seller_row(
            s, row, email, existing.get(email), teams, new_password
        )
    return SellerImportReport(rows=[results[row.number] for row in rows])


def _refused(row: SheetRow, email: str, *problems: ImportProblem) -> SellerImportRow:
    return SellerImportRow(
        number=row.number,
        email=email,
        name=row.cells.get("name", ""),
        outcome="refused",
        problems=problems,
    )


def _import_seller_row(
    s: Session,
    row: SheetRow,
    email: str,
    user: User | None,
    teams: dict[str, Team],
    new_password: Callable[[], str],
) -> SellerImportRow:
    """Create or update one seller inside a savepoint, or refuse the row with its reasons."""
    current: dict[str, Any] = _profile_values(user.seller_profile if user else None)
    current.update(
        name=user.name if user else "",
        team=user.team if user else None,
        timezone=user.timezone if user else "",
    )
    values, problems = _parse_row(row.cells, teams, current)
    if user is not None and user.role is not Role.SELLER:
        label = Role(user.role).label.lower()
        article = "an" if label[0] in "aeiou" else "a"
        problems.insert(
            0,
            ImportProblem(
                "email",
                f"{email} belongs to {article} {label}, not a seller; only sellers are imported.",
            ),
        )
    if user is None and not values["name"].strip():
        problems.insert(0, ImportProblem("name", "Required for a new seller."))
    if problems:
        return _refused(row, email, *problems)
    before = _snapshot(user) if user is not None else {}
    password = ""
    try:
        with s.begin_nested():
            if user is None:
                # What create_user checks is checked above; building the user here lets one
                # flush insert the user and the finished profile together.
                password = new_password()
                user = User(
                    email=email,
                    name=values["name"].strip(),
                    role=Role.SELLER,
                    team=values["team"],
                    timezone=values["timezone"],
                    password_hash=generate_password_hash(
                        password, method=_GENERATED_PASSWORD_METHOD
                    ),
                    seller_profile=SellerProfile(),
                )
                s.add(user)
            else:
                update_user(
                    s,
                    user,
                    name=values["name"],
                    role=Role.SELLER,
                    team=values["team"],
                    timezone=values["timezone"],
                )
            assert user.seller_profile is not None
            update_seller_profile(
                s,
                user.seller_profile,
                title=values["title"],
                region=values["region"],
                language=values["language"],
                topics=values["topics"],
                posts_per_week=values["posts_per_week"],
                weekdays=values["weekdays"],
                linkedin_url=values["linkedin_url"],
                linkedin_connections=values["linkedin_connections"],
                notification_channel=values["notification_channel"],
                notification_target=values["notification_target"],
                is_paused=values["is_paused"],
            )
    except DomainError as exc:
        found = [ImportProblem(_column_key(k), m) for k, m in exc.fields.items()]
        return _refused(row, email, *(found or [ImportProblem("email", exc.message)]))
    except sa.exc.IntegrityError:  # a rival import or edit got there first
        message = "Another change to this seller happened at the same time; import the row again."
        return _refused(row, email, ImportProblem("email", message))
    after = _snapshot(user)
    changes = tuple(k for k in _TRACKED if before and before.get(k) != after.get(k))
    return SellerImportRow(
        number=row.number,
        email=email,
        name=user.name,
        outcome="created" if password else "updated",
        changes=changes,
        password=password,
    )
