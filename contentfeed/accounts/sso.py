"""Single sign-on: who an OpenID Connect identity is here. Never commits.

The pages (accounts/views/sso.py) run the authorization-code flow with Authlib and hand the
provider's checked claims to ``sign_in_with_sso``; it matches the user by verified email and
creates them on first sign-in with the role their groups map to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from contentfeed.accounts.models import Role, User
from contentfeed.accounts.users import create_user, find_user_by_email, normalise_email
from contentfeed.db import utcnow
from contentfeed.errors import Forbidden, Invalid
from contentfeed.i18n import _
from contentfeed.settings_schema import SsoSettings

# When several of a user's groups are mapped, the most privileged role wins.
ROLE_PRECEDENCE = (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR, Role.REP, Role.SELLER)


@dataclass(frozen=True)
class Identity:
    """What the identity provider says about the person signing in."""

    subject: str
    email: str
    email_verified: bool
    name: str
    groups: tuple[str, ...]


def identity_from_claims(claims: Mapping[str, Any], *, group_claim: str) -> Identity:
    """Read an identity from ID token (and userinfo) claims, whatever shape they come in."""
    verified = claims.get("email_verified")
    # Some providers send the flag as the string "true".
    email_verified = verified is True or (isinstance(verified, str) and verified == "true")
    raw_groups = claims.get(group_claim) or []
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    groups = tuple(str(group) for group in raw_groups if isinstance(group, str | int))
    name = str(claims.get("name") or "").strip()
    if not name:
        given = str(claims.get("given_name") or "").strip()
        family = str(claims.get("family_name") or "").strip()
        name = f"{given} {family}".strip()
    # A name the provider sends goes into pages and posts: printable, and as long as ours.
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return Identity(
        subject=str(claims.get("sub") or ""),
        email=str(claims.get("email") or "").strip(),
        email_verified=email_verified,
        name=name,
        groups=groups,
    )


def role_for_groups(groups: tuple[str, ...], settings: SsoSettings) -> Role:
    """Return the most privileged role the groups map to, else the default role."""
    mapped = {
        Role(settings.group_roles[group]) for group in groups if group in settings.group_roles
    }
    for role in ROLE_PRECEDENCE:
        if role in mapped:
            return role
    return Role(settings.default_role)


def sign_in_with_sso(s: Session, identity: Identity, *, settings: SsoSettings) -> User:
    """Return the user this identity is, created on first sign-in; refuse what can't be trusted.

    Only a verified email identifies someone: an address the provider has not verified could
    be anybody's. A deactivated user stays out, whatever the provider says.
    """
    if not identity.email:
        raise Forbidden(
            _(
                "Your company account has no email address, so contentfeed cannot tell who "
                "you are. Ask your IT department to add one."
            )
        )
    if not identity.email_verified:
        raise Forbidden(
            _(
                "Your company account's email address %(email)s is not verified, so contentfeed "
                "cannot tell who you are. Ask your IT department to verify it.",
                email=identity.email,
            )
        )
    try:
        email = normalise_email(identity.email)
    except Invalid:
        raise Forbidden(
            _("Your company account's email address %(email)s isn't valid.", email=identity.email)
        ) from None
    user = find_user_by_email(s, email)
    if user is None:
        user = create_user(
            s,
            email=email,
            name=identity.name or email.split("@")[0],
            role=role_for_groups(identity.groups, settings),
        )
    elif not user.is_active:
        raise Forbidden(_("This account has been deactivated. Ask an admin to reactivate it."))
    user.last_login_at = utcnow()
    return user
