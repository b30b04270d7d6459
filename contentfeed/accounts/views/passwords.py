"""Choosing a password through an emailed link (an invitation, a reset) and asking for a
reset link ("Forgot password?"). Public pages: the link or the email is the credential."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from contentfeed import config, db
from contentfeed.accounts import access, service
from contentfeed.accounts.forms import ChoosePasswordForm, ForgotPasswordForm
from contentfeed.accounts.models import LinkPurpose
from contentfeed.accounts.views.shared import apply_errors, bp, form_input
from contentfeed.accounts.views.signin import client_key
from contentfeed.errors import DomainError, Gone
from contentfeed.i18n import _


@bp.route("/password/forgot", methods=["GET", "POST"])
@access.public
def forgot_password() -> ResponseReturnValue:
    """Ask for a link to set a new password; the answer is the same for every address."""
    form = ForgotPasswordForm()
    mail = service.AccountMail.of(config.current())
    sent_to = None
    status = 200
    if form.validate_on_submit():
        email = (form.email.data or "").strip()
        try:
            service.request_reset(
                db.session(),
                form_input(service.ResetRequest, {"email": email}),
                client_key=client_key(),
                mail=mail,
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            sent_to = email
    elif form.is_submitted():
        status = 422
    return render_template(
        "accounts/forgot_password.html", form=form, sent_to=sent_to, mail=mail
    ), status


@bp.route("/password/<token>", methods=["GET", "POST"])
@access.public
def choose_password(token: str) -> ResponseReturnValue:
    """Choose a password through an invitation or reset link, then be signed in."""
    s = db.session()
    link = service.password_link(s, token)  # Gone (410) when expired or used
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = service.set_password_with_link(
                s, token, form_input(service.NewPassword, {"password": form.password.data or ""})
            )
        except Gone:
            raise  # used a moment ago by another request: the link's page says so (410)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            logout_user()  # whoever was signed in on this browser
            login_user(user)
            flash(_("Your password is set. Welcome, %(name)s.", name=user.first_name), "success")
            return redirect(url_for("accounts.home"))
    return render_template(
        "accounts/choose_password.html",
        form=form,
        user=link.user,
        invited=link.purpose is LinkPurpose.INVITE,
    ), 422 if form.errors else 200
