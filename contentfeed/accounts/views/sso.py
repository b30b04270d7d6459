"""Single sign-on with OpenID Connect: "Sign in with <company>" and the provider's answer.

The authorization-code flow with PKCE (S256), state and nonce, run by Authlib: the state,
nonce and code verifier wait in the signed session cookie between the two requests. Whatever
goes wrong with the provider ends on a page that says so in the reader's language, never
on a 500."""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.views.shared import bp
from contentfeed.accounts.views.signin import _safe_next
from contentfeed.errors import DomainError, NotFound
from contentfeed.i18n import _
from contentfeed.settings_schema import SsoSettings

log = logging.getLogger(__name__)

# What a provider's answer can fail with: Authlib's errors (OAuthError and the claim checks),
# the JOSE library's (signature, key), the network's, and JSON that is not JSON.
_PROVIDER_ERRORS = (
    AuthlibBaseError,
    JoseError,
    requests.RequestException,
    ValueError,
    RuntimeError,
)

_NEXT_KEY = "sso_next"
_EXTENSION = "contentfeed.sso"


def _client(sso: SsoSettings) -> Any:
    """Return the Authlib client for these settings, made once per app and configuration
    (the provider's discovery document is read on first use and kept)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = (sso.issuer, sso.client_id, sso.client_secret, tuple(sso.scopes))
    cached = app.extensions.get(_EXTENSION)
    if cached is not None and cached[0] == key:
        return cached[1]
    oauth = OAuth(app)
    client = oauth.register(
        "company",
        client_id=sso.client_id,
        client_secret=sso.client_secret,
        server_metadata_url=f"{sso.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(sso.scopes),
            "code_challenge_method": "S256",
            "default_timeout": config.current().http.timeout_seconds,
        },
    )
    app.extensions[_EXTENSION] = (key, client)
    return client


def _enabled() -> SsoSettings:
    sso = config.current().sso
    if not sso.enabled:
        raise NotFound(_("Page not found."))
    return sso


def _failed(message: str, status: int) -> ResponseReturnValue:
    """Answer a sign-in that did not work: what happened and the way back to the login page."""
    return render_template("accounts/sso_error.html", message=message, status=status), status


def _provider_trouble(exc: Exception) -> ResponseReturnValue:
    log.warning("single sign-on: the identity provider could not be used: %s", exc)
    return _failed(
        _(
            "Your company's sign-in service could not be reached or gave an answer contentfeed "
            "cannot use. Try again in a few minutes; if it keeps happening, tell your admin."
        ),
        502,
    )


@bp.get("/login/sso")
@access.public
def sso_start() -> ResponseReturnValue:
    """Send the browser to the company's identity provider."""
    sso = _enabled()
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    session[_NEXT_KEY] = _safe_next(request.args.get("next")) or ""
    redirect_uri = config.current().public_base_url + url_for("accounts.sso_callback")
    try:
        client = _client(sso)
        metadata = client.load_server_metadata()
        if metadata.get("issuer", "").rstrip("/") != sso.issuer:
            raise OAuthError(
                description=f"discovery names issuer {metadata.get('issuer')!r}, not {sso.issuer!r}"
            )
        response: Response = client.authorize_redirect(redirect_uri)
    except _PROVIDER_ERRORS as exc:
        current_app.extensions.pop(_EXTENSION, None)  # read the discovery again next time
        return _provider_trouble(exc)
    return response


@bp.get("/login/sso/callback")
@access.public
def sso_callback() -> ResponseReturnValue:
    """Take the provider's answer: check it, find or create the user, sign them in."""
    sso = _enabled()
    error = request.args.get("error")
    if error:
        description = request.args.get("error_description", "")
        log.info("single sign-on refused by the provider: %s %s", error, description)
        if error == "access_denied":
            message = _("Your company's sign-in service did not let you in (access denied).")
        else:
            message = _(
                "Your company's sign-in service refused the sign-in (%(error)s). Try again; if "
                "it keeps happening, tell your admin.",
                error=error[:80],
            )
        return _failed(message, 400)
    client = _client(sso)
    try:
        token = client.authorize_access_token()
    except OAuthError as exc:
        if exc.error == "mismatching_state":
            return _failed(
                _(
                    "This sign-in link has expired or was not started here. Start again from "
                    "the sign-in page."
                ),
                400,
            )
        return _provider_trouble(exc)
    except _PROVIDER_ERRORS as exc:
        return _provider_trouble(exc)
    claims: dict[str, Any] = dict(token.get("userinfo") or {})
    if not claims:
        return _provider_trouble(ValueError("the token answer has no ID token"))
    if any(name not in claims for name in ("email", "email_verified", sso.group_claim)):
        # Many providers keep the profile claims for the userinfo endpoint.
        try:
            extra = dict(client.userinfo(token=token))
        except _PROVIDER_ERRORS as exc:
            return _provider_trouble(exc)
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
    identity = service.identity_from_claims(claims, group_claim=sso.group_claim)
    try:
        # Committed with the request's answer (a redirect); a refusal's page rolls it back.
        user = service.sign_in_with_sso(db.session(), identity, settings=sso)
    except DomainError as exc:
        return _failed(exc.message, exc.status)
    login_user(user)
    flash(_("Welcome back, %(name)s.", name=user.first_name), "success")
    target = session.pop(_NEXT_KEY, "") or url_for("accounts.home")
    return redirect(target)
