"""API tokens: issued to a user with scopes, shown once, stored hashed. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.orm import Session

from contentfeed.accounts.models import ApiToken, User
from contentfeed.accounts.permissions import require_admin
from contentfeed.accounts.users import get_user
from contentfeed.db import Id, utcnow
from contentfeed.errors import Conflict, Invalid, NotFound, Unauthorized
from contentfeed.i18n import _, _l
from contentfeed.text import Input, checked_text

TOKEN_PREFIX = "cf_"  # noqa: S105 - a marker, not a secret

SCOPES: dict[str, Any] = {  # scope: what it allows (in the request's language)
    "read": _l("Read everything the token's user may see"),
    "content:write": _l("Create and change library content"),
    "suggestions:write": _l("Mark suggestions posted or skipped, suggest now"),
    "leads:write": _l("Post leads to the lead webhook"),
    "routing:write": _l("Change routing rules, queues and leads"),
    "admin": _l("Manage users, teams and tokens"),
    "scim": _l("Provision users and teams from an identity provider (SCIM, admins' tokens)"),
}


class TokenRequest(Input):
    """A token an admin asks for: whose it is, what it is for, its scopes and lifetime."""

    user_id: Id
    name: str
    scopes: list[str]
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


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
        names = ", ".join(SCOPES)
        if unknown:
            message = _(
                "Unknown scope %(scope)s. Scopes: %(scopes)s.",
                scope=", ".join(unknown),
                scopes=names,
            )
        else:
            message = _("Choose at least one scope. Scopes: %(scopes)s.", scopes=names)
        raise Invalid(message, {"scopes": message})
    if not checked_text("name", name).strip():
        raise Invalid(
            _("Give the token a name, e.g. the system that uses it."), {"name": _("required")}
        )
    if not user.is_active:
        raise Conflict(_("This user is deactivated; reactivate them before issuing a token."))
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


def revoke_token(s: Session, actor: User | None, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking twice is harmless."""
    require_admin(actor)
    token = s.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def grant_token(s: Session, actor: User | None, data: TokenRequest) -> tuple[ApiToken, str]:
    """Issue the token an admin asks for; the plaintext is returned once and never stored."""
    by = require_admin(actor)
    days = data.expires_in_days
    return issue_token(
        s,
        get_user(s, data.user_id),
        name=data.name,
        scopes=data.scopes,
        by=by,
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )


def count_active_tokens(s: Session) -> int:
    """Count the tokens not revoked (expired ones included, as the admin home shows)."""
    return (
        s.scalar(
            sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
        )
        or 0
    )


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
        raise Unauthorized(
            _("The API token is unknown, revoked, expired or its user is deactivated.")
        )
    # Record use at most once a minute, so reads do not turn into a write per request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token
