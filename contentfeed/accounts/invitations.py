"""Invitations and password resets: single-use, expiring links sent by email.

Only a hash of each link's token is stored (``SignInLink``). Sending a new link for a
purpose retires the user's older unused ones; setting a password through a link retires
every invitation and reset link the user still has. Never commits, except where said."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contentfeed import db, i18n
from contentfeed.accounts.models import LinkPurpose, SignInLink, User
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.signin import attempt_limits, count_attempt, refuse_if_locked
from contentfeed.accounts.tokens import hash_token
from contentfeed.accounts.users import find_user_by_email, get_user, set_password
from contentfeed.config import EmailSettings, Settings
from contentfeed.db import utcnow
from contentfeed.errors import Conflict, Gone, Invalid, TooManyAttempts, Unavailable
from contentfeed.i18n import _, ngettext
from contentfeed.text import Input

log = logging.getLogger(__name__)

# What a link's address looks like: {base}/password/<token>.
LINK_PATH = "/password/{token}"


@dataclass(frozen=True)
class AccountMail:
    """What sending invitations and reset links needs: this site's address, the mail server,
    how long each kind of link lasts, and how often a reset may be asked for."""

    base_url: str
    email: EmailSettings
    invitation_days: int
    reset_minutes: int
    company_name: str
    max_requests: int
    request_window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> AccountMail:
        """Take them from the service's settings."""
        return cls(
            base_url=settings.public_base_url,
            email=settings.email,
            invitation_days=settings.accounts.invitation_days,
            reset_minutes=settings.accounts.reset_minutes,
            company_name=settings.company_name,
            max_requests=settings.sign_in.max_failures,
            request_window=timedelta(minutes=settings.sign_in.lockout_minutes),
        )

    @property
    def can_send(self) -> bool:
        """Tell whether email goes out (an SMTP host is configured). Without one, invitations
        and reset links are still made: their emails are kept under Admin → Sent email, where
        an admin copies the link and passes it on."""
        return bool(self.email.host)


class NewPassword(Input):
    """The password a person chooses through an emailed link."""

    password: str


class ResetRequest(Input):
    """The address someone asks a password reset link for."""

    email: str


def issue_link(
    s: Session, user: User, purpose: LinkPurpose, lifetime: timedelta, now: datetime | None = None
) -> str:
    """Create a link for ``user`` and return its token (shown once, only its hash is kept);
    the user's older unused links for the same purpose stop working."""
    now = now or utcnow()
    s.execute(
        sa.update(SignInLink)
        .where(
            SignInLink.user_id == user.id,
            SignInLink.purpose == purpose,
            SignInLink.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    s.add(
        SignInLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    s.flush()
    return token


def link_url(mail: AccountMail, token: str) -> str:
    """Return the address a link's email points to."""
    return mail.base_url.rstrip("/") + LINK_PATH.format(token=token)


def password_link(s: Session, token: str, now: datetime | None = None) -> SignInLink:
    """Return the invitation or reset link behind a token, or refuse it (Gone) when it is
    unknown, used, expired, or its user is deactivated."""
    now = now or utcnow()
    link = s.scalar(sa.select(SignInLink).where(SignInLink.token_hash == hash_token(token)))
    if (
        link is None
        or link.purpose not in (LinkPurpose.INVITE, LinkPurpose.RESET)
        or not link.is_usable(now)
        or not link.user.is_active
    ):
        raise _link_gone()
    return link


def _link_gone() -> Gone:
    return Gone(
        _(
            "This link has expired or has already been used. Ask for a new one: with "
            "“Forgot password?” on the sign-in page, or from your admin, who can send "
            "the invitation again."
        )
    )


def set_password_with_link(
    s: Session, token: str, data: NewPassword, now: datetime | None = None
) -> User:
    """Set the password of the link's user, use the link up and return the user, who is
    then signed in (their sign-in time is noted). Every other invitation or reset link of
    theirs stops working too, and so do their sessions elsewhere (their session version is
    raised).

    Taking the link is one conditional UPDATE (``used_at IS NULL``): of two requests with the
    same link at once, the second waits for the first's row lock and then finds it used, so
    only one sets a password and signs in."""
    now = now or utcnow()
    link = password_link(s, token, now)
    user = link.user
    taken = s.execute(
        sa.update(SignInLink)
        .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # used a moment ago
        raise _link_gone()
    set_password(s, user, data.password)
    s.execute(
        sa.update(SignInLink)
        .where(
            SignInLink.user_id == user.id,
            SignInLink.purpose.in_([LinkPurpose.INVITE, LinkPurpose.RESET]),
            SignInLink.used_at.is_(None),
        )
        .values(used_at=now)
    )
    user.last_login_at = now
    user.session_version += 1
    s.flush()
    return user


def check_can_invite(mail: AccountMail | None) -> AccountMail:
    """Refuse to add a user without a password when no invitation can be made (the caller
    has no mail settings). Without a mail server the invitation is kept, not refused."""
    if mail is None:
        message = _(
            "Email is not set up, so no invitation can reach this user: give an initial "
            "password, or ask whoever runs contentfeed to set up [email] in config.toml."
        )
        raise Invalid(message, {"password": message})
    return mail


def send_invitation(s: Session, user: User, mail: AccountMail) -> bool:
    """Send a user an invitation to set their password, in their language; Unavailable when
    the mail server does not take it. Return whether it went out: without a mail server it
    is kept under Admin → Sent email (False), with its link, for an admin to pass on."""
    from contentfeed.suggestions.notify import DeliveryFailed, send_text_email

    check_can_invite(mail)
    token = issue_link(s, user, LinkPurpose.INVITE, timedelta(days=mail.invitation_days))
    with i18n.speaking(i18n.locale_of(user)):
        subject = _("You are invited to contentfeed at %(company)s", company=mail.company_name)
        lines = [
            _("Hi %(name)s,", name=user.first_name),
            "",
            _(
                "you now have an account on contentfeed at %(company)s, as %(role)s. "
                "Choose your password here to sign in:",
                company=mail.company_name,
                role=user.role_label,
            ),
            link_url(mail, token),
            "",
            ngettext(
                "The link works once and for %(num)d day. Your email address to sign in "
                "with: %(email)s",
                "The link works once and for %(num)d days. Your email address to sign in "
                "with: %(email)s",
                mail.invitation_days,
                email=user.email,
            ),
        ]
        body = "\n".join(lines)
        try:
            return send_text_email(user.email, subject, body, mail.email, kind="invitation")
        except DeliveryFailed as exc:
            log.warning("invitation for user %s not sent: %s", user.id, exc)
            raise Unavailable(
                _(
                    "The invitation could not be sent: the mail server did not take it. "
                    "Try again in a moment, or give an initial password."
                )
            ) from exc


def invite_again(s: Session, actor: User | None, user_id: int, mail: AccountMail | None) -> User:
    """Send a user who has not signed in yet a new invitation (the old link stops working)."""
    require_admin(actor)
    user = get_user(s, user_id)
    if not user.is_active:
        raise Conflict(_("%(name)s is deactivated; reactivate them first.", name=user.name))
    if user.last_login_at is not None:
        raise Conflict(
            _(
                "%(name)s has signed in already; they can use “Forgot password?” on the "
                "sign-in page.",
                name=user.name,
            )
        )
    send_invitation(s, user, check_can_invite(mail))
    return user


def request_reset(s: Session, data: ResetRequest, *, client_key: str, mail: AccountMail) -> None:
    """Email the user with this address a link to set a new password, if there is one.

    The caller answers alike whether the address has an account or not. Requests count per
    address and per client like failed sign-ins do (in a unit of work of their own, so the
    count outlives a refusal); past the limit they are refused with TooManyAttempts.
    """
    from contentfeed.suggestions.notify import DeliveryFailed, send_text_email

    refusal: TooManyAttempts | None = None
    with db.unit_of_work() as own:
        now = utcnow()
        limits = attempt_limits(data.email, client_key, mail.max_requests, kind="reset")
        try:
            rows = refuse_if_locked(
                own,
                limits,
                now,
                lambda minutes: ngettext(
                    "Too many requests for a new password. Try again in %(num)d minute.",
                    "Too many requests for a new password. Try again in %(num)d minutes.",
                    minutes,
                ),
            )
        except TooManyAttempts as exc:
            refusal = exc
        else:
            count_attempt(own, rows, limits, mail.request_window, now)
    if refusal is not None:
        raise refusal
    user = find_user_by_email(s, data.email)
    if user is None or not user.is_active:
        return  # without a mail server, the link is kept under Sent email like any email
    token = issue_link(s, user, LinkPurpose.RESET, timedelta(minutes=mail.reset_minutes))
    with i18n.speaking(i18n.locale_of(user)):
        subject = _("Your new contentfeed password")
        lines = [
            _("Hi %(name)s,", name=user.first_name),
            "",
            _("someone (hopefully you) asked for a new contentfeed password. Choose it here:"),
            link_url(mail, token),
            "",
            ngettext(
                "The link works once and for %(num)d minute.",
                "The link works once and for %(num)d minutes.",
                mail.reset_minutes,
            ),
            _("If you did not ask for it, ignore this email: your password stays as it is."),
        ]
        try:
            send_text_email(
                user.email, subject, "\n".join(lines), mail.email, kind="password_reset"
            )
        except DeliveryFailed as exc:
            log.warning("password reset email for user %s not sent: %s", user.id, exc)
