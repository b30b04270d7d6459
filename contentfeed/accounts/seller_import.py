"""Importing sellers from a CSV: each row creates or updates one seller, or is refused
with every reason. Never commits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from contentfeed.accounts.models import (
    NotificationChannel,
    Role,
    SellerProfile,
    Team,
    TeamKind,
    User,
)
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.profiles import (
    WEEKDAY_NAMES,
    SellerProfileData,
    ordered_languages,
    profile_fields,
    profile_problems,
    split_languages,
    update_seller_profile,
)
from contentfeed.accounts.seller_sheet import (
    SELLER_COLUMNS,
    SheetRow,
    column_key,
    read_sellers_csv,
    seller_template_rows,
)
from contentfeed.accounts.teams import list_teams
from contentfeed.accounts.users import check_timezone, normalise_email, update_user
from contentfeed.errors import DomainError, Invalid
from contentfeed.i18n import _, _l
from contentfeed.sheets import parse_whole_number

if TYPE_CHECKING:
    from contentfeed.accounts.invitations import AccountMail

# Who holds an account of another role, as the refusal of an import row names them.
_SOMEONE_OF_ROLE = {
    Role.ADMIN: _l("an admin"),
    Role.MARKETER: _l("a marketer"),
    Role.CONTRIBUTOR: _l("a contributor"),
    Role.SELLER: _l("a seller"),
    Role.REP: _l("a sales rep"),
}
_DAY_NAMES = {name.lower(): n for n, name in enumerate(WEEKDAY_NAMES)}
_YES = {"yes", "y", "true", "1", "ja", "x"}
_NO = {"no", "n", "false", "0", "nein"}
# Letters and digits that cannot be mistaken for one another (no 0/O, 1/l/I).
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
# Generated initial passwords carry ~93 bits of randomness, so a slow hash adds no safety
# and would make a 5,000-row import take minutes (scrypt costs ~0.1 s a hash). Passwords
# people choose later are hashed with werkzeug's default.
_GENERATED_PASSWORD_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - a hash method name


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
    invited: bool = False  # a seller just created was invited (emailed, or kept) instead


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
    def invited(self) -> list[SellerImportRow]:
        """Rows that created a seller who was emailed an invitation."""
        return [r for r in self.created if r.invited]

    @property
    def with_password(self) -> list[SellerImportRow]:
        """Rows that created a seller with an initial password (shown once)."""
        return [r for r in self.created if r.password]

    @property
    def updated(self) -> list[SellerImportRow]:
        """Rows that updated an existing seller."""
        return self._with("updated")

    @property
    def refused(self) -> list[SellerImportRow]:
        """Rows that changed nothing, with their reasons."""
        return self._with("refused")


def generate_initial_password() -> str:
    """Return a random, readable initial password such as k3Jx-9qPm-2aTw-Zr7c."""
    groups = ("".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def _profile_values(profile: SellerProfile | None) -> dict[str, Any]:
    """Return a profile's current values, or a new seller's defaults."""
    if profile is None:
        return SellerProfileData().model_dump()
    values = {name: getattr(profile, name) for name in SellerProfileData.model_fields}
    values.update(
        languages=list(profile.languages),
        topics=list(profile.topics),
        weekdays=list(profile.weekdays),
        notification_channel=NotificationChannel(profile.notification_channel),
    )
    return values


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
            return [], _(
                "“%(value)s” isn't a weekday: use Mon to Sun, or 0 (Monday) to 6 (Sunday), "
                "separated by ;.",
                value=token,
            )
    return sorted(days), ""


def _parse_count(raw: str) -> int | None:
    """A count as written in English or German (1,234, 1.234, 12 345); None when negative."""
    count = parse_whole_number(raw)
    return count if count is not None and count >= 0 else None


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
            problem(
                column,
                _(
                    "At most %(most)s characters (this one has %(count)s).",
                    most=limit,
                    count=len(raw),
                ),
            )
        elif raw:
            values[column] = raw
    if raw := cells.get("team", ""):
        team = teams.get(raw.lower())
        if team is None:
            problem(
                "team",
                _(
                    "No team called “%(name)s”. Create it under Teams first, or fix the name.",
                    name=raw,
                ),
            )
        else:
            values["team"] = team
    if raw := cells.get("languages", ""):
        try:
            values["languages"] = ordered_languages(split_languages(raw))
        except ValueError as exc:
            problem("languages", str(exc))
    if raw := cells.get("timezone", ""):
        try:
            values["timezone"] = check_timezone(raw)
        except Invalid:
            problem(
                "timezone",
                _("Unknown time zone “%(value)s”; use an IANA name like Europe/Berlin.", value=raw),
            )
    if raw := cells.get("topics", ""):
        values["topics"] = [t for t in re.split(r"[;,]", raw) if t.strip()]
    if raw := cells.get("posts_per_week", ""):
        count = _parse_count(raw)
        if count is None or not 0 <= count <= 21:
            problem(
                "posts_per_week", _("Between 0 and 21 posts a week (got “%(value)s”).", value=raw)
            )
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
            problem(
                "linkedin_connections",
                _("“%(value)s” isn't a whole number of connections.", value=raw),
            )
        else:
            values["linkedin_connections"] = count
    if raw := cells.get("notification_channel", ""):
        try:
            values["notification_channel"] = NotificationChannel(raw.lower())
        except ValueError:
            choices = ", ".join(c.value for c in NotificationChannel)
            problem(
                "notification_channel",
                _(
                    "“%(value)s” isn't a channel; use one of %(choices)s.",
                    value=raw,
                    choices=choices,
                ),
            )
    if raw := cells.get("paused", ""):
        if raw.lower() in _YES:
            values["is_paused"] = True
        elif raw.lower() in _NO:
            values["is_paused"] = False
        else:
            problem("paused", _("“%(value)s” isn't yes or no.", value=raw))
    rules = profile_problems(values)
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
    mail: AccountMail | None = None,
) -> SellerImportReport:
    """Create or update sellers from sheet rows, each in its own savepoint; never commits.

    Existing users are found by email and must be sellers. New sellers are emailed an
    invitation to choose their password when ``mail`` can send; otherwise (or when their
    invitation does not go out) they get a random initial password, returned in the report
    only (its hash is stored). A refused row changes nothing and lists every problem it
    has, each naming its column.
    """
    teams = {t.name.lower(): t for t in s.scalars(sa.select(Team))}
    emails: dict[int, str] = {}
    results: dict[int, SellerImportRow] = {}
    for row in rows:
        raw = row.cells.get("email", "")
        if not raw:
            results[row.number] = _refused(row, "", ImportProblem("email", _("Required.")))
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
                ImportProblem(
                    "email", _("Already in row %(row)s of this file.", row=first_row[email])
                ),
            )
            continue
        first_row[email] = row.number
        results[row.number] = _import_seller_row(
            s, row, email, existing.get(email), teams, new_password, mail
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
    mail: AccountMail | None = None,
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
        problems.insert(
            0,
            ImportProblem(
                "email",
                _(
                    "%(email)s belongs to %(someone)s, not a seller; only sellers are imported.",
                    email=email,
                    someone=_SOMEONE_OF_ROLE[Role(user.role)],
                ),
            ),
        )
    named = any(problem.column == "name" for problem in problems)  # e.g. a name too long
    if user is None and not values["name"].strip() and not named:
        problems.insert(0, ImportProblem("name", _("Required for a new seller.")))
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
            update_seller_profile(s, user.seller_profile, **profile_fields(values))
    except DomainError as exc:
        found = [ImportProblem(column_key(k), m) for k, m in exc.fields.items()]
        return _refused(row, email, *(found or [ImportProblem("email", exc.message)]))
    except sa.exc.IntegrityError:  # a rival import or edit got there first
        message = _(
            "Another change to this seller happened at the same time; import the row again."
        )
        return _refused(row, email, ImportProblem("email", message))
    after = _snapshot(user)
    changes = tuple(k for k in _TRACKED if before and before.get(k) != after.get(k))
    created = bool(password)
    invited = False
    if created and mail is not None:  # without a mail server the invitation is kept
        invited = _invite_instead(s, user, mail)
        if invited:
            password = ""
    return SellerImportRow(
        number=row.number,
        email=email,
        name=user.name,
        outcome="created" if created else "updated",
        changes=changes,
        password=password,
        invited=invited,
    )


def _invite_instead(s: Session, user: User, mail: AccountMail) -> bool:
    """Email a new seller an invitation and forget their generated password; False (the
    password stays, shown once) when the invitation does not go out."""
    from contentfeed.accounts.invitations import send_invitation

    try:
        send_invitation(s, user, mail)
    except DomainError:
        return False
    user.password_hash = ""
    return True


class SellerFile(BaseModel):
    """An uploaded sellers CSV: its bytes, and the name it came with (which tells its format;
    any text is fine there, so this is no ``Input``)."""

    model_config = ConfigDict(frozen=True)

    data: bytes
    filename: str = ""


@dataclass(frozen=True)
class SellerFileImport:
    """What importing a sellers file did, row by row, and the columns it did not understand."""

    report: SellerImportReport
    ignored_columns: list[str]


def import_seller_file(
    s: Session,
    actor: User | None,
    upload: SellerFile,
    *,
    new_password: Callable[[], str] = generate_initial_password,
    mail: AccountMail | None = None,
) -> SellerFileImport:
    """Read a sellers CSV and import its rows (a file that can't be read refuses it all);
    new sellers are invited by email when ``mail`` is given (without a mail server the
    invitations are kept under Admin → Sent email)."""
    require_admin(actor)
    sheet = read_sellers_csv(upload.data, filename=upload.filename)
    report = import_sellers(s, sheet.rows, new_password=new_password, mail=mail)
    return SellerFileImport(report=report, ignored_columns=sheet.ignored_columns)


def seller_template(s: Session) -> list[list[str]]:
    """Return the rows of the CSV template, its examples in a selling team when there is one."""
    teams = list_teams(s)
    selling = [t for t in teams if t.kind is TeamKind.BUSINESS_DEVELOPMENT] or list(teams)
    return seller_template_rows(selling[0].name if selling else "")
