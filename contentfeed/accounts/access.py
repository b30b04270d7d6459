"""Who may do what: sign-in sessions for pages, bearer tokens for the API, role checks on both."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, user_logged_in, user_logged_out
from werkzeug.wrappers import Response

from contentfeed import db
from contentfeed.accounts import service
from contentfeed.accounts.models import ApiToken

# Other domains' pages and API handlers name roles and users through this module, the accounts
# domain's face for adapters (they import no other domain's models).
from contentfeed.accounts.models import Role as Role
from contentfeed.accounts.models import User as User
from contentfeed.errors import Forbidden, Unauthorized
from contentfeed.i18n import _, _l

P = ParamSpec("P")
R = TypeVar("R")

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Please sign in to continue.")
# Flask-Login flashes str(login_message): the text in the language of the request it redirects.
login_manager.localize_callback = str
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

# A session opened by a one-click feed link carries this flag: it reaches only these pages
# (the seller's feed and its actions, the profile, signing out); any other page that needs a
# sign-in asks for a real one. A real sign-in (or signing out) drops the flag.
LIMITED_SESSION = "feed_link_only"
FEED_LINK_PAGES = frozenset(
    {
        "accounts.home",
        "accounts.profile",
        "accounts.logout",
        "accounts.choose_language",
        "suggestions.feed",
        "suggestions.history",
        "suggestions.mark_posted",
        "suggestions.skip",
    }
)

STAFF = (Role.ADMIN, Role.MARKETER)
CONTENT_ROLES = (Role.ADMIN, Role.MARKETER, Role.CONTRIBUTOR)


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_user(session_id: str) -> User | None:
    """Return the active user a session names, unless their session version has moved on."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    user = db.session().get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version or "0"):
        return None
    return user


def init_app(app: Flask) -> None:
    """Install the login manager and the limit on sessions opened by a feed link."""
    login_manager.init_app(app)
    user_logged_in.connect(_drop_limit, app)
    user_logged_out.connect(_drop_limit, app)
    app.before_request(_keep_limited_sessions_to_the_feed)


def _drop_limit(_app: Flask, **_extra: Any) -> None:
    """A new sign-in (or signing out) ends a feed link's limits."""
    session.pop(LIMITED_SESSION, None)


def open_limited_session(user: User) -> None:
    """Sign a seller in through a one-click feed link: only the feed and profile work."""
    from flask_login import login_user

    login_user(user)
    session[LIMITED_SESSION] = True


def is_limited_session() -> bool:
    """Tell whether this request's sign-in came from a feed link (feed and profile only)."""
    return bool(session.get(LIMITED_SESSION)) and bool(current_user.is_authenticated)


def _keep_limited_sessions_to_the_feed() -> Response | None:
    """Send a feed-link session that asks for any other signed-in page to the sign-in page."""
    if not session.get(LIMITED_SESSION) or request.endpoint in FEED_LINK_PAGES:
        return None
    view = current_app_view()
    if view is None or not hasattr(view, "allowed_roles") or hasattr(view, "required_scope"):
        return None  # public pages, static files, the token-authenticated API
    if not current_user.is_authenticated:
        return None
    flash(
        _(
            "Sign in with your password to open this page: the link from your message opens "
            "only your feed and your profile."
        ),
        "info",
    )
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def current_app_view() -> Callable[..., Any] | None:
    """Return the view function this request is routed to, if any."""
    from flask import current_app

    if request.endpoint is None:
        return None
    view: Callable[..., Any] | None = current_app.view_functions.get(request.endpoint)
    return view


def signed_in_user() -> User:
    """Return the user behind this request: the API token's user or the signed-in user."""
    token: ApiToken | None = g.get("api_token")
    if token is not None:
        return token.user
    if not current_user.is_authenticated:
        raise Unauthorized(_("Please sign in."))
    user: User = current_user._get_current_object()
    return user


def require_role(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a page through for signed-in users with one of these roles (any role when empty)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))  # type: ignore[return-value]
            if roles and current_user.role not in roles:
                raise Forbidden(_("Your role doesn't include this page."))
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles or tuple(Role)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def bearer_token() -> str | None:
    """Return the bearer token of the request, if it carries one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_scope(scope: str, *roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let an API call through with a usable token holding ``scope`` whose user has a role."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            plaintext = bearer_token()
            if plaintext is None:
                raise Unauthorized(_("Send an API token as 'Authorization: Bearer <token>'."))
            token = service.token_for(db.session(), plaintext)
            g.api_token = token
            if scope not in token.scopes:
                raise Forbidden(_("This token lacks the '%(scope)s' scope.", scope=scope))
            if roles and token.user.role not in roles:
                raise Forbidden(_("The token's user has no role that allows this."))
            return view(*args, **kwargs)

        wrapped.required_scope = scope  # type: ignore[attr-defined]
        wrapped.allowed_roles = roles or tuple(Role)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view as open to everyone, so the role matrix knows it was meant to be."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def role_allows(user: Any, *roles: Role) -> bool:
    """Tell whether a (possibly anonymous) user has one of the roles."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in roles
