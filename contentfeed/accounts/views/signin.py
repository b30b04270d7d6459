"""Signing in and out."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from contentfeed import config, db, i18n
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import LoginForm
from contentfeed.accounts.views.shared import bp, form_input
from contentfeed.errors import DomainError
from contentfeed.i18n import _
from contentfeed.settings_schema import Settings


def client_key() -> str:
    """Identify the client for throttling without keeping its address."""
    address = request.remote_addr or "unknown"
    salt = config.current().secret_key
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()[:32]


def _safe_next(target: str | None) -> str | None:
    """Only follow `next` to a path on this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def sso_button_label(settings: Settings) -> str:
    """Return the text of the single sign-on button: as configured, else "Sign in with
    <company>"."""
    return settings.sso.button_label.strip() or _(
        "Sign in with %(company)s", company=settings.company_name
    )


@bp.route("/login", methods=["GET", "POST"])
@access.public
def login() -> ResponseReturnValue:
    """Sign in with email and password, throttled after repeated failures."""
    if current_user.is_authenticated and not access.is_limited_session():
        return redirect(url_for("accounts.home"))  # a feed link's session may sign in fully
    form = LoginForm()
    status = 200
    everything = config.current()
    sso = everything.sso
    label = sso_button_label(everything) if sso.enabled else ""
    if form.validate_on_submit():
        settings = everything.sign_in
        passwords = service.PasswordPolicy(
            sso_only=sso.sso_only,
            break_glass_admins=frozenset(sso.break_glass_admins),
            button_label=label,
        )
        try:
            credentials = {"email": form.email.data or "", "password": form.password.data or ""}
            user = service.sign_in(
                db.session(),
                form_input(service.Credentials, credentials),
                client_key=client_key(),
                max_failures=settings.max_failures,
                lockout=timedelta(minutes=settings.lockout_minutes),
                passwords=passwords,
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            login_user(user, remember=bool(form.remember.data))
            flash(_("Welcome back, %(name)s.", name=user.first_name), "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("accounts.home"))
    elif request.method == "POST":
        status = 422
    sso_url = url_for("accounts.sso_start", next=_safe_next(request.args.get("next")))
    return render_template(
        "accounts/login.html",
        form=form,
        sso_label=label,
        sso_url=sso_url,
        sso_only=sso.enabled and sso.sso_only,
    ), status


@bp.post("/language")
@access.public
def choose_language() -> Response:
    """Switch the interface language: kept with a signed-in user, in a cookie for everyone."""
    code = i18n.supported(request.form.get("locale")) or config.current().default_locale
    if current_user.is_authenticated:
        service.choose_language(db.session(), current_user, code)
    i18n.set_request_locale(code)
    response = redirect(_safe_next(request.form.get("next")) or url_for("accounts.home"))
    i18n.remember_choice(response, code)
    return response


@bp.post("/logout")
@access.require_role()
def logout() -> Response:
    """Sign out."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("accounts.login"))
