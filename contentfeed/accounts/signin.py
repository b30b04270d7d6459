"""Sign-in: checking credentials, counting failures and locking out guessers.

Never commits the caller's session; the failure count has a unit of work of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from contentfeed import db
from contentfeed.accounts.models import LoginFailure, Role, User
from contentfeed.accounts.users import find_user_by_email, get_user
from contentfeed.db import utcnow
from contentfeed.errors import TooManyAttempts, Unauthorized
from contentfeed.i18n import _, ngettext
from contentfeed.text import Input


class PasswordsOff(Unauthorized):
    """Password sign-in is turned off ("SSO only") for this address."""


@dataclass(frozen=True)
class PasswordPolicy:
    """Who may sign in with a password: everyone, or under "SSO only" the break-glass admins
    (by email, and only while their account is an admin's)."""

    sso_only: bool = False
    break_glass_admins: frozenset[str] = frozenset()
    button_label: str = ""


class Credentials(Input):
    """What a person signs in with."""

    email: str
    password: str


def authenticate(
    s: Session,
    *,
    email: str,
    password: str,
    client_key: str,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
    passwords: PasswordPolicy | None = None,
) -> User:
    """Return the user these credentials belong to, counting failures per email and client.

    Unknown emails and wrong passwords fail alike, so the answer does not reveal which
    addresses have accounts. After ``max_failures`` failures for an email (or five times as
    many from one client), further attempts are refused until the lockout has passed.
    Under "SSO only" (``passwords``) only the break-glass admins may use a password.
    """
    now = now or utcnow()
    passwords = passwords or PasswordPolicy()
    if passwords.sso_only and email.strip().lower() not in passwords.break_glass_admins:
        raise PasswordsOff(
            _(
                "Signing in with a password is turned off here. Use “%(button)s” instead.",
                button=passwords.button_label,
            )
        )
    limits = attempt_limits(email, client_key, max_failures)
    rows = refuse_if_locked(
        s,
        limits,
        now,
        lambda minutes: ngettext(
            "Too many failed sign-ins. Try again in %(num)d minute.",
            "Too many failed sign-ins. Try again in %(num)d minutes.",
            minutes,
        ),
    )
    email_key = next(iter(limits))
    user = find_user_by_email(s, email)
    hash_to_check = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    is_valid = check_password_hash(hash_to_check, password)
    may_use_password = not passwords.sso_only or (user is not None and user.role is Role.ADMIN)
    if user is not None and user.password_hash and is_valid and user.is_active and may_use_password:
        if rows[email_key] is not None:
            s.delete(rows[email_key])
        user.last_login_at = now
        return user
    count_attempt(s, rows, limits, lockout, now)
    if user is not None and not user.is_active and is_valid:
        raise Unauthorized(_("This account has been deactivated. Ask an admin to reactivate it."))
    raise Unauthorized(_("That email and password don't match an account."))


_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password")


def attempt_limits(
    email: str, client_key: str, max_attempts: int, *, kind: str = ""
) -> dict[str, int]:
    """Return the counters an attempt is held to: the email's first, then the client's (five
    times as many). ``kind`` keeps other attempts (password resets) apart from sign-ins."""
    prefix = f"{kind}:" if kind else ""
    return {
        f"{prefix}email:" + email.strip().lower(): max_attempts,
        f"{prefix}client:" + client_key: max_attempts * 5,
    }


def refuse_if_locked(
    s: Session, limits: dict[str, int], now: datetime, message: Callable[[int], str]
) -> dict[str, LoginFailure | None]:
    """Refuse (TooManyAttempts, saying ``message(minutes)``) while a counter is locked;
    return the counters' rows for ``count_attempt``."""
    rows = {key: s.get(LoginFailure, key) for key in limits}
    for row in rows.values():
        if row is not None and row.locked_until is not None and row.locked_until > now:
            minutes = max(1, int((row.locked_until - now).total_seconds() // 60) + 1)
            raise TooManyAttempts(message(minutes))
    return rows


def count_attempt(
    s: Session,
    rows: dict[str, LoginFailure | None],
    limits: dict[str, int],
    lockout: timedelta,
    now: datetime,
) -> None:
    """Count one more attempt on each counter, locking those that reach their limit."""
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


def sign_in(
    s: Session,
    data: Credentials,
    *,
    client_key: str,
    max_failures: int,
    lockout: timedelta,
    passwords: PasswordPolicy | None = None,
) -> User:
    """Return the user these credentials belong to (in ``s``), or refuse them.

    Nobody is signed in yet, so there is no actor. The check runs in a unit of work of its
    own: a failure is counted against the lockout, and a success clears it, whatever the
    page then answers (a refusal answers 401 or 429, which keeps nothing of the request).
    """
    refusal: Unauthorized | TooManyAttempts | None = None
    user_id = 0
    with db.unit_of_work() as own:
        try:
            user_id = authenticate(
                own,
                email=data.email,
                password=data.password,
                client_key=client_key,
                max_failures=max_failures,
                lockout=lockout,
                passwords=passwords,
            ).id
        except (Unauthorized, TooManyAttempts) as exc:  # PasswordsOff among them
            refusal = exc  # raised once the failure count is committed
    if refusal is not None:
        raise refusal
    return get_user(s, user_id)


def purge_login_failures(s: Session) -> int:
    """Forget failed sign-ins older than a day whose lockout is over; return how many."""
    now = utcnow()
    result = s.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.first_failed_at < now - timedelta(days=1),
            sa.or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
